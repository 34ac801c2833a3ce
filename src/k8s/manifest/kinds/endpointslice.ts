// discovery.k8s.io/v1 EndpointSlice, validated as ValidateEndpointSlice does, with the
// conditions read as kube-proxy reads them (a missing ready/serving is true, terminating false).

import type { Endpoint, EndpointPort, EndpointSlice, ObjectMeta, ObjectReference } from "../../model.js";
import type { Cursor } from "../cursor.js";
import { checkName } from "../names.js";
import type { Base } from "./base.js";
import { readIpv4, readPort, readProtocol } from "./values.js";

/** The label that ties a slice to its Service (discovery.LabelServiceName). */
export const LABEL_SERVICE_NAME = "kubernetes.io/service-name";

const ENDPOINT_FIELDS = ["addresses", "conditions", "hostname", "targetRef", "nodeName", "zone", "hints", "deprecatedTopology"];
const CONDITION_FIELDS = ["ready", "serving", "terminating"];
const PORT_FIELDS = ["name", "protocol", "port", "appProtocol"];
const REF_FIELDS = ["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"];
const MAX_ADDRESSES = 100;

export function readEndpointSlice(c: Cursor, metadata: ObjectMeta, base: Base): EndpointSlice | undefined {
  const at = c.get("addressType");
  const addressType = at.requiredStr("IPv4");
  if (addressType !== undefined && addressType !== "IPv4") {
    const known = addressType === "IPv6" || addressType === "FQDN";
    at.error("invalid-value", `"${addressType}" is not supported (expected IPv4${known ? "; kubewire models IPv4 only" : ""})`);
  }
  const endpoints: Endpoint[] = [];
  const eps = c.get("endpoints");
  if (eps.isSeq()) for (const e of eps.items()) {
    const ep = readEndpoint(e);
    if (ep) endpoints.push(ep);
  }
  const ports: EndpointPort[] = [];
  const ps = c.get("ports");
  const names = new Set<string>();
  if (ps.isSeq()) for (const p of ps.items()) {
    const port = readEndpointPort(p);
    if (!port) continue;
    if (names.has(port.name)) p.get("name").error("duplicate-value", `port name "${port.name}" is used twice in this slice`);
    names.add(port.name);
    ports.push(port);
  }
  const serviceName = metadata.labels[LABEL_SERVICE_NAME];
  if (serviceName === undefined)
    c.get("metadata").warn("missing-field", `no ${LABEL_SERVICE_NAME} label: kube-proxy ignores this slice`, {
      at: "key",
      hint: `add labels: {${LABEL_SERVICE_NAME}: <service name>}`,
    });
  return { ...base, kind: "EndpointSlice", metadata, addressType: "IPv4", endpoints, ports, serviceName };
}

function readEndpoint(e: Cursor): Endpoint | undefined {
  if (!e.isMap()) return undefined;
  e.known(ENDPOINT_FIELDS);
  const a = e.get("addresses");
  const addresses: string[] = [];
  if (!a.present) a.missing("a list of 1 to 100 IPv4 addresses");
  else if (a.isSeq()) {
    const items = a.items();
    if (items.length === 0 || items.length > MAX_ADDRESSES)
      a.error("invalid-value", `${items.length} addresses (expected 1 to ${MAX_ADDRESSES})`);
    for (const item of items) {
      const ip = readIpv4(item);
      if (ip !== undefined) addresses.push(ip);
    }
  }
  const cond = e.get("conditions");
  if (cond.isMap()) cond.known(CONDITION_FIELDS);
  const ready = cond.get("ready").bool() ?? true;
  const endpoint: Endpoint = {
    addresses,
    conditions: {
      ready,
      serving: cond.get("serving").bool() ?? true,
      terminating: cond.get("terminating").bool() ?? false,
    },
  };
  for (const field of ["nodeName", "hostname", "zone"] as const) {
    const fc = e.get(field);
    const v = fc.str();
    if (v === undefined) continue;
    const problem = field === "zone" ? undefined : checkName(v, field === "nodeName" ? "dns1123-subdomain" : "dns1123-label");
    if (problem) fc.error("invalid-name", problem.message, { hint: problem.hint });
    endpoint[field] = v;
  }
  const ref = e.get("targetRef");
  if (ref.isMap()) {
    ref.known(REF_FIELDS);
    const targetRef: ObjectReference = {};
    for (const f of ["kind", "namespace", "name", "uid"] as const) {
      const v = ref.get(f).str();
      if (v !== undefined) targetRef[f] = v;
    }
    endpoint.targetRef = targetRef;
  }
  return endpoint;
}

function readEndpointPort(p: Cursor): EndpointPort | undefined {
  if (!p.isMap()) return undefined;
  p.known(PORT_FIELDS);
  const nameCursor = p.get("name");
  const name = nameCursor.str() ?? "";
  if (name !== "") {
    const problem = checkName(name, "dns1123-label");
    if (problem) nameCursor.error("invalid-name", problem.message, { hint: problem.hint });
  }
  const portCursor = p.get("port");
  const port = readPort(portCursor);
  if (portCursor.present && port === undefined) return undefined;
  const out: EndpointPort = { name, protocol: readProtocol(p.get("protocol")) };
  if (port !== undefined) out.port = port;
  const appProtocol = p.get("appProtocol").str();
  if (appProtocol !== undefined) out.appProtocol = appProtocol;
  return out;
}

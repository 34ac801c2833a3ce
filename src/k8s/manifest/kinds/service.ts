// v1 Service, validated as ValidateService does and defaulted as the API server does
// (SetDefaults_Service): type ClusterIP, protocol TCP, targetPort = port, sessionAffinity None,
// traffic policies Cluster.

import type { ObjectMeta, Service, ServicePort, ServiceSpec, ServiceType, TrafficPolicy } from "../../model.js";
import type { Cursor } from "../cursor.js";
import { checkName, checkPortName } from "../names.js";
import type { Base } from "./base.js";
import { readServiceSelector } from "./selector.js";
import { readCidr, readEnum, readIpv4, readIpv4List, readPort, readProtocol } from "./values.js";

const SPEC_FIELDS = [
  "ports", "selector", "clusterIP", "clusterIPs", "type", "externalIPs", "sessionAffinity",
  "loadBalancerIP", "loadBalancerSourceRanges", "externalName", "externalTrafficPolicy",
  "healthCheckNodePort", "publishNotReadyAddresses", "sessionAffinityConfig", "ipFamilies",
  "ipFamilyPolicy", "allocateLoadBalancerNodePorts", "loadBalancerClass", "internalTrafficPolicy",
  "trafficDistribution",
] as const;
const PORT_FIELDS = ["name", "protocol", "appProtocol", "port", "targetPort", "nodePort"] as const;
const TYPES: readonly ServiceType[] = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];
const POLICIES: readonly TrafficPolicy[] = ["Cluster", "Local"];

/** The default --service-node-port-range. */
export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;
export const DEFAULT_CLIENT_IP_TIMEOUT = 10800;

export function readService(c: Cursor, metadata: ObjectMeta, base: Base): Service | undefined {
  const s = c.get("spec");
  if (!s.present) {
    s.missing("a Service spec with ports and a selector");
    return undefined;
  }
  if (!s.isMap()) return undefined;
  s.known(SPEC_FIELDS);
  const type = readEnum(s.get("type"), TYPES, "a Service type") ?? "ClusterIP";
  const external = type === "NodePort" || type === "LoadBalancer";

  const clusterIP = readClusterIP(s.get("clusterIP"), type);
  const clusterIPsCursor = s.get("clusterIPs");
  const clusterIPs = clusterIPsCursor.present ? readClusterIPs(clusterIPsCursor, clusterIP) : clusterIP ? [clusterIP] : [];

  const ports = readPorts(s, type, clusterIP === "None");
  const spec: ServiceSpec = {
    type,
    clusterIP,
    clusterIPs,
    selector: readServiceSelector(s.get("selector")),
    ports,
    sessionAffinity: readEnum(s.get("sessionAffinity"), ["None", "ClientIP"] as const, "a session affinity") ?? "None",
    internalTrafficPolicy: readEnum(s.get("internalTrafficPolicy"), POLICIES, "a traffic policy") ?? "Cluster",
    externalIPs: readIpv4List(s.get("externalIPs")),
    loadBalancerSourceRanges: [],
    publishNotReadyAddresses: s.get("publishNotReadyAddresses").bool() ?? false,
  };

  const affinityConfig = s.get("sessionAffinityConfig");
  if (spec.sessionAffinity === "ClientIP") {
    const timeout = affinityConfig.get("clientIP").get("timeoutSeconds").int("a timeout in seconds", 1, 86400);
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: timeout ?? DEFAULT_CLIENT_IP_TIMEOUT } };
  } else if (affinityConfig.present) {
    affinityConfig.error("invalid-value", "sessionAffinityConfig may only be set when sessionAffinity is ClientIP");
  }

  const etp = s.get("externalTrafficPolicy");
  const externalTrafficPolicy = readEnum(etp, POLICIES, "a traffic policy");
  if (external) spec.externalTrafficPolicy = externalTrafficPolicy ?? "Cluster";
  else if (etp.present)
    etp.error("invalid-value", `externalTrafficPolicy may only be set when type is NodePort or LoadBalancer (this Service is ${type})`);

  const hc = s.get("healthCheckNodePort");
  const healthCheckNodePort = readNodePortValue(hc);
  if (healthCheckNodePort !== undefined) {
    if (type === "LoadBalancer" && spec.externalTrafficPolicy === "Local") spec.healthCheckNodePort = healthCheckNodePort;
    else hc.error("invalid-value", "healthCheckNodePort may only be set for a LoadBalancer with externalTrafficPolicy Local");
  }

  const lbIP = s.get("loadBalancerIP");
  const loadBalancerIP = readIpv4(lbIP);
  const ranges = s.get("loadBalancerSourceRanges");
  if (ranges.isSeq()) for (const r of ranges.items()) {
    const cidr = readCidr(r, false);
    if (cidr !== undefined) spec.loadBalancerSourceRanges.push(cidr);
  }
  const allocate = s.get("allocateLoadBalancerNodePorts").bool();
  if (type === "LoadBalancer") {
    if (loadBalancerIP !== undefined) spec.loadBalancerIP = loadBalancerIP;
    if (allocate !== undefined) spec.allocateLoadBalancerNodePorts = allocate;
  } else {
    for (const f of ["loadBalancerIP", "loadBalancerSourceRanges", "allocateLoadBalancerNodePorts"])
      if (s.get(f).present) s.get(f).error("invalid-value", `${f} may only be set when type is LoadBalancer`);
  }

  const externalNameCursor = s.get("externalName");
  if (type === "ExternalName") {
    const name = externalNameCursor.requiredStr("a DNS name, e.g. db.example.com");
    const problem = name !== undefined ? checkName(name.replace(/\.$/, ""), "dns1123-subdomain") : undefined;
    if (problem) externalNameCursor.error("invalid-value", problem.message);
    if (name !== undefined) spec.externalName = name;
    if (clusterIP !== undefined) s.get("clusterIP").error("invalid-value", "an ExternalName Service has no clusterIP");
  }

  const families = s.get("ipFamilies");
  if (families.present && !(families.strings() ?? []).includes("IPv4"))
    families.error("invalid-value", "kubewire models IPv4 only (expected ipFamilies to include IPv4)");

  return { ...base, kind: "Service", metadata, spec, loadBalancerIngress: readStatusIngress(c.get("status")) };
}

function readClusterIP(c: Cursor, type: ServiceType): string | undefined {
  const s = c.str();
  if (s === undefined || s === "") return undefined;
  if (s === "None") {
    if (type !== "ClusterIP" && type !== "ExternalName")
      c.error("invalid-value", `clusterIP None (headless) is only allowed for type ClusterIP, not ${type}`);
    return s;
  }
  if (s.toLowerCase() === "none") {
    c.error("invalid-ip", `"${s}" is not an IPv4 address or None`, { hint: 'a headless Service has clusterIP: None (capital N)' });
    return undefined;
  }
  return readIpv4(c);
}

function readClusterIPs(c: Cursor, clusterIP: string | undefined): string[] {
  const out = readIpv4List(c);
  const first = c.items()[0];
  if (first && clusterIP !== undefined && first.str() !== clusterIP)
    first.error("invalid-value", `clusterIPs[0] must equal clusterIP (${clusterIP})`);
  return out;
}

function readPorts(s: Cursor, type: ServiceType, headless: boolean): ServicePort[] {
  const c = s.get("ports");
  if (!c.present || (c.kind === "seq" && c.items().length === 0)) {
    if (type !== "ExternalName" && !headless)
      c.missing("at least one port", "add ports: [{port: 80, targetPort: 8080}]");
    return [];
  }
  if (!c.isSeq()) return [];
  const items = c.items();
  const ports: ServicePort[] = [];
  const names = new Map<string, number>();
  const seen = new Map<string, number>();
  for (const [i, p] of items.entries()) {
    const port = readServicePort(p, type, items.length > 1);
    if (!port) continue;
    ports.push(port);
    const dupName = port.name !== "" ? names.get(port.name) : undefined;
    if (dupName !== undefined)
      p.get("name").error("duplicate-value", `port name "${port.name}" is already used by ports[${dupName}]`);
    names.set(port.name, i);
    const key = `${port.port}/${port.protocol}`;
    const dup = seen.get(key);
    if (dup !== undefined)
      p.get("port").error("duplicate-value", `port ${key} is already used by ports[${dup}]`);
    seen.set(key, i);
  }
  return ports;
}

function readServicePort(p: Cursor, type: ServiceType, several: boolean): ServicePort | undefined {
  if (!p.isMap()) return undefined;
  p.known(PORT_FIELDS);
  const nameCursor = p.get("name");
  const name = nameCursor.str() ?? "";
  if (name === "" && several)
    nameCursor.missing("a name: a Service with several ports must name each", "add name: http (or similar)");
  else if (name !== "") {
    const problem = checkName(name, "dns1123-label");
    if (problem) nameCursor.error("invalid-name", problem.message, { hint: problem.hint });
  }
  const portCursor = p.get("port");
  if (!portCursor.present) portCursor.missing("a port number 1-65535");
  const port = readPort(portCursor);
  const protocol = readProtocol(p.get("protocol"));
  const targetPort = readTargetPort(p.get("targetPort"));
  const np = p.get("nodePort");
  const nodePort = readNodePortValue(np);
  if (nodePort !== undefined && type !== "NodePort" && type !== "LoadBalancer")
    np.error("invalid-node-port", `nodePort may only be set when type is NodePort or LoadBalancer (this Service is ${type})`, {
      hint: "add type: NodePort, or remove nodePort",
    });
  if (port === undefined || targetPort === null) return undefined;
  const out: ServicePort = { name, protocol, port, targetPort: targetPort ?? port };
  if (nodePort !== undefined && (type === "NodePort" || type === "LoadBalancer")) out.nodePort = nodePort;
  const appProtocol = p.get("appProtocol").str();
  if (appProtocol !== undefined) out.appProtocol = appProtocol;
  return out;
}

/** An int-or-string: a port number, or the name of a container port. null: invalid. */
function readTargetPort(c: Cursor): number | string | undefined | null {
  if (!c.present) return undefined;
  if (c.kind === "number") return readPort(c) ?? null;
  const s = c.str();
  if (s === undefined) return null;
  if (/^[0-9]+$/.test(s)) {
    c.error("invalid-port", `"${s}" is a string, so it names a container port, and a port name needs a letter`, {
      hint: `write targetPort: ${s} without quotes to target port number ${s}`,
    });
    return null;
  }
  const problem = checkPortName(s);
  if (problem) {
    c.error("invalid-port", `${problem} (expected a port number 1-65535 or the name of a container port)`);
    return null;
  }
  return s;
}

function readNodePortValue(c: Cursor): number | undefined {
  if (!c.present) return undefined;
  const v = c.scalar;
  if (typeof v === "number" && Number.isInteger(v) && v >= NODE_PORT_MIN && v <= NODE_PORT_MAX) return v;
  c.error("invalid-node-port", `${c.describe()} is not in the NodePort range (expected an integer ${NODE_PORT_MIN}-${NODE_PORT_MAX})`, {
    hint: `NodePorts come from --service-node-port-range (default ${NODE_PORT_MIN}-${NODE_PORT_MAX}); leave it out to have one allocated`,
  });
  return undefined;
}

/** status.loadBalancer.ingress[].ip: the address a cloud would have assigned. */
function readStatusIngress(status: Cursor): string[] {
  const ingress = status.get("loadBalancer").get("ingress");
  if (!ingress.isSeq()) return [];
  const out: string[] = [];
  for (const item of ingress.items()) {
    const ip = readIpv4(item.get("ip"));
    if (ip !== undefined) out.push(ip);
  }
  return out;
}

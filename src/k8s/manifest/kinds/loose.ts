// Kinds kept loosely for the L7 proxy: Ingress, IngressClass, the Gateway API (GatewayClass,
// Gateway, HTTPRoute) and Secret. The spec is kept as plain data with the position of every
// field, after the checks the API server (and the Gateway API CRDs) would make: path types and
// absolute paths, backends, hosts, match types, methods, filters, backendRef ports and weights.

import { parseIpv4 } from "../../../wire/index.js";
import type {
  Gateway,
  GatewayClass,
  HTTPRoute,
  Ingress,
  IngressClass,
  ObjectMeta,
  Secret,
} from "../../model.js";
import type { Cursor } from "../cursor.js";
import { checkName } from "../names.js";
import type { Base } from "./base.js";
import { readEnum, readPort } from "./values.js";

type LooseKind = "Ingress" | "IngressClass" | "GatewayClass" | "Gateway" | "HTTPRoute";
type LooseOf<K extends LooseKind> = Extract<Ingress | IngressClass | GatewayClass | Gateway | HTTPRoute, { kind: K }>;

/**
 * A reader that keeps the spec as written, after `check` has looked at the parts the API server
 * validates. metadata.creationTimestamp is kept too (Gateway API precedence orders routes by it).
 */
export function looseReader<K extends LooseKind>(kind: K, check: (spec: Cursor) => void = () => {}) {
  return (c: Cursor, metadata: ObjectMeta, base: Base): LooseOf<K> => {
    const spec = c.get("spec");
    if (!spec.present || spec.isMap()) check(spec);
    const plain = spec.kind === "map" ? (spec.toJS() as Record<string, unknown>) : {};
    const created = readTimestamp(c.get("metadata").get("creationTimestamp"));
    const meta = created === undefined ? metadata : { ...metadata, creationTimestamp: created };
    return { ...base, kind, metadata: meta, spec: plain, positions: c.positions() } as unknown as LooseOf<K>;
  };
}

/** An RFC 3339 time (YAML 1.1 may already have read it as a timestamp), as an ISO string. */
function readTimestamp(c: Cursor): string | undefined {
  if (!c.present) return undefined;
  const v = c.scalar;
  if (v instanceof Date) return v.toISOString();
  const s = c.str();
  if (s === undefined) return undefined;
  if (!Number.isNaN(Date.parse(s))) return s;
  c.error("invalid-value", `"${s}" is not an RFC 3339 time`, { hint: 'e.g. "2026-01-02T03:04:05Z"' });
  return undefined;
}

export const checkGatewayClass = (spec: Cursor): void => {
  spec.get("controllerName").requiredStr("a controller name, e.g. example.net/gateway-controller");
};

export const checkIngressClass = (spec: Cursor): void => {
  spec.get("controller").str();
};

// ---- Ingress (k8s.io/kubernetes pkg/apis/networking/validation: ValidateIngressSpec) ----

const PATH_TYPES = ["Exact", "Prefix", "ImplementationSpecific"] as const;
const INVALID_PATH_SEQUENCES = ["//", "/./", "/../", "%2f", "%2F"];
const INVALID_PATH_SUFFIXES = ["/..", "/."];

/** A host as Ingress rules, TLS entries and HTTPRoutes allow it: a DNS subdomain, optionally `*.` first, not an IP. */
function checkHost(c: Cursor, what: string): void {
  const host = c.str();
  if (host === undefined) return;
  if (parseIpv4(host).ok) {
    c.error("invalid-value", `${what} must be a DNS name, not an IP address`);
    return;
  }
  const name = host.startsWith("*.") ? host.slice(2) : host;
  const problem = checkName(name, "dns1123-subdomain");
  if (problem) c.error("invalid-value", `${what} "${host}": ${problem.message}`, { hint: host.includes("*") ? "a wildcard must be the whole first label: *.example.com" : problem.hint });
}

/** An IngressBackend: a Service with a port number or name (or a resource). */
function checkIngressBackend(b: Cursor): void {
  if (!b.isMap()) return;
  b.known(["service", "resource"]);
  const svc = b.get("service");
  if (svc.present === b.get("resource").present) {
    b.error("missing-field", "a backend needs exactly one of service or resource", { hint: "backend: {service: {name: web, port: {number: 80}}}" });
    return;
  }
  if (!svc.present || !svc.isMap()) return;
  svc.known(["name", "port"]);
  svc.get("name").requiredStr("the name of a Service");
  const port = svc.get("port");
  if (!port.present) return port.missing("{number: PORT} or {name: PORT-NAME}");
  if (!port.isMap()) return;
  port.known(["number", "name"]);
  if (port.get("number").present === port.get("name").present) return port.error("invalid-value", "a Service port needs exactly one of number or name");
  readPort(port.get("number"));
  port.get("name").str();
}

function checkIngressPath(p: Cursor): void {
  if (!p.isMap()) return;
  p.known(["path", "pathType", "backend"]);
  const typeCursor = p.get("pathType");
  if (!typeCursor.present) typeCursor.missing(`a pathType (${PATH_TYPES.join(", ")})`, "Prefix matches /foo, /foo/ and /foo/bar; Exact matches /foo only");
  const pathType = readEnum(typeCursor, PATH_TYPES, "a pathType");
  const pc = p.get("path");
  const path = pc.str();
  if (pathType === "Exact" || pathType === "Prefix") {
    if (path === undefined || !path.startsWith("/")) pc.error("invalid-value", `${path === undefined ? "a path is required" : `"${path}" must be an absolute path`} for pathType ${pathType}`, { hint: "start it with /" });
    else {
      for (const seq of INVALID_PATH_SEQUENCES) if (path.includes(seq)) pc.error("invalid-value", `"${path}" must not contain '${seq}'`);
      for (const suffix of INVALID_PATH_SUFFIXES) if (path.endsWith(suffix)) pc.error("invalid-value", `"${path}" cannot end with '${suffix}'`);
    }
  } else if (path !== undefined && !path.startsWith("/")) pc.error("invalid-value", `"${path}" must be an absolute path`, { hint: "start it with /" });
  const backend = p.get("backend");
  if (!backend.present) backend.missing("a backend: {service: {name: NAME, port: {number: PORT}}}");
  else checkIngressBackend(backend);
}

export const checkIngress = (spec: Cursor): void => {
  spec.known(["ingressClassName", "defaultBackend", "tls", "rules"]);
  spec.get("ingressClassName").str();
  if (spec.get("defaultBackend").present) checkIngressBackend(spec.get("defaultBackend"));
  const tls = spec.get("tls");
  if (tls.present && tls.isSeq())
    for (const t of tls.items()) {
      if (!t.isMap()) continue;
      t.known(["hosts", "secretName"]);
      for (const h of t.get("hosts").present ? t.get("hosts").items() : []) checkHost(h, "a TLS host");
      t.get("secretName").str();
    }
  const rules = spec.get("rules");
  if (!rules.present || !rules.isSeq()) return;
  for (const r of rules.items()) {
    if (!r.isMap()) continue;
    r.known(["host", "http"]);
    checkHost(r.get("host"), "host");
    const http = r.get("http");
    if (!http.present || !http.isMap()) continue;
    const paths = http.get("paths");
    if (!paths.present) paths.missing("a list of paths");
    else if (paths.isSeq()) for (const p of paths.items()) checkIngressPath(p);
  }
};

// ---- Gateway API (gateway.networking.k8s.io/v1 CRD validation) ----

const ALLOWED_FROM = ["All", "Same", "Selector"] as const;

/** A Gateway needs a class and at least one listener, each with a name, port and protocol. */
export const checkGateway = (spec: Cursor): void => {
  spec.get("gatewayClassName").requiredStr("the name of a GatewayClass");
  const listeners = spec.get("listeners");
  if (!listeners.present) {
    listeners.missing("at least one listener");
    return;
  }
  if (!listeners.isSeq()) return;
  for (const l of listeners.items()) {
    if (!l.isMap()) continue;
    l.get("name").requiredStr("a listener name");
    const port = l.get("port");
    if (!port.present) port.missing("a port number 1-65535");
    readPort(port);
    const protocol = l.get("protocol").requiredStr("HTTP, HTTPS, TLS, TCP or UDP");
    checkHost(l.get("hostname"), "hostname");
    if (protocol === "HTTPS" && !l.get("tls").present) l.get("tls").missing("tls.certificateRefs for an HTTPS listener");
    readEnum(l.get("allowedRoutes").get("namespaces").get("from"), ALLOWED_FROM, "an allowedRoutes namespaces.from");
  }
};

const PATH_MATCH_TYPES = ["Exact", "PathPrefix", "RegularExpression"] as const;
const VALUE_MATCH_TYPES = ["Exact", "RegularExpression"] as const;
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"] as const;
const FILTER_TYPES = ["RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect", "URLRewrite", "ExtensionRef", "CORS", "ExternalAuth"] as const;
const REDIRECT_CODES = [301, 302, 303, 307, 308];

function checkValueMatches(list: Cursor, what: string): void {
  if (!list.present || !list.isSeq()) return;
  for (const h of list.items()) {
    if (!h.isMap()) continue;
    h.known(["name", "value", "type"]);
    h.get("name").requiredStr(`a ${what} name`);
    h.get("value").requiredStr(`the ${what} value to match`);
    readEnum(h.get("type"), VALUE_MATCH_TYPES, `a ${what} match type`);
  }
}

function checkRouteMatch(m: Cursor): void {
  if (!m.isMap()) return;
  m.known(["path", "headers", "queryParams", "method"]);
  const path = m.get("path");
  if (path.present && path.isMap()) {
    path.known(["type", "value"]);
    const tc = path.get("type");
    let type: string = "PathPrefix";
    if (tc.str() === "Prefix")
      tc.error("invalid-value", `"Prefix" is not a path match type (expected ${PATH_MATCH_TYPES.join(", ")})`, { hint: "the Gateway API calls it PathPrefix (Prefix is the Ingress pathType)" });
    else type = readEnum(tc, PATH_MATCH_TYPES, "a path match type") ?? "PathPrefix";
    const vc = path.get("value");
    const value = vc.str();
    if (value !== undefined && type !== "RegularExpression") {
      if (!value.startsWith("/")) vc.error("invalid-value", `"${value}" must be an absolute path`, { hint: "start it with /" });
      else if (value.includes("//")) vc.error("invalid-value", `"${value}" must not contain '//'`);
    }
  }
  checkValueMatches(m.get("headers"), "header");
  checkValueMatches(m.get("queryParams"), "query param");
  readEnum(m.get("method"), METHODS, "an HTTP method");
}

function checkFilter(f: Cursor): void {
  if (!f.isMap()) return;
  const tc = f.get("type");
  if (!tc.present) tc.missing(`a filter type (${FILTER_TYPES.join(", ")})`);
  const type = readEnum(tc, FILTER_TYPES, "a filter type");
  if (type === "RequestHeaderModifier" && !f.get("requestHeaderModifier").present) f.get("requestHeaderModifier").missing("set, add or remove");
  if (type === "RequestRedirect") {
    const r = f.get("requestRedirect");
    if (!r.present) return r.missing("scheme, hostname, path, port or statusCode");
    const code = r.get("statusCode");
    if (code.present && !REDIRECT_CODES.includes(code.scalar as number)) code.error("invalid-value", `${code.describe()} is not a redirect status (expected ${REDIRECT_CODES.join(", ")})`);
    readPort(r.get("port"));
  }
}

export const checkHTTPRoute = (spec: Cursor): void => {
  const parentRefs = spec.get("parentRefs");
  if (parentRefs.present && parentRefs.isSeq()) for (const p of parentRefs.items()) if (p.isMap()) p.get("name").requiredStr("the name of a Gateway");
  const hostnames = spec.get("hostnames");
  if (hostnames.present && hostnames.isSeq()) for (const h of hostnames.items()) checkHost(h, "a hostname");
  const rules = spec.get("rules");
  if (!rules.present || !rules.isSeq()) return;
  for (const r of rules.items()) {
    if (!r.isMap()) continue;
    const matches = r.get("matches");
    if (matches.present && matches.isSeq()) for (const m of matches.items()) checkRouteMatch(m);
    const filters = r.get("filters");
    if (filters.present && filters.isSeq()) for (const f of filters.items()) checkFilter(f);
    const refs = r.get("backendRefs");
    if (!refs.present || !refs.isSeq()) continue;
    for (const b of refs.items()) {
      if (!b.isMap()) continue;
      b.get("name").requiredStr("the name of a Service");
      const kind = b.get("kind").str() ?? "Service";
      const port = b.get("port");
      if (kind === "Service" && !port.present) port.missing("a port: a backendRef to a Service needs one");
      readPort(port);
      b.get("weight").int("a weight", 0, 1_000_000);
    }
  }
};

/** Secret: data is base64 (decoded here), stringData is merged over it, as the API server does. */
export function readSecret(c: Cursor, metadata: ObjectMeta, base: Base): Secret {
  const type = c.get("type").str() ?? "Opaque";
  const data: Record<string, Buffer> = {};
  const dataCursor = c.get("data");
  const encoded = dataCursor.stringMap("a map of keys to base64 strings") ?? {};
  for (const [key, value] of Object.entries(encoded)) {
    const compact = value.replace(/[\r\n]/g, "");
    if (compact.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(compact)) data[key] = Buffer.from(compact, "base64");
    else
      dataCursor.get(key).error("invalid-value", "is not valid base64", {
        hint: "encode it with `base64 -w0 FILE`, or put the plain text under stringData",
      });
  }
  for (const [key, value] of Object.entries(c.get("stringData").stringMap() ?? {})) data[key] = Buffer.from(value, "utf8");
  if (type === "kubernetes.io/tls")
    for (const key of ["tls.crt", "tls.key"])
      if (!(key in data))
        dataCursor.error("missing-field", `a kubernetes.io/tls Secret needs data["${key}"]`, {
          hint: "create it with `kubectl create secret tls NAME --cert=FILE --key=FILE --dry-run=client -o yaml`",
        });
  return { ...base, kind: "Secret", metadata, type, data, positions: c.positions() };
}

// Kinds kept loosely for the L7 proxy of later issues: Ingress, IngressClass, the Gateway API
// (GatewayClass, Gateway, HTTPRoute) and Secret. The spec is kept as plain data with the
// position of every field; only what the API server's schema makes required is checked here.

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
import type { Base } from "./base.js";
import { readPort } from "./values.js";

type LooseKind = "Ingress" | "IngressClass" | "GatewayClass" | "Gateway" | "HTTPRoute";
type LooseOf<K extends LooseKind> = Extract<Ingress | IngressClass | GatewayClass | Gateway | HTTPRoute, { kind: K }>;

/** A reader that keeps the spec as written, after `check` has looked at the required parts. */
export function looseReader<K extends LooseKind>(kind: K, check: (spec: Cursor) => void = () => {}) {
  return (c: Cursor, metadata: ObjectMeta, base: Base): LooseOf<K> => {
    const spec = c.get("spec");
    if (!spec.present || spec.isMap()) check(spec);
    const plain = spec.kind === "map" ? (spec.toJS() as Record<string, unknown>) : {};
    return { ...base, kind, metadata, spec: plain, positions: c.positions() } as unknown as LooseOf<K>;
  };
}

export const checkGatewayClass = (spec: Cursor): void => {
  spec.get("controllerName").requiredStr("a controller name, e.g. example.net/gateway-controller");
};

export const checkIngressClass = (spec: Cursor): void => {
  spec.get("controller").str();
};

export const checkIngress = (spec: Cursor): void => {
  spec.get("ingressClassName").str();
  const rules = spec.get("rules");
  if (rules.present) rules.isSeq();
};

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
    l.get("protocol").requiredStr("HTTP, HTTPS, TLS, TCP or UDP");
  }
};

export const checkHTTPRoute = (spec: Cursor): void => {
  const parentRefs = spec.get("parentRefs");
  if (parentRefs.present) parentRefs.isSeq();
  const rules = spec.get("rules");
  if (rules.present) rules.isSeq();
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

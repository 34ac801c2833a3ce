// What both routers look up while compiling: Services and Secrets by namespace/name, the
// certificate a kubernetes.io/tls Secret holds, and warnings that point at the manifest line of
// the field they are about.

import type { K8sObject, Secret, Service } from "../model.js";
import { objectRef } from "../model.js";
import type { L7Backend, L7Certificate, L7Warning } from "./types.js";

/** The objects a router resolves references against. */
export class ObjectIndex {
  readonly services = new Map<string, Service>();
  readonly secrets = new Map<string, Secret>();

  constructor(objects: readonly K8sObject[]) {
    for (const o of objects) {
      const key = `${o.metadata.namespace}/${o.metadata.name}`;
      if (o.kind === "Service") this.services.set(key, o);
      else if (o.kind === "Secret") this.secrets.set(key, o);
    }
  }

  service(namespace: string, name: string): Service | undefined {
    return this.services.get(`${namespace}/${name}`);
  }

  /**
   * Why a backend cannot be reached, or undefined when it can: the Service is missing, or has no
   * port of that number or name.
   */
  backendProblem(namespace: string, name: string, port: number | string): string | undefined {
    const svc = this.service(namespace, name);
    if (!svc) return `Service ${namespace}/${name} not found`;
    if (svc.spec.type === "ExternalName") return undefined;
    const found = svc.spec.ports.some((p) => (typeof port === "number" ? p.port === port : p.name === port));
    return found ? undefined : `Service ${namespace}/${name} has no port ${typeof port === "number" ? port : `named "${port}"`}`;
  }

  /** The certificate of a kubernetes.io/tls Secret, or why it cannot be used. */
  certificate(namespace: string, name: string): L7Certificate | string {
    const s = this.secrets.get(`${namespace}/${name}`);
    if (!s) return `Secret ${namespace}/${name} not found`;
    const cert = s.data["tls.crt"];
    const key = s.data["tls.key"];
    if (!cert || !key) return `Secret ${namespace}/${name} has no tls.crt and tls.key`;
    return { cert: cert.toString("utf8"), key: key.toString("utf8"), origin: `Secret ${namespace}/${name}` };
  }
}

type Located = { kind: string; metadata: { name: string; namespace: string }; source: { file: string; line: number }; positions: ReadonlyMap<string, { file: string; line: number }> };

/** file:line of a field of an object read from a manifest (the object's own line when the field is not there). */
export function whereOf(o: Located, field: string): string | undefined {
  let f = field;
  for (;;) {
    const p = o.positions.get(f);
    if (p) return p.file ? `${p.file}:${p.line}` : undefined;
    const cut = Math.max(f.lastIndexOf("."), f.lastIndexOf("["));
    if (cut <= 0) break;
    f = f.slice(0, cut);
  }
  return o.source.file ? `${o.source.file}:${o.source.line}` : undefined;
}

export function warningAt(o: Located, field: string, message: string): L7Warning {
  const where = whereOf(o, field);
  return where === undefined ? { object: objectRef(o), field, message } : { object: objectRef(o), field, message, where };
}

/**
 * metadata.creationTimestamp as the manifest reader keeps it for loosely read kinds (a property
 * model.ts's ObjectMeta does not declare yet), in ms; +Infinity when the manifest gives none:
 * objects applied together are created in the same second, after any with a given time.
 */
export function createdAt(o: { metadata: object }): number {
  const ts = (o.metadata as { creationTimestamp?: unknown }).creationTimestamp;
  const ms = typeof ts === "string" ? Date.parse(ts) : Number.NaN;
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/** ingress-nginx's upstream name: namespace-service-port. */
export const upstreamName = (b: Pick<L7Backend, "namespace" | "service" | "port">): string => `${b.namespace}-${b.service}-${b.port}`;

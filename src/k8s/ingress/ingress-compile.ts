// networking.k8s.io/v1 Ingress objects compiled as ingress-nginx did (internal/ingress/controller
// createServers and updateServerLocations): the Ingresses of one IngressClass merged into one
// server per host (`_` for rules without a host), each with a root location sent to the default
// backend (or to the Ingress's spec.defaultBackend), its paths as locations, and the TLS Secret
// of the host; Ingresses taken in ingress-nginx's order, the first keeping a path two define.
// Broken references become warnings; the rest still routes.

import type { Ingress, IngressClass, K8sObject } from "../model.js";
import { objectRef } from "../model.js";
import { ingressHostMatches } from "./hostname.js";
import { prefixBase } from "./path.js";
import { createdAt, ObjectIndex, warningAt } from "./refs.js";
import type { L7Backend, L7Certificate, L7Source, L7Warning } from "./types.js";

/** The controller name ingress-nginx registers in IngressClass spec.controller. */
export const INGRESS_NGINX_CONTROLLER = "k8s.io/ingress-nginx";
/** The IngressClass name ingress-nginx serves when no IngressClass names its controller. */
export const INGRESS_NGINX_DEFAULT_CLASS = "nginx";
export const DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class";
export const LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class";
export const SSL_REDIRECT_ANNOTATION = "nginx.ingress.kubernetes.io/ssl-redirect";
export const FORCE_SSL_REDIRECT_ANNOTATION = "nginx.ingress.kubernetes.io/force-ssl-redirect";
/** The server name of the catch-all server (rules without a host, requests for unknown hosts). */
export const CATCH_ALL = "_";

export type IngressPathType = "Exact" | "Prefix" | "ImplementationSpecific";

/** Where a location sends a request. */
export type IngressTarget =
  | { readonly kind: "backend"; readonly backend: L7Backend }
  /** The Service (or its port) is missing: ingress-nginx's upstream has no endpoints, 503. */
  | { readonly kind: "unavailable"; readonly backend: L7Backend; readonly reason: string }
  /** The controller's default backend: 404. */
  | { readonly kind: "default" };

export interface IngressLocation {
  readonly pathType: IngressPathType;
  /** The path as written. */
  readonly path: string;
  readonly exact: boolean;
  /** What is compared: the exact path, or the prefix without its trailing slash. */
  readonly key: string;
  readonly target: IngressTarget;
  readonly source: L7Source | undefined;
  /** The Ingress's ssl-redirect (and force-ssl-redirect) annotations, or the controller default. */
  readonly sslRedirect: boolean;
  readonly forceSslRedirect: boolean;
}

export interface IngressServer {
  readonly host: string;
  /** The root location `/`: the default backend, or the first Ingress's spec.defaultBackend; its source names the Ingress that made the server. */
  root: IngressLocation;
  readonly locations: IngressLocation[];
  /** Set when an Ingress lists the host under spec.tls. */
  tls?: { readonly certificate: L7Certificate; readonly object: string };
}

export interface CompiledIngress {
  readonly className: string;
  readonly ingresses: readonly Ingress[];
  readonly servers: Map<string, IngressServer>;
  /** TLS host patterns (exact or `*.`) and their certificates, first Ingress first. */
  readonly tlsHosts: Map<string, { readonly certificate: L7Certificate; readonly object: string }>;
  readonly warnings: L7Warning[];
}

export interface IngressOptions {
  readonly className?: string;
  readonly fallback: L7Certificate;
  /** ingress-nginx's ssl-redirect default (ConfigMap `ssl-redirect`): true. */
  readonly sslRedirect?: boolean;
}

/** The IngressClass this controller serves, and whether Ingresses without a class belong to it. */
export function selectClass(objects: readonly K8sObject[], className?: string): { name: string; isDefault: boolean } {
  const classes = objects.filter((o): o is IngressClass => o.kind === "IngressClass");
  const isDefault = (c: IngressClass | undefined) => c?.metadata.annotations[DEFAULT_CLASS_ANNOTATION] === "true";
  if (className !== undefined) return { name: className, isDefault: isDefault(classes.find((c) => c.metadata.name === className)) };
  const ours = classes.filter((c) => c.spec.controller === INGRESS_NGINX_CONTROLLER);
  const chosen = ours.find(isDefault) ?? ours[0];
  return chosen ? { name: chosen.metadata.name, isDefault: isDefault(chosen) } : { name: INGRESS_NGINX_DEFAULT_CLASS, isDefault: false };
}

/** Whether an Ingress belongs to the class: by ingressClassName, the legacy annotation, or none when the class is the default. */
export function ingressInClass(ing: Ingress, cls: { name: string; isDefault: boolean }): boolean {
  const field = typeof ing.spec.ingressClassName === "string" ? ing.spec.ingressClassName : undefined;
  const annotation = ing.metadata.annotations[LEGACY_CLASS_ANNOTATION];
  if (field !== undefined) return field === cls.name;
  if (annotation !== undefined) return annotation === cls.name;
  return cls.isDefault;
}

type Plain = Record<string, unknown>;
const asMap = (v: unknown): Plain | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Plain) : undefined);
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asStr = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/**
 * The order ingress-nginx compiles Ingresses in, the first keeping a path two define
 * (store.go sortIngressSlice): oldest creationTimestamp first; equal times (Ingresses applied
 * together) by namespace/name in reverse.
 */
export function sortIngresses(ingresses: readonly Ingress[]): Ingress[] {
  const key = (i: Ingress) => `${i.metadata.namespace}/${i.metadata.name}`;
  return [...ingresses].sort((a, b) => createdAt(a) - createdAt(b) || (key(a) > key(b) ? -1 : key(a) < key(b) ? 1 : 0));
}

export function compileIngresses(objects: readonly K8sObject[], opts: IngressOptions): CompiledIngress {
  const cls = selectClass(objects, opts.className);
  const index = new ObjectIndex(objects);
  const ingresses = sortIngresses(objects.filter((o): o is Ingress => o.kind === "Ingress" && ingressInClass(o, cls)));
  const warnings: L7Warning[] = [];
  const globalRedirect = opts.sslRedirect ?? true;
  const defaultLocation = (sslRedirect: boolean, target: IngressTarget = { kind: "default" }, source?: L7Source): IngressLocation => ({
    pathType: "Prefix",
    path: "/",
    exact: false,
    key: "/",
    target,
    source,
    sslRedirect,
    forceSslRedirect: false,
  });
  const servers = new Map<string, IngressServer>([[CATCH_ALL, { host: CATCH_ALL, root: defaultLocation(globalRedirect), locations: [] }]]);
  const tlsHosts = new Map<string, { certificate: L7Certificate; object: string }>();

  for (const ing of ingresses) {
    const ns = ing.metadata.namespace;
    const redirectAnn = ing.metadata.annotations[SSL_REDIRECT_ANNOTATION];
    const sslRedirect = redirectAnn === undefined ? globalRedirect : redirectAnn === "true";
    const forceSslRedirect = ing.metadata.annotations[FORCE_SSL_REDIRECT_ANNOTATION] === "true";
    const target = (backend: unknown, field: string): IngressTarget => {
      const svc = asMap(asMap(backend)?.service);
      const name = asStr(svc?.name);
      const portSpec = asMap(svc?.port);
      const port = typeof portSpec?.number === "number" ? portSpec.number : asStr(portSpec?.name);
      if (name === undefined || port === undefined) {
        warnings.push(warningAt(ing, field, "the backend is not a Service with a port (resource backends are not supported by ingress-nginx)"));
        return { kind: "unavailable", backend: { namespace: ns, service: name ?? "", port: port ?? 0, weight: 1 }, reason: "no usable backend" };
      }
      const b: L7Backend = { namespace: ns, service: name, port, weight: 1 };
      const problem = index.backendProblem(ns, name, port);
      if (problem === undefined) return { kind: "backend", backend: b };
      warnings.push(warningAt(ing, `${field}.service.${problem.includes("port") ? "port" : "name"}`, `${problem}: requests routed here get 503`));
      return { kind: "unavailable", backend: b, reason: problem };
    };
    const source = (host: string, path: string, pathType: string): L7Source => ({
      kind: "Ingress",
      namespace: ns,
      name: ing.metadata.name,
      detail: `host ${host === CATCH_ALL ? "*" : host} path ${path} (${pathType})`,
    });

    // ingress-nginx: an Ingress's defaultBackend is the root of every server it creates; with no
    // rules at all it becomes the catch-all server's root.
    let rootTarget: IngressTarget = { kind: "default" };
    let rootSource: L7Source | undefined;
    if (ing.spec.defaultBackend !== undefined) {
      rootTarget = target(ing.spec.defaultBackend, "spec.defaultBackend");
      rootSource = { kind: "Ingress", namespace: ns, name: ing.metadata.name, detail: "defaultBackend" };
      const rules = asList(ing.spec.rules);
      const catchAll = servers.get(CATCH_ALL) as IngressServer;
      if (rules.length === 0 && catchAll.root.target.kind === "default")
        catchAll.root = defaultLocation(sslRedirect, rootTarget, rootSource);
    }

    asList(ing.spec.rules).forEach((ruleRaw, ri) => {
      const rule = asMap(ruleRaw) ?? {};
      const host = asStr(rule.host)?.toLowerCase() || CATCH_ALL;
      let server = servers.get(host);
      if (!server) {
        const source = rootSource ?? { kind: "Ingress" as const, namespace: ns, name: ing.metadata.name, detail: `host ${host === CATCH_ALL ? "*" : host} (default backend)` };
        server = { host, root: defaultLocation(sslRedirect, rootTarget, source), locations: [] };
        servers.set(host, server);
      }
      asList(asMap(rule.http)?.paths).forEach((pRaw, pi) => {
        const p = asMap(pRaw) ?? {};
        const field = `spec.rules[${ri}].http.paths[${pi}]`;
        const pathType = (asStr(p.pathType) ?? "ImplementationSpecific") as IngressPathType;
        const path = asStr(p.path) ?? "/";
        const exact = pathType === "Exact";
        const key = exact ? path : prefixBase(path);
        const clash = server.locations.find((l) => l.exact === exact && l.key === key);
        if (clash) {
          warnings.push(warningAt(ing, `${field}.path`, `path ${path} (${pathType}) on host ${host === CATCH_ALL ? "*" : host} is already routed by ${clash.source ? `Ingress ${clash.source.namespace}/${clash.source.name}` : "an earlier rule"}; ignored`));
          return;
        }
        server.locations.push({ pathType, path, exact, key, target: target(p.backend, `${field}.backend`), source: source(host, path, pathType), sslRedirect, forceSslRedirect });
      });
    });

    asList(ing.spec.tls).forEach((tRaw, ti) => {
      const t = asMap(tRaw) ?? {};
      const secretName = asStr(t.secretName);
      let certificate: L7Certificate = opts.fallback;
      if (secretName === undefined) warnings.push(warningAt(ing, `spec.tls[${ti}]`, "no secretName: the fallback certificate is used"));
      else {
        const c = index.certificate(ns, secretName);
        if (typeof c === "string") warnings.push(warningAt(ing, `spec.tls[${ti}].secretName`, `${c}: the fallback certificate is used`));
        else certificate = c;
      }
      for (const h of asList(t.hosts)) {
        const host = asStr(h)?.toLowerCase();
        if (host === undefined || tlsHosts.has(host)) continue;
        tlsHosts.set(host, { certificate, object: objectRef(ing) });
      }
    });
  }

  // A server has TLS when a TLS entry names its host (or a wildcard covering it), as
  // ingress-nginx's createServers matched spec.tls[].hosts against each server's hostname.
  for (const server of servers.values()) {
    if (server.host === CATCH_ALL) continue;
    const tls = tlsHosts.get(server.host) ?? [...tlsHosts].find(([pattern]) => pattern.startsWith("*.") && ingressHostMatches(pattern, server.host))?.[1];
    if (tls) server.tls = tls;
  }
  return { className: cls.name, ingresses, servers, tlsHosts, warnings };
}

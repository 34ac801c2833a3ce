// A Gateway's listeners and the HTTPRoutes attached to them (gateway_types.go, shared_types.go
// ParentReference): parentRefs by name, namespace, sectionName and port; allowedRoutes
// namespaces Same, All or Selector; each route's hostnames intersected with the listener's, a
// route with no intersection not attached.

import { matchesSelector } from "../manifest/index.js";
import type { Gateway, HTTPRoute, K8sObject, LabelSelector, Namespace } from "../model.js";
import { compileRouteRules, type RouteMatch } from "./gateway-rules.js";
import { intersectHostnames } from "./hostname.js";
import { createdAt, ObjectIndex, warningAt } from "./refs.js";
import type { L7Certificate, L7Warning } from "./types.js";

export const GATEWAY_GROUP = "gateway.networking.k8s.io";

export interface GatewayListener {
  readonly name: string;
  readonly port: number;
  readonly protocol: "HTTP" | "HTTPS";
  readonly hostname?: string;
  /** HTTPS: the first certificateRef's certificate, or the fallback (with a warning). */
  readonly certificate?: L7Certificate;
  readonly field: string;
}

export interface Attachment {
  readonly route: HTTPRoute;
  /** metadata.creationTimestamp in ms (refs.ts createdAt). */
  readonly createdAt: number;
  /** The route's hostnames on this listener; `undefined` stands for any host. */
  readonly hostnames: readonly (string | undefined)[];
  readonly matches: readonly RouteMatch[];
}

export interface CompiledGateway {
  readonly gateway: Gateway;
  readonly listeners: readonly GatewayListener[];
  /** Attachments per listener name. */
  readonly attached: Map<string, Attachment[]>;
  readonly warnings: L7Warning[];
}

type Plain = Record<string, unknown>;
const asMap = (v: unknown): Plain | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Plain) : undefined);
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asStr = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function readListeners(gw: Gateway, index: ObjectIndex, fallback: L7Certificate, warnings: L7Warning[]): GatewayListener[] {
  const out: GatewayListener[] = [];
  asList(gw.spec.listeners).forEach((lRaw, i) => {
    const l = asMap(lRaw) ?? {};
    const field = `spec.listeners[${i}]`;
    const name = asStr(l.name) ?? `listener-${i}`;
    const port = typeof l.port === "number" ? l.port : 0;
    const protocol = asStr(l.protocol) ?? "";
    const hostname = asStr(l.hostname)?.toLowerCase();
    if (protocol !== "HTTP" && protocol !== "HTTPS") {
      warnings.push(warningAt(gw, `${field}.protocol`, `protocol ${protocol} is not served by kubewire's L7 proxy; listener ${name} ignored`));
      return;
    }
    const clash = out.find((o) => o.port === port && (o.protocol !== protocol || o.hostname === hostname));
    if (clash) {
      warnings.push(warningAt(gw, field, `listener ${name} conflicts with listener ${clash.name} (same port ${clash.protocol !== protocol ? "with another protocol" : "and hostname"}); ignored`));
      return;
    }
    let certificate: L7Certificate | undefined;
    if (protocol === "HTTPS") {
      certificate = fallback;
      const ref = asMap(asList(asMap(l.tls)?.certificateRefs)[0]);
      const refNs = asStr(ref?.namespace) ?? gw.metadata.namespace;
      if (!ref) warnings.push(warningAt(gw, `${field}.tls`, `HTTPS listener ${name} has no certificateRefs: the fallback certificate is used`));
      else if (refNs !== gw.metadata.namespace)
        warnings.push(warningAt(gw, `${field}.tls.certificateRefs[0].namespace`, "a certificateRef to another namespace needs a ReferenceGrant, which kubewire does not model: the fallback certificate is used"));
      else {
        const c = index.certificate(refNs, asStr(ref.name) ?? "");
        if (typeof c === "string") warnings.push(warningAt(gw, `${field}.tls.certificateRefs[0].name`, `${c}: the fallback certificate is used`));
        else certificate = c;
      }
    }
    out.push({ name, port, protocol, hostname, certificate, field });
  });
  return out;
}

/** Whether the listener's allowedRoutes admit a route from this namespace. */
function admits(gw: Gateway, listenerIndex: number, routeNs: string, namespaces: Map<string, Namespace>): boolean {
  const l = asMap(asList(gw.spec.listeners)[listenerIndex]) ?? {};
  const ns = asMap(asMap(l.allowedRoutes)?.namespaces) ?? {};
  const from = asStr(ns.from) ?? "Same";
  if (from === "All") return true;
  if (from === "Same") return routeNs === gw.metadata.namespace;
  if (from === "Selector") {
    const sel = asMap(ns.selector) ?? {};
    const selector: LabelSelector = {
      matchLabels: (asMap(sel.matchLabels) as Record<string, string>) ?? {},
      matchExpressions: asList(sel.matchExpressions).map((e) => ({ key: String(asMap(e)?.key), operator: asStr(asMap(e)?.operator) as "In", values: asList(asMap(e)?.values).map(String) })),
    };
    return matchesSelector(selector, namespaces.get(routeNs)?.metadata.labels ?? {});
  }
  return false;
}

export function compileGatewayObjects(objects: readonly K8sObject[], gw: Gateway, fallback: L7Certificate): CompiledGateway {
  const index = new ObjectIndex(objects);
  const warnings: L7Warning[] = [];
  const className = asStr(gw.spec.gatewayClassName);
  if (className !== undefined && objects.some((o) => o.kind === "GatewayClass") && !objects.some((o) => o.kind === "GatewayClass" && o.metadata.name === className))
    warnings.push(warningAt(gw, "spec.gatewayClassName", `GatewayClass ${className} not found`));
  const listeners = readListeners(gw, index, fallback, warnings);
  const listenerIndex = (name: string) => asList(gw.spec.listeners).findIndex((l) => asMap(l)?.name === name);
  const namespaces = new Map(objects.filter((o): o is Namespace => o.kind === "Namespace").map((n) => [n.metadata.name, n]));
  const attached = new Map<string, Attachment[]>(listeners.map((l) => [l.name, []]));

  const routes = objects.filter((o): o is HTTPRoute => o.kind === "HTTPRoute");
  for (const route of routes) {
    const rns = route.metadata.namespace;
    const hostnames = asList(route.spec.hostnames).map((h) => String(h).toLowerCase());
    let matches: RouteMatch[] | undefined;
    asList(route.spec.parentRefs).forEach((pRaw, pi) => {
      const p = asMap(pRaw) ?? {};
      if ((asStr(p.group) ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (asStr(p.kind) ?? "Gateway") !== "Gateway") return;
      if (asStr(p.name) !== gw.metadata.name || (asStr(p.namespace) ?? rns) !== gw.metadata.namespace) return;
      const section = asStr(p.sectionName);
      const port = typeof p.port === "number" ? p.port : undefined;
      const field = `spec.parentRefs[${pi}]`;
      const candidates = listeners.filter((l) => (section === undefined || l.name === section) && (port === undefined || l.port === port));
      if (candidates.length === 0) {
        warnings.push(warningAt(route, field, `no listener of Gateway ${gw.metadata.namespace}/${gw.metadata.name} matches${section ? ` sectionName ${section}` : ""}${port ? ` port ${port}` : ""}: not attached`));
        return;
      }
      let attachedHere = 0;
      let hostMismatch = false;
      for (const l of candidates) {
        if (!admits(gw, listenerIndex(l.name), rns, namespaces)) continue;
        const effective = intersectHostnames(l.hostname, hostnames);
        if (effective.length === 0) {
          hostMismatch = true;
          continue;
        }
        matches ??= compileRouteRules(route, index, warnings);
        const list = attached.get(l.name) as Attachment[];
        if (!list.some((a) => a.route === route)) list.push({ route, createdAt: createdAt(route), hostnames: effective, matches });
        attachedHere++;
      }
      if (attachedHere === 0)
        warnings.push(
          warningAt(route, hostMismatch ? "spec.hostnames" : field, hostMismatch ? "no hostname intersects the listener's (NoMatchingListenerHostname): not attached" : "the listener's allowedRoutes do not admit this namespace (NotAllowedByListeners): not attached"),
        );
    });
  }
  return { gateway: gw, listeners, attached, warnings };
}

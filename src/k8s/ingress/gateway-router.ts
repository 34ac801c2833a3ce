// The route table of one Gateway: the listener is chosen by port and Host (exact hostname before
// wildcard, more specific wildcard first, no hostname last), then across every HTTPRoute attached
// to it the match with the highest precedence wins (httproute_types.go): the route with the
// longest matching exact hostname, then the longest matching hostname; then an Exact path, the
// longest PathPrefix, a method, the most headers, the most query params; then the oldest route
// (creationTimestamp), namespace/name, rule order. No match: 404. Pure: no sockets.

import type { Gateway, K8sObject } from "../model.js";
import { type Attachment, type CompiledGateway, compileGatewayObjects, type GatewayListener } from "./gateway-compile.js";
import { describeGateway } from "./gateway-describe.js";
import { matchHolds, matchRank, queryOf, type RouteMatch, redirectLocation } from "./gateway-rules.js";
import { gatewayHostMatches, isWildcard, listenerHostRank, normalizeHost } from "./hostname.js";
import { badRequest, hostProblem } from "./ingress-router.js";
import { absoluteForm, normalizePath } from "./path.js";
import type { L7Backend, L7Certificate, L7Decision, L7Listener, L7Request, L7Router, L7Warning } from "./types.js";

/** What certificate() returns when no listener's certificate applies and the caller gave no fallback. */
export const NO_CERTIFICATE: L7Certificate = { cert: "", key: "", origin: "none (no fallback certificate given)" };

export interface GatewayOptions {
  /** Presented when a listener's Secret is missing, or no HTTPS listener matches the SNI. */
  readonly fallback?: L7Certificate;
}

/** Compiles a Gateway, its listeners and the HTTPRoutes attached to it into a router. */
export function compileGateway(objects: readonly K8sObject[], gateway: Gateway, opts: GatewayOptions = {}): GatewayRouter {
  const fallback = opts.fallback ?? NO_CERTIFICATE;
  return new GatewayRouter(compileGatewayObjects(objects, gateway, fallback), fallback);
}

/** Larger first, element by element. */
function compareRank(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return b[i] - a[i];
  return 0;
}

/** How specifically a route's hostnames match the host: [exact hostname length, matching hostname length]; undefined: no match. */
function hostRank(a: Attachment, host: string | undefined): number[] | undefined {
  let best: number[] | undefined;
  for (const h of a.hostnames) {
    let r: number[] | undefined;
    if (h === undefined) r = [0, 0];
    else if (host === undefined) continue;
    else if (!isWildcard(h) && h === host) r = [h.length, h.length];
    else if (isWildcard(h) && gatewayHostMatches(h, host)) r = [0, h.length];
    if (r && (!best || compareRank(r, best) < 0)) best = r;
  }
  return best;
}

export class GatewayRouter implements L7Router {
  readonly listeners: readonly L7Listener[];
  readonly warnings: readonly L7Warning[];

  constructor(
    readonly compiled: CompiledGateway,
    private readonly fallback: L7Certificate,
  ) {
    this.warnings = compiled.warnings;
    const ports = new Map<number, GatewayListener[]>();
    for (const l of compiled.listeners) ports.set(l.port, [...(ports.get(l.port) ?? []), l]);
    this.listeners = [...ports.values()].map((ls) => (ls.length === 1 ? { port: ls[0].port, protocol: ls[0].protocol, name: ls[0].name } : { port: ls[0].port, protocol: ls[0].protocol }));
  }

  /** The Gateway listener a host reaches on a port: the most specific hostname that matches. */
  listenerFor(port: number, protocol: string, host: string | undefined): GatewayListener | undefined {
    let best: GatewayListener | undefined;
    for (const l of this.compiled.listeners) {
      if (l.port !== port || l.protocol !== protocol) continue;
      if (l.hostname !== undefined && (host === undefined || !gatewayHostMatches(l.hostname, host))) continue;
      if (!best || listenerHostRank(l.hostname) > listenerHostRank(best.hostname)) best = l;
    }
    return best;
  }

  /** The highest-precedence match for the request among the routes attached to the listener. */
  select(l: GatewayListener, req: L7Request, host: string | undefined, path: string): RouteMatch | undefined {
    const query = queryOf(req);
    let best: { m: RouteMatch; rank: number[]; a: Attachment } | undefined;
    for (const a of this.compiled.attached.get(l.name) ?? []) {
      const hr = hostRank(a, host);
      if (!hr) continue;
      for (const m of a.matches) {
        if (!matchHolds(m, req, path, query)) continue;
        const rank = [...hr, ...matchRank(m)];
        if (!best || this.before(rank, a, m, best)) best = { m, rank, a };
      }
    }
    return best?.m;
  }

  private before(rank: number[], a: Attachment, m: RouteMatch, best: { m: RouteMatch; rank: number[]; a: Attachment }): boolean {
    const c = compareRank(rank, best.rank);
    if (c !== 0) return c < 0;
    // Routes without a creationTimestamp were applied together: the same second, so namespace/name decides.
    const ta = a.createdAt;
    const tb = best.a.createdAt;
    if (ta !== tb) return ta < tb;
    const ka = `${a.route.metadata.namespace}/${a.route.metadata.name}`;
    const kb = `${best.a.route.metadata.namespace}/${best.a.route.metadata.name}`;
    if (ka !== kb) return ka < kb;
    return m.ruleIndex < best.m.ruleIndex || (m.ruleIndex === best.m.ruleIndex && m.matchIndex < best.m.matchIndex);
  }

  route(req: L7Request): L7Decision {
    const abs = absoluteForm(req.path);
    if (abs) req = { ...req, host: abs.authority, path: abs.path };
    const host = normalizeHost(req.host);
    const hp = hostProblem(host, req.httpVersion);
    if (hp) return badRequest(hp);
    const np = normalizePath(req.path);
    if (!np.ok) return badRequest(np.reason);
    const l = this.listenerFor(req.listener.port, req.listener.protocol, host);
    if (req.listener.protocol === "HTTPS" && req.sni !== undefined) {
      // gateway_types.go Listener.Hostname: the SNI chose a listener; a Host another listener serves is misdirected.
      const bySni = this.listenerFor(req.listener.port, "HTTPS", normalizeHost(req.sni));
      if (bySni && l && bySni !== l) return { kind: "respond", status: 421, reason: `Misdirected Request: SNI ${req.sni} selected listener ${bySni.name}, Host ${host} belongs to listener ${l.name}` };
    }
    if (!l) return { kind: "respond", status: 404, reason: `Not Found: no listener on port ${req.listener.port} for host ${host ?? "(none)"}` };
    const m = this.select(l, req, host, np.path);
    if (!m) return { kind: "respond", status: 404, reason: "Not Found: no HTTPRoute rule matches" };
    const a = m.action;
    switch (a.kind) {
      case "redirect":
        return { kind: "redirect", source: m.source, status: a.redirect.statusCode, location: redirectLocation(a.redirect, m, req, host ?? "", np.path) };
      case "respond":
        return { kind: "respond", source: m.source, status: a.status, reason: a.reason };
      case "backends":
        return {
          kind: "proxy",
          source: m.source,
          backends: a.backends,
          ...(a.setHeaders ? { setHeaders: a.setHeaders } : {}),
          ...(a.addHeaders ? { addHeaders: a.addHeaders } : {}),
          ...(a.removeHeaders ? { removeHeaders: a.removeHeaders } : {}),
        };
    }
  }

  certificate(listener: L7Listener, sni: string | undefined): L7Certificate {
    const host = normalizeHost(sni);
    const l = this.listenerFor(listener.port, "HTTPS", host) ?? (host === undefined ? this.compiled.listeners.find((x) => x.port === listener.port && x.protocol === "HTTPS") : undefined);
    return l?.certificate ?? this.fallback;
  }

  /** Every backend a rule may send to, for the dump. */
  backends(): L7Backend[] {
    const out: L7Backend[] = [];
    for (const list of this.compiled.attached.values())
      for (const a of list) for (const m of a.matches) if (m.action.kind === "backends") out.push(...m.action.backends);
    return out;
  }

  describe(endpoints: (b: L7Backend) => readonly string[]): string {
    return describeGateway(this, endpoints);
  }
}

// The route table of an ingress-nginx controller: a request's Host picks the server (exact host,
// then the `*.` wildcard one label up, then the catch-all `_`), its normalised path the location
// (longest path wins, Exact before Prefix of the same path), then the HTTP listener's 308 to
// https for hosts with TLS, a proxy to the Service, a 503 for a missing Service or the default
// backend's 404. Pure: no sockets.

import type { K8sObject } from "../model.js";
import { normalizeHost } from "./hostname.js";
import { CATCH_ALL, type CompiledIngress, compileIngresses, type IngressLocation, type IngressOptions, type IngressServer } from "./ingress-compile.js";
import { describeIngress } from "./ingress-describe.js";
import { absoluteForm, normalizePath, prefixMatches } from "./path.js";
import type { L7Backend, L7Certificate, L7Decision, L7Listener, L7Request, L7Router, L7Warning } from "./types.js";

/** ingress-nginx listens on 80 and 443 in the controller pod. */
export const INGRESS_LISTENERS: readonly L7Listener[] = [
  { port: 80, protocol: "HTTP" },
  { port: 443, protocol: "HTTPS" },
];

/** ingress-nginx's redirect code for ssl-redirect (ConfigMap http-redirect-code). */
export const SSL_REDIRECT_STATUS = 308;

/** Compiles the Ingresses of the class ingress-nginx serves into a router. */
export function compileIngress(objects: readonly K8sObject[], opts: IngressOptions): L7Router {
  return new IngressRouter(compileIngresses(objects, opts), opts.fallback);
}

/** Refusals of a request before routing, as nginx answers them. */
export function badRequest(reason: string): L7Decision {
  return { kind: "respond", status: 400, reason: `Bad Request: ${reason}` };
}

/** Why nginx refuses a Host header (ngx_http_validate_host), or undefined when it is fine. */
export function hostProblem(host: string | undefined, httpVersion: string | undefined): string | undefined {
  if (host === undefined) return httpVersion === "1.0" ? undefined : "no Host header (HTTP/1.1 requires one)";
  if (host === "" || host.startsWith(".") || host.includes("..") || /[/\\\0]/.test(host)) return `invalid Host header "${host}"`;
  return undefined;
}

export class IngressRouter implements L7Router {
  readonly listeners = INGRESS_LISTENERS;
  readonly warnings: readonly L7Warning[];

  constructor(
    readonly compiled: CompiledIngress,
    private readonly fallback: L7Certificate,
  ) {
    this.warnings = compiled.warnings;
  }

  /** The server nginx picks for a host: exact name, then `*.` one label up, then the catch-all. */
  server(host: string): IngressServer {
    const s = this.compiled.servers;
    const exact = s.get(host);
    if (exact) return exact;
    const dot = host.indexOf(".");
    const wildcard = dot > 0 ? s.get(`*${host.slice(dot)}`) : undefined;
    return wildcard ?? (s.get(CATCH_ALL) as IngressServer);
  }

  /** The location for a normalised path: the longest match, Exact before Prefix of the same length. */
  location(server: IngressServer, path: string): IngressLocation {
    let best: IngressLocation | undefined;
    for (const l of server.locations) {
      if (l.exact ? l.key !== path : !prefixMatches(l.key, path)) continue;
      if (!best || l.key.length > best.key.length || (l.key.length === best.key.length && l.exact && !best.exact)) best = l;
    }
    return best ?? server.root;
  }

  route(req: L7Request): L7Decision {
    const abs = absoluteForm(req.path);
    if (abs) req = { ...req, host: abs.authority, path: abs.path };
    const host = normalizeHost(req.host);
    const hp = hostProblem(host, req.httpVersion);
    if (hp) return badRequest(hp);
    const np = normalizePath(req.path);
    if (!np.ok) return badRequest(np.reason);
    const server = this.server(host ?? "");
    const loc = this.location(server, np.path);
    if (req.listener.protocol === "HTTP" && ((server.tls && loc.sslRedirect) || loc.forceSslRedirect) && host) {
      const location = `https://${host}${req.path}${req.query ? `?${req.query}` : ""}`;
      // Only servers an Ingress created have TLS, and their root location names that Ingress.
      const source = loc.source ?? server.root.source ?? { kind: "Ingress" as const, namespace: "", name: "", detail: `host ${host}` };
      return { kind: "redirect", source, status: SSL_REDIRECT_STATUS, location };
    }
    const t = loc.target;
    switch (t.kind) {
      case "backend":
        return { kind: "proxy", source: loc.source ?? defaultSource(server), backends: [t.backend] };
      case "unavailable":
        return { kind: "respond", source: loc.source, status: 503, reason: `Service Unavailable: ${t.reason}` };
      case "default":
        return { kind: "respond", status: 404, reason: "Not Found: default backend - 404" };
    }
  }

  certificate(_listener: L7Listener, sni: string | undefined): L7Certificate {
    const host = normalizeHost(sni);
    if (!host) return this.fallback;
    const t = this.compiled.tlsHosts;
    const exact = t.get(host);
    if (exact) return exact.certificate;
    const dot = host.indexOf(".");
    return (dot > 0 ? t.get(`*${host.slice(dot)}`)?.certificate : undefined) ?? this.fallback;
  }

  /** Every backend a location may proxy to, for the dump. */
  backends(): L7Backend[] {
    const out: L7Backend[] = [];
    for (const s of this.compiled.servers.values())
      for (const l of [s.root, ...s.locations]) {
        const t = l.target;
        if (t.kind === "backend") out.push(t.backend);
        else if (t.kind === "unavailable") out.push({ ...t.backend, failure: { status: 503, reason: t.reason } });
      }
    return out;
  }

  describe(endpoints: (b: L7Backend) => readonly string[]): string {
    return describeIngress(this, endpoints);
  }
}

function defaultSource(server: IngressServer) {
  return { kind: "Ingress" as const, namespace: "", name: "", detail: `host ${server.host} defaultBackend` };
}

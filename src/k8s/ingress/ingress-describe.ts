// The nginx.conf ingress-nginx generated for a set of Ingresses, in its shape: upstream blocks
// named namespace-service-port with the ready endpoints, then one server block per host (the
// catch-all `_` first) with `listen 80` and `listen 443 ssl`, and its locations longest first;
// a Prefix path becomes `location /foo/` plus an exact `location = /foo`, as
// internal/ingress/controller/location.go:updateServerLocations did.

import { type ConfLocation, type ConfServer, locationVars, printServers, printUpstreams } from "./conf.js";
import { CATCH_ALL, type IngressLocation, type IngressServer } from "./ingress-compile.js";
import type { IngressRouter } from "./ingress-router.js";
import { upstreamName } from "./refs.js";
import type { L7Backend, L7Certificate } from "./types.js";

const SSL_DIR = "/etc/ingress-controller/ssl";

/** Where ingress-nginx wrote a certificate: SSL_DIR/<namespace>-<secret>.pem, or the fake certificate. */
export function pemFile(c: L7Certificate): string {
  const m = /^Secret ([^/]+)\/(.+)$/.exec(c.origin);
  return m ? `${SSL_DIR}/${m[1]}-${m[2]}.pem` : `${SSL_DIR}/default-fake-certificate.pem`;
}

export function describeIngress(router: IngressRouter, endpoints: (b: L7Backend) => readonly string[]): string {
  const c = router.compiled;
  const out: string[] = [
    `# nginx.conf of the ingress-nginx controller (IngressClass "${c.className}", ${c.ingresses.length} Ingress${c.ingresses.length === 1 ? "" : "es"})`,
    "",
  ];
  out.push(...printUpstreams(router.backends(), endpoints));
  const servers = [...c.servers.values()].sort((a, b) => (a.host === CATCH_ALL ? -1 : b.host === CATCH_ALL ? 1 : a.host < b.host ? -1 : 1));
  out.push(...printServers(servers.map(confServer)));
  return `${out.join("\n").trimEnd()}\n`;
}

function confServer(s: IngressServer): ConfServer {
  const catchAll = s.host === CATCH_ALL;
  const directives: string[] = [];
  if (s.tls) directives.push(`ssl_certificate ${pemFile(s.tls.certificate)}`, `ssl_certificate_key ${pemFile(s.tls.certificate)}`);
  else if (catchAll) directives.push(`ssl_certificate ${SSL_DIR}/default-fake-certificate.pem`, `ssl_certificate_key ${SSL_DIR}/default-fake-certificate.pem`);
  const locations: ConfLocation[] = [];
  const exactPaths = new Set(s.locations.filter((l) => l.exact).map((l) => l.key));
  const ordered = [...s.locations].sort((a, b) => b.key.length - a.key.length || Number(b.exact) - Number(a.exact));
  let hasRoot = false;
  for (const l of ordered) {
    if (l.exact) {
      locations.push(confLocation(s, l, "=", l.key));
      continue;
    }
    if (l.key === "/") {
      hasRoot = true;
      locations.push(confLocation(s, l, "", "/"));
      continue;
    }
    locations.push(confLocation(s, l, "", `${l.key}/`));
    if (!exactPaths.has(l.key)) locations.push(confLocation(s, l, "=", l.key));
  }
  if (!hasRoot) locations.push(confLocation(s, s.root, "", "/"));
  return {
    banner: s.host,
    serverNames: [catchAll ? "_" : s.host],
    listens: catchAll ? ["80 default_server", "443 default_server ssl"] : ["80", "443 ssl"],
    directives,
    locations,
  };
}

function confLocation(s: IngressServer, l: IngressLocation, modifier: "=" | "", path: string): ConfLocation {
  const comments: string[] = [];
  const t = l.target;
  // ingress-nginx's default-backend locations carry no Ingress information.
  const src = t.kind === "default" ? undefined : l.source;
  const vars: Array<[string, string]> = [
    ["namespace", src?.namespace ?? ""],
    ["ingress_name", src?.name ?? ""],
    ["service_name", t.kind === "default" ? "" : t.backend.service],
    ["service_port", t.kind === "default" ? "" : String(t.backend.port)],
    ["location_path", l.path],
  ];
  const directives = locationVars(vars);
  if ((s.tls && l.sslRedirect) || l.forceSslRedirect) comments.push("ssl-redirect: on port 80, 308 to https://$host$request_uri");
  if (t.kind === "backend") directives.push(`proxy_pass http://${upstreamName(t.backend)}`);
  else if (t.kind === "unavailable") {
    comments.push(t.reason);
    directives.push("return 503");
  } else {
    comments.push("default backend");
    directives.push("return 404");
  }
  return { modifier, path, comments, directives };
}

// A Gateway's route table in the same nginx.conf shape as the Ingress dump: upstream blocks per
// backend, then one server block per listener (server_name its hostname, `_` without one), its
// locations every attached route's matches in the router's precedence order (after the
// hostnames, which depend on the request), with the conditions nginx's location syntax cannot
// say (hostnames, headers, query params, method, weights) as comments.

import { type ConfLocation, type ConfServer, locationVars, printServers, printUpstreams } from "./conf.js";
import type { Attachment, GatewayListener } from "./gateway-compile.js";
import type { GatewayRouter } from "./gateway-router.js";
import { matchRank, type RouteMatch } from "./gateway-rules.js";
import { pemFile } from "./ingress-describe.js";
import { upstreamName } from "./refs.js";
import type { L7Backend } from "./types.js";

export function describeGateway(router: GatewayRouter, endpoints: (b: L7Backend) => readonly string[]): string {
  const c = router.compiled;
  const gw = c.gateway;
  const out: string[] = [`# nginx.conf-style view of Gateway ${gw.metadata.namespace}/${gw.metadata.name} (class ${String(gw.spec.gatewayClassName ?? "")})`, ""];
  out.push(...printUpstreams(router.backends(), endpoints));
  out.push(...printServers(c.listeners.map((l) => confServer(l, c.attached.get(l.name) ?? []))));
  return `${out.join("\n").trimEnd()}\n`;
}

function confServer(l: GatewayListener, attached: readonly Attachment[]): ConfServer {
  const all = attached.flatMap((a) => a.matches.map((m) => ({ a, m })));
  all.sort((x, y) => {
    const rx = matchRank(x.m);
    const ry = matchRank(y.m);
    for (let i = 0; i < rx.length; i++) if (rx[i] !== ry[i]) return ry[i] - rx[i];
    const kx = `${x.m.source.namespace}/${x.m.source.name}`;
    const ky = `${y.m.source.namespace}/${y.m.source.name}`;
    const created = x.a.createdAt === y.a.createdAt ? 0 : x.a.createdAt < y.a.createdAt ? -1 : 1;
    return created || (kx < ky ? -1 : kx > ky ? 1 : 0) || x.m.ruleIndex - y.m.ruleIndex || x.m.matchIndex - y.m.matchIndex;
  });
  return {
    banner: `${l.name} (${l.protocol} ${l.port}${l.hostname ? ` ${l.hostname}` : ""})`,
    serverNames: [l.hostname ?? "_"],
    listens: [l.protocol === "HTTPS" ? `${l.port} ssl` : String(l.port)],
    directives: l.certificate ? [`ssl_certificate ${pemFile(l.certificate)}`, `ssl_certificate_key ${pemFile(l.certificate)}`] : [],
    locations: all.map(({ a, m }) => confLocation(a, m)),
  };
}

function confLocation(a: Attachment, m: RouteMatch): ConfLocation {
  const comments = [`HTTPRoute ${m.source.namespace}/${m.source.name} ${m.source.detail}`];
  const hosts = a.hostnames.filter((h): h is string => h !== undefined);
  if (hosts.length) comments.push(`hostnames: ${hosts.join(" ")}`);
  if (m.method) comments.push(`method: ${m.method}`);
  for (const h of m.headers) comments.push(`header ${h.name} ${h.type === "Exact" ? "=" : "~"} ${h.value}`);
  for (const q of m.queryParams) comments.push(`query ${q.name} ${q.type === "Exact" ? "=" : "~"} ${q.value}`);
  const directives = locationVars([
    ["namespace", m.source.namespace],
    ["route_name", m.source.name],
    ["rule", String(m.ruleIndex)],
  ]);
  const act = m.action;
  if (act.kind === "redirect") {
    const r = act.redirect;
    comments.push(`RequestRedirect${r.scheme ? ` scheme ${r.scheme}` : ""}${r.hostname ? ` hostname ${r.hostname}` : ""}${r.port ? ` port ${r.port}` : ""}${r.path ? ` ${r.path.type} ${r.path.value}` : ""}`);
    directives.push(`return ${r.statusCode}`);
  } else if (act.kind === "respond") {
    comments.push(act.reason);
    directives.push(`return ${act.status}`);
  } else {
    for (const [k, v] of Object.entries(act.setHeaders ?? {})) directives.push(`proxy_set_header ${k} "${v}"`);
    for (const [k, v] of Object.entries(act.addHeaders ?? {})) comments.push(`add header ${k}: ${v}`);
    for (const k of act.removeHeaders ?? []) directives.push(`proxy_set_header ${k} ""`);
    if (act.backends.length === 1) directives.push(`proxy_pass http://${upstreamName(act.backends[0])}`);
    else {
      comments.push(`split by weight: ${act.backends.map((b) => `${b.weight} ${upstreamName(b)}${b.failure ? " (500)" : ""}`).join(", ")}`);
      directives.push("proxy_pass http://$weighted_upstream");
    }
  }
  const p = m.path;
  if (p.type === "Exact") return { modifier: "=", path: p.value, comments, directives };
  if (p.type === "RegularExpression") return { modifier: "~", path: p.value, comments, directives };
  return { modifier: "", path: p.value, comments, directives };
}

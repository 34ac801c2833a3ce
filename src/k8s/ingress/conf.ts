// The nginx.conf-style dump of a compiled route table (`kubewire dump ingress`): one `server`
// block per virtual host with its `listen` lines and `location` blocks, and one `upstream` block
// per backend listing the endpoints (pod IP:port) it balances over, in the shape of the
// nginx.conf ingress-nginx generated (rootfs/etc/nginx/template/nginx.tmpl, before its Lua
// balancer replaced the upstream blocks).

import { upstreamName } from "./refs.js";
import type { L7Backend } from "./types.js";

export interface ConfLocation {
  /** "=" for an exact location, "~" for a regular expression, "" for a prefix location. */
  readonly modifier: "=" | "~" | "";
  readonly path: string;
  /** Lines printed as `# …` at the top of the block (Gateway matches nginx cannot express). */
  readonly comments?: readonly string[];
  /** Directives, each printed with a trailing `;`. */
  readonly directives: readonly string[];
}

export interface ConfServer {
  /** `## start server …` banner text. */
  readonly banner: string;
  readonly serverNames: readonly string[];
  readonly listens: readonly string[];
  readonly directives: readonly string[];
  readonly locations: readonly ConfLocation[];
}

const quote = (s: string): string => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
/** A location path as nginx.conf writes it: bare, quoted only when nginx's parser would split it. */
const locationPath = (s: string): string => (/^[^\s;{}"'\\]+$/.test(s) ? s : quote(s));

/** The variables ingress-nginx sets in each location, then where the request goes. */
export function locationVars(vars: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.max(...vars.map(([k]) => k.length));
  return vars.map(([k, v]) => `set $${k.padEnd(width)} ${quote(v)}`);
}

export function printServers(servers: readonly ConfServer[]): string[] {
  const out: string[] = [];
  for (const s of servers) {
    out.push(`## start server ${s.banner}`, "server {", `    server_name ${s.serverNames.join(" ")};`);
    for (const l of s.listens) out.push(`    listen ${l};`);
    for (const d of s.directives) out.push(`    ${d};`);
    for (const loc of s.locations) {
      out.push("");
      out.push(`    location ${loc.modifier ? `${loc.modifier} ` : ""}${locationPath(loc.path)} {`);
      for (const c of loc.comments ?? []) out.push(`        # ${c}`);
      for (const d of loc.directives) out.push(`        ${d};`);
      out.push("    }");
    }
    out.push("}", `## end server ${s.banner}`, "");
  }
  return out;
}

/** One `upstream` block per distinct backend, its servers the endpoints the caller resolves. */
export function printUpstreams(backends: readonly L7Backend[], endpoints: (b: L7Backend) => readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const b of backends) {
    const name = upstreamName(b);
    if (seen.has(name)) continue;
    seen.add(name);
    out.push(`upstream ${name} {`);
    const eps = b.failure ? [] : endpoints(b);
    if (eps.length === 0) out.push(`    # no ready endpoints${b.failure ? ` (${b.failure.reason})` : ""}: requests get ${b.failure?.status ?? 503}`);
    for (const ep of eps) out.push(`    server ${ep} max_fails=0 fail_timeout=0;`);
    out.push("}", "");
  }
  return out;
}

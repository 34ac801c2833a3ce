// The text of an iptables sync as it is written: its four buffers (filter and nat chains and
// rules, the nat rules with room in front for the rest) and the per-endpoint lines of the
// service chains, with their constant pieces as bytes.

import type { Probabilities } from "./names.js";
import type { EndpointInfo, ServicePortInfo } from "./servicemap.js";
import { asciiBytes, TextWriter } from "./textwriter.js";

// The constant pieces of the per-endpoint lines, as bytes.
export const APPEND = asciiBytes("-A ");
export const NEW_CHAIN = asciiBytes(":");
export const CHAIN_COUNTERS = asciiBytes(" - [0:0]");
export const SOURCE = asciiBytes(" -s ");
export const TO_MARK_MASQ = asciiBytes(" -j KUBE-MARK-MASQ");
const JUMP = asciiBytes(" -j ");
const PROBABILITY = asciiBytes(" -m statistic --mode random --probability ");
export const RECENT = asciiBytes(" -m recent --name ");
export const RECENT_SET = asciiBytes(" --set");
const QUOTE = asciiBytes('"');

/** Bytes per endpoint in the nat table's chain lines and rules, to size the buffers once. */
const NAT_CHAIN_BYTES_PER_ENDPOINT = 40;
const NAT_RULE_BYTES_PER_ENDPOINT = 320;
/** Filter rules and nat chain lines per service port (chain lines, REJECT and firewall rules). */
const BYTES_PER_PORT_BEFORE_NAT_RULES = 512;

/** One sync's output: chain lines and rules, per table. */
export class Buffers {
  readonly filterChains = new TextWriter(1 << 12);
  readonly filterRules = new TextWriter();
  readonly natChains: TextWriter;
  readonly natRules: TextWriter;

  constructor(endpoints: number, ports: number) {
    this.natChains = new TextWriter(Math.max(1 << 16, endpoints * NAT_CHAIN_BYTES_PER_ENDPOINT));
    // Room in front of the nat rules for everything before them, so the text is not copied once more.
    const headroom = (1 << 16) + endpoints * NAT_CHAIN_BYTES_PER_ENDPOINT + ports * BYTES_PER_PORT_BEFORE_NAT_RULES;
    this.natRules = new TextWriter(Math.max(1 << 16, endpoints * NAT_RULE_BYTES_PER_ENDPOINT), headroom);
  }
}

/** writeServiceToEndpointRules: affinity checks first, then one probabilistic jump per endpoint. */
export function writeServiceToEndpointRules(
  out: TextWriter,
  sp: ServicePortInfo,
  chain: string,
  endpoints: readonly EndpointInfo[],
  sepOf: (endpoint: string) => string,
  probs: Probabilities,
  large: boolean,
): void {
  const commentHead = ` -m comment --comment "${sp.nameString} -> `;
  const head = (ep: EndpointInfo): void => {
    out.bytes(APPEND);
    out.str(chain);
    if (large) return;
    out.str(commentHead);
    out.str(ep.endpoint);
    out.bytes(QUOTE);
  };
  if (sp.clientIPAffinity) {
    const affinity = ` --rcheck --seconds ${sp.stickyMaxAgeSeconds} --reap -j `;
    for (const ep of endpoints) {
      const sep = sepOf(ep.endpoint);
      head(ep);
      out.bytes(RECENT);
      out.str(sep);
      out.str(affinity);
      out.str(sep);
      out.nl();
    }
  }
  const n = endpoints.length;
  for (let i = 0; i < n; i++) {
    const ep = endpoints[i];
    head(ep);
    // The last (or only) endpoint is a guaranteed match.
    if (i < n - 1) {
      out.bytes(PROBABILITY);
      out.str(probs.get(n - i));
    }
    out.bytes(JUMP);
    out.str(sepOf(ep.endpoint));
    out.nl();
  }
}

// Which rules of a chain a verdict map can stand in for: "service rules" of the shape kube-proxy
// writes in KUBE-SERVICES / KUBE-NODEPORTS (`-d VIP/32 -p tcp|udp [-m comment] -m tcp|udp --dport
// P -j CHAIN`), whose only condition is the (daddr, protocol, dport) key. A run of consecutive
// service rules becomes one map lookup; the first rule of the run with the packet's key is the
// one the linear walk would have matched first, since no other rule of the run can match it.

import type { PortsSpec, TcpSpec } from "../iptables/matches/tcpudp.js";
import type { Rule, RuleTarget } from "../iptables/model.js";
import type { ServiceKey } from "./vmap.js";

/** Shorter runs are walked linearly: a lookup costs about as much as four rule checks. */
export const MIN_SEGMENT = 4;

/** The verdicts a map element can hold: jump/goto a chain, accept, drop, return. */
export function mapVerdict(t: RuleTarget): string | null {
  if (t.kind === "jump") return `${t.goto ? "goto" : "jump"} ${t.chain}`;
  if (t.kind === "verdict") return t.verdict.toLowerCase();
  return null;
}

/** The (daddr, protocol, dport) a service rule matches exactly, or null if the rule is anything more. */
export function serviceRuleKey(r: Rule): ServiceKey | null {
  if (r.dmsk !== -1 || r.invDst || r.smsk !== 0 || r.invSrc || r.src !== 0) return null;
  if (r.inIface !== null || r.outIface !== null || r.frag !== 0 || r.invProto) return null;
  if (r.proto !== 6 && r.proto !== 17) return null;
  if (mapVerdict(r.target) === null) return null;
  let port = -1;
  for (const m of r.matches) {
    const name = m.ext.name;
    if (name === "comment") continue;
    if (port >= 0 || name !== (r.proto === 6 ? "tcp" : "udp")) return null;
    const s = m.spec as PortsSpec & Partial<TcpSpec>;
    if (s.spts[0] !== 0 || s.spts[1] !== 0xffff || s.invSpt) return null;
    if (s.dpts[0] !== s.dpts[1] || s.invDpt) return null;
    if ((s.flgMask ?? 0) !== 0 || s.invFlags) return null;
    port = s.dpts[0];
  }
  return port < 0 ? null : { daddr: r.dst >>> 0, proto: r.proto, port };
}

export interface SegmentPlan {
  /** Index of the first and one past the last rule of the run, within the chain. */
  from: number;
  to: number;
  keys: ServiceKey[];
}

/** The runs of at least `min` consecutive service rules in a chain. */
export function planSegments(rules: readonly Rule[], min = MIN_SEGMENT): SegmentPlan[] {
  const out: SegmentPlan[] = [];
  let from = -1;
  let keys: ServiceKey[] = [];
  const close = (to: number): void => {
    if (from >= 0 && to - from >= min) out.push({ from, to, keys });
    from = -1;
    keys = [];
  };
  for (let i = 0; i < rules.length; i++) {
    const k = serviceRuleKey(rules[i]);
    if (k === null) {
      close(i);
      continue;
    }
    if (from < 0) from = i;
    keys.push(k);
  }
  close(rules.length);
  return out;
}

// What traffic steps read back from the trace: drops (where and why) and ICMP errors received,
// named as iptables' --reject-with and ping name them.

import { dropReasonName, type TraceEvent } from "../../sim/index.js";

export const ICMP_NAMES: Readonly<Record<string, readonly [type: number, code: number]>> = {
  "net-unreachable": [3, 0],
  "host-unreachable": [3, 1],
  "proto-unreachable": [3, 2],
  "port-unreachable": [3, 3],
  "frag-needed": [3, 4],
  "net-prohibited": [3, 9],
  "host-prohibited": [3, 10],
  "admin-prohibited": [3, 13],
  "ttl-exceeded": [11, 0],
};

/** "port-unreachable", or "type 3 code 7". */
export function icmpName(type: number, code: number): string {
  for (const [name, [t, c]] of Object.entries(ICMP_NAMES)) if (t === type && c === code) return name;
  return `type ${type} code ${code}`;
}

/** `icmp-port-unreachable` and `time-exceeded` are accepted for their usual names. */
export function normaliseIcmpName(s: string): string {
  const n = s.toLowerCase().replace(/^icmp-/, "");
  return n === "time-exceeded" ? "ttl-exceeded" : n === "protocol-unreachable" ? "proto-unreachable" : n;
}

export interface Drop {
  readonly ns: string;
  readonly dev?: string;
  readonly reason: string;
  readonly detail?: string;
}

export function dropsIn(events: readonly TraceEvent[], from: number): Drop[] {
  const out: Drop[] = [];
  for (let i = from; i < events.length; i++) {
    const e = events[i];
    if (e.kind === "drop") out.push({ ns: e.ns, dev: e.dev, reason: dropReasonName(e.reason), detail: e.detail });
  }
  return out;
}

export const formatDrop = (d: Drop): string => `${d.ns}${d.dev ? ` ${d.dev}` : ""}: ${d.reason}${d.detail ? ` (${d.detail})` : ""}`;

/** ICMP errors received in namespace `ns` since event `from`. */
export function icmpErrorsIn(events: readonly TraceEvent[], from: number, ns: string): { type: number; code: number; from: string }[] {
  const out: { type: number; code: number; from: string }[] = [];
  for (let i = from; i < events.length; i++) {
    const e = events[i];
    if (e.kind === "icmp" && e.action === "recv" && e.ns === ns && e.type !== 0 && e.type !== 8)
      out.push({ type: e.type, code: e.code, from: e.detail?.replace(/^from /, "") ?? "?" });
  }
  return out;
}

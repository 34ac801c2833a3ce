// IPv4 routing tables with longest-prefix match (net/ipv4/fib_*.c, as `ip route` shows them).
// A table keeps one Map per prefix length keyed by the masked destination; lookup walks the
// non-empty lengths from longest to shortest: at most 33 Map probes, usually a handful.

import { formatIpv4, type Ipv4Addr, type Ipv4Cidr, prefixMask } from "../../wire/index.js";
import type { NetDevice } from "../core/device.js";

export const RouteType = {
  Unicast: "unicast",
  Local: "local",
  Broadcast: "broadcast",
  Blackhole: "blackhole",
  Unreachable: "unreachable",
  Prohibit: "prohibit",
} as const;
export type RouteType = (typeof RouteType)[keyof typeof RouteType];

export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;

export interface Route {
  readonly dst: Ipv4Cidr;
  readonly type: RouteType;
  /** Output device (null for blackhole/unreachable/prohibit). */
  readonly dev: NetDevice | null;
  /** Gateway, or 0 for a directly connected destination. */
  readonly via: Ipv4Addr | 0;
  /** Preferred source address, or 0. */
  readonly src: Ipv4Addr | 0;
  /** The gateway is on the link even if no connected route says so (flannel's `onlink`). */
  readonly onlink: boolean;
  readonly metric: number;
  readonly proto: "kernel" | "static" | "boot";
  readonly scope: "host" | "link" | "global";
}

export class RouteTable {
  private readonly byLen: (Map<number, Route[]> | undefined)[] = new Array(33);
  /** Non-empty prefix lengths, longest first. */
  private lens: number[] = [];

  constructor(readonly id: number) {}

  add(r: Route): void {
    const m = (this.byLen[r.dst.len] ??= new Map<number, Route[]>());
    const list: Route[] | undefined = m.get(r.dst.addr);
    if (list) {
      list.push(r);
      list.sort((a: Route, b: Route) => a.metric - b.metric);
    } else m.set(r.dst.addr, [r]);
    if (!this.lens.includes(r.dst.len)) this.lens = [...this.lens, r.dst.len].sort((a, b) => b - a);
  }

  /** Removes routes matching dst (and dev/via when given). Returns how many were removed. */
  delete(dst: Ipv4Cidr, match: { dev?: NetDevice; via?: number } = {}): number {
    const m = this.byLen[dst.len];
    const list = m?.get(dst.addr);
    if (!m || !list) return 0;
    const keep = list.filter((r) => (match.dev && r.dev !== match.dev) || (match.via !== undefined && r.via !== match.via));
    const removed = list.length - keep.length;
    if (keep.length) m.set(dst.addr, keep);
    else m.delete(dst.addr);
    if (m.size === 0) this.lens = this.lens.filter((l) => l !== dst.len);
    return removed;
  }

  /** Removes every route through `dev` (the device went away or lost its address). */
  deleteDev(dev: NetDevice): void {
    for (const r of this.routes()) if (r.dev === dev) this.delete(r.dst, { dev });
  }

  /** Longest-prefix match: the lowest-metric route of the longest matching prefix whose device is up. */
  lookup(daddr: number): Route | undefined {
    const lens = this.lens;
    for (let i = 0; i < lens.length; i++) {
      const len = lens[i];
      const list = this.byLen[len]!.get((daddr & prefixMask(len)) >>> 0);
      if (list !== undefined) {
        for (let j = 0; j < list.length; j++) {
          const r = list[j];
          if (r.dev === null || r.dev.up) return r;
        }
      }
    }
    return undefined;
  }

  /** Every route, longest prefix first, then by address and metric. */
  routes(): Route[] {
    const out: Route[] = [];
    for (const len of this.lens) {
      const m = this.byLen[len]!;
      for (const addr of [...m.keys()].sort((a, b) => a - b)) out.push(...m.get(addr)!);
    }
    return out;
  }

  /** `ip route show` text, in the fib trie's order (by address, then prefix length: default first). */
  dump(): string[] {
    return this.routes()
      .sort((a, b) => a.dst.addr - b.dst.addr || a.dst.len - b.dst.len || a.metric - b.metric)
      .map(formatRoute);
  }
}

/** One route as `ip route` prints it. */
export function formatRoute(r: Route): string {
  const dst = r.dst.len === 0 ? "default" : r.dst.len === 32 ? formatIpv4(r.dst.addr) : `${formatIpv4(r.dst.addr)}/${r.dst.len}`;
  const parts: string[] = [];
  if (r.type !== "unicast") parts.push(r.type);
  parts.push(dst);
  if (r.via) parts.push(`via ${formatIpv4(r.via)}`);
  if (r.dev) parts.push(`dev ${r.dev.name}`);
  if (r.proto !== "boot") parts.push(`proto ${r.proto}`);
  if (r.scope !== "global") parts.push(`scope ${r.scope}`);
  if (r.src) parts.push(`src ${formatIpv4(r.src)}`);
  if (r.metric) parts.push(`metric ${r.metric}`);
  if (r.onlink) parts.push("onlink");
  return parts.join(" ");
}

// Drop reasons, named as Linux's enum skb_drop_reason (include/net/dropreason-core.h) where the
// kernel has one, so a trace reads like `perf trace -e skb:kfree_skb`. Numbers index per-device
// counters (a Uint32Array), so counting a drop costs one increment.

export const DropReason = {
  NOT_SPECIFIED: 0,
  NO_SOCKET: 1,
  PKT_TOO_SMALL: 2,
  TCP_CSUM: 3,
  UDP_CSUM: 4,
  ICMP_CSUM: 5,
  NETFILTER_DROP: 6,
  OTHERHOST: 7,
  IP_CSUM: 8,
  IP_INHDR: 9,
  IP_RPFILTER: 10,
  IP_NOPROTO: 11,
  IP_INADDRERRORS: 12,
  IP_INNOROUTES: 13,
  IP_OUTNOROUTES: 14,
  NEIGH_FAILED: 15,
  NEIGH_QUEUEFULL: 16,
  NEIGH_DEAD: 17,
  PKT_TOO_BIG: 18,
  TTL_EXPIRED: 19,
  DEV_READY: 20,
  UNHANDLED_PROTO: 21,
  ARP_MALFORMED: 22,
  MAC_INVALID_SOURCE: 23,
  BRIDGE_NO_PORT: 24,
  VXLAN_INVALID_HDR: 25,
  VXLAN_VNI_NOT_FOUND: 26,
  VXLAN_NO_REMOTE: 27,
  SOCKET_RCVBUFF: 28,
  CT_TABLE_FULL: 29,
  CT_INVALID: 30,
  FAULT_INJECTED: 31,
  RATE_LIMITED: 32,
  UNDERLAY_PEER_UNKNOWN: 33,
  UNDERLAY_SEND_FAILED: 34,
  TCP_INVALID: 35,
  TCP_RESET: 36,
  ICMP_RATELIMIT: 37,
  /** A frame the UDP underlay cannot carry: only VXLAN-over-UDP to a peer (and ARP for one) travels. */
  UNDERLAY_NOT_CARRIED: 38,
} as const;

export type DropReason = (typeof DropReason)[keyof typeof DropReason];

export const DROP_REASON_COUNT = Object.keys(DropReason).length;

/** Name of a drop reason by number: dropReasonName(13) === "IP_INNOROUTES". */
const names: string[] = [];
for (const [k, v] of Object.entries(DropReason)) names[v] = k;
export const dropReasonName = (r: number): string => names[r] ?? `UNKNOWN_${r}`;

/** Per-reason counters: one slot per DropReason. */
export class DropCounters {
  readonly counts = new Uint32Array(DROP_REASON_COUNT);
  total = 0;

  add(reason: DropReason): void {
    this.counts[reason]++;
    this.total++;
  }

  /** Non-zero counters by name, for dumps and assertions: { IP_CSUM: 2 }. */
  toJSON(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i]) out[names[i]] = this.counts[i];
    return out;
  }
}

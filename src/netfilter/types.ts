// The contracts between the parts of src/netfilter: the hook walk (hooks.ts), conntrack and NAT
// (conntrack/), and the rule engines (iptables/ walks rules in order; nft/ dispatches through
// maps). Written first so the parts can be built side by side.

import type { Hook, NetDevice, NetNamespace, Verdict } from "../net/index.js";
import type { Packet } from "../packet/index.js";

/** Netfilter hook priorities (include/uapi/linux/netfilter_ipv4.h, enum nf_ip_hook_priorities). */
export const Priority = {
  ConntrackDefrag: -400,
  Raw: -300,
  Conntrack: -200,
  Mangle: -150,
  NatDst: -100,
  Filter: 0,
  Security: 50,
  NatSrc: 100,
  ConntrackHelper: 300,
  ConntrackConfirm: 0x7fffffff,
} as const;

/** enum ip_conntrack_info: how this packet relates to its conntrack entry. */
export const CtInfo = {
  Established: 0,
  Related: 1,
  New: 2,
  EstablishedReply: 3,
  RelatedReply: 4,
  Untracked: 7,
} as const;
export type CtInfo = (typeof CtInfo)[keyof typeof CtInfo];

/** `-m conntrack --ctstate` bits (xt_conntrack.h XT_CONNTRACK_STATE_BIT and the SNAT/DNAT virtual states). */
export const CtStateBit = {
  Invalid: 1 << 0,
  Established: 1 << 1,
  Related: 1 << 2,
  New: 1 << 3,
  Untracked: 1 << 8,
  Snat: 1 << 9,
  Dnat: 1 << 10,
} as const;

export type TableName = "raw" | "mangle" | "nat" | "filter";

/** Everything a match or target may look at or act on for one packet at one hook. */
export interface NfContext {
  ns: NetNamespace;
  hook: Hook;
  pkt: Packet;
  indev: NetDevice | null;
  outdev: NetDevice | null;
  /** Called from the bridge path (bridge-nf-call-iptables). */
  bridged: boolean;
  /** Conntrack state bits of this packet (CtStateBit), computed by the conntrack hook; Invalid if none. */
  ctstate: number;
}

/** A NAT range as iptables' DNAT/SNAT/MASQUERADE give it (struct nf_nat_range2). */
export interface NatRange {
  minAddr: number;
  maxAddr: number;
  /** 0/0: keep the port (unless a clash forces a change). */
  minPort: number;
  maxPort: number;
  /** --random: hash-random port selection. */
  random?: boolean;
  /** --random-fully: fully random ports from the seeded RNG (prandom). */
  randomFully?: boolean;
  persistent?: boolean;
}

export type ManipType = "src" | "dst";

/** What rule targets need from conntrack/NAT. Implemented in conntrack/. */
export interface NatApi {
  /**
   * nf_nat_setup_info: on the first packet of a connection, binds the connection's `manip` side
   * to an address/port from `range`, choosing a unique tuple. Returns Accept, or Drop when no
   * unique tuple is left. Only valid while the connection is unconfirmed and that manip unset.
   */
  setupNat(ctx: NfContext, range: NatRange, manip: ManipType, by?: string): Verdict;
}

/** A rule engine's view from the hook walk: runs one table's built-in chain for a hook. */
export interface RuleTableRunner {
  /** The tables this engine has rules in (the hook walk registers only those). */
  tables(): TableName[];
  /** Runs table/hook's chain over the packet. Accept, Drop or Stolen. */
  run(table: TableName, ctx: NfContext): Verdict;
}

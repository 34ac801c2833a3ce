// The x_tables extension interface (include/linux/netfilter/x_tables.h, libxtables' struct
// xtables_match / xtables_target): how a match or target parses its options, prints them as
// iptables-save does, and compiles to the closure run per packet. The per-packet state handed to
// those closures mirrors struct xt_action_param.

import type { Hook, NetNamespace } from "../../net/index.js";
import type { Packet } from "../../packet/index.js";
import type { NatApi, NfContext, TableName } from "../types.js";
import type { RecentTable } from "./matches/recent.js";
import type { IpSetRegistry } from "./sets.js";

/** A target's "keep walking the chain" (XT_CONTINUE); any other value is a Verdict. */
export const XT_CONTINUE = -1;

/**
 * The decoded packet a rule walk looks at (struct xt_action_param plus ipt_do_table's locals).
 * One instance per engine and nesting depth, refilled for each walk: nothing is allocated.
 */
export class XtParam {
  ctx!: NfContext;
  pkt!: Packet;
  b!: Buffer;
  hook: Hook = 0;
  /** Offset of the IPv4 header. */
  l3 = 0;
  /** Offset of the transport header (par->thoff). */
  thoff = 0;
  /** One past the last byte of the packet. */
  end = 0;
  /** Fragment offset in 8-byte units (par->fragoff): port matches never match a non-first fragment. */
  fragoff = 0;
  saddr = 0;
  daddr = 0;
  proto = 0;
  /** skb->len at the IP layer: what rule counters add as bytes. */
  len = 0;
  /** Set by a match that finds the packet malformed (par->hotdrop): the walk drops it. */
  hotdrop = false;
}

/** A compiled match: true when the packet matches (inversion already applied). Never throws. */
export type MatchFn = (p: XtParam) => boolean;
/** The compiled form of a match that matches everything (comment): the compiler leaves it out. */
export const matchAlways: MatchFn = () => true;

/** A compiled target: XT_CONTINUE or a Verdict. Never throws. */
export type TargetFn = (p: XtParam) => number;

/** What a rule's matches and targets may use beyond the packet: the engine's resources. */
export interface XtEnv {
  /**
   * NAT binding (nf_nat_setup_info) for the namespace: the engine's own NatApi if it was given
   * one, else the one installNetfilter put in the namespace. DNAT/SNAT/MASQUERADE accept the
   * packet untouched when there is none.
   */
  natFor(ns: NetNamespace): NatApi | null;
  /** Named sets for `-m set`. */
  readonly sets: IpSetRegistry;
  /** `-m recent` lists, by name (per network namespace in Linux: one engine per namespace). */
  readonly recent: Map<string, RecentTable>;
  /** A uniformly distributed u32 from the namespace's seeded stream (get_random_u32). */
  randomU32(ns: NetNamespace): number;
  /** REJECT --reject-with tcp-reset: sends the RST instead of nf_send_reset. Null: nf_send_reset. */
  tcpReset: ((ctx: NfContext) => void) | null;
  /** LOG lines besides the trace, if wanted. */
  onLog: ((line: string, ctx: NfContext) => void) | null;
}


/** How an option takes its arguments (struct xt_option_entry). */
export interface OptionDef {
  /** Number of arguments: 0, 1, or 2 (`--tcp-flags MASK COMP`). */
  args: 0 | 1 | 2;
  /** May be preceded by "!" (XTOPT_INVERT). */
  invert?: boolean;
  /** May be given more than once (XTOPT_MULTI). */
  multi?: boolean;
  /** This name is an alias of another option (e.g. --destination-port for --dport). */
  alias?: string;
}

/** What an extension's final check may look at: the rule's protocol and table. */
export interface RuleInfo {
  readonly table: TableName;
  /** -p: 0 for any. */
  readonly proto: number;
  readonly invProto: boolean;
}

/**
 * A match extension (-m NAME). Methods take the extension's own spec type S; specs are plain
 * objects built by parse() and normalised so that save() prints what iptables-save prints.
 */
export interface MatchExtension<S = unknown> {
  readonly name: string;
  readonly options: Readonly<Record<string, OptionDef>>;
  /** A fresh spec before options are parsed. */
  init(): S;
  /** One option with its arguments; throws IptablesError via fail() when the value is bad. */
  parse(spec: S, option: string, args: string[], invert: boolean): void;
  /** After the whole rule is read: mandatory options, protocol requirements (x6_fcheck). */
  final(spec: S, rule: RuleInfo): void;
  /** The options as iptables-save prints them, each preceded by a space (" --dport 53"). */
  save(spec: S): string;
  compile(spec: S, env: XtEnv): MatchFn;
  /** Hooks (1 << Hook) the match may be reached from with these options (checkentry); undefined: any. */
  hooks?(spec: S): number | undefined;
}

/** A target extension (-j NAME). */
export interface TargetExtension<S = unknown> {
  readonly name: string;
  readonly options: Readonly<Record<string, OptionDef>>;
  /** Tables the target may be used in (xt_target.table); undefined: any. */
  readonly tables?: readonly TableName[];
  /** Hooks the target may be reached from (xt_target.hooks), as a bit mask of 1 << Hook. */
  readonly hooks?: number;
  init(): S;
  parse(spec: S, option: string, args: string[], invert: boolean): void;
  final(spec: S, rule: RuleInfo): void;
  save(spec: S): string;
  /** `where` names the rule for traces ("nat/KUBE-SEP-XYZ"). */
  compile(spec: S, env: XtEnv, where: string): TargetFn;
}

/** A match as it sits in a rule: its extension and parsed options. */
export interface MatchInstance {
  readonly ext: MatchExtension;
  readonly spec: unknown;
}

/** Types a spec-typed extension as the registry stores it (methods are checked bivariantly). */
export const defineMatch = <S>(m: MatchExtension<S>): MatchExtension => m as MatchExtension;
export const defineTarget = <S>(t: TargetExtension<S>): TargetExtension => t as TargetExtension;

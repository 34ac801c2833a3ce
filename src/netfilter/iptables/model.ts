// The iptables rule model: tables with their built-in chains (one per hook they attach to), user
// chains, policies, rules with the ipt_ip header part (-s -d -i -o -p -f), matches and a target,
// and per-rule and per-chain counters. This is what iptables-restore builds and iptables-save
// prints; compile.ts turns it into the flat program the packet walk runs.

import { HOOK_NAMES, Hook } from "../../net/index.js";
import type { TableName } from "../types.js";
import type { Graph } from "./commit.js";
import type { MatchInstance, TargetExtension } from "./xt.js";

/** Tables in the order iptables-nft's iptables-save lists them (xtables_ipv4[]: mangle, raw, filter, nat). */
export const SAVE_TABLE_ORDER: readonly TableName[] = ["mangle", "raw", "filter", "nat"];
export const TABLE_NAMES: readonly TableName[] = ["raw", "mangle", "nat", "filter"];

/** The hooks each table attaches to (iptable_raw.c, iptable_mangle.c, iptable_nat.c, iptable_filter.c). */
export const TABLE_HOOKS: Readonly<Record<TableName, readonly Hook[]>> = {
  raw: [Hook.PreRouting, Hook.LocalOut],
  mangle: [Hook.PreRouting, Hook.LocalIn, Hook.Forward, Hook.LocalOut, Hook.PostRouting],
  nat: [Hook.PreRouting, Hook.LocalIn, Hook.LocalOut, Hook.PostRouting],
  filter: [Hook.LocalIn, Hook.Forward, Hook.LocalOut],
};

export const isTableName = (s: string): s is TableName => s === "raw" || s === "mangle" || s === "nat" || s === "filter";

export type Policy = "ACCEPT" | "DROP";
export type StandardVerdict = "ACCEPT" | "DROP" | "RETURN";

export type RuleTarget =
  /** No -j: the rule only counts. */
  | { readonly kind: "none" }
  | { readonly kind: "verdict"; readonly verdict: StandardVerdict }
  /** -j CHAIN (push a return address) or -g CHAIN (goto: no return to this chain). */
  | { readonly kind: "jump"; readonly chain: string; readonly goto: boolean }
  | { readonly kind: "ext"; readonly ext: TargetExtension; readonly spec: unknown };

/**
 * One rule: struct ipt_entry's ipt_ip, its matches and its target, with counters. The addresses
 * and masks are 32-bit words stored signed (`| 0`, as the compiled program's Int32Array holds
 * them): V8 keeps an int32 field inline, but boxes a uint32 above 2^31 (every /32 mask) in a
 * heap number of its own, which cost a kube-proxy sync of 320k rules 10 MB and its collection.
 */
export interface Rule {
  readonly src: number;
  readonly smsk: number;
  readonly invSrc: boolean;
  readonly dst: number;
  readonly dmsk: number;
  readonly invDst: boolean;
  /** -i / -o: a name, "eth+" for a prefix, or null for any. */
  readonly inIface: string | null;
  readonly invIn: boolean;
  readonly outIface: string | null;
  readonly invOut: boolean;
  /** -p: 0 for all. */
  readonly proto: number;
  readonly invProto: boolean;
  /** -f: 0 none, 1 "-f" (non-first fragments only), 2 "! -f" (unfragmented and first fragments). */
  readonly frag: 0 | 1 | 2;
  readonly matches: readonly MatchInstance[];
  readonly target: RuleTarget;
  /** Counters [packets:bytes]. */
  pkts: number;
  bytes: number;
}

export interface Chain {
  readonly name: string;
  /** The hook of a built-in chain, or null for a user chain. */
  readonly hook: Hook | null;
  /** Policy of a built-in chain; null for user chains ("-" in iptables-save). */
  policy: Policy | null;
  rules: Rule[];
  /** Policy counters of a built-in chain (the [p:b] on its ":" line). */
  pkts: number;
  bytes: number;
  /**
   * Bookkeeping of the iptables layer, kept on the chain rather than in side Maps keyed by chain
   * name (a restore of 100k chains would spend more on those lookups than on the rules):
   * `stage`, the restore that owns the chain while it stages (see stage.ts) and `lines`, the
   * input line of each of its rules then; `idx`, its index in the commit's jump graph; `pc`, its
   * first entry in the program last compiled from it.
   */
  stage: object | null;
  lines: number[] | null;
  /** While `lines` is null: the input line of rule 0, the rules after it on the lines after it (see stage.ts lineOf). */
  line0: number;
  idx: number;
  pc: number;
}

/** A chain object with its bookkeeping fields cleared (every chain has the same shape). */
export function makeChain(name: string, hook: Hook | null, policy: Policy | null, rules: Rule[], pkts = 0, bytes = 0): Chain {
  return { name, hook, policy, rules, pkts, bytes, stage: null, lines: null, line0: 0, idx: -1, pc: -1 };
}

export class Table {
  readonly chains: Map<string, Chain>;
  /**
   * The jump graph its last commit checked (commit.ts), handed to a fork so that the next restore
   * can carry it over when no chain's jumps changed; null when there is none.
   */
  graph: Graph | null = null;

  /** A table with empty built-in chains, or (`chains` given) one holding exactly those chains. */
  constructor(
    readonly name: TableName,
    chains?: Map<string, Chain>,
  ) {
    this.chains = chains ?? new Map<string, Chain>();
    if (chains === undefined)
      for (const hook of TABLE_HOOKS[name])
        this.chains.set(HOOK_NAMES[hook], makeChain(HOOK_NAMES[hook], hook, "ACCEPT", []));
  }

  chain(name: string): Chain | undefined {
    return this.chains.get(name);
  }

  /** Built-in chains in hook order. */
  builtinChains(): Chain[] {
    return TABLE_HOOKS[this.name].map((h) => this.chains.get(HOOK_NAMES[h])!);
  }

  /** User chains sorted by name (strcmp order), as iptables-save lists them. */
  userChains(): Chain[] {
    return [...this.chains.values()].filter((c) => c.hook === null).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Every chain, built-ins first, as iptables-save prints them. */
  orderedChains(): Chain[] {
    return [...this.builtinChains(), ...this.userChains()];
  }

  /**
   * A copy that shares every chain object with this one (copy-on-write: whoever edits a chain of
   * the fork replaces it by a copy first, as restore.ts does). Costs one Map copy, not a chain copy.
   */
  fork(): Table {
    const t = new Table(this.name, new Map(this.chains));
    t.graph = this.graph;
    return t;
  }

  /** A copy whose chains and rule arrays may be changed without touching this one (rules are shared). */
  clone(): Table {
    const t = new Table(this.name);
    t.chains.clear();
    for (const [n, c] of this.chains) t.chains.set(n, makeChain(c.name, c.hook, c.policy, [...c.rules], c.pkts, c.bytes));
    return t;
  }
}

/** The rules of one network namespace: the tables that exist. */
export class Ruleset {
  readonly tables = new Map<TableName, Table>();

  /** The table, created with empty built-in chains if it does not exist yet. */
  table(name: TableName): Table {
    let t = this.tables.get(name);
    if (t === undefined) {
      t = new Table(name);
      this.tables.set(name, t);
    }
    return t;
  }

  clone(): Ruleset {
    const r = new Ruleset();
    for (const [n, t] of this.tables) r.tables.set(n, t.clone());
    return r;
  }
}

/** A rule with every ipt_ip field at its "match anything" value. */
export function emptyRule(): Rule {
  return {
    src: 0,
    smsk: 0,
    invSrc: false,
    dst: 0,
    dmsk: 0,
    invDst: false,
    inIface: null,
    invIn: false,
    outIface: null,
    invOut: false,
    proto: 0,
    invProto: false,
    frag: 0,
    matches: [],
    target: { kind: "none" },
    pkts: 0,
    bytes: 0,
  };
}

// Compiling a table into the flat program the packet walk runs, laid out like the kernel's
// table blob (ip_tables.c translate_table): every chain's rules back to back, a built-in chain
// ending in its policy entry (the hook's underflow), a user chain in an implicit RETURN. The
// ipt_ip part of each rule sits in one interleaved Int32Array read inline by the walk; its
// matches are fused into one closure; jumps are resolved to program offsets. With map dispatch,
// runs of service rules get a verdict map at their first offset (see ../nft/segments.ts).

import { Verdict } from "../../net/index.js";
import { MIN_SEGMENT, planSegments } from "../nft/segments.js";
import { ServiceVerdictMap } from "../nft/vmap.js";
import type { TableName } from "../types.js";
import type { Graph } from "./commit.js";
import { compileMatches, shareCompiledMatches } from "./compile-matches.js";
import type { Chain, Rule, Table } from "./model.js";
import { formatRule } from "./save.js";
import type { MatchFn, TargetFn, XtEnv } from "./xt.js";

export { fuseMatches } from "./compile-matches.js";

/** What a program entry does once its rule matched. */
export const EntryKind = { None: 0, Verdict: 1, Jump: 2, Goto: 3, Return: 4, Target: 5, Policy: 6, End: 7 } as const;

/** ipt_ip flags: inversions (IPT_INV_*), -p given, -f given. */
export const F_INV_SRC = 1;
export const F_INV_DST = 2;
export const F_PROTO = 4;
export const F_INV_PROTO = 8;
export const F_FRAG = 16;
export const F_INV_FRAG = 32;

export const VERDICT_NAMES = ["DROP", "ACCEPT", "STOLEN"] as const;

export type Dispatch = "linear" | "map";

/** A verdict map standing in for rules [pc, end) of a chain: its value is the pc of the first rule with the key. */
export interface MapSegment {
  readonly chain: string;
  readonly table: TableName;
  readonly start: number;
  readonly end: number;
  readonly map: ServiceVerdictMap;
}

/**
 * Fields of one program entry in `Program.ent`, ENT_SIZE ints per entry: what the walk reads for
 * every rule it looks at sits in one cache line (struct ipt_entry's layout, for the same reason).
 */
export const E_SRC = 0;
export const E_SMSK = 1;
export const E_DST = 2;
export const E_DMSK = 3;
/** Flags (F_*) in the low byte, protocol in the next, EntryKind in the third. */
export const E_FLAGS = 4;
/** Verdict (EntryKind.Verdict, Policy) or target offset (Jump, Goto). */
export const E_ARG = 5;
/** Map dispatch: where to continue after this rule when a map led to it (the next rule of its run with the same key, or the run's end); -1 otherwise. */
export const E_RESUME = 6;
/** Map dispatch: 1 + the index in Program.segmentList of the run starting here, else 0. */
export const E_SEG = 7;
export const ENT_SIZE = 8;

export interface Program {
  readonly table: TableName;
  /** Number of entries. */
  readonly n: number;
  /** ENT_SIZE ints per entry (E_*). */
  readonly ent: Int32Array;
  /** Counters: packets at 2 * pc, bytes at 2 * pc + 1. */
  readonly cnt: Float64Array;
  /** The fused match at 2 * pc and the target at 2 * pc + 1 (null when none): one cache line for both. */
  readonly fns: (MatchFn | TargetFn | null)[];
  /** 1-based rule number in its chain (policy/end entries: rules + 1). */
  readonly num: Int32Array;
  /** The model rule of each entry (null for policy and chain-end entries). */
  readonly rules: (Rule | null)[];
  readonly chainOf: Chain[];
  /** Per hook: the offset of the built-in chain's first entry and of its policy entry, or -1. */
  readonly hookEntry: Int32Array;
  readonly hookPolicy: Int32Array;
  /** Map dispatch: the runs of service rules with their maps (E_SEG points here); empty when linear. */
  readonly segmentList: MapSegment[];
  readonly dispatch: Dispatch;
  /** The jump stack needs at most one slot per chain. */
  readonly stackSize: number;
  /** Rule text for traces, filled on first use. */
  readonly text: (string | undefined)[];
}

export const entryKind = (p: Program, pc: number): number => (p.ent[pc * ENT_SIZE + E_FLAGS] >>> 16) & 0xff;
export const entryArg = (p: Program, pc: number): number => p.ent[pc * ENT_SIZE + E_ARG];
export const entryNum = (p: Program, pc: number): number => p.num[pc];
export const entryMatch = (p: Program, pc: number): MatchFn | null => p.fns[2 * pc] as MatchFn | null;
export const entryTarget = (p: Program, pc: number): TargetFn | null => p.fns[2 * pc + 1] as TargetFn | null;
export const entryPackets = (p: Program, pc: number): number => p.cnt[2 * pc];
export const entryBytes = (p: Program, pc: number): number => p.cnt[2 * pc + 1];

/**
 * Lays the table out and compiles it. With `prev` (the table's program before a restore), every
 * rule that is still the same rule object at the same place of a chain of the same name keeps its
 * compiled entry, closures and live counters: a restore costs the chains it wrote plus a copy of
 * the rest (iptables-restore --noflush replacing only the chains written). Chains are laid out
 * in the table's chain order (creation order); the verdict maps are listed in iptables-save's
 * chain order.
 */
export function compileTable(t: Table, env: XtEnv, dispatch: Dispatch = "linear", prev?: Program, graph?: Graph): Program {
  let n = 0;
  const chains = graph?.chains ?? [...t.chains.values()];
  jumpGraph = graph ?? null;
  // Where each chain was in the program it was last compiled into (checked against `prev` rule by rule).
  const was = new Int32Array(chains.length);
  for (let i = 0; i < chains.length; i++) {
    const c = chains[i];
    was[i] = c.pc;
    c.pc = n;
    n += c.rules.length + 1;
  }
  if (prev !== undefined && prev.n === n && prev.dispatch === dispatch && sameLayout(prev, chains)) {
    const p = compileInPlace(t, env, prev, chains);
    jumpGraph = null;
    return p;
  }
  const p: Program = {
    table: t.name,
    n,
    ent: new Int32Array(n * ENT_SIZE),
    cnt: new Float64Array(n * 2),
    fns: new Array<MatchFn | TargetFn | null>(2 * n).fill(null),
    num: new Int32Array(n),
    rules: new Array<Rule | null>(n).fill(null),
    chainOf: new Array<Chain>(n),
    hookEntry: new Int32Array(5).fill(-1),
    hookPolicy: new Int32Array(5).fill(-1),
    segmentList: [],
    dispatch,
    stackSize: chains.length + 1,
    text: new Array<string | undefined>(n),
  };
  for (let o = E_RESUME; o < p.ent.length; o += ENT_SIZE) p.ent[o] = -1;
  shareCompiledMatches(true);
  for (let ci = 0; ci < chains.length; ci++) {
    const c = chains[ci];
    const base = c.pc;
    edge = jumpGraph === null ? 0 : jumpGraph.first[ci];
    const from = prev !== undefined && was[ci] >= 0 && was[ci] < prev.n && prev.chainOf[was[ci]] === c ? was[ci] : -1;
    const rules = c.rules;
    let where: string | null = null;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i];
      const pc = base + i;
      if (from >= 0 && from + i < prev!.n && prev!.rules[from + i] === r) {
        reuseEntry(prev!, from + i, p, pc, c, t);
        continue;
      }
      if (where === null && r.target.kind === "ext") where = `${p.table}/${c.name}`;
      compileRule(p, pc, r, c, i + 1, t, env, where ?? "");
    }
    chainEnd(p, c);
    if (dispatch === "map" && rules.length >= MIN_SEGMENT) addSegments(p, c, base);
  }
  shareCompiledMatches(false);
  jumpGraph = null;
  if (p.segmentList.length > 1) orderSegments(p);
  return p;
}

/** A chain's last entry: a built-in chain's policy (the hook's underflow), a user chain's implicit RETURN. */
function chainEnd(p: Program, c: Chain): void {
  const end = c.pc + c.rules.length;
  const o = end * ENT_SIZE;
  p.chainOf[end] = c;
  p.num[end] = c.rules.length + 1;
  p.text[end] = undefined;
  if (c.hook !== null) {
    p.ent[o + E_FLAGS] = EntryKind.Policy << 16;
    p.ent[o + E_ARG] = c.policy === "DROP" ? Verdict.Drop : Verdict.Accept;
    p.cnt[2 * end] = c.pkts;
    p.cnt[2 * end + 1] = c.bytes;
    p.hookEntry[c.hook] = c.pc;
    p.hookPolicy[c.hook] = end;
  } else p.ent[o + E_FLAGS] = EntryKind.End << 16;
}

/**
 * Whether `prev` has, where each chain now goes, a chain of the same name and length: then no
 * chain moved and no jump changes its offset (kube-proxy's partial sync rewriting its top-level
 * chains with as many rules as before, a resync with nothing changed).
 */
function sameLayout(prev: Program, chains: readonly Chain[]): boolean {
  for (let i = 0; i < chains.length; i++) {
    const c = chains[i];
    const end = c.pc + c.rules.length;
    const q = prev.chainOf[end];
    const kind = (prev.ent[end * ENT_SIZE + E_FLAGS] >>> 16) & 0xff;
    if (q === undefined || q.name !== c.name || prev.chainOf[c.pc] !== q || (kind !== EntryKind.End && kind !== EntryKind.Policy)) return false;
  }
  return true;
}

/**
 * compileTable when nothing moved (sameLayout): the chains written are compiled over their own
 * entries in `prev`'s arrays, and the entries of the chains not written are not touched at all,
 * so the restore costs what it wrote rather than the table (no new 40 MB program for 430k rules
 * to copy into). The new program shares `prev`'s arrays: `prev` is spent (the engine swaps it out).
 */
function compileInPlace(t: Table, env: XtEnv, prev: Program, chains: readonly Chain[]): Program {
  const written = new Set<string>();
  for (let i = 0; i < chains.length; i++) if (prev.chainOf[chains[i].pc + chains[i].rules.length] !== chains[i]) written.add(chains[i].name);
  const p: Program = { ...prev, segmentList: prev.segmentList.filter((s) => !written.has(s.chain)) };
  const ent = p.ent;
  shareCompiledMatches(true);
  for (let ci = 0; ci < chains.length; ci++) {
    const c = chains[ci];
    if (!written.has(c.name)) continue;
    const base = c.pc;
    edge = jumpGraph === null ? 0 : jumpGraph.first[ci];
    const rules = c.rules;
    let where: string | null = null;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i];
      const pc = base + i;
      const o = pc * ENT_SIZE;
      ent[o + E_RESUME] = -1;
      ent[o + E_SEG] = 0;
      p.text[pc] = undefined;
      if (prev.rules[pc] === r) {
        // The same rule at the same place (a chain copied, not flushed): its entry stands; a jump still takes its edge.
        p.chainOf[pc] = c;
        if (r.target.kind === "jump") ent[o + E_ARG] = targetPc(t, r);
        continue;
      }
      ent[o + E_ARG] = 0;
      p.fns[2 * pc + 1] = null;
      if (where === null && r.target.kind === "ext") where = `${p.table}/${c.name}`;
      compileRule(p, pc, r, c, i + 1, t, env, where ?? "");
    }
    chainEnd(p, c);
    if (p.dispatch === "map" && rules.length >= MIN_SEGMENT) addSegments(p, c, base);
  }
  shareCompiledMatches(false);
  if (p.segmentList.length > 1) orderSegments(p);
  else if (p.segmentList.length === 1) ent[p.segmentList[0].start * ENT_SIZE + E_SEG] = 1;
  return p;
}

/** The commit's jump graph of the table being compiled, if it came with one; `edge`: the next jump of the chain being compiled in it. */
let jumpGraph: Graph | null = null;
let edge = 0;

/** The program offset of a jump's chain (laid out above: chain.pc), from the commit's graph when there is one (jumps come in its order). */
function targetPc(t: Table, r: Rule): number {
  if (jumpGraph !== null) return jumpGraph.chains[jumpGraph.edges[edge++]].pc;
  return t.chains.get((r.target as { chain: string }).chain)!.pc;
}

/** Copies entry `from` of `prev` to `pc` of `p`, its jump resolved again (the target chain may have moved). */
function reuseEntry(prev: Program, from: number, p: Program, pc: number, c: Chain, t: Table): void {
  const po = from * ENT_SIZE;
  const o = pc * ENT_SIZE;
  const pe = prev.ent;
  const e = p.ent;
  e[o + E_SRC] = pe[po + E_SRC];
  e[o + E_SMSK] = pe[po + E_SMSK];
  e[o + E_DST] = pe[po + E_DST];
  e[o + E_DMSK] = pe[po + E_DMSK];
  const fl = pe[po + E_FLAGS];
  e[o + E_FLAGS] = fl;
  const kind = (fl >>> 16) & 0xff;
  const r = prev.rules[from]!;
  e[o + E_ARG] = kind === EntryKind.Jump || kind === EntryKind.Goto ? targetPc(t, r) : pe[po + E_ARG];
  p.cnt[2 * pc] = prev.cnt[2 * from];
  p.cnt[2 * pc + 1] = prev.cnt[2 * from + 1];
  p.fns[2 * pc] = prev.fns[2 * from];
  p.fns[2 * pc + 1] = prev.fns[2 * from + 1];
  p.num[pc] = prev.num[from];
  p.rules[pc] = r;
  p.chainOf[pc] = c;
  p.text[pc] = prev.text[from];
}

/** Orders the verdict maps as iptables-save orders their chains (built-ins by hook, then user chains by name), E_SEG following. */
function orderSegments(p: Program): void {
  const rank = (seg: MapSegment): number => {
    const h = p.chainOf[seg.start].hook;
    return h === null ? 5 : h;
  };
  p.segmentList.sort((a, b) => rank(a) - rank(b) || (a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : a.start - b.start));
  for (let i = 0; i < p.segmentList.length; i++) p.ent[p.segmentList[i].start * ENT_SIZE + E_SEG] = i + 1;
}

function compileRule(p: Program, pc: number, r: Rule, c: Chain, num: number, tbl: Table, env: XtEnv, where: string): void {
  const o = pc * ENT_SIZE;
  p.rules[pc] = r;
  p.chainOf[pc] = c;
  p.num[pc] = num;
  p.ent[o + E_SRC] = r.src;
  p.ent[o + E_SMSK] = r.smsk;
  p.ent[o + E_DST] = r.dst;
  p.ent[o + E_DMSK] = r.dmsk;
  let f = 0;
  if (r.invSrc) f |= F_INV_SRC;
  if (r.invDst) f |= F_INV_DST;
  if (r.proto !== 0) f |= F_PROTO;
  if (r.invProto) f |= F_INV_PROTO;
  if (r.frag !== 0) f |= F_FRAG;
  if (r.frag === 2) f |= F_INV_FRAG;
  p.fns[2 * pc] = compileMatches(r, env);
  p.cnt[2 * pc] = r.pkts;
  p.cnt[2 * pc + 1] = r.bytes;
  const t = r.target;
  let kind: number = EntryKind.None;
  switch (t.kind) {
    case "verdict":
      if (t.verdict === "RETURN") kind = EntryKind.Return;
      else {
        kind = EntryKind.Verdict;
        p.ent[o + E_ARG] = t.verdict === "ACCEPT" ? Verdict.Accept : Verdict.Drop;
      }
      break;
    case "jump":
      kind = t.goto ? EntryKind.Goto : EntryKind.Jump;
      p.ent[o + E_ARG] = targetPc(tbl, r);
      break;
    case "ext":
      kind = EntryKind.Target;
      p.fns[2 * pc + 1] = t.ext.compile(t.spec, env, where);
      break;
  }
  p.ent[o + E_FLAGS] = f | (r.proto << 8) | (kind << 16);
}

function addSegments(p: Program, c: Chain, base: number): void {
  for (const plan of planSegments(c.rules)) {
    const start = base + plan.from;
    const end = base + plan.to;
    const map = new ServiceVerdictMap(plan.keys.length);
    // resume[pc]: the next rule of the run with the same key (a later duplicate), else the run's end.
    const last = new Map<string, number>();
    plan.keys.forEach((k, i) => {
      const pc = start + i;
      p.ent[pc * ENT_SIZE + E_RESUME] = end;
      const id = `${k.daddr}/${k.proto}/${k.port}`;
      const prev = last.get(id);
      if (prev !== undefined) p.ent[prev * ENT_SIZE + E_RESUME] = pc;
      last.set(id, pc);
      map.add(k.daddr, k.proto, k.port, pc);
    });
    p.segmentList.push({ chain: c.name, table: p.table, start, end, map });
    p.ent[start * ENT_SIZE + E_SEG] = p.segmentList.length;
  }
}

/** The text of entry `pc` for a trace: the rule as iptables-save prints it, or the policy. */
export function entryText(p: Program, pc: number): string {
  let s = p.text[pc];
  if (s === undefined) {
    const r = p.rules[pc];
    const c = p.chainOf[pc];
    s = r !== null ? formatRule(r, c.name) : c.hook !== null ? `:${c.name} ${c.policy}` : `-A ${c.name} (end of chain: return)`;
    p.text[pc] = s;
  }
  return s;
}

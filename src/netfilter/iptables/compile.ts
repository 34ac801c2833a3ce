// Compiling a table into the flat program the packet walk runs, laid out like the kernel's
// table blob (ip_tables.c translate_table): every chain's rules back to back, a built-in chain
// ending in its policy entry (the hook's underflow), a user chain in an implicit RETURN. The
// ipt_ip part of each rule sits in one interleaved Int32Array read inline by the walk; its
// matches are fused into one closure; jumps are resolved to program offsets. With map dispatch,
// runs of service rules get a verdict map at their first offset (see ../nft/segments.ts).

import { Verdict } from "../../net/index.js";
import { planSegments } from "../nft/segments.js";
import { ServiceVerdictMap } from "../nft/vmap.js";
import type { TableName } from "../types.js";
import type { Chain, Rule, Table } from "./model.js";
import { formatRule } from "./save.js";
import { type MatchFn, matchAlways, type TargetFn, type XtEnv, type XtParam } from "./xt.js";

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

/** Fuses match closures into one, in rule order, leaving out those that always match. */
export function fuseMatches(fns: MatchFn[]): MatchFn | null {
  const f = fns.filter((m) => m !== matchAlways);
  switch (f.length) {
    case 0:
      return null;
    case 1:
      return f[0];
    case 2: {
      const [a, b] = f;
      return (p) => a(p) && b(p);
    }
    case 3: {
      const [a, b, c] = f;
      return (p) => a(p) && b(p) && c(p);
    }
    default:
      return (p) => {
        for (let i = 0; i < f.length; i++) if (!f[i](p)) return false;
        return true;
      };
  }
}

/** -i / -o: ifname_compare with a "+" wildcard; no device compares as "". */
function ifaceMatch(name: string, invert: boolean, out: boolean): MatchFn {
  const wildcard = name.endsWith("+");
  const want = wildcard ? name.slice(0, -1) : name;
  return (p: XtParam) => {
    const d = out ? p.ctx.outdev : p.ctx.indev;
    const have = d === null ? "" : d.name;
    return (wildcard ? have.startsWith(want) : have === want) !== invert;
  };
}

export function compileTable(t: Table, env: XtEnv, dispatch: Dispatch = "linear"): Program {
  const chains = t.orderedChains();
  let n = 0;
  const startOf = new Map<string, number>();
  for (const c of chains) {
    startOf.set(c.name, n);
    n += c.rules.length + 1;
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
  for (let pc = 0; pc < n; pc++) p.ent[pc * ENT_SIZE + E_RESUME] = -1;
  for (const c of chains) {
    const base = startOf.get(c.name)!;
    for (let i = 0; i < c.rules.length; i++) compileRule(p, base + i, c.rules[i], c, i + 1, startOf, env);
    const end = base + c.rules.length;
    const o = end * ENT_SIZE;
    p.chainOf[end] = c;
    p.num[end] = c.rules.length + 1;
    if (c.hook !== null) {
      p.ent[o + E_FLAGS] = EntryKind.Policy << 16;
      p.ent[o + E_ARG] = c.policy === "DROP" ? Verdict.Drop : Verdict.Accept;
      p.cnt[2 * end] = c.pkts;
      p.cnt[2 * end + 1] = c.bytes;
      p.hookEntry[c.hook] = base;
      p.hookPolicy[c.hook] = end;
    } else p.ent[o + E_FLAGS] = EntryKind.End << 16;
    if (dispatch === "map") addSegments(p, c, base);
  }
  return p;
}

function compileRule(p: Program, pc: number, r: Rule, c: Chain, num: number, startOf: Map<string, number>, env: XtEnv): void {
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
  const fns: MatchFn[] = [];
  if (r.inIface !== null) fns.push(ifaceMatch(r.inIface, r.invIn, false));
  if (r.outIface !== null) fns.push(ifaceMatch(r.outIface, r.invOut, true));
  for (const m of r.matches) fns.push(m.ext.compile(m.spec, env));
  p.fns[2 * pc] = fuseMatches(fns);
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
      p.ent[o + E_ARG] = startOf.get(t.chain)!;
      break;
    case "ext":
      kind = EntryKind.Target;
      p.fns[2 * pc + 1] = t.ext.compile(t.spec, env, `${p.table}/${c.name}`);
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

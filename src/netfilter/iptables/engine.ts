// The iptables rule engine of one network namespace: holds the ruleset, compiles each table, and
// walks a table's chain for a hook as ipt_do_table does: rules in order (or through verdict maps
// with map dispatch), first match wins, counters updated, jumps on a stack, RETURN popping it and
// the built-in chain's policy when it is empty. With tracing on, every rule taken is reported
// like `iptables -j TRACE` ("rule", "return", "policy").

import { HOOK_NAMES, type NetNamespace, Verdict } from "../../net/index.js";
import type { Rng } from "../../sim/index.js";
import { ipv4 } from "../../wire/index.js";
import { natApiOf } from "../hooks.js";
import { formatNftRuleset, type NftPrintOptions, nftMaps } from "../nft/print.js";
import type { NatApi, NfContext, RuleTableRunner, TableName } from "../types.js";
import * as layout from "./compile.js";
import { compileTable, type Dispatch, entryArg, entryKind, entryNum, entryText, type MapSegment, type Program, VERDICT_NAMES } from "./compile.js";
import { syncChainCounters, syncPolicyCounters, syncProgramCounters } from "./counters.js";
import { IptablesError } from "./errors.js";
import type { RecentTable } from "./matches/recent.js";
import type { SetSpec } from "./matches/set.js";
import { type Chain, type Rule, type Ruleset, Ruleset as RulesetClass, TABLE_NAMES } from "./model.js";
import { type RestoreOptions, stageIptablesRestore } from "./restore.js";
import { formatIptablesSave, type SaveOptions } from "./save.js";
import { IpSetRegistry } from "./sets.js";
import { type MatchFn, type TargetFn, XT_CONTINUE, type XtEnv, XtParam } from "./xt.js";

const STATISTIC_STREAM = "iptables/statistic";

// The program's entry layout as this module's own constants: V8 folds those into the walk's
// machine code, but loads and hole-checks an imported binding at every use (measured: about a
// sixth of a map-dispatched packet).
const { ENT_SIZE, E_SRC, E_SMSK, E_DST, E_DMSK, E_FLAGS, E_ARG, E_RESUME, E_SEG, EntryKind } = layout;
const { F_INV_SRC, F_INV_DST, F_PROTO, F_INV_PROTO, F_FRAG, F_INV_FRAG } = layout;

export interface IptablesEngineOptions {
  /** Initial rules, as iptables-restore text. */
  rules?: string;
  /** File name of `rules`, for error messages. */
  file?: string;
  /** "linear" (default): ipt_do_table's walk. "map": runs of service rules through verdict maps. */
  dispatch?: Dispatch;
  /** NAT for DNAT/SNAT/MASQUERADE; default: the namespace's (installNetfilter's). */
  nat?: NatApi;
  /** The statistic match's random stream; default ns.rng.derive("iptables/statistic"), shared by the namespace's engines. */
  rng?: Rng;
  /** Named sets for -m set; default: a new empty registry. */
  sets?: IpSetRegistry;
  /** Sends a TCP RST for REJECT --reject-with tcp-reset; without it the packet is only dropped. */
  tcpReset?: (ctx: NfContext) => void;
  /** Receives LOG lines (besides the trace). */
  onLog?: (line: string, ctx: NfContext) => void;
}

/** One nesting level of the walk (REJECT's ICMP error walks OUTPUT inside a walk). */
interface Frame {
  p: XtParam;
  stack: Int32Array;
}

export class IptablesEngine implements RuleTableRunner {
  private ruleset_: Ruleset = new RulesetClass();
  private programs = new Map<TableName, Program>();
  /** The programs by table for the walk: raw, mangle, nat, filter (a Map lookup per packet costs more). */
  private raw: Program | undefined;
  private mangle: Program | undefined;
  private natProg: Program | undefined;
  private filter: Program | undefined;
  private readonly frames: Frame[] = [];
  private depth = 0;
  private rng: Rng | null;
  /** The namespace `rng` belongs to (null: given by the options, used everywhere). */
  private rngNs: NetNamespace | null = null;
  private readonly nat: NatApi | null;
  private nsNat: NatApi | null = null;
  private natNs: NetNamespace | null = null;
  readonly dispatch: Dispatch;
  readonly sets: IpSetRegistry;
  readonly env: XtEnv;

  constructor(opts: IptablesEngineOptions = {}) {
    this.dispatch = opts.dispatch ?? "linear";
    this.sets = opts.sets ?? new IpSetRegistry();
    this.rng = opts.rng ?? null;
    this.nat = opts.nat ?? null;
    this.env = {
      natFor: (ns) => this.natFor(ns),
      sets: this.sets,
      recent: new Map<string, RecentTable>(),
      randomU32: (ns: NetNamespace) => this.statisticRng(ns).u32(),
      tcpReset: opts.tcpReset ?? null,
      onLog: opts.onLog ?? null,
    };
    if (opts.rules !== undefined) this.restore(opts.rules, { file: opts.file });
  }

  /**
   * The statistic match's stream: the option's, else one per namespace kept in ns.state, so that
   * engines replacing each other in a namespace continue the same sequence.
   */
  private statisticRng(ns: NetNamespace): Rng {
    if (this.rng !== null && (this.rngNs === ns || this.rngNs === null)) return this.rng;
    let r = ns.state.get(STATISTIC_STREAM) as Rng | undefined;
    if (r === undefined) ns.state.set(STATISTIC_STREAM, (r = ns.rng.derive(STATISTIC_STREAM)));
    this.rng = r;
    this.rngNs = ns;
    return r;
  }

  /** The NatApi given in the options, else the namespace's (installNetfilter's), looked up once per namespace. */
  private natFor(ns: NetNamespace): NatApi | null {
    if (this.nat !== null) return this.nat;
    if (this.natNs !== ns || this.nsNat === null) {
      this.nsNat = natApiOf(ns);
      this.natNs = ns;
    }
    return this.nsNat;
  }

  /** The rules (counters as of the last save()/syncCounters()). */
  get ruleset(): Ruleset {
    return this.ruleset_;
  }

  /** RuleTableRunner: the tables that exist. */
  tables(): TableName[] {
    return TABLE_NAMES.filter((t) => this.ruleset_.tables.has(t));
  }

  /**
   * iptables-restore [--noflush] [--counters]: atomic; on error nothing changes. Only the tables
   * the input names are recompiled, and in them only the chains it wrote (see compileTable).
   */
  restore(text: string, opts: RestoreOptions = {}): void {
    // Built-in chains' policies are laid out anew in every compile: their counters come from the
    // chains. Other counters are brought up to date only for the chains the restore copies.
    for (const p of this.programs.values()) syncPolicyCounters(p);
    // The live tables are edited in place (undone on error): they are replaced by the result anyway.
    const staged = stageIptablesRestore(this.ruleset_, text, { ...opts, inPlace: opts.noflush === true, syncChain: this.syncChain });
    const programs = new Map(this.programs);
    try {
      for (const st of staged.tables.values()) for (const c of st.owned) this.checkSets(c.rules, opts.file);
      for (const [name, st] of staged.tables) programs.set(name, compileTable(st.t, this.env, this.dispatch, this.programs.get(name), st.t.graph ?? undefined));
    } catch (e) {
      staged.rollback();
      throw e;
    }
    this.swap(staged.ruleset, programs);
  }

  /** Replaces the whole ruleset (already validated, e.g. from parseIptablesRestore). */
  load(rs: Ruleset, file?: string): void {
    for (const t of rs.tables.values()) for (const c of t.chains.values()) this.checkSets(c.rules, file);
    const programs = new Map<TableName, Program>();
    for (const t of rs.tables.values()) programs.set(t.name, compileTable(t, this.env, this.dispatch, this.programs.get(t.name)));
    this.swap(rs, programs);
  }

  /** -m set needs its set to exist before the rule loads (ip_set_nfnl_get_byname). */
  private checkSets(rules: readonly Rule[], file: string | undefined): void {
    for (const r of rules)
      for (const m of r.matches)
        if (m.ext.name === "set" && this.sets.get((m.spec as SetSpec).name) === undefined)
          throw new IptablesError(`Set ${(m.spec as SetSpec).name} doesn't exist`, { file, token: (m.spec as SetSpec).name, expected: "a set created in the engine's IpSetRegistry first (ipset create)" });
  }

  /** The commit: the new rules and their programs go live together. */
  private swap(rs: Ruleset, programs: Map<TableName, Program>): void {
    const ordered = new Map<TableName, Program>();
    for (const name of rs.tables.keys()) ordered.set(name, programs.get(name)!);
    this.ruleset_ = rs;
    this.programs = ordered;
    this.raw = ordered.get("raw");
    this.mangle = ordered.get("mangle");
    this.natProg = ordered.get("nat");
    this.filter = ordered.get("filter");
    if (this.env.recent.size > 0) this.pruneRecent(rs);
  }

  /** iptables-save [-c] [-t TABLE]. */
  save(opts: SaveOptions = {}): string {
    this.syncCounters();
    return formatIptablesSave(this.ruleset_, opts);
  }

  /** Copies the live counters into the ruleset's rules and chains. */
  syncCounters(): void {
    for (const p of this.programs.values()) syncProgramCounters(p);
  }

  /** Copies the live counters of one chain of `table` into its rules (and policy): see RestoreOptions.syncChain. */
  private readonly syncChain = (table: TableName, c: Chain): void => {
    const p = this.programs.get(table);
    if (p !== undefined) syncChainCounters(p, c);
  };

  /** iptables -Z: zeroes every counter. */
  zero(): void {
    for (const p of this.programs.values()) p.cnt.fill(0);
    this.syncCounters();
  }

  /** The compiled program of a table (tests, benchmarks, the nft printer). */
  program(table: TableName): Program | undefined {
    return this.programs.get(table);
  }

  /** The verdict maps of map dispatch, per table and chain. */
  mapSegments(): MapSegment[] {
    const out: MapSegment[] = [];
    for (const p of this.programs.values()) out.push(...p.segmentList);
    return out;
  }

  /** `nft list ruleset` text for the verdict maps of map dispatch (empty table when linear). */
  formatNft(opts: NftPrintOptions = {}): string {
    return formatNftRuleset(
      nftMaps(this.mapSegments(), (t) => this.programs.get(t)),
      opts,
    );
  }

  /** A -m recent list (/proc/net/xt_recent/NAME). */
  recent(name: string): RecentTable | undefined {
    return this.env.recent.get(name);
  }

  private pruneRecent(rs: Ruleset): void {
    const used = new Set<string>();
    for (const t of rs.tables.values())
      for (const c of t.chains.values()) for (const r of c.rules) for (const m of r.matches) if (m.ext.name === "recent") used.add((m.spec as { name: string }).name);
    for (const name of [...this.env.recent.keys()]) if (!used.has(name)) this.env.recent.delete(name);
  }

  /** RuleTableRunner: walks table's built-in chain for ctx.hook over the packet. */
  run(table: TableName, ctx: NfContext): Verdict {
    const prog = table === "nat" ? this.natProg : table === "filter" ? this.filter : table === "mangle" ? this.mangle : this.raw;
    if (prog === undefined) return Verdict.Accept;
    const entry = prog.hookEntry[ctx.hook];
    if (entry < 0) return Verdict.Accept;
    const pkt = ctx.pkt;
    const l3 = pkt.l3;
    if (l3 < 0 || pkt.tail - l3 < ipv4.IPV4_HEADER_LEN) return Verdict.Accept;
    const depth = this.depth;
    let f = this.frames[depth];
    if (f === undefined || f.stack.length < prog.stackSize) f = this.frames[depth] = { p: f?.p ?? new XtParam(), stack: new Int32Array(prog.stackSize + 8) };
    const p = f.p;
    const b = pkt.buf;
    p.ctx = ctx;
    p.pkt = pkt;
    p.b = b;
    p.hook = ctx.hook;
    p.l3 = l3;
    p.end = pkt.tail;
    p.thoff = l3 + ((b[l3] & 0x0f) << 2);
    p.fragoff = ((b[l3 + 6] << 8) | b[l3 + 7]) & 0x1fff;
    p.saddr = pkt.view.getUint32(l3 + 12);
    p.daddr = pkt.view.getUint32(l3 + 16);
    p.proto = b[l3 + 9];
    p.len = pkt.tail - l3;
    p.hotdrop = false;
    this.depth = depth + 1;
    const v = this.walk(prog, entry, p, f.stack);
    this.depth = depth;
    return v;
  }

  /** ipt_do_table's loop. */
  private walk(prog: Program, pc: number, p: XtParam, stack: Int32Array): Verdict {
    const ent = prog.ent;
    const cnt = prog.cnt;
    const fns = prog.fns;
    const segments = prog.segmentList;
    const hasSegments = segments.length > 0;
    const saddr = p.saddr | 0;
    const daddr = p.daddr | 0;
    const pr = p.proto;
    const isFrag = p.fragoff !== 0;
    const len = p.len;
    const trace = p.ctx.ns.sim.trace;
    let sp = 0;
    for (;;) {
      let o = pc * ENT_SIZE;
      let viaMap = false;
      const segIndex = hasSegments ? ent[o + E_SEG] : 0;
      if (segIndex !== 0) {
        const seg = segments[segIndex - 1];
        const next = segmentLookup(seg, p);
        if (next >= 0) {
          // A hit is a rule whose only conditions are the key: it matches without re-checking.
          viaMap = next < seg.end;
          pc = next;
          o = pc * ENT_SIZE;
        }
      }
      const fl = ent[o + E_FLAGS];
      if (!viaMap) {
        // ip_packet_match (the destination first: it is what tells service rules apart).
        if (
          ((daddr & ent[o + E_DMSK]) !== ent[o + E_DST]) !== ((fl & F_INV_DST) !== 0) ||
          ((saddr & ent[o + E_SMSK]) !== ent[o + E_SRC]) !== ((fl & F_INV_SRC) !== 0) ||
          ((fl & F_PROTO) !== 0 && (pr !== ((fl >>> 8) & 0xff)) !== ((fl & F_INV_PROTO) !== 0)) ||
          ((fl & F_FRAG) !== 0 && !isFrag !== ((fl & F_INV_FRAG) !== 0))
        ) {
          pc++;
          continue;
        }
        const m = fns[2 * pc] as MatchFn | null;
        if (m !== null && !m(p)) {
          if (p.hotdrop) return Verdict.Drop;
          pc++;
          continue;
        }
      }
      cnt[2 * pc]++;
      cnt[2 * pc + 1] += len;
      if (trace.on) this.trace(prog, pc, p, sp);
      const after = viaMap ? ent[o + E_RESUME] : pc + 1;
      switch ((fl >>> 16) & 0xff) {
        case EntryKind.Verdict:
        case EntryKind.Policy:
          return ent[o + E_ARG] as Verdict;
        case EntryKind.Jump:
          stack[sp++] = after;
          pc = ent[o + E_ARG];
          continue;
        case EntryKind.Goto:
          pc = ent[o + E_ARG];
          continue;
        case EntryKind.Return:
        case EntryKind.End:
          pc = sp === 0 ? prog.hookPolicy[p.hook] : stack[--sp];
          continue;
        case EntryKind.Target: {
          const v = (fns[2 * pc + 1] as TargetFn)(p);
          if (v !== XT_CONTINUE) return v as Verdict;
          pc = after;
          continue;
        }
        default:
          pc = after;
      }
    }
  }

  private trace(prog: Program, pc: number, p: XtParam, sp: number): void {
    const ctx = p.ctx;
    const sim = ctx.ns.sim;
    const k = entryKind(prog, pc);
    const chain = prog.chainOf[pc];
    const r = prog.rules[pc];
    let verdict: string;
    if (k === EntryKind.Verdict || k === EntryKind.Policy) verdict = VERDICT_NAMES[entryArg(prog, pc)];
    else if (k === EntryKind.Jump || k === EntryKind.Goto) verdict = r!.target.kind === "jump" ? (r!.target as { chain: string }).chain : "";
    else if (k === EntryKind.Return || k === EntryKind.End) verdict = sp === 0 ? "RETURN (to policy)" : "RETURN";
    else if (k === EntryKind.Target) verdict = (r!.target as { ext: { name: string } }).ext.name;
    else verdict = "continue";
    sim.trace.emit({
      t: sim.sched.now,
      ns: ctx.ns.name,
      kind: "nf",
      hook: HOOK_NAMES[p.hook],
      table: prog.table,
      chain: chain.name,
      rule: entryNum(prog, pc),
      text: entryText(prog, pc),
      verdict,
    });
  }
}

/**
 * The map step of map dispatch: the offset of the first rule of the run with the packet's
 * (daddr, protocol, dport), or the run's end; -1 to walk the run linearly instead (a fragment or
 * a truncated header, where the tcp/udp match would drop the packet: the walk keeps that exact).
 */
function segmentLookup(seg: MapSegment, p: XtParam): number {
  const pr = p.proto;
  if (pr !== 6 && pr !== 17) return seg.end;
  if (p.fragoff !== 0 || p.end - p.thoff < (pr === 6 ? 20 : 8)) return -1;
  const o = p.thoff + 2;
  const r = seg.map.get(p.daddr, pr, (p.b[o] << 8) | p.b[o + 1]);
  return r >= 0 ? r : seg.end;
}

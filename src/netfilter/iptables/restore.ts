// iptables-restore: "*table", ":CHAIN POLICY [p:b]", rule commands (-A -I -D -R -N -X -F -P -Z),
// "COMMIT", "#" comments, "[p:b]" counter prefixes. Without noflush each table is replaced by
// what the file says; with noflush (kube-proxy's --noflush) the table is edited, and a ":CHAIN"
// line for an existing user chain flushes it. The whole input applies atomically: any error
// leaves the ruleset as it was, and names the file, the line, the token and what was expected.

import { HOOK_NAMES } from "../../net/index.js";
import type { TableName } from "../types.js";
import { checkStaged } from "./commit.js";
import { IptablesError } from "./errors.js";
import { type Chain, isTableName, type Rule, Ruleset, Table } from "./model.js";
import { newParseCache, type ParseCache, parseRuleInto } from "./rule.js";
import { formatRuleBody } from "./save.js";
import { StagedTable } from "./stage.js";
import { tokenizeInto } from "./tokenize.js";

export interface RestoreOptions {
  /** The file name for error messages. */
  file?: string;
  /** --noflush: edit the tables instead of replacing them. */
  noflush?: boolean;
  /** --counters: take [p:b] from the input. */
  counters?: boolean;
  /**
   * With noflush: edit the tables of `base` themselves instead of forks of them, undoing the
   * edits if the restore fails (the engine's restore, which replaces the base anyway: a fork
   * copies the table's map of chains, 110k entries for kube-proxy at 10k Services, per sync).
   */
  inPlace?: boolean;
  /**
   * Called before a chain of `base` is copied or replaced (with its counters: the copy keeps its
   * rules' and policy's), so the caller can bring that chain's counters up to date first (the
   * engine's live counters are in its programs, not in the rules).
   */
  syncChain?: (table: TableName, c: Chain) => void;
}

const COMMANDS: Readonly<Record<string, string>> = {
  "-A": "-A",
  "--append": "-A",
  "-I": "-I",
  "--insert": "-I",
  "-D": "-D",
  "--delete": "-D",
  "-R": "-R",
  "--replace": "-R",
  "-N": "-N",
  "--new-chain": "-N",
  "-X": "-X",
  "--delete-chain": "-X",
  "-F": "-F",
  "--flush": "-F",
  "-P": "-P",
  "--policy": "-P",
  "-Z": "-Z",
  "--zero": "-Z",
};

/** Parses an iptables-save/iptables-restore text into a new ruleset. */
export function parseIptablesRestore(text: string, opts: RestoreOptions = {}): Ruleset {
  return applyIptablesRestore(new Ruleset(), text, opts);
}

/** Applies a restore text to `base` and returns the resulting ruleset; `base` is not modified. */
export function applyIptablesRestore(base: Ruleset, text: string, opts: RestoreOptions = {}): Ruleset {
  return stageIptablesRestore(base, text, opts).ruleset;
}

/** What a restore produced: the new ruleset (sharing unchanged chains with the base) and the tables it committed. */
export interface StagedRestore {
  ruleset: Ruleset;
  /** Per committed table, its staging: `owned` lists the chains written (the rest are the base's own objects). */
  tables: Map<TableName, StagedTable>;
  /** Puts tables edited in place (RestoreOptions.inPlace) back as they were, if what follows the restore fails. */
  rollback(): void;
}

const WS = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);

/**
 * The restore itself: every line applied to copy-on-write tables, each table checked at its
 * COMMIT; nothing of `base` changes. A bad line throws, naming the file and the line.
 */
export function stageIptablesRestore(base: Ruleset, text: string, opts: RestoreOptions = {}): StagedRestore {
  const file = opts.file ?? "<input>";
  const committed = new Map<TableName, StagedTable>();
  let st: StagedTable | null = null;
  let tableLine = 0;
  let lineNo = 0;
  const argv: string[] = [];
  /** Every table block begun, for rollback (in-place tables only) if the restore fails. */
  const staging: StagedTable[] = [];
  const len = text.length;
  let pos = 0;
  cache = newParseCache();
  try {
    while (pos <= len) {
      let nl = text.indexOf("\n", pos);
      if (nl < 0) nl = len;
      lineNo++;
      let s = pos;
      let e = nl;
      pos = nl + 1;
      while (s < e && WS(text.charCodeAt(s))) s++;
      while (e > s && WS(text.charCodeAt(e - 1))) e--;
      if (s === e) continue;
      let c0 = text.charCodeAt(s);
      if (c0 > 127 || text.charCodeAt(e - 1) > 127) {
        // Unicode white space: what String.prototype.trim removes too.
        const t = text.slice(s, e).trim();
        if (t === "") continue;
        s = text.indexOf(t, s);
        e = s + t.length;
        c0 = text.charCodeAt(s);
      }
      if (c0 === 35 /* # */) continue;
      if (c0 === 42 /* * */) {
        const line = text.slice(s, e);
        if (st !== null) throw new IptablesError(`table "${line.slice(1)}" started before COMMIT of table "${st.t.name}" (line ${tableLine})`, { token: line, expected: "COMMIT" });
        const name = line.slice(1).trim();
        if (!isTableName(name)) throw new IptablesError(`unknown table "${name}"`, { token: line, expected: "*raw, *mangle, *nat or *filter" });
        const prev = committed.get(name)?.t ?? base.tables.get(name);
        st = opts.noflush && prev !== undefined ? new StagedTable(opts.inPlace ? prev : prev.fork(), false, opts.inPlace, opts.syncChain) : new StagedTable(new Table(name), true);
        staging.push(st);
        tableLine = lineNo;
        continue;
      }
      if (st === null) {
        const line = text.slice(s, e);
        throw new IptablesError("no table specified", { token: line.split(/\s+/)[0], expected: "*filter, *nat, *mangle or *raw first" });
      }
      if (e - s === 6 && text.startsWith("COMMIT", s)) {
        st.t.graph = checkStaged(st);
        st.seal();
        const prior = committed.get(st.t.name);
        if (prior !== undefined) st.owned.push(...prior.owned);
        committed.set(st.t.name, st);
        st = null;
        continue;
      }
      if (c0 === 58 /* : */) {
        chainLine(st, text.slice(s, e), opts);
        continue;
      }
      let counters: [number, number] | null = null;
      if (c0 === 91 /* [ */) {
        const line = text.slice(s, e);
        const m = /^\[([0-9]+):([0-9]+)\]\s+/.exec(line);
        if (m) {
          counters = [Number(m[1]), Number(m[2])];
          s += m[0].length;
        }
      }
      argv.length = 0;
      tokenizeInto(text, s, e, argv);
      command(st, argv, opts.counters ? counters : null, lineNo);
    }
    if (st !== null) throw new IptablesError(`COMMIT expected for table "${st.t.name}" (started at line ${tableLine})`, { expected: "COMMIT" });
  } catch (e) {
    for (let i = staging.length - 1; i >= 0; i--) staging[i].rollback();
    if (!(e instanceof IptablesError)) throw e;
    // The commit's checks know the rule's line but not the file: both go on the error.
    if (e.line !== undefined && e.file === undefined) throw new IptablesError(e.reason, { file, line: e.line, token: e.token, expected: e.expected });
    throw e.at(file, e.line ?? lineNo);
  } finally {
    cache = null;
    parsed.length = 0;
  }
  const ruleset = new Ruleset();
  for (const [n, t] of base.tables) ruleset.tables.set(n, t);
  for (const [n, staged] of committed) ruleset.tables.set(n, staged.t);
  const rollback = (): void => {
    for (let i = staging.length - 1; i >= 0; i--) staging[i].rollback();
  };
  return { ruleset, tables: committed, rollback };
}

/** ":CHAIN POLICY [p:b]". */
function chainLine(st: StagedTable, line: string, opts: RestoreOptions): void {
  const t = st.t;
  // ":NAME - [0:0]", as every chain line of kube-proxy's, is cut without a regular expression.
  const sp = line.indexOf(" ");
  const simple = sp > 1 && line.length === sp + 8 && line.endsWith(" - [0:0]") && !line.includes("\t");
  const parts = simple ? [line.slice(1, sp), "-"] : line.slice(1).trim().split(/\s+/);
  const [name, policy, ctr] = parts;
  if (!name || !policy) throw new IptablesError("bad chain line", { token: line, expected: ":CHAIN POLICY [packets:bytes]" });
  let pkts = 0;
  let bytes = 0;
  if (ctr !== undefined) {
    const m = /^\[([0-9]+):([0-9]+)\]$/.exec(ctr);
    if (!m) throw new IptablesError("bad counters", { token: ctr, expected: "[packets:bytes]" });
    pkts = Number(m[1]);
    bytes = Number(m[2]);
  }
  const existing = t.chains.get(name);
  if (existing?.hook != null) {
    if (policy !== "ACCEPT" && policy !== "DROP") throw new IptablesError(`bad policy "${policy}" for built-in chain ${name}`, { token: policy, expected: "ACCEPT or DROP" });
    if (t.name === "nat" && policy === "DROP") throw new IptablesError(`the nat table's built-in chains cannot have policy DROP`, { token: policy, expected: "ACCEPT" });
    const c = st.writable(name, ":");
    c.policy = policy;
    if (opts.counters) {
      c.pkts = pkts;
      c.bytes = bytes;
    }
    return;
  }
  if (policy !== "-") throw new IptablesError(`Can't set policy "${policy}" on "${name}": not a built-in chain of table ${t.name} (${builtinList(t)})`, { token: policy, expected: "- for a user chain" });
  if (existing) st.flush(existing);
  else st.newChain(name, true);
}

const builtinList = (t: Table): string =>
  t
    .builtinChains()
    .map((c) => c.name)
    .join(", ");

function ruleNumber(s: string | undefined, max: number, cmd: string): number {
  if (s === undefined || !/^[0-9]+$/.test(s)) throw new IptablesError(`${cmd}: invalid rule number`, { token: s ?? cmd, expected: "a rule number" });
  const n = Number(s);
  if (n < 1 || n > max) throw new IptablesError(`${cmd}: index of ${n} is out of range (the chain has ${max === 0 ? "no rules" : `rules 1-${max}`})`, { token: s, expected: `1..${max}` });
  return n;
}

const isNumber = (s: string | undefined): boolean => s !== undefined && /^[0-9]+$/.test(s);

/** Rules parsed for one command (reused: the commands copy them into the chain). */
const parsed: Rule[] = [];

/** The restore's ParseCache (one restore at a time: the restore loop is synchronous). */
let cache: ParseCache | null = null;

function parseSpec(st: StagedTable, c: Chain, argv: readonly string[], from: number, counters: [number, number] | null): Rule[] {
  parsed.length = 0;
  parseRuleInto(argv, from, st.t.name, c.name, c.hook, parsed, cache);
  if (counters)
    for (const r of parsed) {
      r.pkts = counters[0];
      r.bytes = counters[1];
    }
  return parsed;
}

function command(st: StagedTable, argv: string[], counters: [number, number] | null, line: number): void {
  const t = st.t;
  const cmd = COMMANDS[argv[0]];
  if (cmd === undefined) {
    if (argv[0] === "-t" || argv[0] === "--table") throw new IptablesError("the -t option cannot be used in iptables-restore", { token: argv[0], expected: "*TABLE lines" });
    throw new IptablesError("unknown command", { token: argv[0], expected: "-A, -I, -D, -R, -N, -X, -F, -P or -Z" });
  }
  switch (cmd) {
    case "-A": {
      const c = st.writable(argv[1], cmd);
      st.add(c, -1, parseSpec(st, c, argv, 2, counters), line);
      return;
    }
    case "-I": {
      const c = st.writable(argv[1], cmd);
      let at = 0;
      let from = 2;
      if (isNumber(argv[2])) {
        at = ruleNumber(argv[2], c.rules.length + 1, cmd) - 1;
        from = 3;
      }
      st.add(c, at, parseSpec(st, c, argv, from, counters), line);
      return;
    }
    case "-R": {
      const c = st.writable(argv[1], cmd);
      const n = ruleNumber(argv[2], c.rules.length, cmd);
      const rules = parseSpec(st, c, argv, 3, counters);
      if (rules.length !== 1) throw new IptablesError("-R: the rule must be a single rule (one address each for -s and -d)", { token: argv[2] });
      st.replace(c, n - 1, rules[0], line);
      return;
    }
    case "-D": {
      const c = st.writable(argv[1], cmd);
      if (argv.length === 3 && isNumber(argv[2])) {
        st.remove(c, ruleNumber(argv[2], c.rules.length, cmd) - 1);
        return;
      }
      for (const r of parseSpec(st, c, argv, 2, counters).slice()) {
        const body = formatRuleBody(r);
        const i = c.rules.findIndex((x) => formatRuleBody(x) === body);
        if (i < 0) throw new IptablesError("Bad rule (does a matching rule exist in that chain?)", { token: `-D ${c.name}${body}`, expected: "a rule of the chain" });
        st.remove(c, i);
      }
      return;
    }
    case "-N":
      if (argv.length !== 2) throw new IptablesError("-N takes one chain name", { token: argv.slice(2).join(" ") || "-N", expected: "-N CHAIN" });
      st.newChain(argv[1]);
      return;
    case "-X":
      st.deleteChains(argv[1], cmd);
      return;
    case "-F":
      if (argv[1] !== undefined) st.flush(st.existing(argv[1], cmd));
      else for (const c of [...t.chains.values()]) st.flush(c);
      return;
    case "-Z": {
      const names = argv[1] !== undefined ? [st.existing(argv[1], cmd).name] : [...t.chains.keys()];
      for (const name of names) {
        const c = st.writable(name, cmd);
        c.pkts = c.bytes = 0;
        c.rules = c.rules.map((r) => ({ ...r, pkts: 0, bytes: 0 }));
      }
      return;
    }
    case "-P": {
      const c = st.existing(argv[1], cmd);
      const p = argv[2];
      if (c.hook === null) throw new IptablesError(`cannot set the policy of user chain ${c.name}`, { token: c.name, expected: `a built-in chain (${HOOK_NAMES.filter((h) => t.chains.get(h)?.hook != null).join(", ")})` });
      if (p !== "ACCEPT" && p !== "DROP") throw new IptablesError("bad policy", { token: p ?? "-P", expected: "ACCEPT or DROP" });
      if (t.name === "nat" && p === "DROP") throw new IptablesError("the nat table's built-in chains cannot have policy DROP", { token: p, expected: "ACCEPT" });
      st.writable(c.name, cmd).policy = p;
      return;
    }
  }
}

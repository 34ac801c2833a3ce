// iptables-restore: "*table", ":CHAIN POLICY [p:b]", rule commands (-A -I -D -R -N -X -F -P -Z),
// "COMMIT", "#" comments, "[p:b]" counter prefixes. Without noflush each table is replaced by
// what the file says; with noflush (kube-proxy's --noflush) the table is edited, and a ":CHAIN"
// line for an existing user chain flushes it. The whole input applies atomically: any error
// leaves the ruleset as it was, and names the file, the line, the token and what was expected.

import { HOOK_NAMES } from "../../net/index.js";
import { IptablesError } from "./errors.js";
import { isTableName, type Rule, Ruleset, Table } from "./model.js";
import { checkChainName, parseRuleSpec } from "./rule.js";
import { formatRuleBody } from "./save.js";
import { tokenizeRestoreLine } from "./tokenize.js";
import { validateTable } from "./validate.js";

export interface RestoreOptions {
  /** The file name for error messages. */
  file?: string;
  /** --noflush: edit the tables instead of replacing them. */
  noflush?: boolean;
  /** --counters: take [p:b] from the input. */
  counters?: boolean;
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
  const file = opts.file ?? "<input>";
  const staged = base.clone();
  const lines = text.split("\n");
  const ruleLine = new WeakMap<Rule, number>();
  let table: Table | null = null;
  let tableLine = 0;
  let lineNo = 0;
  try {
    for (const raw of lines) {
      lineNo++;
      const line = raw.replace(/\r$/, "").trim();
      if (line === "" || line.startsWith("#")) continue;
      if (line.startsWith("*")) {
        if (table !== null) throw new IptablesError(`table "${line.slice(1)}" started before COMMIT of table "${table.name}" (line ${tableLine})`, { token: line, expected: "COMMIT" });
        const name = line.slice(1).trim();
        if (!isTableName(name)) throw new IptablesError(`unknown table "${name}"`, { token: line, expected: "*raw, *mangle, *nat or *filter" });
        table = opts.noflush && staged.tables.has(name) ? staged.table(name).clone() : new Table(name);
        tableLine = lineNo;
        continue;
      }
      if (table === null) throw new IptablesError("no table specified", { token: line.split(/\s+/)[0], expected: "*filter, *nat, *mangle or *raw first" });
      if (line === "COMMIT") {
        validateTable(table, (r) => ruleLine.get(r));
        staged.tables.set(table.name, table);
        table = null;
        continue;
      }
      if (line.startsWith(":")) {
        chainLine(table, line, opts);
        continue;
      }
      let counters: [number, number] | null = null;
      let body = line;
      const m = /^\[([0-9]+):([0-9]+)\]\s+/.exec(line);
      if (m) {
        counters = [Number(m[1]), Number(m[2])];
        body = line.slice(m[0].length);
      }
      command(table, tokenizeRestoreLine(body), opts.counters ? counters : null, (r) => ruleLine.set(r, lineNo));
    }
    if (table !== null) {
      lineNo = lines.length;
      throw new IptablesError(`COMMIT expected for table "${table.name}" (started at line ${tableLine})`, { expected: "COMMIT" });
    }
  } catch (e) {
    if (e instanceof IptablesError) throw e.at(file, e.line ?? lineNo);
    throw e;
  }
  return staged;
}

/** ":CHAIN POLICY [p:b]". */
function chainLine(t: Table, line: string, opts: RestoreOptions): void {
  const parts = line.slice(1).trim().split(/\s+/);
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
    existing.policy = policy;
    if (opts.counters) {
      existing.pkts = pkts;
      existing.bytes = bytes;
    }
    return;
  }
  if (policy !== "-") throw new IptablesError(`Can't set policy "${policy}" on "${name}": not a built-in chain of table ${t.name} (${builtinList(t)})`, { token: policy, expected: "- for a user chain" });
  if (existing) existing.rules = [];
  else newChain(t, name);
}

const builtinList = (t: Table): string => t.builtinChains().map((c) => c.name).join(", ");

function newChain(t: Table, name: string): void {
  checkChainName(name);
  if (t.chains.has(name)) throw new IptablesError(`Chain already exists`, { token: name, expected: "a new chain name" });
  t.chains.set(name, { name, hook: null, policy: null, rules: [], pkts: 0, bytes: 0 });
}

function chainOf(t: Table, name: string | undefined, cmd: string) {
  if (name === undefined) throw new IptablesError(`${cmd} needs a chain`, { token: cmd, expected: "a chain name" });
  const c = t.chains.get(name);
  if (c === undefined) throw new IptablesError(`chain "${name}" does not exist in table ${t.name}`, { token: name, expected: `a chain declared before (":${name} - [0:0]" or -N ${name})` });
  return c;
}

function references(t: Table, name: string): number {
  let n = 0;
  for (const c of t.chains.values()) for (const r of c.rules) if (r.target.kind === "jump" && r.target.chain === name) n++;
  return n;
}

function ruleNumber(s: string | undefined, max: number, cmd: string): number {
  if (s === undefined || !/^[0-9]+$/.test(s)) throw new IptablesError(`${cmd}: invalid rule number`, { token: s ?? cmd, expected: "a rule number" });
  const n = Number(s);
  if (n < 1 || n > max) throw new IptablesError(`${cmd}: index of ${n} is out of range (the chain has ${max === 0 ? "no rules" : `rules 1-${max}`})`, { token: s, expected: `1..${max}` });
  return n;
}

function command(t: Table, argv: string[], counters: [number, number] | null, noteLine: (r: Rule) => void): void {
  const cmd = COMMANDS[argv[0]];
  if (cmd === undefined) {
    if (argv[0] === "-t" || argv[0] === "--table") throw new IptablesError("the -t option cannot be used in iptables-restore", { token: argv[0], expected: "*TABLE lines" });
    throw new IptablesError("unknown command", { token: argv[0], expected: "-A, -I, -D, -R, -N, -X, -F, -P or -Z" });
  }
  const parseSpec = (chain: string, spec: string[]): Rule[] => {
    const c = t.chains.get(chain)!;
    const rules = parseRuleSpec(spec, { table: t.name, chain, hook: c.hook }).rules;
    for (const r of rules) {
      if (counters) {
        r.pkts = counters[0];
        r.bytes = counters[1];
      }
      noteLine(r);
    }
    return rules;
  };
  switch (cmd) {
    case "-A": {
      const c = chainOf(t, argv[1], cmd);
      c.rules.push(...parseSpec(c.name, argv.slice(2)));
      return;
    }
    case "-I": {
      const c = chainOf(t, argv[1], cmd);
      let at = 0;
      let spec = argv.slice(2);
      if (spec.length > 0 && /^[0-9]+$/.test(spec[0])) {
        at = ruleNumber(spec[0], c.rules.length + 1, cmd) - 1;
        spec = spec.slice(1);
      }
      c.rules.splice(at, 0, ...parseSpec(c.name, spec));
      return;
    }
    case "-R": {
      const c = chainOf(t, argv[1], cmd);
      const n = ruleNumber(argv[2], c.rules.length, cmd);
      const rules = parseSpec(c.name, argv.slice(3));
      if (rules.length !== 1) throw new IptablesError("-R: the rule must be a single rule (one address each for -s and -d)", { token: argv[2] });
      c.rules[n - 1] = rules[0];
      return;
    }
    case "-D": {
      const c = chainOf(t, argv[1], cmd);
      if (argv.length === 3 && /^[0-9]+$/.test(argv[2])) {
        c.rules.splice(ruleNumber(argv[2], c.rules.length, cmd) - 1, 1);
        return;
      }
      for (const r of parseSpec(c.name, argv.slice(2))) {
        const body = formatRuleBody(r);
        const i = c.rules.findIndex((x) => formatRuleBody(x) === body);
        if (i < 0) throw new IptablesError("Bad rule (does a matching rule exist in that chain?)", { token: `-D ${c.name}${body}`, expected: "a rule of the chain" });
        c.rules.splice(i, 1);
      }
      return;
    }
    case "-N":
      if (argv.length !== 2) throw new IptablesError("-N takes one chain name", { token: argv.slice(2).join(" ") || "-N", expected: "-N CHAIN" });
      newChain(t, argv[1]);
      return;
    case "-X": {
      const names = argv[1] !== undefined ? [argv[1]] : t.userChains().map((c) => c.name);
      for (const n of names) {
        const c = chainOf(t, n, cmd);
        if (c.hook !== null) throw new IptablesError(`cannot delete built-in chain ${n}`, { token: n, expected: "a user chain" });
      }
      for (const n of names) {
        const refs = references(t, n);
        if (refs > 0 && !(argv[1] === undefined && onlyFromDeleted(t, n, names)))
          throw new IptablesError(`CHAIN_DEL failed (Device or resource busy): chain ${n} has ${refs} reference${refs > 1 ? "s" : ""}`, { token: n, expected: "a chain no rule jumps to" });
      }
      for (const n of names) t.chains.delete(n);
      return;
    }
    case "-F":
      if (argv[1] !== undefined) chainOf(t, argv[1], cmd).rules = [];
      else for (const c of t.chains.values()) c.rules = [];
      return;
    case "-Z":
      for (const c of argv[1] !== undefined ? [chainOf(t, argv[1], cmd)] : [...t.chains.values()]) {
        c.pkts = c.bytes = 0;
        c.rules = c.rules.map((r) => ({ ...r, pkts: 0, bytes: 0 }));
      }
      return;
    case "-P": {
      const c = chainOf(t, argv[1], cmd);
      const p = argv[2];
      if (c.hook === null) throw new IptablesError(`cannot set the policy of user chain ${c.name}`, { token: c.name, expected: `a built-in chain (${HOOK_NAMES.filter((h) => t.chains.get(h)?.hook != null).join(", ")})` });
      if (p !== "ACCEPT" && p !== "DROP") throw new IptablesError("bad policy", { token: p ?? "-P", expected: "ACCEPT or DROP" });
      if (t.name === "nat" && p === "DROP") throw new IptablesError("the nat table's built-in chains cannot have policy DROP", { token: p, expected: "ACCEPT" });
      c.policy = p;
      return;
    }
  }
}

/** With a bare -X every user chain goes: references from chains being deleted too do not count. */
function onlyFromDeleted(t: Table, name: string, deleted: string[]): boolean {
  for (const c of t.chains.values()) {
    if (deleted.includes(c.name)) continue;
    for (const r of c.rules) if (r.target.kind === "jump" && r.target.chain === name) return false;
  }
  return true;
}

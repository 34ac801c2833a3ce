// One table as an iptables-restore edits it before COMMIT, copy-on-write over the table it starts
// from: chains the input never touches stay the very objects of the live table (nothing is copied
// for them), a chain it touches is replaced by a copy (or, when the input flushes it, by a new
// empty chain) that this restore owns and may change. The owned chains are what the commit
// validates rule by rule and what the engine compiles anew; the others keep their compiled code.
// This is iptables-restore --noflush as the kernel sees it: only the chains written change.

import type { TableName } from "../types.js";
import type { Graph } from "./commit.js";
import { IptablesError } from "./errors.js";
import { type Chain, makeChain, type Rule, type Table } from "./model.js";
import { checkChainName } from "./names.js";

export class StagedTable {
  /** The chains this restore created or copied (chain.stage === this while it stages; lineOf: each rule's input line, 0 for older rules). */
  readonly owned: Chain[] = [];
  /** References per chain name, built on the first -X (CHAIN_DEL's refcount), then kept up to date. */
  private refs: Map<string, number> | null = null;
  private lastName: string | null = null;
  private lastChain: Chain | null = null;
  /**
   * Editing the live table itself (see RestoreOptions.inPlace): each chain name's entry before this
   * restore first changed it (undefined: there was none), and the table's graph then, for rollback.
   */
  private readonly undo: Map<string, Chain> | null;
  /** Editing in place: the names this restore created (an array, not the map: a first sync creates 110k). */
  private readonly created: string[] = [];
  private readonly undoGraph: Graph | null;

  /**
   * `fresh`: the table replaces the old one (no --noflush): every chain in it is new. `inPlace`:
   * `t` is the live table, edited directly and put back by rollback() if the restore fails.
   */
  constructor(
    readonly t: Table,
    fresh: boolean,
    inPlace = false,
    /** See RestoreOptions.syncChain. */
    private readonly syncChain?: (table: TableName, c: Chain) => void,
  ) {
    if (fresh) for (const c of t.chains.values()) this.own(c, null);
    this.undo = inPlace ? new Map() : null;
    this.undoGraph = t.graph;
  }

  /** Sets (or, with null, deletes) a chain of the table, remembering what was there first when editing in place. */
  private put(name: string, c: Chain | null): void {
    if (this.undo !== null) {
      const prior = this.t.chains.get(name);
      if (prior === undefined) {
        if (c !== null) this.created.push(name);
      } else if (prior.stage !== this && !this.undo.has(name)) this.undo.set(name, prior);
    }
    if (c === null) this.t.chains.delete(name);
    else this.t.chains.set(name, c);
  }

  /** Puts an in-place table back as it was before this restore (a chain deleted and put back goes last in the table's order). */
  rollback(): void {
    if (this.undo === null) return;
    for (const name of this.created) this.t.chains.delete(name);
    for (const [name, c] of this.undo) this.t.chains.set(name, c);
    this.undo.clear();
    this.created.length = 0;
    this.t.graph = this.undoGraph;
  }

  /** `lines`: the input line of each rule the chain has (0: from before), or null when it has none yet. */
  private own(c: Chain, lines: number[] | null): Chain {
    c.stage = this;
    c.lines = lines;
    this.owned.push(c);
    return c;
  }

  /** Whether this restore wrote the chain. */
  owns(c: Chain): boolean {
    return c.stage === this;
  }

  /** At COMMIT: the owned chains become ordinary chains of the table (a later block copies them again). */
  seal(): void {
    for (const c of this.owned) {
      c.stage = null;
      c.lines = null;
      // A grown array keeps spare slots (17 for a 2-rule KUBE-SEP chain): kept for 100k chains, that is megabytes.
      if (c.rules.length < 16) c.rules = c.rules.slice();
    }
    this.lastName = this.lastChain = null;
  }

  /** The chain to edit, owned by this restore (a copy the first time), or the "does not exist" error. */
  writable(name: string | undefined, cmd: string): Chain {
    if (name !== undefined && name === this.lastName) return this.lastChain!;
    let c = this.existing(name, cmd);
    if (c.stage !== this) {
      this.syncChain?.(this.t.name, c);
      c = this.own(makeChain(c.name, c.hook, c.policy, c.rules.slice(), c.pkts, c.bytes), new Array<number>(c.rules.length).fill(0));
      this.put(c.name, c);
    }
    this.lastName = c.name;
    this.lastChain = c;
    return c;
  }

  existing(name: string | undefined, cmd: string): Chain {
    if (name === undefined) throw new IptablesError(`${cmd} needs a chain`, { token: cmd, expected: "a chain name" });
    const c = this.t.chains.get(name);
    if (c === undefined) throw new IptablesError(`chain "${name}" does not exist in table ${this.t.name}`, { token: name, expected: `a chain declared before (":${name} - [0:0]" or -N ${name})` });
    return c;
  }

  /** Inserts `rules` (read at `line`) at index `at` of an owned chain; at = -1 appends. */
  add(c: Chain, at: number, rules: readonly Rule[], line: number): void {
    if (c.lines === null) {
      // Rules appended one per line, each on the line after the last (kube-proxy's chains): only
      // the first line is kept, not an array per chain (110k chains in a sync).
      const n = c.rules.length;
      if ((at < 0 || at === n) && rules.length === 1 && (n === 0 || c.line0 + n === line)) {
        if (n === 0) c.line0 = line;
        c.rules.push(rules[0]);
        if (this.refs !== null) this.ref(rules[0], 1);
        return;
      }
      spellLines(c);
    }
    const lines = c.lines!;
    if (at < 0 || at === c.rules.length) {
      for (let i = 0; i < rules.length; i++) {
        c.rules.push(rules[i]);
        lines.push(line);
      }
    } else {
      c.rules.splice(at, 0, ...rules);
      lines.splice(at, 0, ...new Array<number>(rules.length).fill(line));
    }
    if (this.refs !== null) for (const r of rules) this.ref(r, 1);
  }

  /** Replaces rule `i` of an owned chain. */
  replace(c: Chain, i: number, r: Rule, line: number): void {
    if (this.refs !== null) {
      this.ref(c.rules[i], -1);
      this.ref(r, 1);
    }
    c.rules[i] = r;
    if (c.lines === null) spellLines(c);
    c.lines![i] = line;
  }

  /** Removes rule `i` of an owned chain. */
  remove(c: Chain, i: number): void {
    if (this.refs !== null) this.ref(c.rules[i], -1);
    if (c.lines === null) spellLines(c);
    c.rules.splice(i, 1);
    c.lines!.splice(i, 1);
  }

  /** Empties chain `c` of the table (":CHAIN - [0:0]" for an existing user chain, -F): a new empty chain, nothing copied. */
  flush(c: Chain): void {
    if (this.refs !== null) for (const r of c.rules) this.ref(r, -1);
    if (c.stage === this) {
      c.rules = [];
      c.lines = null;
      return;
    }
    if (c.hook !== null) this.syncChain?.(this.t.name, c);
    this.put(c.name, this.own(makeChain(c.name, c.hook, c.policy, [], c.pkts, c.bytes), null));
    if (this.lastName === c.name) this.lastName = null;
  }

  /** -N, or a ":CHAIN - [0:0]" line for a chain that does not exist yet (`known`: the caller looked). */
  newChain(name: string, known = false): void {
    checkChainName(name);
    if (!known && this.t.chains.has(name)) throw new IptablesError(`Chain already exists`, { token: name, expected: "a new chain name" });
    // A name not in the table (looked up just now): nothing to remember but that it is new.
    if (this.undo !== null) this.created.push(name);
    this.t.chains.set(name, this.own(makeChain(name, null, null, []), null));
  }

  /** -X [CHAIN]: refused while another chain's rule jumps to it (with a bare -X, jumps among the deleted chains do not count). */
  deleteChains(name: string | undefined, cmd: string): void {
    const names: string[] = [];
    if (name !== undefined) names.push(name);
    else {
      for (const c of this.t.chains.values()) if (c.hook === null) names.push(c.name);
      names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    }
    for (const n of names) {
      const c = this.existing(n, cmd);
      if (c.hook !== null) throw new IptablesError(`cannot delete built-in chain ${n}`, { token: n, expected: "a user chain" });
    }
    const refs = this.references();
    for (const n of names) {
      const k = refs.get(n) ?? 0;
      if (k > 0 && !(name === undefined && this.onlyFromDeleted(n, names)))
        throw new IptablesError(`CHAIN_DEL failed (Device or resource busy): chain ${n} has ${k} reference${k > 1 ? "s" : ""}`, { token: n, expected: "a chain no rule jumps to" });
    }
    for (const n of names) {
      for (const r of this.t.chains.get(n)!.rules) this.ref(r, -1);
      this.put(n, null);
    }
    this.lastName = null;
  }

  private references(): Map<string, number> {
    if (this.refs === null) {
      this.refs = new Map();
      for (const c of this.t.chains.values()) for (const r of c.rules) this.ref(r, 1);
    }
    return this.refs;
  }

  private ref(r: Rule, d: number): void {
    if (r.target.kind !== "jump" || this.refs === null) return;
    const name = r.target.chain;
    this.refs.set(name, (this.refs.get(name) ?? 0) + d);
  }

  /** With a bare -X every user chain goes: references from chains being deleted too do not count. */
  private onlyFromDeleted(name: string, deleted: string[]): boolean {
    const gone = new Set(deleted);
    for (const c of this.t.chains.values()) {
      if (gone.has(c.name)) continue;
      for (const r of c.rules) if (r.target.kind === "jump" && r.target.chain === name) return false;
    }
    return true;
  }
}

/** The input line of rule `k` of a chain a restore owns (0: a rule from before the restore). */
export const lineOf = (c: Chain, k: number): number => (c.lines !== null ? c.lines[k] : c.line0 + k);

/** Spells a chain's lines out as an array (from then on kept per rule). */
function spellLines(c: Chain): void {
  const lines = new Array<number>(c.rules.length);
  for (let k = 0; k < lines.length; k++) lines[k] = c.line0 + k;
  c.lines = lines;
}

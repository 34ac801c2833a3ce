// The checks a staged table passes at COMMIT, as translate_table does them (see validate.ts for
// the rules themselves), done incrementally: what depends on one rule alone (its jump lands on a
// user chain, its target belongs to the table, a match's hooks in a built-in chain) is checked in
// the chains this restore wrote; what depends on the graph (no chain reaches itself, every target
// is reached only from the hooks it supports) is checked over the whole table, on the chain graph
// laid out once as integer arrays (a few ms for 100k chains).

import { HOOK_NAMES } from "../../net/index.js";
import { IptablesError } from "./errors.js";
import type { Chain, Rule, Table } from "./model.js";
import { lineOf, type StagedTable } from "./stage.js";

const ALL_HOOKS = 0x1f;

const hookNames = (mask: number): string =>
  HOOK_NAMES.filter((_, h) => (mask & (1 << h)) !== 0).join(", ") || "none";

/**
 * The jump graph of a table: chain i's targets are edges[first[i] .. first[i + 1]), one per jump
 * rule in rule order (the compiler resolves jumps with it instead of looking names up again).
 */
export interface Graph {
  chains: Chain[];
  first: Int32Array;
  edges: Int32Array;
  /** The hooks every ext target of chain i allows (AND of xt_target.hooks). */
  allowed: Int32Array;
  /** The hooks (1 << Hook) chain i is reached from, once checked. */
  reach: Int32Array;
}

/** Jump targets of the chain scanJumps read last (graph indices, in rule order), and the AND of its ext targets' hooks. */
let jumps = new Int32Array(64);
let jumpsAllowed = ALL_HOOKS;

/**
 * Reads chain `c`'s jumps into `jumps` (returning how many) and its targets' hooks into
 * `jumpsAllowed`, checking on the way, for a chain this restore wrote (`owned`), that each jump
 * lands on a user chain. Targets need `idx` set on every chain of the table.
 */
function scanJumps(st: StagedTable, c: Chain, owned: boolean): number {
  const t = st.t;
  let ok = ALL_HOOKS;
  let n = 0;
  const rules = c.rules;
  for (let k = 0; k < rules.length; k++) {
    const tg = rules[k].target;
    if (tg.kind === "jump") {
      const dest = t.chains.get(tg.chain);
      if (owned) {
        const line = lineOf(c, k) || undefined;
        if (dest === undefined) throw new IptablesError(`Chain '${tg.chain}' does not exist`, { line, token: tg.chain, expected: `a chain declared with ":${tg.chain} - [0:0]" or -N` });
        if (dest.hook !== null) throw new IptablesError(`cannot jump to built-in chain ${dest.name}`, { line, token: dest.name, expected: "a user chain" });
      }
      if (dest === undefined) continue;
      if (n === jumps.length) {
        const grown = new Int32Array(n * 2);
        grown.set(jumps);
        jumps = grown;
      }
      jumps[n++] = dest.idx;
    } else if (tg.kind === "ext" && tg.ext.hooks !== undefined) ok &= tg.ext.hooks;
  }
  jumpsAllowed = ok;
  return n;
}

/**
 * The jump graph, checking on the way that the jumps of the chains written land on user chains
 * (only those can have new jumps: -X refuses to delete a chain still jumped to).
 */
function graphOf(st: StagedTable): Graph {
  const chains = [...st.t.chains.values()];
  for (let i = 0; i < chains.length; i++) chains[i].idx = i;
  const first = new Int32Array(chains.length + 1);
  const allowed = new Int32Array(chains.length);
  let edges = new Int32Array(Math.max(16, chains.length * 2));
  let n = 0;
  for (let i = 0; i < chains.length; i++) {
    first[i] = n;
    const k = scanJumps(st, chains[i], st.owns(chains[i]));
    if (n + k > edges.length) {
      const grown = new Int32Array(Math.max(2 * edges.length, n + k));
      grown.set(edges);
      edges = grown;
    }
    for (let j = 0; j < k; j++) edges[n + j] = jumps[j];
    n += k;
    allowed[i] = jumpsAllowed;
  }
  first[chains.length] = n;
  return { chains, first, edges, allowed, reach: new Int32Array(0) };
}

/**
 * The graph of the table `st` was forked from, carried over when the restore added and removed
 * no chain and every chain it wrote jumps where it jumped before (kube-proxy's partial sync
 * rewriting its top-level chains): the edges, and so the loop and reach checks, stand. Null when
 * that is not so. Costs the chains written, not the table.
 */
function graphFrom(st: StagedTable, base: Graph): Graph | null {
  const t = st.t;
  if (t.chains.size !== base.chains.length) return null;
  const chains = new Array<Chain>(base.chains.length);
  let i = 0;
  for (const c of t.chains.values()) {
    if (c.name !== base.chains[i].name) return null;
    c.idx = i;
    chains[i++] = c;
  }
  const allowed = base.allowed.slice();
  for (const c of st.owned) {
    if (chains[c.idx] !== c) continue; // written, then deleted (-X)
    const n = scanJumps(st, c, true);
    const from = base.first[c.idx];
    if (n !== base.first[c.idx + 1] - from) return null;
    for (let k = 0; k < n; k++) if (jumps[k] !== base.edges[from + k]) return null;
    allowed[c.idx] = jumpsAllowed;
  }
  return { chains, first: base.first, edges: base.edges, allowed, reach: base.reach };
}

/** mark_source_chains' ELOOP: no chain reaches itself. */
function checkLoops(g: Graph): void {
  const state = new Uint8Array(g.chains.length); // 1: on the current path, 2: done
  const path: number[] = [];
  const visit = (i: number): void => {
    if (state[i] === 2) return;
    if (state[i] === 1) {
      const cycle = [...path.slice(path.indexOf(i)), i].map((k) => g.chains[k].name);
      throw new IptablesError(`chain loop: ${cycle.join(" -> ")} (the kernel refuses it with ELOOP)`, { token: g.chains[i].name, expected: "chains that do not jump back to themselves" });
    }
    state[i] = 1;
    path.push(i);
    for (let e = g.first[i]; e < g.first[i + 1]; e++) visit(g.edges[e]);
    path.pop();
    state[i] = 2;
  };
  for (let i = 0; i < g.chains.length; i++) visit(i);
}

/** For each chain, the bit mask of hooks (1 << Hook) from which it can be reached. */
function reach(g: Graph): Int32Array {
  const hooks = new Int32Array(g.chains.length);
  const visit = (i: number, mask: number): void => {
    const had = hooks[i];
    if ((had | mask) === had && g.chains[i].hook === null) return;
    hooks[i] = had | mask;
    for (let e = g.first[i]; e < g.first[i + 1]; e++) visit(g.edges[e], mask);
  };
  for (let i = 0; i < g.chains.length; i++) {
    const h = g.chains[i].hook;
    if (h !== null) visit(i, 1 << h);
  }
  return hooks;
}

/** Validates a staged table before it replaces the live one; errors name the rule's input line. Returns its jump graph. */
export function checkStaged(st: StagedTable): Graph {
  const carried = st.t.graph === null ? null : graphFrom(st, st.t.graph);
  if (carried !== null) {
    // Nothing reaches anywhere new: only the rules written need their checks.
    for (const c of st.owned) if (carried.chains[c.idx] === c) for (let k = 0; k < c.rules.length; k++) checkRule(st.t, c, c.rules[k], carried.reach[c.idx], lineOf(c, k) || undefined);
    return carried;
  }
  const g = graphOf(st);
  checkLoops(g);
  const hooks = reach(g);
  g.reach = hooks;
  for (let i = 0; i < g.chains.length; i++) {
    const c = g.chains[i];
    const owned = st.owns(c);
    const bad = (hooks[i] & ~g.allowed[i]) !== 0;
    if (!owned && !bad) continue;
    for (let k = 0; k < c.rules.length; k++) checkRule(st.t, c, c.rules[k], hooks[i], owned ? lineOf(c, k) || undefined : null);
  }
  return g;
}

/** One rule's hook and table checks; `line` null: a rule from before (only its reach can have changed). */
function checkRule(t: Table, c: Chain, r: Rule, reachMask: number, line: number | undefined | null): void {
  if (line !== null) {
    // Match hook checks apply in built-in chains only: iptables-nft (nft_compat) does not carry a
    // match's hook restriction through jumps, while a target's it does.
    const matchReach = c.hook !== null ? 1 << c.hook : 0;
    for (const m of r.matches) {
      const allowed = m.ext.hooks?.(m.spec);
      if (allowed !== undefined && (matchReach & ~allowed) !== 0)
        throw new IptablesError(`-m ${m.ext.name} with these options is not valid in ${c.name} (only from ${hookNames(allowed)})`, {
          line,
          token: `-m ${m.ext.name}`,
          expected: `a chain of ${hookNames(allowed)}`,
        });
    }
  }
  if (r.target.kind !== "ext") return;
  const ext = r.target.ext;
  const at = line ?? undefined;
  if (line !== null && ext.tables && !ext.tables.includes(t.name))
    throw new IptablesError(`${ext.name} is only valid in the ${ext.tables.join("/")} table, not in ${t.name}`, { line: at, token: `-j ${ext.name}`, expected: `a rule in the ${ext.tables.join("/")} table` });
  if (ext.hooks !== undefined && (reachMask & ~ext.hooks) !== 0)
    throw new IptablesError(
      `${ext.name} is only valid from ${hookNames(ext.hooks)}, but chain ${c.name} is reached from ${hookNames(reachMask & ~ext.hooks)} (RULE_APPEND failed: Invalid argument)`,
      { line: at, token: `-j ${ext.name}`, expected: `${c.name} reached only from ${hookNames(ext.hooks)}` },
    );
}

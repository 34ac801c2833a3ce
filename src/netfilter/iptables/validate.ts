// The checks a table passes when it is committed, as the kernel's translate_table does them:
// every jump lands on a user chain, no chain reaches itself (mark_source_chains' ELOOP), and
// every target is used in its table and only from the hooks it supports (xt_check_target),
// e.g. MASQUERADE reached from PREROUTING is refused.

import { HOOK_NAMES } from "../../net/index.js";
import { IptablesError } from "./errors.js";
import type { Rule, Table } from "./model.js";

/** Throws when a chain can reach itself through jumps (mark_source_chains' ELOOP). */
export function checkLoops(t: Table): void {
  const state = new Map<string, 1 | 2>(); // 1: on the current path, 2: done
  const visit = (name: string, path: string[]): void => {
    const st = state.get(name);
    if (st === 2 || !t.chains.has(name)) return;
    if (st === 1) {
      const cycle = [...path.slice(path.indexOf(name)), name];
      throw new IptablesError(`chain loop: ${cycle.join(" -> ")} (the kernel refuses it with ELOOP)`, { token: name, expected: "chains that do not jump back to themselves" });
    }
    state.set(name, 1);
    for (const r of t.chains.get(name)!.rules) if (r.target.kind === "jump") visit(r.target.chain, [...path, name]);
    state.set(name, 2);
  };
  for (const c of t.chains.values()) visit(c.name, []);
}

/** For each chain of the table, the bit mask of hooks (1 << Hook) from which it can be reached. */
export function reachingHooks(t: Table): Map<string, number> {
  const hooks = new Map<string, number>();
  for (const c of t.chains.values()) hooks.set(c.name, 0);
  const visit = (name: string, mask: number): void => {
    const c = t.chains.get(name);
    if (c === undefined) return;
    const had = hooks.get(name)!;
    if ((had | mask) === had && c.hook === null) return;
    hooks.set(name, had | mask);
    for (const r of c.rules) if (r.target.kind === "jump") visit(r.target.chain, mask);
  };
  for (const c of t.builtinChains()) visit(c.name, 1 << c.hook!);
  return hooks;
}

const hookNames = (mask: number): string =>
  HOOK_NAMES.filter((_, h) => (mask & (1 << h)) !== 0).join(", ") || "none";

/**
 * Validates a table before it replaces the live one. `lineOf` maps a rule to its line in the
 * restore file, so the error points at the rule rather than at COMMIT.
 */
export function validateTable(t: Table, lineOf: (r: Rule) => number | undefined = () => undefined): void {
  for (const c of t.chains.values()) {
    for (const r of c.rules) {
      if (r.target.kind !== "jump") continue;
      const dest = t.chains.get(r.target.chain);
      const line = lineOf(r);
      if (dest === undefined)
        throw new IptablesError(`Chain '${r.target.chain}' does not exist`, { line, token: r.target.chain, expected: `a chain declared with ":${r.target.chain} - [0:0]" or -N` });
      if (dest.hook !== null) throw new IptablesError(`cannot jump to built-in chain ${dest.name}`, { line, token: dest.name, expected: "a user chain" });
    }
  }
  checkLoops(t);
  const hooks = reachingHooks(t);
  for (const c of t.chains.values()) {
    const reach = hooks.get(c.name)!;
    // Match hook checks apply in built-in chains only: iptables-nft (nft_compat) does not carry a
    // match's hook restriction through jumps, while a target's it does.
    const matchReach = c.hook !== null ? 1 << c.hook : 0;
    for (const r of c.rules) {
      for (const m of r.matches) {
        const allowed = m.ext.hooks?.(m.spec);
        if (allowed !== undefined && (matchReach & ~allowed) !== 0)
          throw new IptablesError(`-m ${m.ext.name} with these options is not valid in ${c.name} (only from ${hookNames(allowed)})`, {
            line: lineOf(r),
            token: `-m ${m.ext.name}`,
            expected: `a chain of ${hookNames(allowed)}`,
          });
      }
      if (r.target.kind !== "ext") continue;
      const ext = r.target.ext;
      const line = lineOf(r);
      if (ext.tables && !ext.tables.includes(t.name))
        throw new IptablesError(`${ext.name} is only valid in the ${ext.tables.join("/")} table, not in ${t.name}`, { line, token: `-j ${ext.name}`, expected: `a rule in the ${ext.tables.join("/")} table` });
      if (ext.hooks !== undefined && (reach & ~ext.hooks) !== 0)
        throw new IptablesError(
          `${ext.name} is only valid from ${hookNames(ext.hooks)}, but chain ${c.name} is reached from ${hookNames(reach & ~ext.hooks)} (RULE_APPEND failed: Invalid argument)`,
          { line, token: `-j ${ext.name}`, expected: `${c.name} reached only from ${hookNames(ext.hooks)}` },
        );
    }
  }
}

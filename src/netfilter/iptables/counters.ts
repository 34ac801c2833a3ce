// The live counters sit in a compiled program (Program.cnt, bumped by the packet walk); the rule
// model's pkts/bytes are brought up to date from them when they are read (iptables-save -c) or
// carried into a copy of a chain (a --noflush restore copying the chain it edits).

import { E_FLAGS, ENT_SIZE, EntryKind, type Program } from "./compile.js";
import type { Chain } from "./model.js";

/** Every rule's and built-in policy's counters of `p`, copied into the model. */
export function syncProgramCounters(p: Program): void {
  for (let pc = 0; pc < p.n; pc++) {
    const r = p.rules[pc];
    if (r !== null) {
      r.pkts = p.cnt[2 * pc];
      r.bytes = p.cnt[2 * pc + 1];
    } else if (((p.ent[pc * ENT_SIZE + E_FLAGS] >>> 16) & 0xff) === EntryKind.Policy) {
      p.chainOf[pc].pkts = p.cnt[2 * pc];
      p.chainOf[pc].bytes = p.cnt[2 * pc + 1];
    }
  }
}

/** The built-in chains' policy counters of `p`, copied into their chains. */
export function syncPolicyCounters(p: Program): void {
  for (const end of p.hookPolicy)
    if (end >= 0) {
      p.chainOf[end].pkts = p.cnt[2 * end];
      p.chainOf[end].bytes = p.cnt[2 * end + 1];
    }
}

/**
 * Chain `c`'s counters (rules and policy), copied from where `p` laid it out; the whole program's
 * when `c` is not there (a chain object compiled by another engine since).
 */
export function syncChainCounters(p: Program, c: Chain): void {
  const end = c.pc + c.rules.length;
  if (c.pc < 0 || end >= p.n || p.chainOf[c.pc] !== c || p.chainOf[end] !== c) {
    syncProgramCounters(p);
    return;
  }
  for (let pc = c.pc; pc < end; pc++) {
    const r = p.rules[pc];
    if (r === null) continue;
    r.pkts = p.cnt[2 * pc];
    r.bytes = p.cnt[2 * pc + 1];
  }
  if (c.hook !== null) {
    c.pkts = p.cnt[2 * end];
    c.bytes = p.cnt[2 * end + 1];
  }
}

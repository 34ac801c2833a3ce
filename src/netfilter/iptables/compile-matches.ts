// The match half of a compiled rule: -i/-o and the rule's matches fused into one closure, with
// closures shared between the rules of one compileTable (see ParseCache: rules share matches
// arrays, and instances beside a comment). Split from compile.ts, which lays the program out.

import { commentMatch } from "./matches/comment.js";
import { type StatisticSpec, statisticMatch } from "./matches/statistic.js";
import type { Rule } from "./model.js";
import { type MatchFn, type MatchInstance, matchAlways, type XtEnv, type XtParam } from "./xt.js";

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

/** Match closures of the rule being compiled (reused: fused closures copy what they keep). */
const scratch: MatchFn[] = [];

/**
 * The fused match of each matches array compiled in this compileTable (rules of one restore share
 * arrays, see ParseCache). Not for matches that keep state per rule (statistic --mode nth).
 */
let fused: Map<readonly MatchInstance[], MatchFn | null> | null = null;
/** The compiled closure of each match instance in this compileTable (instances are shared between arrays: see ParseCache.instances). */
let compiledOf: Map<MatchInstance, MatchFn> | null = null;

const perRuleState = (matches: readonly MatchInstance[]): boolean =>
  matches.some((m) => m.ext.name === "statistic" && (m.spec as StatisticSpec).mode === "nth");

export function compileMatches(r: Rule, env: XtEnv): MatchFn | null {
  const matches = r.matches;
  const shared = fused !== null && r.inIface === null && r.outIface === null;
  if (shared) {
    const hit = fused!.get(matches);
    if (hit !== undefined) return hit;
  }
  scratch.length = 0;
  if (r.inIface !== null) scratch.push(ifaceMatch(r.inIface, r.invIn, false));
  if (r.outIface !== null) scratch.push(ifaceMatch(r.outIface, r.invOut, true));
  for (let i = 0; i < matches.length; i++) {
    const m = matches[i];
    // Comments (one instance per rule) always match: nothing to compile or remember.
    if (m.ext === commentMatch) continue;
    let fn = compiledOf?.get(m);
    if (fn === undefined) {
      fn = m.ext.compile(m.spec, env);
      if (compiledOf !== null && !(m.ext === statisticMatch && (m.spec as StatisticSpec).mode === "nth")) compiledOf.set(m, fn);
    }
    if (fn !== matchAlways) scratch.push(fn);
  }
  const fn = scratch.length === 0 ? null : scratch.length === 1 ? scratch[0] : fuseMatches(scratch);
  if (shared && !perRuleState(matches)) fused!.set(matches, fn);
  return fn;
}

/** Starts (a fresh cache) or ends (null) the sharing of closures for one compileTable. */
export function shareCompiledMatches(on: boolean): void {
  fused = on ? new Map() : null;
  compiledOf = on ? new Map() : null;
}

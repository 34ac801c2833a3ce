// -m statistic --mode random --probability P | --mode nth --every N --packet P
// (net/netfilter/xt_statistic.c, libxt_statistic.c). The probability is stored as P scaled by
// 2^31 and rounded (lround), and printed back with 11 decimals: kube-proxy writes 0.3333333333,
// iptables-save prints 0.33333333349. A packet matches when (get_random_u32() & 0x7fffffff) is
// below it; here the u32 comes from the namespace's seeded stream.

import { fail } from "../fail.js";
import { defineMatch } from "../xt.js";

export interface StatisticSpec {
  mode: "random" | "nth" | null;
  /** round(P * 2^31). */
  probability: number;
  /** --every N, stored as N - 1 as the kernel has it. */
  every: number;
  packet: number;
  invert: boolean;
  seen: number;
}

const F_PROBABILITY = 1;
const F_EVERY = 2;
const F_PACKET = 4;

/** P as libxt_statistic stores it: lround(0x80000000 * P). */
export const probabilityToU32 = (p: number): number => Math.round(0x80000000 * p);

/** The probability iptables-save prints for a stored value ("%.11f"). */
export const formatProbability = (u: number): string => (u / 0x80000000).toFixed(11);

export const statisticMatch = defineMatch<StatisticSpec>({
  name: "statistic",
  options: {
    "--mode": { args: 1 },
    "--probability": { args: 1, invert: true },
    "--every": { args: 1, invert: true },
    "--packet": { args: 1 },
  },
  init: () => ({ mode: null, probability: 0, every: 0, packet: 0, invert: false, seen: 0 }),
  parse(spec, option, args, invert) {
    const a = args[0];
    if (option === "--mode") {
      if (a !== "random" && a !== "nth") fail(`Bad mode "${a}"`, a, "random or nth");
      spec.mode = a;
    } else if (option === "--probability") {
      const p = Number(a);
      if (!/^[0-9]*\.?[0-9]+(e-?[0-9]+)?$/i.test(a) || !(p >= 0 && p <= 1)) fail(`statistic: --probability "${a}" is not a number between 0 and 1`, a, "a probability 0..1");
      spec.probability = probabilityToU32(p);
      spec.invert = invert;
      spec.seen |= F_PROBABILITY;
    } else {
      if (!/^[0-9]+$/.test(a) || Number(a) > 0xffffffff) fail(`statistic: ${option} "${a}" is not a number`, a, "an unsigned number");
      if (option === "--every") {
        if (Number(a) === 0) fail("statistic: --every must be at least 1", a, "a number >= 1");
        spec.every = Number(a) - 1;
        spec.invert = invert;
        spec.seen |= F_EVERY;
      } else {
        spec.packet = Number(a);
        spec.seen |= F_PACKET;
      }
    }
  },
  final(spec) {
    if (spec.mode === null) fail('statistic: option "--mode" must be specified', "-m statistic", "--mode random or --mode nth");
    if (spec.mode === "random") {
      if (spec.seen & (F_EVERY | F_PACKET)) fail("statistic: --every and --packet are for --mode nth", "--mode random");
      if (!(spec.seen & F_PROBABILITY)) fail("statistic: --probability must be specified when using random mode", "--mode random", "--probability P");
    } else {
      if (spec.seen & F_PROBABILITY) fail("statistic: --probability is for --mode random", "--mode nth");
      // iptables 1.8.9: 'option "--every" also requires "--packet"'.
      if ((spec.seen & (F_EVERY | F_PACKET)) !== (F_EVERY | F_PACKET)) fail('statistic: option "--every" also requires "--packet"', "--mode nth", "--every N --packet P");
      if (spec.packet > spec.every) fail("statistic: the --packet p must be 0 <= p <= n-1", `${spec.packet}`, `0..${spec.every}`);
    }
  },
  save(spec) {
    const inv = spec.invert ? " !" : "";
    if (spec.mode === "random") return ` --mode random${inv} --probability ${formatProbability(spec.probability)}`;
    return ` --mode nth${inv} --every ${spec.every + 1} --packet ${spec.packet}`;
  },
  compile(spec, env) {
    const invert = spec.invert;
    if (spec.mode === "random") {
      const threshold = spec.probability;
      return (p) => ((env.randomU32(p.ctx.ns) & 0x7fffffff) < threshold) !== invert;
    }
    // statistic_mt_check: count starts at every - packet; the packet that wraps it to 0 matches.
    const every = spec.every;
    const state = { count: spec.every - spec.packet };
    return () => {
      const next = state.count === every ? 0 : state.count + 1;
      state.count = next;
      return (next === 0) !== invert;
    };
  },
});

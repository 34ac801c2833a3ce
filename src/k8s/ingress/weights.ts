// Choosing one of a decision's backends by weight (HTTPBackendRef.weight: "proportional to the
// sum of all weights"; weight 0 gets none), from a uniform draw the caller's seeded RNG makes.

import type { L7Backend } from "./types.js";

/**
 * The backend a uniform draw `u` in [0, 1) picks; undefined when every weight is 0. With
 * u = rng.float() it picks what proxy-upstream.ts's pickBackend picks with rng.int(total).
 */
export function backendAt(backends: readonly L7Backend[], u: number): L7Backend | undefined {
  let total = 0;
  for (const b of backends) total += Math.max(0, b.weight);
  if (total <= 0) return undefined;
  let point = u * total;
  for (const b of backends) {
    const w = Math.max(0, b.weight);
    if (point < w) return b;
    point -= w;
  }
  // u just under 1 with rounding: the last backend with a weight.
  return [...backends].reverse().find((b) => b.weight > 0);
}

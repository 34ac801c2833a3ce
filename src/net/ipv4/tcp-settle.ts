// The driver that interleaves virtual time with Node's own queues (DESIGN.md decision 8): stream
// callbacks of node:http and node:tls run outside the scheduler, so each instant of virtual time
// is run to quiescence on both sides before the clock moves to the next timer. Both sides are
// deterministic, so the same scenario and seed give the same packets.

import type { Sim } from "../../sim/index.js";
import { tcpSocketActivity } from "./tcp-socket.js";

export interface SettleOptions {
  /** Stop at this virtual time (ns) even if timers remain; default: until nothing is left. */
  until?: number;
  /** Rounds of (scheduler, Node) before giving up as a runaway; default 1e6. */
  maxRounds?: number;
}

/** Lets Node run everything it has queued (nextTicks, promises, I/O callbacks, immediates). */
const yieldToNode = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs the simulation with Node in the loop: at each instant, the scheduler's queue and the
 * timers due, then Node's queues, again until two rounds in a row change nothing (no scheduler
 * step, no call into a TCP socket); then the clock moves to the next timer. Resolves when no
 * timer is left (or the next is after `until`, where the clock then stops).
 */
export async function runUntilSettled(sim: Sim, opts: SettleOptions = {}): Promise<void> {
  const sched = sim.sched;
  const until = opts.until ?? Number.POSITIVE_INFINITY;
  const maxRounds = opts.maxRounds ?? 1_000_000;
  let rounds = 0;
  for (;;) {
    let quiet = 0;
    while (quiet < 2) {
      const steps = sched.steps;
      const act = tcpSocketActivity();
      sched.run(sched.now);
      await yieldToNode();
      if (sched.steps !== steps || tcpSocketActivity() !== act) quiet = 0;
      else quiet++;
      if (++rounds > maxRounds)
        throw new Error(`runUntilSettled: still busy after ${maxRounds} rounds at t=${sched.now} ns (a timer that re-arms forever, e.g. a zero-window probe to a reader that never reads?)`);
    }
    const next = sched.nextTimerAt;
    if (next === Number.POSITIVE_INFINITY || next > until) break;
    sched.run(next);
  }
  if (until !== Number.POSITIVE_INFINITY && until > sched.now) sched.run(until);
}

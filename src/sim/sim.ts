// The simulation context shared by every namespace of one run: virtual time and scheduling,
// the trace, seeded randomness, the packet pool and interface numbering.

import { PacketPool } from "../packet/index.js";
import { Rng } from "./rng.js";
import { Scheduler } from "./scheduler.js";
import { Tracer } from "./trace.js";

export interface SimOptions {
  /** Seed of every random choice; the same seed gives byte-identical runs. Default 1. */
  seed?: number;
  pool?: PacketPool;
}

export class Sim {
  readonly sched = new Scheduler();
  readonly trace = new Tracer();
  readonly rng: Rng;
  readonly pool: PacketPool;
  private ifindex = 0;

  constructor(opts: SimOptions = {}) {
    this.rng = new Rng(opts.seed ?? 1);
    this.pool = opts.pool ?? new PacketPool();
  }

  /** Virtual time now, ns. */
  get now(): number {
    return this.sched.now;
  }

  /** A fresh interface index, unique within the run (Linux's are per namespace; unique is simpler to read). */
  nextIfindex(): number {
    return ++this.ifindex;
  }

  /** Runs the scheduler until nothing is left to do, or until `until` ns. */
  run(until?: number): void {
    this.sched.run(until);
  }

  runFor(durationNs: number): void {
    this.sched.runFor(durationNs);
  }
}

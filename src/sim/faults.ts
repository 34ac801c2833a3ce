// Seeded fault injection for a link or device, as netem and smoltcp's FaultInjector do: drop,
// duplicate, corrupt, delay (with jitter) and a rate cap. The same seed reproduces the same faults.

import type { Rng } from "./rng.js";

export interface FaultConfig {
  /** Probability in [0, 1] that a frame is dropped. */
  drop?: number;
  /** Probability that a frame is sent twice. */
  duplicate?: number;
  /** Probability that one random byte of a frame is flipped. */
  corrupt?: number;
  /** Fixed one-way delay, ns. */
  delay?: number;
  /** Uniform jitter added to the delay, ns (frames may then be reordered, as with netem). */
  jitter?: number;
  /** Rate cap in bits per second: frames are serialised one after another at this rate. */
  rateBps?: number;
}

export type FaultAction = "pass" | "drop" | "duplicate";

export class FaultInjector {
  /** Virtual time the link is busy until (rate cap). */
  private busyUntil = 0;
  readonly counts = { dropped: 0, duplicated: 0, corrupted: 0, delayed: 0 };

  constructor(
    readonly config: FaultConfig,
    private readonly rng: Rng,
  ) {
    for (const k of ["drop", "duplicate", "corrupt"] as const) {
      const p = config[k];
      if (p !== undefined && !(p >= 0 && p <= 1)) throw new RangeError(`fault ${k}: probability ${p} is not in [0, 1]`);
    }
  }

  /** Decides the fate of one frame. */
  decide(): FaultAction {
    const c = this.config;
    if (c.drop && this.rng.float() < c.drop) {
      this.counts.dropped++;
      return "drop";
    }
    if (c.duplicate && this.rng.float() < c.duplicate) {
      this.counts.duplicated++;
      return "duplicate";
    }
    return "pass";
  }

  /** Flips one random bit of b[start, end) with the configured probability. Returns true if it did. */
  maybeCorrupt(b: Uint8Array, start: number, end: number): boolean {
    const p = this.config.corrupt;
    if (!p || end <= start || this.rng.float() >= p) return false;
    const i = start + this.rng.int(end - start);
    b[i] ^= 1 << this.rng.int(8);
    this.counts.corrupted++;
    return true;
  }

  /** Delivery time of a frame of `len` bytes sent at `now`: delay, jitter and the rate cap. */
  deliveryTime(now: number, len: number): number {
    const c = this.config;
    let t = now;
    if (c.rateBps) {
      const start = Math.max(now, this.busyUntil);
      this.busyUntil = start + Math.ceil((len * 8 * 1e9) / c.rateBps);
      t = this.busyUntil;
    }
    if (c.delay || c.jitter) {
      this.counts.delayed++;
      t += (c.delay ?? 0) + (c.jitter ? this.rng.int(c.jitter + 1) : 0);
    }
    return t;
  }

  /** True when frames go through untouched and at once (the fast path can skip everything). */
  get inert(): boolean {
    const c = this.config;
    return !c.drop && !c.duplicate && !c.corrupt && !c.delay && !c.jitter && !c.rateBps;
  }
}

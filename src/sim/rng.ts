// A seeded pseudo-random generator (xoshiro128**), so that every "random" choice (statistic
// match, MASQUERADE ports, VXLAN source ports, MACs, IP IDs, ISNs) is reproducible from a seed.

/** splitmix32: spreads a seed or a label hash into well-mixed state words. */
function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [state, (z ^ (z >>> 16)) >>> 0];
}

/** FNV-1a over a string: derives a stream's seed from its label. */
export function hashString(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly seed: number) {
    let s = seed | 0;
    let w: number;
    [s, w] = splitmix32(s);
    this.a = w;
    [s, w] = splitmix32(s);
    this.b = w;
    [s, w] = splitmix32(s);
    this.c = w;
    [, w] = splitmix32(s);
    this.d = w || 1;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A float in [0, 1) with 32 bits of randomness. */
  float(): number {
    return this.u32() / 0x100000000;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in [lo, hi] inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /**
   * An independent stream for one purpose ("mac", "ipid", "node-1/statistic"): adding a random
   * draw in one place does not shift the numbers every other place sees.
   */
  derive(label: string): Rng {
    return new Rng(hashString(label, this.seed >>> 0));
  }
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

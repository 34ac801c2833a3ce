// A verdict map keyed by (daddr, protocol, dport), nftables' `ipv4_addr . inet_proto .
// inet_service : verdict`: open addressing over typed arrays, so a lookup is a few integer
// operations and no allocation (a JS Map would box addresses above 2^30 on every lookup).

const EMPTY = 0;

export interface ServiceKey {
  daddr: number;
  proto: number;
  port: number;
}

/** Slot layout: address, (proto << 16 | port) + 1 (0: empty), value, unused; one probe reads one cache line. */
const SLOT = 4;

/** The home slot's hash of a key: a plain function, since a static method is reached through the class binding, checked at every call. */
function slotHash(daddr: number, pp: number): number {
  const h = Math.imul(daddr ^ Math.imul(pp, 0x9e3779b1), 0x85ebca6b);
  return h ^ (h >>> 15);
}

export class ServiceVerdictMap {
  private slots: Int32Array;
  private mask: number;
  private count = 0;

  constructor(expected = 8) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.slots = new Int32Array(cap * SLOT);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Adds the key unless present (first match wins, as in the chain). Returns whether it was added. */
  add(daddr: number, proto: number, port: number, value: number): boolean {
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    const a = daddr | 0;
    const pp = ((proto << 16) | port) + 1;
    const s = this.slots;
    let i = slotHash(a, pp) & this.mask;
    for (;;) {
      const o = i * SLOT;
      const k = s[o + 1];
      if (k === EMPTY) {
        s[o] = a;
        s[o + 1] = pp;
        s[o + 2] = value;
        this.count++;
        return true;
      }
      if (k === pp && s[o] === a) return false;
      i = (i + 1) & this.mask;
    }
  }

  /** The value for the key, or -1. */
  get(daddr: number, proto: number, port: number): number {
    const a = daddr | 0;
    const pp = ((proto << 16) | port) + 1;
    const s = this.slots;
    const mask = this.mask;
    let i = slotHash(a, pp) & mask;
    for (;;) {
      const o = i * SLOT;
      const k = s[o + 1];
      if (k === pp && s[o] === a) return s[o + 2];
      if (k === EMPTY) return -1;
      i = (i + 1) & mask;
    }
  }

  /** Every key and value, in slot order. */
  entries(): Array<ServiceKey & { value: number }> {
    const out: Array<ServiceKey & { value: number }> = [];
    const s = this.slots;
    for (let i = 0; i <= this.mask; i++) {
      const k = s[i * SLOT + 1];
      if (k !== EMPTY) out.push({ daddr: s[i * SLOT] >>> 0, proto: (k - 1) >>> 16, port: (k - 1) & 0xffff, value: s[i * SLOT + 2] });
    }
    return out;
  }

  private grow(): void {
    const old = this.entries();
    const cap = (this.mask + 1) * 2;
    this.slots = new Int32Array(cap * SLOT);
    this.mask = cap - 1;
    this.count = 0;
    for (const e of old) this.add(e.daddr, e.proto, e.port, e.value);
  }
}

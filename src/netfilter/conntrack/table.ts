// The conntrack hash table of one namespace (nf_conntrack_core.c: nf_conntrack_hash, the
// tuplehash pair of every nf_conn). Entries live in typed arrays indexed by slot (no object per
// connection); an open-addressing index with linear probing maps each direction's tuple to
// `ref = slot * 2 + dir`, so the original and the reply tuple find the same entry. Lookups hash
// four numbers and compare in place: no string keys, no allocation.

import { hashTuple, type Tuple } from "./tuple.js";

/** enum ip_conntrack_status bits (include/uapi/linux/netfilter/nf_conntrack_common.h). */
export const IPS = {
  EXPECTED: 1 << 0,
  SEEN_REPLY: 1 << 1,
  ASSURED: 1 << 2,
  CONFIRMED: 1 << 3,
  SRC_NAT: 1 << 4,
  DST_NAT: 1 << 5,
  SRC_NAT_DONE: 1 << 7,
  DST_NAT_DONE: 1 << 8,
  DYING: 1 << 9,
  NAT_CLASH: 1 << 12,
  /** kubewire: confirmed, then taken out of the hash while a packet still held it (killed). */
  UNHASHED: 1 << 29,
  /** kubewire: the slot holds an entry (allocated, confirmed or not). */
  INUSE: 1 << 30,
} as const;

export const DIR_ORIGINAL = 0;
export const DIR_REPLY = 1;

/** Words of protocol-private state per entry (ct->proto: the TCP tracker's window data). */
export const PRIV_WORDS = 16;

const EMPTY = 0;

export class ConntrackTable {
  /** nf_conntrack_max: entries (confirmed or not) the table may hold. */
  max: number;
  /** Entries allocated, confirmed or not (net->ct.count). */
  count = 0;
  /** Slots the arrays have room for; they grow by doubling (re-read the arrays after alloc()). */
  cap = 0;
  /** Tuples: 8 words per slot, [orig saddr, daddr, ports, proto, reply saddr, daddr, ports, proto]. */
  tup = new Int32Array(0);
  /** IPS status bits per slot. */
  status = new Int32Array(0);
  /** Absolute virtual time (ns) at which the entry expires. */
  expires = new Float64Array(0);
  /** ct->mark (CONNMARK). */
  mark = new Int32Array(0);
  /** Protocol-private words (PRIV_WORDS per slot). */
  priv = new Uint32Array(0);
  /** One protocol-private time per slot (UDP's stream_ts). */
  aux = new Float64Array(0);
  /** Creation order, for stable dumps. */
  seq = new Float64Array(0);
  private nextSeq = 0;
  private freeList = new Int32Array(0);
  private freeTop = 0;

  /** The index: pairs [hash, ref + 1]; ref + 1 === 0 marks an empty position. */
  private idx: Int32Array;
  private mask: number;
  /** Tuples in the index (two per confirmed entry). */
  private refs = 0;

  constructor(
    max: number,
    readonly seed: number,
    initialCap = 64,
  ) {
    this.max = max;
    this.grow(Math.max(8, initialCap));
    const size = 256;
    this.idx = new Int32Array(size * 2);
    this.mask = size - 1;
  }

  /** Number of entries in the hash (confirmed). */
  get confirmedCount(): number {
    return this.refs >>> 1;
  }

  /** Takes a free slot, growing the arrays if needed; the slot is marked INUSE and zeroed. */
  alloc(): number {
    if (this.freeTop === 0) this.grow(this.cap * 2);
    const s = this.freeList[--this.freeTop];
    this.status[s] = IPS.INUSE;
    this.expires[s] = 0;
    this.mark[s] = 0;
    this.aux[s] = 0;
    this.seq[s] = this.nextSeq++;
    this.priv.fill(0, s * PRIV_WORDS, (s + 1) * PRIV_WORDS);
    this.count++;
    return s;
  }

  /** Returns a slot (already unlinked) to the free list. */
  free(s: number): void {
    if ((this.status[s] & IPS.INUSE) === 0) return;
    this.status[s] = 0;
    this.freeList[this.freeTop++] = s;
    this.count--;
  }

  /** Writes one direction's tuple of a slot. Only for entries not in the index (unconfirmed). */
  setTuple(s: number, dir: number, t: Tuple): void {
    const o = (s * 2 + dir) * 4;
    const tup = this.tup;
    tup[o] = t.saddr;
    tup[o + 1] = t.daddr;
    tup[o + 2] = t.ports;
    tup[o + 3] = t.proto;
  }

  /** Reads one direction's tuple of a slot into t. */
  getTuple(s: number, dir: number, t: Tuple): Tuple {
    const o = (s * 2 + dir) * 4;
    const tup = this.tup;
    t.saddr = tup[o] >>> 0;
    t.daddr = tup[o + 1] >>> 0;
    t.sport = (tup[o + 2] >>> 16) & 0xffff;
    t.dport = tup[o + 2] & 0xffff;
    t.proto = tup[o + 3];
    return t;
  }

  /** The ref (slot * 2 + dir) whose tuple is this one, or -1. Expiry is the caller's business. */
  find(saddr: number, daddr: number, ports: number, proto: number): number {
    saddr |= 0;
    daddr |= 0;
    const h = hashTuple(this.seed, saddr, daddr, ports, proto);
    const idx = this.idx;
    const tup = this.tup;
    const mask = this.mask;
    let i = h & mask;
    for (;;) {
      const r = idx[2 * i + 1];
      if (r === EMPTY) return -1;
      if (idx[2 * i] === h) {
        const o = (r - 1) * 4;
        if (tup[o] === saddr && tup[o + 1] === daddr && tup[o + 2] === ports && tup[o + 3] === proto) return r - 1;
      }
      i = (i + 1) & mask;
    }
  }

  findTuple(t: Tuple): number {
    return this.find(t.saddr, t.daddr, t.ports, t.proto);
  }

  /** Inserts both directions of a slot into the index (__nf_conntrack_hash_insert). */
  link(s: number): void {
    if ((this.refs + 2) * 2 > this.mask + 1) this.rehash((this.mask + 1) * 2);
    this.insertRef(s * 2);
    this.insertRef(s * 2 + 1);
    this.status[s] |= IPS.CONFIRMED;
  }

  /** Removes both directions of a slot from the index, if there (clean_from_lists). */
  unlink(s: number): void {
    if ((this.status[s] & IPS.CONFIRMED) === 0) return;
    this.removeRef(s * 2);
    this.removeRef(s * 2 + 1);
    this.status[s] &= ~IPS.CONFIRMED;
  }

  /** Removes an entry entirely. */
  delete(s: number): void {
    this.unlink(s);
    this.free(s);
  }

  /** The hash-index position of a tuple's home, for early_drop's neighbourhood scan. */
  homeOf(t: Tuple): number {
    return hashTuple(this.seed, t.saddr | 0, t.daddr | 0, t.ports, t.proto) & this.mask;
  }

  /** Positions in the index. */
  get indexSize(): number {
    return this.mask + 1;
  }

  /** The ref stored at index position i (wrapping), or -1 if empty. */
  refAt(i: number): number {
    return this.idx[2 * (i & this.mask) + 1] - 1;
  }

  /** Every slot in use, confirmed or not, in creation order (cold: dumps, flushes, GC). */
  slots(): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.cap; s++) if (this.status[s] & IPS.INUSE) out.push(s);
    return out.sort((a, b) => this.seq[a] - this.seq[b]);
  }

  /** Drops every entry. */
  clear(): void {
    for (let s = 0; s < this.cap; s++) if (this.status[s] & IPS.INUSE) this.delete(s);
  }

  private insertRef(ref: number): void {
    const o = ref * 4;
    const tup = this.tup;
    const h = hashTuple(this.seed, tup[o], tup[o + 1], tup[o + 2], tup[o + 3]);
    const idx = this.idx;
    const mask = this.mask;
    let i = h & mask;
    while (idx[2 * i + 1] !== EMPTY) i = (i + 1) & mask;
    idx[2 * i] = h;
    idx[2 * i + 1] = ref + 1;
    this.refs++;
  }

  /** Backward-shift deletion: no tombstones, so probe lengths stay short under churn. */
  private removeRef(ref: number): void {
    const o = ref * 4;
    const tup = this.tup;
    const h = hashTuple(this.seed, tup[o], tup[o + 1], tup[o + 2], tup[o + 3]);
    const idx = this.idx;
    const mask = this.mask;
    let i = h & mask;
    for (;;) {
      const r = idx[2 * i + 1];
      if (r === EMPTY) return;
      if (r === ref + 1) break;
      i = (i + 1) & mask;
    }
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (idx[2 * j + 1] === EMPTY) break;
      const home = idx[2 * j] & mask;
      // The entry at j may move back to i only if its home is not cyclically within (i, j].
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!stays) {
        idx[2 * i] = idx[2 * j];
        idx[2 * i + 1] = idx[2 * j + 1];
        i = j;
      }
    }
    idx[2 * i] = 0;
    idx[2 * i + 1] = EMPTY;
    this.refs--;
  }

  private rehash(size: number): void {
    const old = this.idx;
    this.idx = new Int32Array(size * 2);
    this.mask = size - 1;
    const idx = this.idx;
    const mask = this.mask;
    for (let p = 0; p < old.length; p += 2) {
      if (old[p + 1] === EMPTY) continue;
      let i = old[p] & mask;
      while (idx[2 * i + 1] !== EMPTY) i = (i + 1) & mask;
      idx[2 * i] = old[p];
      idx[2 * i + 1] = old[p + 1];
    }
  }

  /** Sizes the index for `entries` confirmed entries (load ≤ 1/2), e.g. before a bulk load. */
  reserve(entries: number): void {
    let size = this.mask + 1;
    while (size < entries * 4) size *= 2;
    if (size !== this.mask + 1) this.rehash(size);
    if (entries > this.cap) this.grow(entries);
  }

  private grow(cap: number): void {
    const old = this.cap;
    const copy = <T extends Int32Array | Uint32Array | Float64Array>(a: T, n: number, make: (len: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.tup = copy(this.tup, cap * 8, (n) => new Int32Array(n));
    this.status = copy(this.status, cap, (n) => new Int32Array(n));
    this.expires = copy(this.expires, cap, (n) => new Float64Array(n));
    this.mark = copy(this.mark, cap, (n) => new Int32Array(n));
    this.priv = copy(this.priv, cap * PRIV_WORDS, (n) => new Uint32Array(n));
    this.aux = copy(this.aux, cap, (n) => new Float64Array(n));
    this.seq = copy(this.seq, cap, (n) => new Float64Array(n));
    const fl = new Int32Array(cap);
    fl.set(this.freeList.subarray(0, this.freeTop));
    let top = this.freeTop;
    for (let s = cap - 1; s >= old; s--) fl[top++] = s;
    this.freeList = fl;
    this.freeTop = top;
    this.cap = cap;
  }
}

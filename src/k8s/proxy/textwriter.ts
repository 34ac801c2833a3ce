// A text written as bytes: kube-proxy's syncs write ~400k lines (30 MB), and building them as
// JavaScript strings (template literals, then joins) made millions of short-lived strings whose
// collection dominated a sync. Here the pieces are copied into one growing byte buffer, outside
// the garbage-collected heap, and the text is decoded once at the end. ASCII goes byte for byte;
// anything else is written as UTF-8 and the text decoded as UTF-8. Buffers are reused from sync
// to sync (a scratch pool): memory touched for the first time costs a page fault per 4 KB, which
// for 30 MB took longer than writing it.

import { Buffer } from "node:buffer";

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
const NEWLINE = 0x0a;
const MAX_ASCII = 0x7f;
/** Longest UTF-8 encoding of one UTF-16 code unit. */
const UTF8_MAX_PER_UNIT = 3;

/** Scratch buffers released by finished writers, largest first; at most POOL_BYTES in all. */
const pool: Uint8Array[] = [];
const POOL_BYTES = 96 << 20;

/** A buffer of at least `size` bytes: the smallest pooled one that fits, or a new one. */
function takeBuffer(size: number): Uint8Array {
  for (let i = pool.length - 1; i >= 0; i--)
    if (pool[i].length >= size) {
      const b = pool[i];
      pool.splice(i, 1);
      return b;
    }
  return new Uint8Array(size);
}

function giveBuffer(b: Uint8Array): void {
  pool.push(b);
  pool.sort((x, y) => y.length - x.length);
  let total = 0;
  for (let i = 0; i < pool.length; i++) {
    total += pool[i].length;
    if (total > POOL_BYTES) {
      pool.length = i;
      break;
    }
  }
}

/** Forgets the scratch buffers (their memory goes back when the buffers are collected). */
export function dropTextScratch(): void {
  pool.length = 0;
}

/** A constant piece of text as bytes, for bytes(): copied faster than a string's characters. */
export function asciiBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > MAX_ASCII) throw new RangeError(`not ASCII: ${JSON.stringify(s)}`);
    b[i] = c;
  }
  return b;
}

export class TextWriter {
  private buf: Uint8Array;
  /** Where the text starts: bytes before it are room left for the texts that go in front (concat). */
  private start: number;
  private pos: number;
  /** Some piece was not ASCII: the bytes are UTF-8, not Latin-1. */
  private wide = false;
  /** The number of lines ended with nl(). */
  lines = 0;

  /** `headroom`: bytes kept free in front of the text, where concat can put the texts before it instead of copying this one. */
  constructor(initialBytes = 1 << 16, headroom = 0) {
    this.buf = takeBuffer(headroom + initialBytes);
    this.start = this.pos = headroom;
  }

  /** The bytes written so far. */
  get byteLength(): number {
    return this.pos - this.start;
  }

  private grow(need: number): void {
    let size = this.buf.length * 2;
    while (size < this.pos + need) size *= 2;
    const b = takeBuffer(size);
    b.set(this.buf.subarray(0, this.pos));
    giveBuffer(this.buf);
    this.buf = b;
  }

  /** Appends a string. */
  str(s: string): void {
    const n = s.length;
    if (this.pos + n > this.buf.length) this.grow(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > MAX_ASCII) {
        this.pos = p;
        this.strUtf8(s.slice(i));
        return;
      }
      b[p++] = c;
    }
    this.pos = p;
  }

  /** Appends ASCII bytes (from asciiBytes). */
  bytes(src: Uint8Array): void {
    const n = src.length;
    if (this.pos + n > this.buf.length) this.grow(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = src[i];
    this.pos = p;
  }

  private strUtf8(s: string): void {
    if (this.pos + s.length * UTF8_MAX_PER_UNIT > this.buf.length) this.grow(s.length * UTF8_MAX_PER_UNIT);
    this.pos += encoder.encodeInto(s, this.buf.subarray(this.pos)).written;
    this.wide = true;
  }

  /** Appends a non-negative integer in decimal. */
  int(v: number): void {
    if (v < 10) {
      if (this.pos + 1 > this.buf.length) this.grow(1);
      this.buf[this.pos++] = 0x30 + v;
      return;
    }
    this.str(String(v));
  }

  /** Ends a line. */
  nl(): void {
    if (this.pos + 1 > this.buf.length) this.grow(1);
    this.buf[this.pos++] = NEWLINE;
    this.lines++;
  }

  /** Appends a whole line. */
  line(s: string): void {
    this.str(s);
    this.nl();
  }

  /** Appends another writer's bytes (its lines count as this one's). */
  append(w: TextWriter): void {
    const n = w.byteLength;
    if (this.pos + n > this.buf.length) this.grow(n);
    this.buf.set(w.buf.subarray(w.start, w.pos), this.pos);
    this.pos += n;
    this.lines += w.lines;
    if (w.wide) this.wide = true;
  }

  /** The text written so far. */
  text(): string {
    const b = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.start, this.pos - this.start);
    return this.wide ? b.toString("utf8") : b.toString("latin1");
  }

  /** Gives the buffer back to the pool: the writer is not used again. */
  release(): void {
    if (this.buf.length > 0) giveBuffer(this.buf);
    this.buf = EMPTY;
    this.start = this.pos = 0;
  }

  /** The text of several writers, one after the other, decoded once; the writers are released. */
  static concat(parts: readonly TextWriter[]): string {
    // The largest text stays where it is when the texts before it fit in its headroom.
    let big = 0;
    for (let i = 1; i < parts.length; i++) if (parts[i].byteLength > parts[big].byteLength) big = i;
    let before = 0;
    for (let i = 0; i < big; i++) before += parts[i].byteLength;
    let all: TextWriter;
    let rest: readonly TextWriter[];
    if (parts.length > 0 && parts[big].start >= before) {
      all = parts[big];
      let at = all.start - before;
      all.start = at;
      for (const w of parts.slice(0, big)) {
        all.buf.set(w.buf.subarray(w.start, w.pos), at);
        at += w.byteLength;
        all.lines += w.lines;
        if (w.wide) all.wide = true;
        w.release();
      }
      rest = parts.slice(big + 1);
    } else {
      let total = 0;
      for (const w of parts) total += w.byteLength;
      all = new TextWriter(Math.max(1, total));
      rest = parts;
    }
    for (const w of rest) {
      all.append(w);
      w.release();
    }
    const text = all.text();
    all.release();
    return text;
  }
}

// Streaming pcapng writer (IETF draft-ietf-opsawg-pcapng): one Section Header Block, an Interface
// Description Block per emulated interface, Enhanced Packet Blocks with optional comments, and
// Decryption Secrets Blocks. Little-endian, nanosecond timestamps (if_tsresol = 9).
import {
  BLOCK_TOTAL_LENGTH,
  BLOCK_TRAILER_LEN,
  BT_DSB,
  BT_EPB,
  BT_IDB,
  BT_SHB,
  BYTE_ORDER_MAGIC,
  DEFAULT_SNAPLEN,
  EPB_CAPTURED_LEN,
  EPB_DATA,
  EPB_INTERFACE_ID,
  EPB_ORIGINAL_LEN,
  EPB_OVERHEAD,
  EPB_TS_HIGH,
  EPB_TS_LOW,
  IF_DESCRIPTION,
  IF_HARDWARE,
  IF_NAME,
  IF_OS,
  IF_TSRESOL,
  LE,
  LINKTYPE_ETHERNET,
  OPT_COMMENT,
  OPTION_HEADER_LEN,
  OPTION_MAX_LEN,
  pad4,
  SECRETS_TYPE,
  SHB_HARDWARE,
  SHB_OS,
  SHB_USERAPPL,
} from "./layouts.js";
import { type CapturableFrame, type CaptureTarget, StagedWriter, type WriterOptions } from "./sink.js";

export interface PcapngWriterOptions extends WriterOptions {
  /** shb_hardware, shb_os, shb_userappl (default "kubewire") and comments of the section. */
  hardware?: string;
  os?: string;
  userappl?: string;
  comment?: string;
}

export interface InterfaceOptions {
  /** if_name, e.g. "node-1/cni0". */
  name: string;
  /** if_description, e.g. "bridge cni0 on node-1 (10.244.1.1/24)". */
  description?: string;
  /** Default LINKTYPE_ETHERNET. */
  linktype?: number;
  /** Longer frames are cut to this many bytes (the EPB keeps the original length); default 262144. */
  snaplen?: number;
  /** if_os and if_hardware, when worth telling. */
  os?: string;
  hardware?: string;
}

export interface PcapngInterface {
  readonly id: number;
  readonly name: string;
  readonly description?: string;
  readonly linktype: number;
  readonly snaplen: number;
}

/** if_tsresol: 10^-9 s, so a timestamp is a count of virtual nanoseconds. */
const TSRESOL_NS = 9;
const TWO_32 = 0x1_0000_0000;
/** A UTF-8 character is at most 3 bytes per UTF-16 code unit: below this no length check is needed. */
const SAFE_COMMENT_UNITS = Math.floor(OPTION_MAX_LEN / 3);

type Option = readonly [code: number, value: string | Uint8Array];

/** Encodes an options list (§3.5) ending in opt_endofopt; empty when there are no options. */
function encodeOptions(options: readonly Option[]): Buffer {
  if (options.length === 0) return Buffer.alloc(0);
  const values = options.map(([code, v]) => [code, typeof v === "string" ? Buffer.from(v, "utf8") : v] as const);
  let len = OPTION_HEADER_LEN; // opt_endofopt
  for (const [, v] of values) {
    if (v.length > OPTION_MAX_LEN) throw new RangeError(`pcapng option longer than ${OPTION_MAX_LEN} bytes`);
    len += OPTION_HEADER_LEN + pad4(v.length);
  }
  const b = Buffer.alloc(len); // zero-filled: padding and opt_endofopt
  let p = 0;
  for (const [code, v] of values) {
    b.writeUInt16LE(code, p);
    b.writeUInt16LE(v.length, p + 2);
    b.set(v, p + OPTION_HEADER_LEN);
    p += OPTION_HEADER_LEN + pad4(v.length);
  }
  return b;
}

/** Assembles a cold block: its fixed part (already encoded), a body, options, the trailing length. */
function assembleBlock(fixed: Buffer, body: Uint8Array, options: Buffer): Buffer {
  const total = fixed.length + pad4(body.length) + options.length + BLOCK_TRAILER_LEN;
  const b = Buffer.alloc(total);
  fixed.copy(b, 0);
  b.set(body, fixed.length);
  options.copy(b, fixed.length + pad4(body.length));
  b.writeUInt32LE(total, BLOCK_TOTAL_LENGTH);
  b.writeUInt32LE(total, total - BLOCK_TRAILER_LEN);
  return b;
}

const opt = (code: number, v: string | Uint8Array | undefined): Option[] => (v === undefined ? [] : [[code, v]]);

export function encodeSectionHeader(o: PcapngWriterOptions = {}): Buffer {
  const fixed = Buffer.alloc(LE.shb.span);
  LE.shb.encode(
    { blockType: BT_SHB, blockTotalLength: 0, byteOrderMagic: BYTE_ORDER_MAGIC, versionMajor: 1, versionMinor: 0, sectionLength: -1 },
    fixed,
    0,
  );
  const options = encodeOptions([
    ...opt(OPT_COMMENT, o.comment),
    ...opt(SHB_HARDWARE, o.hardware),
    ...opt(SHB_OS, o.os),
    ...opt(SHB_USERAPPL, o.userappl ?? "kubewire"),
  ]);
  return assembleBlock(fixed, new Uint8Array(0), options);
}

export function encodeInterfaceDescription(i: InterfaceOptions): Buffer {
  const fixed = Buffer.alloc(LE.idb.span);
  LE.idb.encode(
    { blockType: BT_IDB, blockTotalLength: 0, linkType: i.linktype ?? LINKTYPE_ETHERNET, reserved: 0, snapLen: i.snaplen ?? DEFAULT_SNAPLEN },
    fixed,
    0,
  );
  const options = encodeOptions([
    [IF_NAME, i.name],
    ...opt(IF_DESCRIPTION, i.description),
    [IF_TSRESOL, Uint8Array.of(TSRESOL_NS)],
    ...opt(IF_OS, i.os),
    ...opt(IF_HARDWARE, i.hardware),
  ]);
  return assembleBlock(fixed, new Uint8Array(0), options);
}

export function encodeDecryptionSecrets(secrets: string | Uint8Array, secretsType: number, comment?: string): Buffer {
  const data = typeof secrets === "string" ? Buffer.from(secrets, "utf8") : secrets;
  const fixed = Buffer.alloc(LE.dsb.span);
  LE.dsb.encode({ blockType: BT_DSB, blockTotalLength: 0, secretsType, secretsLength: data.length }, fixed, 0);
  return assembleBlock(fixed, data, encodeOptions(opt(OPT_COMMENT, comment)));
}

/** Cuts a comment to what an option can hold (65535 bytes of UTF-8), on a character boundary. */
function fitComment(c: string): string {
  while (Buffer.byteLength(c, "utf8") > OPTION_MAX_LEN) c = c.slice(0, Math.floor(c.length * 0.9));
  return c;
}

export class PcapngWriter extends StagedWriter {
  private readonly ifaces: PcapngInterface[] = [];
  /** Snap lengths by interface id, read per packet. */
  private snaplens: number[] = [];

  constructor(target: CaptureTarget, opts: PcapngWriterOptions = {}) {
    super(target, opts);
    this.stageBlock(encodeSectionHeader(opts));
  }

  get interfaces(): readonly PcapngInterface[] {
    return this.ifaces;
  }

  /** Writes an Interface Description Block and returns the interface id for writePacket(). */
  addInterface(i: InterfaceOptions): number {
    const id = this.ifaces.length;
    const snaplen = i.snaplen ?? DEFAULT_SNAPLEN;
    this.stageBlock(encodeInterfaceDescription({ ...i, snaplen }));
    this.ifaces.push({ id, name: i.name, description: i.description, linktype: i.linktype ?? LINKTYPE_ETHERNET, snaplen });
    this.snaplens.push(snaplen === 0 ? 0x7fffffff : snaplen);
    return id;
  }

  /**
   * Writes data[start, end) as an Enhanced Packet Block on interface `interfaceId` at virtual
   * time `timestampNs`, with one opt_comment per comment. `origLen` is the length on the wire when
   * the caller already cut the frame (default: end - start).
   */
  writePacket(
    interfaceId: number,
    timestampNs: number | bigint,
    data: Uint8Array,
    start = 0,
    end = data.length,
    comment?: string | readonly string[] | null,
    origLen = end - start,
  ): void {
    if (!(interfaceId >= 0 && interfaceId < this.snaplens.length))
      throw new RangeError(`pcapng: interface ${interfaceId} was not added (addInterface() first)`);
    let capLen = end - start;
    if (capLen > this.snaplens[interfaceId]) capLen = this.snaplens[interfaceId];
    const padded = (capLen + 3) & ~3;
    let total = EPB_OVERHEAD + padded;
    if (comment != null) total += this.commentsBound(comment);
    if (this.pos + total > this.buf.length) this.reserve(total);
    const buf = this.buf;
    const v = this.view;
    const p = this.pos;
    let hi: number;
    let lo: number;
    if (typeof timestampNs === "number") {
      lo = timestampNs >>> 0;
      hi = (timestampNs - lo) / TWO_32;
    } else {
      lo = Number(timestampNs & 0xffffffffn);
      hi = Number(timestampNs >> 32n);
    }
    v.setUint32(p, BT_EPB, true);
    v.setUint32(p + EPB_INTERFACE_ID, interfaceId, true);
    v.setUint32(p + EPB_TS_HIGH, hi, true);
    v.setUint32(p + EPB_TS_LOW, lo, true);
    v.setUint32(p + EPB_CAPTURED_LEN, capLen, true);
    v.setUint32(p + EPB_ORIGINAL_LEN, origLen, true);
    const d = p + EPB_DATA;
    if (start === 0 && capLen === data.length) buf.set(data, d);
    else buf.set(data.subarray(start, start + capLen), d);
    let q = d + capLen;
    while (q < d + padded) buf[q++] = 0;
    if (comment != null) q = this.writeComments(q, comment);
    total = q + BLOCK_TRAILER_LEN - p;
    v.setUint32(p + BLOCK_TOTAL_LENGTH, total, true);
    v.setUint32(q, total, true);
    this.pos = q + BLOCK_TRAILER_LEN;
  }

  /** Writes a frame held in a packet buffer: buf[head, tail) at its tstamp, its notes as comments. */
  writeFrame(interfaceId: number, frame: CapturableFrame): void {
    this.writePacket(interfaceId, frame.tstamp, frame.buf, frame.head, frame.tail, frame.notes);
  }

  /** Writes a Decryption Secrets Block (default: a TLS key log, as SSLKEYLOGFILE lines). */
  writeDecryptionSecrets(secrets: string | Uint8Array, secretsType: number = SECRETS_TYPE.TLS_KEY_LOG): void {
    this.stageBlock(encodeDecryptionSecrets(secrets, secretsType));
  }

  /** An upper bound on the bytes the comment options take, opt_endofopt included. */
  private commentsBound(comment: string | readonly string[]): number {
    const one = (c: string) =>
      OPTION_HEADER_LEN + (c.length <= SAFE_COMMENT_UNITS ? pad4(c.length * 3) : OPTION_MAX_LEN + 1);
    let n = OPTION_HEADER_LEN;
    if (typeof comment === "string") return n + one(comment);
    for (const c of comment) n += one(c);
    return n;
  }

  /** Encodes opt_comment options (and opt_endofopt) at q; returns the offset after them. */
  private writeComments(q: number, comment: string | readonly string[]): number {
    if (typeof comment === "string") q = this.writeComment(q, comment);
    else {
      if (comment.length === 0) return q;
      for (const c of comment) q = this.writeComment(q, c);
    }
    this.view.setUint32(q, 0, true); // opt_endofopt
    return q + OPTION_HEADER_LEN;
  }

  private writeComment(q: number, c: string): number {
    if (c.length > SAFE_COMMENT_UNITS) c = fitComment(c);
    const n = this.buf.write(c, q + OPTION_HEADER_LEN, "utf8");
    this.view.setUint16(q, OPT_COMMENT, true);
    this.view.setUint16(q + 2, n, true);
    let e = q + OPTION_HEADER_LEN + n;
    while (e & 3) this.buf[e++] = 0;
    return e;
  }
}

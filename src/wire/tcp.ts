// Transmission Control Protocol header (RFC 9293 §3.1) and the options a Linux stack sends:
// MSS, window scale (RFC 7323 §2), SACK-permitted and SACK (RFC 2018), timestamps (RFC 7323 §3).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |          Source Port          |       Destination Port        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                        Sequence Number                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Acknowledgment Number                      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Data |       |C|E|U|A|P|R|S|F|                               |
//   | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//   |       |       |R|E|G|K|H|T|N|N|                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           Checksum            |         Urgent Pointer        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                           [Options]                           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                             Data                              :
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

import { csumReplace16, csumReplace32, onesSum, pseudoHeaderSum, readU16, readU32, writeU16, writeU32 } from "./checksum.js";
import { fail, ok, type ParseResult, truncated, type WireError } from "./errors.js";

export const TCP_HEADER_LEN = 20;
/** Largest header: data offset 15 (60 octets), i.e. 40 octets of options. */
export const TCP_MAX_HEADER_LEN = 60;
/** IPv4 protocol number of TCP. */
export const TCP_PROTOCOL = 6;

const SRC_PORT = 0;
const DST_PORT = 2;
const SEQ_NUM = 4;
const ACK_NUM = 8;
const DATA_OFF = 12;
const FLAGS = 13;
const WINDOW = 14;
const CHECKSUM = 16;
const URGENT = 18;
const OPTIONS = 20;

/** Control bits (byte 13). */
export const TcpFlags = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** Option kinds (IANA "TCP Option Kind Numbers"). */
export const TcpOption = {
  EOL: 0,
  NOP: 1,
  MSS: 2,
  WSCALE: 3,
  SACK_PERMITTED: 4,
  SACK: 5,
  TIMESTAMP: 8,
} as const;
export type TcpOptionKind = 2 | 3 | 4 | 5 | 8;

/** Source port. */
export const srcPort = (b: Uint8Array, o: number): number => readU16(b, o + SRC_PORT);
/** Destination port. */
export const dstPort = (b: Uint8Array, o: number): number => readU16(b, o + DST_PORT);
/** Sequence number (uint32). */
export const seqNumber = (b: Uint8Array, o: number): number => readU32(b, o + SEQ_NUM);
/** Acknowledgment number (uint32). */
export const ackNumber = (b: Uint8Array, o: number): number => readU32(b, o + ACK_NUM);
/** Header length in octets (data offset × 4). */
export const headerLength = (b: Uint8Array, o: number): number => (b[o + DATA_OFF] >>> 4) << 2;
/** Control bits, a TcpFlags mask. */
export const flags = (b: Uint8Array, o: number): number => b[o + FLAGS];
/** Receive window in octets, before window scaling. */
export const window = (b: Uint8Array, o: number): number => readU16(b, o + WINDOW);
/** Checksum field. */
export const checksum = (b: Uint8Array, o: number): number => readU16(b, o + CHECKSUM);
/** Urgent pointer (offset from the sequence number, meaningful with URG). */
export const urgentPointer = (b: Uint8Array, o: number): number => readU16(b, o + URGENT);

/** Writes the source port; the checksum is left as is (see rewriteSrcPort for NAT). */
export const setSrcPort = (b: Uint8Array, o: number, port: number): void => writeU16(b, o + SRC_PORT, port);
/** Writes the destination port; the checksum is left as is (see rewriteDstPort for NAT). */
export const setDstPort = (b: Uint8Array, o: number, port: number): void => writeU16(b, o + DST_PORT, port);
/** Writes the sequence number. */
export const setSeqNumber = (b: Uint8Array, o: number, seq: number): void => writeU32(b, o + SEQ_NUM, seq);
/** Writes the acknowledgment number. */
export const setAckNumber = (b: Uint8Array, o: number, ack: number): void => writeU32(b, o + ACK_NUM, ack);
/** Writes the data offset from a header length in octets (a multiple of 4); reserved bits zeroed. */
export function setHeaderLength(b: Uint8Array, o: number, len: number): void {
  b[o + DATA_OFF] = (len >>> 2) << 4;
}
/** Writes the control bits. */
export function setFlags(b: Uint8Array, o: number, f: number): void {
  b[o + FLAGS] = f;
}
/** Writes the window. */
export const setWindow = (b: Uint8Array, o: number, w: number): void => writeU16(b, o + WINDOW, w);
/** Writes the checksum field. */
export const setChecksum = (b: Uint8Array, o: number, c: number): void => writeU16(b, o + CHECKSUM, c);
/** Writes the urgent pointer. */
export const setUrgentPointer = (b: Uint8Array, o: number, u: number): void => writeU16(b, o + URGENT, u);

const malformed = (reason: string): WireError => ({ kind: "malformed", layer: "tcp", reason });

/**
 * Validates the fixed header and the data offset against b[o, end) (end = end of the IPv4
 * payload). Options are validated when walked (parse, findOption), as Linux does lazily.
 */
export function check(b: Uint8Array, o: number, end: number): WireError | undefined {
  if (end - o < TCP_HEADER_LEN) return truncated("tcp", TCP_HEADER_LEN, end - o);
  const hl = headerLength(b, o);
  if (hl < TCP_HEADER_LEN) return { kind: "bad-length", layer: "tcp", field: "data offset", value: hl >>> 2 };
  if (hl > end - o) return truncated("tcp", hl, end - o);
  return undefined;
}

/** Computes and writes the checksum over the pseudo-header and the segment b[o, o+len). */
export function fillChecksum(b: Uint8Array, o: number, saddr: number, daddr: number, len: number): void {
  writeU16(b, o + CHECKSUM, 0);
  writeU16(b, o + CHECKSUM, ~onesSum(b, o, o + len, pseudoHeaderSum(saddr, daddr, TCP_PROTOCOL, len)) & 0xffff);
}

/** True when the checksum verifies over the pseudo-header and the segment b[o, o+len). */
export const verifyChecksum = (b: Uint8Array, o: number, saddr: number, daddr: number, len: number): boolean =>
  onesSum(b, o, o + len, pseudoHeaderSum(saddr, daddr, TCP_PROTOCOL, len)) === 0xffff;

/** Rewrites the source port with an incremental checksum update (RFC 1624; tcp_manip_pkt). */
export function rewriteSrcPort(b: Uint8Array, o: number, port: number): void {
  setChecksum(b, o, csumReplace16(checksum(b, o), srcPort(b, o), port));
  setSrcPort(b, o, port);
}

/** Rewrites the destination port with an incremental checksum update. */
export function rewriteDstPort(b: Uint8Array, o: number, port: number): void {
  setChecksum(b, o, csumReplace16(checksum(b, o), dstPort(b, o), port));
  setDstPort(b, o, port);
}

/**
 * Updates the checksum for an IPv4 address in the pseudo-header changed from `from` to `to`
 * (the caller rewrites the address in the IPv4 header).
 */
export function rewritePseudoAddr(b: Uint8Array, o: number, from: number, to: number): void {
  setChecksum(b, o, csumReplace32(checksum(b, o), from, to));
}

/**
 * Offset of the first option of `kind` in the header at b[o] (after check()), or -1 when absent
 * or when an option before it is malformed. Allocation-free, for hot-path use (MSS clamping).
 */
export function findOption(b: Uint8Array, o: number, kind: number): number {
  const end = o + headerLength(b, o);
  let p = o + OPTIONS;
  while (p < end) {
    const k = b[p];
    if (k === TcpOption.EOL) return -1;
    if (k === TcpOption.NOP) {
      p++;
      continue;
    }
    if (p + 1 >= end) return -1;
    const len = b[p + 1];
    if (len < 2 || p + len > end) return -1;
    if (k === kind) return p;
    p += len;
  }
  return -1;
}

export interface TcpSackBlock {
  left: number;
  right: number;
}

export interface TcpOptions {
  /** Maximum segment size (kind 2). */
  mss?: number;
  /** Window scale shift count (kind 3). */
  wscale?: number;
  /** SACK permitted (kind 4). */
  sackPermitted?: boolean;
  /** Timestamps TSval and TSecr (kind 8). */
  timestamp?: { val: number; ecr: number };
  /** SACK blocks (kind 5), up to 4. */
  sack?: TcpSackBlock[];
}

export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** A TcpFlags mask. */
  flags: number;
  window: number;
  urgent: number;
  options: TcpOptions;
  /**
   * Order of the options on the wire. Absent means Linux's order (tcp_options_write): MSS,
   * SACK-permitted, timestamps, window scale, SACK. parse() sets it only when the wire order differs.
   */
  optionOrder?: readonly TcpOptionKind[];
}

/** Linux's option order (net/ipv4/tcp_output.c:tcp_options_write). */
export const LINUX_OPTION_ORDER: readonly TcpOptionKind[] = [2, 4, 8, 3, 5];

function optionLen(kind: TcpOptionKind, opts: TcpOptions): number {
  switch (kind) {
    case 2:
      return opts.mss === undefined ? 0 : 4;
    case 3:
      return opts.wscale === undefined ? 0 : 3;
    case 4:
      return opts.sackPermitted ? 2 : 0;
    case 5:
      return opts.sack?.length ? 2 + 8 * opts.sack.length : 0;
    case 8:
      return opts.timestamp ? 10 : 0;
  }
}

/** The options in emission order: the given order, then any not listed in Linux's order. */
function emissionOrder(repr: TcpRepr): TcpOptionKind[] {
  const order = repr.optionOrder ? [...repr.optionOrder] : [];
  for (const k of LINUX_OPTION_ORDER) if (!order.includes(k)) order.push(k);
  return order.filter((k, i) => optionLen(k, repr.options) > 0 && order.indexOf(k) === i);
}

/**
 * Lays the options out as Linux does: each option is preceded by NOPs so that it ends on a 32-bit
 * boundary, except SACK-permitted directly before timestamps, which shares their word
 * (`04 02 08 0a`). Writes into b at p when `b` is given; returns the options length in octets.
 */
function layoutOptions(repr: TcpRepr, b: Uint8Array | null, p: number): number {
  const opts = repr.options;
  const order = emissionOrder(repr);
  let n = 0;
  for (let i = 0; i < order.length; i++) {
    const kind = order[i];
    const glued = kind === 4 && order[i + 1] === 8;
    const len = optionLen(kind, opts);
    const pad = (4 - ((n + len + (glued ? 10 : 0)) & 3)) & 3;
    if (b) b.fill(TcpOption.NOP, p + n, p + n + pad);
    n += pad;
    if (b) {
      const q = p + n;
      b[q] = kind;
      b[q + 1] = len;
      if (kind === 2) writeU16(b, q + 2, opts.mss!);
      else if (kind === 3) b[q + 2] = opts.wscale!;
      else if (kind === 8) {
        writeU32(b, q + 2, opts.timestamp!.val);
        writeU32(b, q + 6, opts.timestamp!.ecr);
      } else if (kind === 5) {
        opts.sack!.forEach((s, j) => {
          writeU32(b, q + 2 + 8 * j, s.left);
          writeU32(b, q + 6 + 8 * j, s.right);
        });
      }
    }
    n += len;
  }
  return n;
}

/** Header length in octets for this repr (20 plus the options, a multiple of 4). */
export const headerLen = (repr: TcpRepr): number => TCP_HEADER_LEN + layoutOptions(repr, null, 0);

/**
 * Writes the header and options at b[o] with checksum 0 (call fillChecksum once the data is in
 * place). Returns the header length. More than 40 octets of options is a programmer error.
 */
export function emit(repr: TcpRepr, b: Uint8Array, o: number): number {
  const optLen = layoutOptions(repr, null, 0);
  if (optLen > TCP_MAX_HEADER_LEN - TCP_HEADER_LEN)
    throw new RangeError(`tcp.emit: ${optLen} octets of options (at most 40 fit)`);
  setSrcPort(b, o, repr.srcPort);
  setDstPort(b, o, repr.dstPort);
  setSeqNumber(b, o, repr.seq);
  setAckNumber(b, o, repr.ack);
  setHeaderLength(b, o, TCP_HEADER_LEN + optLen);
  setFlags(b, o, repr.flags);
  setWindow(b, o, repr.window);
  setChecksum(b, o, 0);
  setUrgentPointer(b, o, repr.urgent);
  layoutOptions(repr, b, o + OPTIONS);
  return TCP_HEADER_LEN + optLen;
}

/**
 * Decodes the options in b[p, end). A length byte missing, below 2 or running past the header is
 * malformed; a known option with the wrong length is skipped, as tcp_parse_options does.
 * Unknown options are skipped.
 */
function parseOptions(b: Uint8Array, p: number, end: number, opts: TcpOptions, order: TcpOptionKind[]): WireError | undefined {
  while (p < end) {
    const kind = b[p];
    if (kind === TcpOption.EOL) break;
    if (kind === TcpOption.NOP) {
      p++;
      continue;
    }
    if (p + 1 >= end) return malformed(`option ${kind} has no length`);
    const len = b[p + 1];
    if (len < 2) return malformed(`option ${kind} length ${len} < 2`);
    if (p + len > end) return malformed(`option ${kind} length ${len} runs past the header`);
    let known = true;
    if (kind === 2 && len === 4) opts.mss = readU16(b, p + 2);
    else if (kind === 3 && len === 3) opts.wscale = b[p + 2];
    else if (kind === 4 && len === 2) opts.sackPermitted = true;
    else if (kind === 8 && len === 10) opts.timestamp = { val: readU32(b, p + 2), ecr: readU32(b, p + 6) };
    else if (kind === 5 && len >= 10 && (len - 2) % 8 === 0) {
      opts.sack = [];
      for (let q = p + 2; q < p + len; q += 8) opts.sack.push({ left: readU32(b, q), right: readU32(b, q + 4) });
    } else known = false;
    if (known && !order.includes(kind as TcpOptionKind)) order.push(kind as TcpOptionKind);
    p += len;
  }
  return undefined;
}

/** Decodes the header at b[o, end) (end = end of the IPv4 payload), options included. */
export function parse(b: Uint8Array, o: number, end: number): ParseResult<TcpRepr> {
  const e = check(b, o, end);
  if (e) return fail(e);
  const options: TcpOptions = {};
  const order: TcpOptionKind[] = [];
  const oe = parseOptions(b, o + OPTIONS, o + headerLength(b, o), options, order);
  if (oe) return fail(oe);
  const repr: TcpRepr = {
    srcPort: srcPort(b, o),
    dstPort: dstPort(b, o),
    seq: seqNumber(b, o),
    ack: ackNumber(b, o),
    flags: flags(b, o),
    window: window(b, o),
    urgent: urgentPointer(b, o),
    options,
  };
  const linux = LINUX_OPTION_ORDER.filter((k) => order.includes(k));
  if (order.some((k, i) => k !== linux[i])) repr.optionOrder = order;
  return ok(repr);
}

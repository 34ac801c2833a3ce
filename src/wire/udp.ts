// User Datagram Protocol (RFC 768), with the IPv4 pseudo-header checksum and the incremental
// updates NAT makes (mirrors net/netfilter/nf_nat_proto.c:udp_manip_pkt).
//
//   0      7 8     15 16    23 24    31
//  +--------+--------+--------+--------+
//  |     Source      |   Destination   |
//  |      Port       |      Port       |
//  +--------+--------+--------+--------+
//  |                 |                 |
//  |     Length      |    Checksum     |
//  +--------+--------+--------+--------+
//  |
//  |          data octets ...
//  +---------------- ...

import { csumReplace16, csumReplace32, onesSum, pseudoHeaderSum } from "./checksum.js";
import { fail, ok, type ParseResult, truncated, type WireError } from "./errors.js";

export const UDP_HEADER_LEN = 8;
/** IPv4 protocol number of UDP. */
export const UDP_PROTOCOL = 17;

const SRC_PORT = 0;
const DST_PORT = 2;
const LENGTH = 4;
const CHECKSUM = 6;

/** Source port. */
export const srcPort = (b: Uint8Array, o: number): number => (b[o + SRC_PORT] << 8) | b[o + SRC_PORT + 1];
/** Destination port. */
export const dstPort = (b: Uint8Array, o: number): number => (b[o + DST_PORT] << 8) | b[o + DST_PORT + 1];
/** Length of header plus data, in octets. */
export const length = (b: Uint8Array, o: number): number => (b[o + LENGTH] << 8) | b[o + LENGTH + 1];
/** Checksum field as transmitted (0 = no checksum). */
export const checksum = (b: Uint8Array, o: number): number => (b[o + CHECKSUM] << 8) | b[o + CHECKSUM + 1];

/** Writes the source port; the checksum is left as is (see rewriteSrcPort for NAT). */
export function setSrcPort(b: Uint8Array, o: number, port: number): void {
  b[o + SRC_PORT] = port >>> 8;
  b[o + SRC_PORT + 1] = port & 0xff;
}
/** Writes the destination port; the checksum is left as is (see rewriteDstPort for NAT). */
export function setDstPort(b: Uint8Array, o: number, port: number): void {
  b[o + DST_PORT] = port >>> 8;
  b[o + DST_PORT + 1] = port & 0xff;
}
/** Writes the length field (header plus data, in octets). */
export function setLength(b: Uint8Array, o: number, len: number): void {
  b[o + LENGTH] = len >>> 8;
  b[o + LENGTH + 1] = len & 0xff;
}
/** Writes the checksum field. */
export function setChecksum(b: Uint8Array, o: number, csum: number): void {
  b[o + CHECKSUM] = csum >>> 8;
  b[o + CHECKSUM + 1] = csum & 0xff;
}

/**
 * Validates lengths once for untrusted input: the header fits and the length field is possible
 * and within b[o, end). Afterwards accessors may trust the offsets.
 */
export function check(b: Uint8Array, o: number, end: number): WireError | undefined {
  if (end - o < UDP_HEADER_LEN) return truncated("udp", UDP_HEADER_LEN, end - o);
  const len = length(b, o);
  if (len < UDP_HEADER_LEN) return { kind: "bad-length", layer: "udp", field: "length", value: len };
  if (len > end - o) return truncated("udp", len, end - o);
  return undefined;
}

/**
 * Computes and writes the checksum over the pseudo-header and b[o, o+len). A result of 0 is sent
 * as 0xffff, since 0 means "no checksum" (RFC 768).
 */
export function fillChecksum(b: Uint8Array, o: number, saddr: number, daddr: number, len: number): void {
  b[o + CHECKSUM] = 0;
  b[o + CHECKSUM + 1] = 0;
  const csum = ~onesSum(b, o, o + len, pseudoHeaderSum(saddr, daddr, UDP_PROTOCOL, len)) & 0xffff;
  setChecksum(b, o, csum === 0 ? 0xffff : csum);
}

/** True when the checksum is 0 ("none") or verifies over the pseudo-header and b[o, o+len). */
export function verifyChecksum(b: Uint8Array, o: number, saddr: number, daddr: number, len: number): boolean {
  if (checksum(b, o) === 0) return true;
  return onesSum(b, o, o + len, pseudoHeaderSum(saddr, daddr, UDP_PROTOCOL, len)) === 0xffff;
}

/** Linux: a checksum that comes out 0 after an update is sent as 0xffff (CSUM_MANGLED_0). */
const mangled0 = (csum: number): number => (csum === 0 ? 0xffff : csum);

/**
 * Rewrites the source port and updates the checksum incrementally (RFC 1624). A checksum of 0
 * ("none") stays 0, as udp_manip_pkt does.
 */
export function rewriteSrcPort(b: Uint8Array, o: number, port: number): void {
  const csum = checksum(b, o);
  if (csum !== 0) setChecksum(b, o, mangled0(csumReplace16(csum, srcPort(b, o), port)));
  setSrcPort(b, o, port);
}

/** Rewrites the destination port with an incremental checksum update; 0 ("none") stays 0. */
export function rewriteDstPort(b: Uint8Array, o: number, port: number): void {
  const csum = checksum(b, o);
  if (csum !== 0) setChecksum(b, o, mangled0(csumReplace16(csum, dstPort(b, o), port)));
  setDstPort(b, o, port);
}

/**
 * Updates the checksum for an IPv4 address in the pseudo-header changed from `from` to `to` (the
 * caller rewrites the address in the IPv4 header); 0 ("none") stays 0.
 */
export function rewritePseudoAddr(b: Uint8Array, o: number, from: number, to: number): void {
  const csum = checksum(b, o);
  if (csum !== 0) setChecksum(b, o, mangled0(csumReplace32(csum, from, to)));
}

/** A UDP header, decoded. The checksum is computed on emit by fillChecksum, not carried here. */
export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  /** Octets of data after the header. */
  payloadLen: number;
}

/** Decodes the header at b[o, end) after check(). */
export function parse(b: Uint8Array, o: number, end: number): ParseResult<UdpRepr> {
  const e = check(b, o, end);
  if (e) return fail(e);
  return ok({ srcPort: srcPort(b, o), dstPort: dstPort(b, o), payloadLen: length(b, o) - UDP_HEADER_LEN });
}

/** Header length in octets (always 8). */
export const headerLen = (_repr?: UdpRepr): number => UDP_HEADER_LEN;

/** Writes the header at b[o] with checksum 0 (call fillChecksum once the data is in place). */
export function emit(repr: UdpRepr, b: Uint8Array, o: number): number {
  setSrcPort(b, o, repr.srcPort);
  setDstPort(b, o, repr.dstPort);
  setLength(b, o, UDP_HEADER_LEN + repr.payloadLen);
  setChecksum(b, o, 0);
  return UDP_HEADER_LEN;
}

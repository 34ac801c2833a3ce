// Internet Protocol version 4 header (RFC 791 §3.1; DSCP/ECN per RFC 2474 and RFC 3168).
// Hot-path helpers update the header checksum incrementally (RFC 1624) as Linux does.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |Version|  IHL  |   DSCP    |ECN|          Total Length         |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |         Identification        |Flags|      Fragment Offset    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Time to Live |    Protocol   |         Header Checksum       |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                       Source Address                          |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Destination Address                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Options                    |    Padding    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Flags (3 bits): 0, DF (Don't Fragment), MF (More Fragments).

import { type Ipv4Addr, readIpv4, writeIpv4 } from "./addr.js";
import { csumReplace16, csumReplace32, internetChecksum, onesSum } from "./checksum.js";
import { fail, ok, type ParseResult, truncated, type WireError } from "./errors.js";

/** Length of a header without options in octets (IHL 5). */
export const IPV4_HEADER_LEN = 20;
/** Length of the longest header in octets (IHL 15: 40 octets of options). */
export const IPV4_MAX_HEADER_LEN = 60;
/** Largest total length in octets. */
export const IPV4_MAX_TOTAL_LEN = 0xffff;

const VER_IHL = 0;
const DSCP_ECN = 1;
const TOTAL_LEN = 2;
const IDENT = 4;
const FLAGS_FRAG = 6;
const TTL = 8;
const PROTOCOL = 9;
const CHECKSUM = 10;
const SRC_ADDR = 12;
const DST_ADDR = 16;

const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const FRAG_OFFSET_MASK = 0x1fff;

/** IANA protocol numbers kubewire carries. Other values pass through as numbers. */
export const IpProtocol = {
  ICMP: 1,
  TCP: 6,
  UDP: 17,
} as const;
/** An 8-bit protocol number: one of `IpProtocol`, or any other value, carried through unchanged. */
export type IpProtocol = number;

const u16 = (b: Uint8Array, i: number): number => (b[i] << 8) | b[i + 1];
function setU16(b: Uint8Array, i: number, v: number): void {
  b[i] = (v >>> 8) & 0xff;
  b[i + 1] = v & 0xff;
}

/** Version (4 for IPv4). */
export const version = (b: Uint8Array, o: number): number => b[o + VER_IHL] >>> 4;
/** Internet Header Length in 32-bit words (5–15). */
export const ihl = (b: Uint8Array, o: number): number => b[o + VER_IHL] & 0x0f;
/** Header length in octets (IHL × 4); mirrors Linux ip_hdrlen(). */
export const headerLength = (b: Uint8Array, o: number): number => (b[o + VER_IHL] & 0x0f) << 2;
/** Length of the options (and padding) in octets: IHL × 4 − 20. */
export const optionsLen = (b: Uint8Array, o: number): number => ((b[o + VER_IHL] & 0x0f) << 2) - IPV4_HEADER_LEN;
/** Differentiated Services Code Point, 6 bits (RFC 2474). */
export const dscp = (b: Uint8Array, o: number): number => b[o + DSCP_ECN] >>> 2;
/** Explicit Congestion Notification, 2 bits (RFC 3168). */
export const ecn = (b: Uint8Array, o: number): number => b[o + DSCP_ECN] & 0x03;
/** Total length of the datagram (header + payload) in octets. */
export const totalLen = (b: Uint8Array, o: number): number => u16(b, o + TOTAL_LEN);
/** Identification. */
export const ident = (b: Uint8Array, o: number): number => u16(b, o + IDENT);
/** Don't Fragment flag. */
export const dontFrag = (b: Uint8Array, o: number): boolean => (b[o + FLAGS_FRAG] & 0x40) !== 0;
/** More Fragments flag. */
export const moreFrags = (b: Uint8Array, o: number): boolean => (b[o + FLAGS_FRAG] & 0x20) !== 0;
/** Fragment offset as on the wire, in 8-octet units. */
export const fragOffsetUnits = (b: Uint8Array, o: number): number => u16(b, o + FLAGS_FRAG) & FRAG_OFFSET_MASK;
/** Fragment offset in octets (units × 8). */
export const fragOffset = (b: Uint8Array, o: number): number => (u16(b, o + FLAGS_FRAG) & FRAG_OFFSET_MASK) << 3;
/** True for any fragment (MF set or offset non-zero); mirrors Linux ip_is_fragment(). */
export const isFragment = (b: Uint8Array, o: number): boolean => (u16(b, o + FLAGS_FRAG) & (FLAG_MF | FRAG_OFFSET_MASK)) !== 0;
/** Time to Live in hops. */
export const ttl = (b: Uint8Array, o: number): number => b[o + TTL];
/** Protocol of the payload (IpProtocol). */
export const protocol = (b: Uint8Array, o: number): IpProtocol => b[o + PROTOCOL];
/** Header checksum field. */
export const checksum = (b: Uint8Array, o: number): number => u16(b, o + CHECKSUM);
/** Source address. */
export const srcAddr = (b: Uint8Array, o: number): Ipv4Addr => readIpv4(b, o + SRC_ADDR);
/** Destination address. */
export const dstAddr = (b: Uint8Array, o: number): Ipv4Addr => readIpv4(b, o + DST_ADDR);

// Setters write the field only; the header checksum is left for fillChecksum() (or use the
// rewrite*/decrementTtl helpers, which keep it valid).

/** Sets version 4 and the header length in octets (a multiple of 4, 20–60). */
export const setHeaderLength = (b: Uint8Array, o: number, len: number): void => {
  b[o + VER_IHL] = 0x40 | ((len >>> 2) & 0x0f);
};
/** Sets DSCP (6 bits) and ECN (2 bits). */
export const setDscpEcn = (b: Uint8Array, o: number, dscpValue: number, ecnValue: number): void => {
  b[o + DSCP_ECN] = ((dscpValue & 0x3f) << 2) | (ecnValue & 0x03);
};
/** Sets the total length in octets. */
export const setTotalLen = (b: Uint8Array, o: number, len: number): void => setU16(b, o + TOTAL_LEN, len);
/** Sets the identification. */
export const setIdent = (b: Uint8Array, o: number, id: number): void => setU16(b, o + IDENT, id);
/** Sets DF, MF and the fragment offset (in octets, a multiple of 8). */
export const setFrag = (b: Uint8Array, o: number, df: boolean, mf: boolean, offsetOctets: number): void =>
  setU16(b, o + FLAGS_FRAG, (df ? FLAG_DF : 0) | (mf ? FLAG_MF : 0) | ((offsetOctets >>> 3) & FRAG_OFFSET_MASK));
/** Sets the Time to Live. */
export const setTtl = (b: Uint8Array, o: number, hops: number): void => {
  b[o + TTL] = hops & 0xff;
};
/** Sets the protocol number. */
export const setProtocol = (b: Uint8Array, o: number, proto: number): void => {
  b[o + PROTOCOL] = proto & 0xff;
};
/** Sets the header checksum field. */
export const setChecksum = (b: Uint8Array, o: number, csum: number): void => setU16(b, o + CHECKSUM, csum);
/** Sets the source address. */
export const setSrcAddr = (b: Uint8Array, o: number, a: number): void => writeIpv4(b, o + SRC_ADDR, a);
/** Sets the destination address. */
export const setDstAddr = (b: Uint8Array, o: number, a: number): void => writeIpv4(b, o + DST_ADDR, a);

/**
 * Validates the header once for untrusted input (mirrors the checks of Linux ip_rcv_core):
 * at least 20 octets, version 4, IHL ≥ 5, IHL × 4 octets present, total length ≥ IHL × 4 and
 * present. A total length beyond `end` is `truncated` (Linux: PKT_TOO_SMALL); one shorter than the
 * header is `bad-length` (Linux: IP_INHDR). Octets past the total length (Ethernet padding) are
 * allowed. The checksum is separate: verifyChecksum().
 */
export function check(b: Uint8Array, o: number, end: number): WireError | undefined {
  const have = end - o;
  if (have < IPV4_HEADER_LEN) return truncated("ipv4", IPV4_HEADER_LEN, Math.max(have, 0));
  if (version(b, o) !== 4) return { kind: "bad-version", layer: "ipv4", value: version(b, o) };
  const hlen = headerLength(b, o);
  if (hlen < IPV4_HEADER_LEN) return { kind: "bad-length", layer: "ipv4", field: "ihl", value: ihl(b, o) };
  if (have < hlen) return truncated("ipv4", hlen, have);
  const tlen = totalLen(b, o);
  if (tlen < hlen) return { kind: "bad-length", layer: "ipv4", field: "total length", value: tlen };
  if (tlen > have) return truncated("ipv4", tlen, have);
  return undefined;
}

/** True when the header checksum verifies (one's-complement sum over IHL × 4 octets is 0xffff). */
export const verifyChecksum = (b: Uint8Array, o: number): boolean => onesSum(b, o, o + headerLength(b, o)) === 0xffff;

/** Computes the header checksum over IHL × 4 octets and writes it; mirrors Linux ip_send_check(). */
export function fillChecksum(b: Uint8Array, o: number): void {
  b[o + CHECKSUM] = 0;
  b[o + CHECKSUM + 1] = 0;
  setU16(b, o + CHECKSUM, internetChecksum(b, o, o + headerLength(b, o)));
}

/**
 * Decrements the TTL and updates the checksum incrementally; returns the new TTL. Mirrors Linux
 * ip_decrease_ttl(): the TTL/protocol word drops by 0x0100, so the checksum rises by 0x0100 with an
 * end-around carry. The caller checks `ttl > 1` first (ip_forward sends Time Exceeded otherwise);
 * on TTL 0 the TTL wraps to 255 and the checksum is wrong, as in Linux.
 */
export function decrementTtl(b: Uint8Array, o: number): number {
  let check = u16(b, o + CHECKSUM) + 0x0100;
  check = (check + (check >= 0xffff ? 1 : 0)) & 0xffff;
  setU16(b, o + CHECKSUM, check);
  return (b[o + TTL] = (b[o + TTL] - 1) & 0xff);
}

/**
 * Sets the source address and updates the header checksum incrementally (RFC 1624); returns the
 * old address so the caller can fix the L4 checksum's pseudo-header (mirrors Linux
 * nf_nat_ipv4_manip_pkt with csum_replace4).
 */
export function rewriteSrcAddr(b: Uint8Array, o: number, a: number): Ipv4Addr {
  const old = srcAddr(b, o);
  setU16(b, o + CHECKSUM, csumReplace32(checksum(b, o), old, a >>> 0));
  writeIpv4(b, o + SRC_ADDR, a);
  return old;
}

/** As rewriteSrcAddr, for the destination address (DNAT). Returns the old address. */
export function rewriteDstAddr(b: Uint8Array, o: number, a: number): Ipv4Addr {
  const old = dstAddr(b, o);
  setU16(b, o + CHECKSUM, csumReplace32(checksum(b, o), old, a >>> 0));
  writeIpv4(b, o + DST_ADDR, a);
  return old;
}

/** Sets the TTL and updates the checksum incrementally (RFC 1624), e.g. for a TTL-set target. */
export function rewriteTtl(b: Uint8Array, o: number, hops: number): void {
  const oldWord = u16(b, o + TTL);
  b[o + TTL] = hops & 0xff;
  setU16(b, o + CHECKSUM, csumReplace16(checksum(b, o), oldWord, u16(b, o + TTL)));
}

/** Sets DSCP/ECN and updates the checksum incrementally (RFC 1624), as ipv4_change_dsfield does. */
export function rewriteDscpEcn(b: Uint8Array, o: number, dscpValue: number, ecnValue: number): void {
  const oldWord = u16(b, o + VER_IHL);
  setDscpEcn(b, o, dscpValue, ecnValue);
  setU16(b, o + CHECKSUM, csumReplace16(checksum(b, o), oldWord, u16(b, o + VER_IHL)));
}

export interface Ipv4Repr {
  srcAddr: Ipv4Addr;
  dstAddr: Ipv4Addr;
  protocol: IpProtocol;
  /** Time to Live in hops. */
  ttl: number;
  /** Identification. */
  ident: number;
  dontFrag: boolean;
  moreFrags: boolean;
  /** Fragment offset in octets (a multiple of 8). */
  fragOffset: number;
  /** Differentiated Services Code Point, 0–63. */
  dscp: number;
  /** Explicit Congestion Notification, 0–3. */
  ecn: number;
  /** Payload length in octets (total length − header length). */
  payloadLen: number;
  /** Options and padding as on the wire (emit pads to a multiple of 4 with zeros, EOL). */
  options?: Uint8Array;
}

/**
 * Parses and validates a header (check(), and the checksum unless `verifyCsum` is false). The
 * options, when present, are a view into `b` (cold path: this allocates).
 */
export function parse(b: Uint8Array, o: number, end: number, verifyCsum = true): ParseResult<Ipv4Repr> {
  const err = check(b, o, end);
  if (err) return fail(err);
  if (verifyCsum && !verifyChecksum(b, o)) return fail({ kind: "bad-checksum", layer: "ipv4", value: checksum(b, o) });
  const hlen = headerLength(b, o);
  const repr: Ipv4Repr = {
    srcAddr: srcAddr(b, o),
    dstAddr: dstAddr(b, o),
    protocol: protocol(b, o),
    ttl: ttl(b, o),
    ident: ident(b, o),
    dontFrag: dontFrag(b, o),
    moreFrags: moreFrags(b, o),
    fragOffset: fragOffset(b, o),
    dscp: dscp(b, o),
    ecn: ecn(b, o),
    payloadLen: totalLen(b, o) - hlen,
  };
  if (hlen > IPV4_HEADER_LEN) repr.options = b.subarray(o + IPV4_HEADER_LEN, o + hlen);
  return ok(repr);
}

/** Header length in octets that emit() writes: 20 plus the options padded to a multiple of 4. */
export const headerLen = (repr: Ipv4Repr): number =>
  IPV4_HEADER_LEN + (repr.options ? (repr.options.length + 3) & ~3 : 0);

/**
 * Writes the header (options, padding and checksum included) at `o`; returns the number of octets
 * written. The payload is the caller's. Impossible values (options over 40 octets, a fragment
 * offset not a multiple of 8, a total length over 65535) are programmer errors and throw.
 */
export function emit(repr: Ipv4Repr, b: Uint8Array, o: number): number {
  const hlen = headerLen(repr);
  if (hlen > IPV4_MAX_HEADER_LEN) throw new RangeError(`ipv4.emit: ${hlen - IPV4_HEADER_LEN} octets of options (max 40)`);
  if (repr.fragOffset % 8 !== 0 || repr.fragOffset < 0 || repr.fragOffset > FRAG_OFFSET_MASK << 3)
    throw new RangeError(`ipv4.emit: fragment offset ${repr.fragOffset} is not a multiple of 8 in 0–65528`);
  if (hlen + repr.payloadLen > IPV4_MAX_TOTAL_LEN)
    throw new RangeError(`ipv4.emit: total length ${hlen + repr.payloadLen} exceeds 65535`);
  setHeaderLength(b, o, hlen);
  setDscpEcn(b, o, repr.dscp, repr.ecn);
  setTotalLen(b, o, hlen + repr.payloadLen);
  setIdent(b, o, repr.ident);
  setFrag(b, o, repr.dontFrag, repr.moreFrags, repr.fragOffset);
  setTtl(b, o, repr.ttl);
  setProtocol(b, o, repr.protocol);
  setSrcAddr(b, o, repr.srcAddr);
  setDstAddr(b, o, repr.dstAddr);
  if (repr.options) {
    const opts = repr.options;
    for (let i = 0; i < opts.length; i++) b[o + IPV4_HEADER_LEN + i] = opts[i];
    for (let i = IPV4_HEADER_LEN + opts.length; i < hlen; i++) b[o + i] = 0;
  }
  fillChecksum(b, o);
  return hlen;
}

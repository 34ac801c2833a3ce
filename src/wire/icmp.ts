// Internet Control Message Protocol for IPv4 (RFC 792; Fragmentation Needed's next-hop MTU from
// RFC 1191 §4; error quoting limits from RFC 1812 §4.3.2.3 as Linux icmp_send() applies them).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     Type      |     Code      |          Checksum             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Echo:    Identifier          |        Sequence Number        |
//   |  Unreach: unused (0)          |  Next-Hop MTU (code 4) or 0   |
//   |  Time Exceeded: unused (0)                                    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Echo: data …                                                 |
//   |  Errors: Internet Header + first 64 bits of original datagram |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The checksum covers the whole ICMP message (header and data).

import { csumReplace16, internetChecksum, onesSum } from "./checksum.js";
import { fail, ok, type ParseResult, truncated, type WireError } from "./errors.js";
import { IPV4_HEADER_LEN } from "./ipv4.js";

/** Length of the ICMP header (type, code, checksum, the 4-octet rest) in octets. */
export const ICMP_HEADER_LEN = 8;
/**
 * Largest ICMP error datagram Linux sends (RFC 1812 §4.3.2.3: "not exceed 576 bytes"); with a
 * 20-octet IP header and the 8-octet ICMP header that leaves 548 octets of quote.
 */
export const ICMP_ERROR_MAX_DATAGRAM_LEN = 576;

const TYPE = 0;
const CODE = 1;
const CHECKSUM = 2;
const ECHO_IDENT = 4;
const ECHO_SEQ = 6;
const NEXT_HOP_MTU = 6;

/** ICMP message types (RFC 792; IANA "ICMP Type Numbers"). Other values pass through as numbers. */
export const IcmpType = {
  EchoReply: 0,
  DestUnreachable: 3,
  SourceQuench: 4,
  Redirect: 5,
  EchoRequest: 8,
  TimeExceeded: 11,
  ParameterProblem: 12,
} as const;
/** An 8-bit ICMP type: one of `IcmpType`, or any other value, carried through unchanged. */
export type IcmpType = number;

/** Destination Unreachable codes (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1). */
export const UnreachCode = {
  NetUnreachable: 0,
  HostUnreachable: 1,
  ProtocolUnreachable: 2,
  /** What iptables REJECT sends by default (kube-proxy for a Service without endpoints). */
  PortUnreachable: 3,
  /** DF set and the next hop's MTU is too small; carries the next-hop MTU (RFC 1191). */
  FragmentationNeeded: 4,
  SourceRouteFailed: 5,
  NetUnknown: 6,
  HostUnknown: 7,
  HostIsolated: 8,
  NetProhibited: 9,
  HostProhibited: 10,
  NetTosUnreachable: 11,
  HostTosUnreachable: 12,
  /** REJECT --reject-with icmp-admin-prohibited. */
  AdminProhibited: 13,
  HostPrecedenceViolation: 14,
  PrecedenceCutoff: 15,
} as const;

/** Time Exceeded codes (RFC 792). */
export const TimeExceededCode = {
  /** TTL reached zero in transit (Linux ip_forward). */
  TtlExceeded: 0,
  /** Fragment reassembly timed out (Linux ip_expire). */
  FragReassembly: 1,
} as const;

/** Message type. */
export const msgType = (b: Uint8Array, o: number): IcmpType => b[o + TYPE];
/** Message code (meaning depends on the type). */
export const code = (b: Uint8Array, o: number): number => b[o + CODE];
/** Checksum field. */
export const checksum = (b: Uint8Array, o: number): number => (b[o + CHECKSUM] << 8) | b[o + CHECKSUM + 1];
/** Echo identifier (echo request/reply). */
export const echoIdent = (b: Uint8Array, o: number): number => (b[o + ECHO_IDENT] << 8) | b[o + ECHO_IDENT + 1];
/** Echo sequence number (echo request/reply). */
export const echoSeq = (b: Uint8Array, o: number): number => (b[o + ECHO_SEQ] << 8) | b[o + ECHO_SEQ + 1];
/** Next-hop MTU in octets (Destination Unreachable, code 4; RFC 1191 §4). */
export const nextHopMtu = (b: Uint8Array, o: number): number => (b[o + NEXT_HOP_MTU] << 8) | b[o + NEXT_HOP_MTU + 1];

function setU16(b: Uint8Array, i: number, v: number): void {
  b[i] = (v >>> 8) & 0xff;
  b[i + 1] = v & 0xff;
}

/** Sets the message type (checksum not updated). */
export const setMsgType = (b: Uint8Array, o: number, t: number): void => {
  b[o + TYPE] = t & 0xff;
};
/** Sets the code (checksum not updated). */
export const setCode = (b: Uint8Array, o: number, c: number): void => {
  b[o + CODE] = c & 0xff;
};
/** Sets the checksum field. */
export const setChecksum = (b: Uint8Array, o: number, csum: number): void => setU16(b, o + CHECKSUM, csum);
/** Sets the echo identifier (checksum not updated). */
export const setEchoIdent = (b: Uint8Array, o: number, id: number): void => setU16(b, o + ECHO_IDENT, id);
/** Sets the echo sequence number (checksum not updated). */
export const setEchoSeq = (b: Uint8Array, o: number, seq: number): void => setU16(b, o + ECHO_SEQ, seq);
/** Sets the next-hop MTU, and the unused octets 4–5 to zero (checksum not updated). */
export const setNextHopMtu = (b: Uint8Array, o: number, mtu: number): void => {
  b[o + 4] = 0;
  b[o + 5] = 0;
  setU16(b, o + NEXT_HOP_MTU, mtu);
};

/** True for the error types that quote an IPv4 datagram (3, 4, 5, 11, 12). */
export const isError = (t: number): boolean =>
  t === IcmpType.DestUnreachable ||
  t === IcmpType.TimeExceeded ||
  t === IcmpType.ParameterProblem ||
  t === IcmpType.Redirect ||
  t === IcmpType.SourceQuench;

/** Offset of the quoted IPv4 header inside an error message, or -1 if the type is not an error. */
export const quotedIpv4Offset = (b: Uint8Array, o: number): number =>
  isError(b[o + TYPE]) ? o + ICMP_HEADER_LEN : -1;

/**
 * How many octets of a `datagramLen`-octet datagram an error quotes, as Linux icmp_send() does:
 * as much as fits in an error of `maxDatagramLen` octets (min(576, route MTU)) with an IP header
 * of 20 + `ipOptionsLen`.
 * RFC 792's minimum is the quoted IP header + 8: see rfc792QuoteLen().
 */
export const quoteLen = (datagramLen: number, maxDatagramLen = ICMP_ERROR_MAX_DATAGRAM_LEN, ipOptionsLen = 0): number =>
  Math.max(0, Math.min(datagramLen, maxDatagramLen - IPV4_HEADER_LEN - ipOptionsLen - ICMP_HEADER_LEN));

/** RFC 792's quote: the datagram's IP header (`ipHdrLen` octets) and the first 64 bits of its data. */
export const rfc792QuoteLen = (datagramLen: number, ipHdrLen: number): number =>
  Math.min(datagramLen, ipHdrLen + 8);

/** Checksum over the message b[o, end) computed and written. */
export function fillChecksum(b: Uint8Array, o: number, end: number): void {
  b[o + CHECKSUM] = 0;
  b[o + CHECKSUM + 1] = 0;
  setU16(b, o + CHECKSUM, internetChecksum(b, o, end));
}

/** True when the checksum over the message b[o, end) verifies. */
export const verifyChecksum = (b: Uint8Array, o: number, end: number): boolean => onesSum(b, o, end) === 0xffff;

/**
 * Rewrites the echo identifier and updates the checksum incrementally (RFC 1624), as NAT does for
 * ICMP echo (the identifier plays the port; Linux nf_nat_proto.c:icmp_manip_pkt).
 */
export function rewriteEchoIdent(b: Uint8Array, o: number, id: number): void {
  setU16(b, o + CHECKSUM, csumReplace16(checksum(b, o), echoIdent(b, o), id & 0xffff));
  setU16(b, o + ECHO_IDENT, id);
}

/** Turns an echo request into its reply in place (type 8 → 0, code 0), checksum updated incrementally. */
export function echoRequestToReply(b: Uint8Array, o: number): void {
  const oldWord = (b[o + TYPE] << 8) | b[o + CODE];
  b[o + TYPE] = IcmpType.EchoReply;
  b[o + CODE] = 0;
  setU16(b, o + CHECKSUM, csumReplace16(checksum(b, o), oldWord, 0));
}

/** Validates the length of the fixed 8-octet header. The checksum is separate: verifyChecksum(). */
export function check(_b: Uint8Array, o: number, end: number): WireError | undefined {
  const have = end - o;
  if (have < ICMP_HEADER_LEN) return truncated("icmp", ICMP_HEADER_LEN, Math.max(have, 0));
  return undefined;
}

/**
 * Validates the quote of an error message far enough to read the original flow: an IPv4 header
 * and the 8 octets after it (L4 ports or echo id), as nf_conntrack_proto_icmp.c:icmp_error_message
 * needs for the RELATED lookup. The quoted total length may exceed the quote.
 */
export function checkQuote(b: Uint8Array, o: number, end: number): WireError | undefined {
  const q = quotedIpv4Offset(b, o);
  if (q < 0) return { kind: "malformed", layer: "icmp", reason: `type ${b[o + TYPE]} quotes no datagram` };
  if (end - q < IPV4_HEADER_LEN) return truncated("icmp", ICMP_HEADER_LEN + IPV4_HEADER_LEN, Math.max(end - o, 0));
  if (b[q] >>> 4 !== 4) return { kind: "bad-version", layer: "icmp", value: b[q] >>> 4 };
  const qhl = (b[q] & 0x0f) << 2;
  if (qhl < IPV4_HEADER_LEN) return { kind: "bad-length", layer: "icmp", field: "quoted ihl", value: qhl >>> 2 };
  if (end - q < qhl + 8) return truncated("icmp", ICMP_HEADER_LEN + qhl + 8, end - o);
  return undefined;
}

/** Echo request or reply (RFC 792): identifier, sequence number and the data echoed back. */
export interface EchoRepr<T extends 0 | 8> {
  type: T;
  ident: number;
  seq: number;
  data: Uint8Array;
}
/** Destination Unreachable; `nextHopMtu` is the RFC 1191 field (0 unless code 4). */
export interface DestUnreachableRepr {
  type: 3;
  code: number;
  nextHopMtu: number;
  /** The quoted datagram: IP header and as much of its payload as the sender chose. */
  data: Uint8Array;
}
export interface TimeExceededRepr {
  type: 11;
  code: number;
  /** The quoted datagram. */
  data: Uint8Array;
}
/** The modelled ICMP messages, discriminated by `type`. */
export type IcmpRepr = EchoRepr<0> | EchoRepr<8> | DestUnreachableRepr | TimeExceededRepr;

/**
 * Parses the message b[o, end) (the IPv4 payload: the caller bounds `end` by the total length),
 * verifying the checksum unless `verifyCsum` is false. `data` is a view into `b` (cold path).
 * Types outside the repr are `unsupported`; echo with a code other than 0 is `malformed`.
 */
export function parse(b: Uint8Array, o: number, end: number, verifyCsum = true): ParseResult<IcmpRepr> {
  const err = check(b, o, end);
  if (err) return fail(err);
  if (verifyCsum && !verifyChecksum(b, o, end)) return fail({ kind: "bad-checksum", layer: "icmp", value: checksum(b, o) });
  const t = msgType(b, o);
  const c = code(b, o);
  const data = b.subarray(o + ICMP_HEADER_LEN, end);
  switch (t) {
    case IcmpType.EchoRequest:
    case IcmpType.EchoReply:
      if (c !== 0) return fail({ kind: "malformed", layer: "icmp", reason: `echo code ${c} (must be 0)` });
      return ok({ type: t, ident: echoIdent(b, o), seq: echoSeq(b, o), data });
    case IcmpType.DestUnreachable:
      return ok({ type: t, code: c, nextHopMtu: nextHopMtu(b, o), data });
    case IcmpType.TimeExceeded:
      return ok({ type: t, code: c, data });
    default:
      return fail({ kind: "unsupported", layer: "icmp", what: `type ${t}` });
  }
}

/** Length in octets that emit() writes: the 8-octet header plus the data. */
export const headerLen = (repr: IcmpRepr): number => ICMP_HEADER_LEN + repr.data.length;

/** Writes the message (header, data, checksum) at `o`; returns the number of octets written. */
export function emit(repr: IcmpRepr, b: Uint8Array, o: number): number {
  b[o + TYPE] = repr.type;
  switch (repr.type) {
    case IcmpType.EchoRequest:
    case IcmpType.EchoReply:
      b[o + CODE] = 0;
      setEchoIdent(b, o, repr.ident);
      setEchoSeq(b, o, repr.seq);
      break;
    case IcmpType.DestUnreachable:
      b[o + CODE] = repr.code;
      setNextHopMtu(b, o, repr.nextHopMtu);
      break;
    case IcmpType.TimeExceeded:
      b[o + CODE] = repr.code;
      setU16(b, o + 4, 0);
      setU16(b, o + 6, 0);
      break;
  }
  const data = repr.data;
  for (let i = 0; i < data.length; i++) b[o + ICMP_HEADER_LEN + i] = data[i];
  const end = o + ICMP_HEADER_LEN + data.length;
  fillChecksum(b, o, end);
  return end - o;
}

/**
 * Hot-path builder of an error message at `o`: writes type, code, the 4-octet `rest` (e.g. the
 * next-hop MTU for code 4, else 0), copies `len` octets of the offending datagram from
 * src[srcOff, srcOff + len) (use quoteLen() to choose `len`), and fills the checksum. `src` may be
 * `b` itself. Returns the number of octets written.
 */
export function emitError(
  b: Uint8Array,
  o: number,
  type: number,
  errCode: number,
  rest: number,
  src: Uint8Array,
  srcOff: number,
  len: number,
): number {
  const at = o + ICMP_HEADER_LEN;
  if (src === b) b.copyWithin(at, srcOff, srcOff + len);
  else for (let i = 0; i < len; i++) b[at + i] = src[srcOff + i];
  b[o + TYPE] = type & 0xff;
  b[o + CODE] = errCode & 0xff;
  setU16(b, o + 4, rest >>> 16);
  setU16(b, o + 6, rest & 0xffff);
  fillChecksum(b, o, at + len);
  return ICMP_HEADER_LEN + len;
}

// The UDP, ICMP and generic trackers (nf_conntrack_proto_udp.c, nf_conntrack_proto_icmp.c,
// nf_conntrack_proto_generic.c): their error checks and their timeouts. TCP has its own file.

import { icmp, ipv4, udp } from "../../wire/index.js";
import { type ConntrackTable, IPS } from "./table.js";

const S = 1e9;

/** Timeouts in ns (net.netfilter.nf_conntrack_*_timeout*), per namespace and adjustable. */
export interface CtTimeouts {
  /** nf_conntrack_udp_timeout: until traffic has been seen both ways. */
  udp: number;
  /** nf_conntrack_udp_timeout_stream: a replied flow still active after 2 s. */
  udpStream: number;
  /** nf_conntrack_icmp_timeout. */
  icmp: number;
  /** nf_conntrack_generic_timeout. */
  generic: number;
}

export const defaultTimeouts = (): CtTimeouts => ({ udp: 30 * S, udpStream: 120 * S, icmp: 30 * S, generic: 600 * S });

/** Seconds a UDP flow must stay active after creation before it counts as a stream (stream_ts). */
const UDP_STREAM_DELAY = 2 * S;

/** udp_error: true when the header is truncated or its length impossible, or (at PREROUTING) the checksum is bad. */
export function udpError(b: Uint8Array, l3: number, l4: number, end: number, verifyCsum: boolean): boolean {
  if (udp.check(b, l4, end) !== undefined) return true;
  if (!verifyCsum || udp.checksum(b, l4) === 0) return false;
  return !udp.verifyChecksum(b, l4, ipv4.srcAddr(b, l3), ipv4.dstAddr(b, l3), udp.length(b, l4));
}

/**
 * nf_conntrack_udp_packet: 30 s until replied; a replied flow still active 2 s after it started
 * is a stream: 120 s and ASSURED (Linux ≥ 6.0 waits the 2 s before assuring).
 */
export function udpPacket(t: ConntrackTable, s: number, now: number, to: CtTimeouts): void {
  const st = t.status[s];
  if ((st & IPS.CONFIRMED) === 0) t.aux[s] = now + UDP_STREAM_DELAY;
  if ((st & IPS.SEEN_REPLY) === 0) {
    t.expires[s] = now + to.udp;
    return;
  }
  let extra = to.udp;
  let stream = false;
  if (now > t.aux[s]) {
    extra = to.udpStream;
    stream = (st & IPS.ASSURED) === 0;
  }
  t.expires[s] = now + extra;
  if ((st & IPS.NAT_CLASH) !== 0) return;
  if (stream) t.status[s] = st | IPS.ASSURED;
}

/** NR_ICMP_TYPES: types above are invalid. */
const NR_ICMP_TYPES = 18;

/** nf_conntrack_icmpv4_error's first checks: true when the message is too short, has a bad checksum or an impossible type. */
export function icmpError(b: Uint8Array, l4: number, end: number, verifyCsum: boolean): boolean {
  if (end - l4 < icmp.ICMP_HEADER_LEN) return true;
  if (verifyCsum && !icmp.verifyChecksum(b, l4, end)) return true;
  return b[l4] > NR_ICMP_TYPES;
}

/** Types that may start an ICMP "connection" (valid_new in nf_conntrack_icmp_packet). */
const VALID_NEW = new Uint8Array(19);
VALID_NEW[8] = 1; // echo
VALID_NEW[13] = 1; // timestamp
VALID_NEW[15] = 1; // information request
VALID_NEW[17] = 1; // address mask request

/**
 * nf_conntrack_icmp_packet: only a query starts an entry (an echo reply without a request is
 * INVALID); every packet of it refreshes 30 s. False: invalid.
 */
export function icmpPacket(t: ConntrackTable, s: number, now: number, to: CtTimeouts): boolean {
  const origType = (t.tup[s * 8 + 2] >>> 8) & 0xff;
  if (origType > NR_ICMP_TYPES || VALID_NEW[origType] === 0) return false;
  t.expires[s] = now + to.icmp;
  return true;
}

/** The generic tracker: one long timeout. */
export function genericPacket(t: ConntrackTable, s: number, now: number, to: CtTimeouts): void {
  t.expires[s] = now + to.generic;
}

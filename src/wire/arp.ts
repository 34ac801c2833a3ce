// Address Resolution Protocol for IPv4 over Ethernet (RFC 826; field names as in the RFC's
// "Packet format", opcodes from RFC 5494 / IANA). Only the 28-octet Ethernet/IPv4 form is modelled,
// as Linux's arp_process handles for an Ethernet device.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |     Hardware type (ar$hrd)    |     Protocol type (ar$pro)    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  | HW len (ar$hln)| P len (ar$pln)|         Opcode (ar$op)       |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                Sender hardware address (ar$sha)               |
//  +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                               | Sender protocol address (spa) |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |   … spa (cont.)               |   Target hardware address    |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+           (ar$tha)           +
//  |                                                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |              Target protocol address (ar$tpa)                 |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

import { type Ipv4Addr, type MacAddr, readIpv4, readMac, writeIpv4, writeMac } from "./addr.js";
import { fail, ok, type ParseResult, truncated, type WireError } from "./errors.js";

/** Length of an Ethernet/IPv4 ARP packet in octets (a frame carrying it is padded to 60 on the wire). */
export const ARP_LEN = 28;

const HTYPE = 0;
const PTYPE = 2;
const HLEN = 4;
const PLEN = 5;
const OPER = 6;
const SHA = 8;
const SPA = 14;
const THA = 18;
const TPA = 24;

/** ar$hrd for Ethernet (RFC 826; ARPHRD_ETHER in Linux). */
export const HTYPE_ETHERNET = 1;
/** ar$pro for IPv4: the IPv4 EtherType. */
export const PTYPE_IPV4 = 0x0800;

/** ARP opcodes (RFC 826; RFC 5494). Other values pass through as numbers. */
export const ArpOp = {
  Request: 1,
  Reply: 2,
} as const;
/** A 16-bit ARP opcode: one of `ArpOp`, or any other value, carried through unchanged. */
export type ArpOp = number;

/** Hardware type (ar$hrd). */
export const htype = (b: Uint8Array, o: number): number => (b[o + HTYPE] << 8) | b[o + HTYPE + 1];
/** Protocol type (ar$pro), an EtherType. */
export const ptype = (b: Uint8Array, o: number): number => (b[o + PTYPE] << 8) | b[o + PTYPE + 1];
/** Hardware address length in octets (ar$hln). */
export const hlen = (b: Uint8Array, o: number): number => b[o + HLEN];
/** Protocol address length in octets (ar$pln). */
export const plen = (b: Uint8Array, o: number): number => b[o + PLEN];
/** Opcode (ar$op). */
export const op = (b: Uint8Array, o: number): ArpOp => (b[o + OPER] << 8) | b[o + OPER + 1];
/** Sender hardware address (ar$sha). */
export const sha = (b: Uint8Array, o: number): MacAddr => readMac(b, o + SHA);
/** Sender protocol address (ar$spa). */
export const spa = (b: Uint8Array, o: number): Ipv4Addr => readIpv4(b, o + SPA);
/** Target hardware address (ar$tha); zero in a request. */
export const tha = (b: Uint8Array, o: number): MacAddr => readMac(b, o + THA);
/** Target protocol address (ar$tpa). */
export const tpa = (b: Uint8Array, o: number): Ipv4Addr => readIpv4(b, o + TPA);

/** Sets the opcode (ar$op). */
export function setOp(b: Uint8Array, o: number, v: number): void {
  b[o + OPER] = (v >>> 8) & 0xff;
  b[o + OPER + 1] = v & 0xff;
}
/** Sets the sender hardware address (ar$sha). */
export const setSha = (b: Uint8Array, o: number, m: number): void => writeMac(b, o + SHA, m);
/** Sets the sender protocol address (ar$spa). */
export const setSpa = (b: Uint8Array, o: number, a: number): void => writeIpv4(b, o + SPA, a);
/** Sets the target hardware address (ar$tha). */
export const setTha = (b: Uint8Array, o: number, m: number): void => writeMac(b, o + THA, m);
/** Sets the target protocol address (ar$tpa). */
export const setTpa = (b: Uint8Array, o: number, a: number): void => writeIpv4(b, o + TPA, a);

/**
 * Validates length and the Ethernet/IPv4 form (hrd 1, pro 0x0800, hln 6, pln 4); anything else is
 * `unsupported`, as arp_process drops it for an Ethernet device.
 */
export function check(b: Uint8Array, o: number, end: number): WireError | undefined {
  const have = end - o;
  if (have < ARP_LEN) return truncated("arp", ARP_LEN, Math.max(have, 0));
  if (htype(b, o) !== HTYPE_ETHERNET) return { kind: "unsupported", layer: "arp", what: `hardware type ${htype(b, o)}` };
  if (ptype(b, o) !== PTYPE_IPV4)
    return { kind: "unsupported", layer: "arp", what: `protocol type 0x${ptype(b, o).toString(16).padStart(4, "0")}` };
  if (hlen(b, o) !== 6) return { kind: "unsupported", layer: "arp", what: `hardware address length ${hlen(b, o)}` };
  if (plen(b, o) !== 4) return { kind: "unsupported", layer: "arp", what: `protocol address length ${plen(b, o)}` };
  return undefined;
}

export interface ArpRepr {
  /** Opcode: ArpOp.Request or ArpOp.Reply (others pass through). */
  op: ArpOp;
  /** Sender hardware address. */
  sha: MacAddr;
  /** Sender protocol address. */
  spa: Ipv4Addr;
  /** Target hardware address (zero in a request). */
  tha: MacAddr;
  /** Target protocol address. */
  tpa: Ipv4Addr;
}

export function parse(b: Uint8Array, o: number, end: number): ParseResult<ArpRepr> {
  const err = check(b, o, end);
  if (err) return fail(err);
  return ok({ op: op(b, o), sha: sha(b, o), spa: spa(b, o), tha: tha(b, o), tpa: tpa(b, o) });
}

/** Length in octets that emit() writes: always 28. */
export const headerLen = (_repr?: ArpRepr): number => ARP_LEN;

/** Writes the 28-octet packet at `o`; returns the number of octets written. */
export function emit(repr: ArpRepr, b: Uint8Array, o: number): number {
  b[o + HTYPE] = 0;
  b[o + HTYPE + 1] = HTYPE_ETHERNET;
  b[o + PTYPE] = PTYPE_IPV4 >>> 8;
  b[o + PTYPE + 1] = PTYPE_IPV4 & 0xff;
  b[o + HLEN] = 6;
  b[o + PLEN] = 4;
  setOp(b, o, repr.op);
  setSha(b, o, repr.sha);
  setSpa(b, o, repr.spa);
  setTha(b, o, repr.tha);
  setTpa(b, o, repr.tpa);
  return ARP_LEN;
}

/**
 * Turns a request at `o` into the reply answering it, in place: op = reply, target = the old
 * sender, sender = (`mac`, the old target address). Mirrors what arp_process sends via arp_send.
 */
export function makeReply(b: Uint8Array, o: number, mac: number): void {
  const requesterMac = sha(b, o);
  const requesterIp = spa(b, o);
  const answeredIp = tpa(b, o);
  setOp(b, o, ArpOp.Reply);
  setSha(b, o, mac);
  setSpa(b, o, answeredIp);
  setTha(b, o, requesterMac);
  setTpa(b, o, requesterIp);
}

// Virtual eXtensible Local Area Network header (RFC 7348 §5), carried in UDP and followed by the
// inner Ethernet frame.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |R|R|R|R|I|R|R|R|            Reserved                           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                VXLAN Network Identifier (VNI) |   Reserved    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

import { fail, ok, type ParseResult, truncated, type WireError } from "./errors.js";

export const VXLAN_HEADER_LEN = 8;
/** IANA-assigned UDP destination port (RFC 7348 §5). */
export const VXLAN_PORT_IANA = 4789;
/** Linux's default when `ip link add type vxlan` is given no dstport (it predates the IANA port); flannel's. */
export const VXLAN_PORT_LINUX = 8472;
/**
 * MTU-relevant overhead: outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 = 50, so a 1500-byte
 * underlay MTU leaves 1450 for the overlay device (flannel.1).
 */
export const VXLAN_OVERHEAD = 50;
/**
 * Bytes prepended in front of the inner Ethernet frame on encapsulation: outer Ethernet 14 +
 * IPv4 20 + UDP 8 + VXLAN 8 = 50 (equal to VXLAN_OVERHEAD by coincidence of the two 14s).
 */
export const VXLAN_ENCAP_LEN = 14 + 20 + 8 + VXLAN_HEADER_LEN;
/** The I flag: the VNI is valid. It must be set (RFC 7348 §5). */
export const VXLAN_FLAG_I = 0x08;
/** Largest VNI (24 bits). */
export const VXLAN_VNI_MAX = 0xffffff;

const FLAGS = 0;
const VNI = 4;

/** Flags octet (I = 0x08; the other bits are reserved). */
export const flags = (b: Uint8Array, o: number): number => b[o + FLAGS];
/** VXLAN Network Identifier (24 bits). */
export const vni = (b: Uint8Array, o: number): number => (b[o + VNI] << 16) | (b[o + VNI + 1] << 8) | b[o + VNI + 2];

/** Writes the VNI, leaving the reserved octet after it alone. */
export function setVni(b: Uint8Array, o: number, id: number): void {
  b[o + VNI] = (id >>> 16) & 0xff;
  b[o + VNI + 1] = (id >>> 8) & 0xff;
  b[o + VNI + 2] = id & 0xff;
}

/**
 * Validates the header at b[o, end): 8 octets and the I flag set, else `malformed`. Reserved
 * bits are ignored as RFC 7348 asks (Linux's vxlan_rcv is stricter; see packet's vxlanDecap).
 */
export function check(b: Uint8Array, o: number, end: number): WireError | undefined {
  if (end - o < VXLAN_HEADER_LEN) return truncated("vxlan", VXLAN_HEADER_LEN, end - o);
  if ((b[o + FLAGS] & VXLAN_FLAG_I) === 0) return { kind: "malformed", layer: "vxlan", reason: "I flag not set" };
  return undefined;
}

export interface VxlanRepr {
  /** VXLAN Network Identifier, 0..0xffffff. */
  vni: number;
}

/** Decodes the header at b[o, end) after check(). */
export function parse(b: Uint8Array, o: number, end: number): ParseResult<VxlanRepr> {
  const e = check(b, o, end);
  if (e) return fail(e);
  return ok({ vni: vni(b, o) });
}

/** Header length in octets (always 8). */
export const headerLen = (_repr?: VxlanRepr): number => VXLAN_HEADER_LEN;

/** Writes the header at b[o]: I flag, VNI, reserved fields zero. Returns 8. */
export function emit(repr: VxlanRepr, b: Uint8Array, o: number): number {
  b[o] = VXLAN_FLAG_I;
  b[o + 1] = 0;
  b[o + 2] = 0;
  b[o + 3] = 0;
  setVni(b, o, repr.vni);
  b[o + 7] = 0;
  return VXLAN_HEADER_LEN;
}

// Ethernet II framing (IEEE 802.3 §3.2.6 Length/Type field ≥ 0x0600) and the IEEE 802.1Q VLAN tag.
// The preamble, SFD and FCS never reach software (as on a Linux interface), so a frame starts at
// the destination address.
//
//  Ethernet II header (14 octets)
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                     Destination Address                       |
//  +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                               |                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//  |                       Source Address                          |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |           EtherType           |   payload …
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
//  With an 802.1Q tag (IEEE 802.1Q §9.6) the EtherType slot holds the TPID 0x8100 and 4 more
//  octets follow before the payload (18 octets in all):
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |         TPID = 0x8100         | PCP |D|          VID          |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |      inner EtherType          |   payload …
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// One tag is modelled; an S-tag (0x88a8, QinQ) is an unknown EtherType and passes through.

import { type MacAddr, readMac, writeMac } from "./addr.js";
import { fail, ok, type ParseResult, truncated, type WireError } from "./errors.js";

/** Length of an untagged Ethernet II header in octets. */
export const ETHERNET_HEADER_LEN = 14;
/** Length of one 802.1Q tag (TPID + TCI) in octets. */
export const VLAN_TAG_LEN = 4;
/** Length of an Ethernet II header carrying one 802.1Q tag. */
export const VLAN_HEADER_LEN = ETHERNET_HEADER_LEN + VLAN_TAG_LEN;
/** Smallest frame on the wire without FCS (64 − 4); shorter frames are padded by the sender. */
export const ETHERNET_MIN_FRAME_LEN = 60;

const DST_ADDR = 0;
const SRC_ADDR = 6;
const ETHERTYPE = 12;
const VLAN_TCI = 14;
const VLAN_ETHERTYPE = 16;

/** EtherTypes (IEEE Registration Authority) kubewire dispatches on. */
export const EtherType = {
  IPv4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100,
  IPv6: 0x86dd,
} as const;
/** A 16-bit EtherType: one of `EtherType`, or any other value, carried through unchanged. */
export type EtherType = number;

const etherTypeNames = new Map<number, string>(Object.entries(EtherType).map(([k, v]) => [v, k]));

/** "IPv4", "ARP" … for known values, else "0x88cc" (for printing, not the data path). */
export const etherTypeName = (t: number): string =>
  etherTypeNames.get(t) ?? `0x${t.toString(16).padStart(4, "0")}`;

/** Destination MAC address. */
export const dstAddr = (b: Uint8Array, o: number): MacAddr => readMac(b, o + DST_ADDR);
/** Source MAC address. */
export const srcAddr = (b: Uint8Array, o: number): MacAddr => readMac(b, o + SRC_ADDR);
/** EtherType (or TPID 0x8100 when tagged). */
export const etherType = (b: Uint8Array, o: number): EtherType => (b[o + ETHERTYPE] << 8) | b[o + ETHERTYPE + 1];

/** Sets the destination MAC address. */
export const setDstAddr = (b: Uint8Array, o: number, m: number): void => writeMac(b, o + DST_ADDR, m);
/** Sets the source MAC address. */
export const setSrcAddr = (b: Uint8Array, o: number, m: number): void => writeMac(b, o + SRC_ADDR, m);
/** Sets the EtherType (or TPID). */
export function setEtherType(b: Uint8Array, o: number, t: number): void {
  b[o + ETHERTYPE] = (t >>> 8) & 0xff;
  b[o + ETHERTYPE + 1] = t & 0xff;
}

/** True when the frame carries an 802.1Q tag (TPID 0x8100 in the EtherType slot). */
export const hasVlanTag = (b: Uint8Array, o: number): boolean =>
  b[o + ETHERTYPE] === 0x81 && b[o + ETHERTYPE + 1] === 0x00;
/** 802.1Q Tag Control Information, 16 bits (PCP, DEI, VID); only valid when tagged. */
export const vlanTci = (b: Uint8Array, o: number): number => (b[o + VLAN_TCI] << 8) | b[o + VLAN_TCI + 1];
/** 802.1Q Priority Code Point, 0–7. */
export const vlanPcp = (b: Uint8Array, o: number): number => b[o + VLAN_TCI] >>> 5;
/** 802.1Q Drop Eligible Indicator. */
export const vlanDei = (b: Uint8Array, o: number): boolean => (b[o + VLAN_TCI] & 0x10) !== 0;
/** 802.1Q VLAN identifier, 0–4095 (0 = priority tag only, 4095 reserved). */
export const vlanId = (b: Uint8Array, o: number): number => ((b[o + VLAN_TCI] & 0x0f) << 8) | b[o + VLAN_TCI + 1];
/** EtherType after the 802.1Q tag; only valid when tagged. */
export const innerEtherType = (b: Uint8Array, o: number): EtherType =>
  (b[o + VLAN_ETHERTYPE] << 8) | b[o + VLAN_ETHERTYPE + 1];

/** Sets the 802.1Q TCI from its parts (the TPID is written by emit or setEtherType). */
export function setVlanTci(b: Uint8Array, o: number, pcp: number, dei: boolean, vid: number): void {
  b[o + VLAN_TCI] = ((pcp & 0x07) << 5) | (dei ? 0x10 : 0) | ((vid >>> 8) & 0x0f);
  b[o + VLAN_TCI + 1] = vid & 0xff;
}

/** EtherType of the payload: the inner one when tagged, else the outer one. */
export const payloadEtherType = (b: Uint8Array, o: number): EtherType =>
  hasVlanTag(b, o) ? innerEtherType(b, o) : etherType(b, o);
/** Offset of the payload (the L3 header): o + 14, or o + 18 when tagged. */
export const payloadOffset = (b: Uint8Array, o: number): number =>
  o + (hasVlanTag(b, o) ? VLAN_HEADER_LEN : ETHERNET_HEADER_LEN);

/** Validates lengths once (the header, and the tag when the TPID says there is one). */
export function check(b: Uint8Array, o: number, end: number): WireError | undefined {
  const have = end - o;
  if (have < ETHERNET_HEADER_LEN) return truncated("ethernet", ETHERNET_HEADER_LEN, Math.max(have, 0));
  if (hasVlanTag(b, o) && have < VLAN_HEADER_LEN) return truncated("ethernet", VLAN_HEADER_LEN, have);
  return undefined;
}

/** An 802.1Q tag's control fields. */
export interface VlanTag {
  /** Priority Code Point, 0–7. */
  pcp: number;
  /** Drop Eligible Indicator. */
  dei: boolean;
  /** VLAN identifier, 0–4095. */
  vid: number;
}

export interface EthernetRepr {
  dstAddr: MacAddr;
  srcAddr: MacAddr;
  /** EtherType of the payload (the inner one when `vlan` is set). */
  etherType: EtherType;
  /** The 802.1Q tag, when the frame is tagged. */
  vlan?: VlanTag;
}

export function parse(b: Uint8Array, o: number, end: number): ParseResult<EthernetRepr> {
  const err = check(b, o, end);
  if (err) return fail(err);
  const repr: EthernetRepr = { dstAddr: dstAddr(b, o), srcAddr: srcAddr(b, o), etherType: etherType(b, o) };
  if (hasVlanTag(b, o)) {
    repr.etherType = innerEtherType(b, o);
    repr.vlan = { pcp: vlanPcp(b, o), dei: vlanDei(b, o), vid: vlanId(b, o) };
  }
  return ok(repr);
}

/** Header length in octets that emit() writes for this repr: 14, or 18 when tagged. */
export const headerLen = (repr: EthernetRepr): number => (repr.vlan ? VLAN_HEADER_LEN : ETHERNET_HEADER_LEN);

/** Writes the header (and tag) at `o`; returns the number of octets written. */
export function emit(repr: EthernetRepr, b: Uint8Array, o: number): number {
  setDstAddr(b, o, repr.dstAddr);
  setSrcAddr(b, o, repr.srcAddr);
  if (!repr.vlan) {
    setEtherType(b, o, repr.etherType);
    return ETHERNET_HEADER_LEN;
  }
  setEtherType(b, o, EtherType.VLAN);
  setVlanTci(b, o, repr.vlan.pcp, repr.vlan.dei, repr.vlan.vid);
  b[o + VLAN_ETHERTYPE] = (repr.etherType >>> 8) & 0xff;
  b[o + VLAN_ETHERTYPE + 1] = repr.etherType & 0xff;
  return VLAN_HEADER_LEN;
}

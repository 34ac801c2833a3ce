// The VXLAN hot path: encapsulation writes a precomputed 50-byte outer header into headroom and
// patches the few fields that vary; decapsulation validates and moves the head. Mirrors
// drivers/net/vxlan/vxlan_core.c (vxlan_xmit_one, vxlan_rcv) with an IPv4 underlay.

import { ethernet, type Ipv4Addr, ipv4, type MacAddr, onesSum, udp, vxlan } from "../wire/index.js";
import type { Packet } from "./packet.js";

/** Outer header offsets relative to the new head (Ethernet 0, IPv4 14, UDP 34, VXLAN 42). */
const O_ETHERTYPE = 12;
const O_IP = 14;
const O_IP_TOTLEN = O_IP + 2;
/** Fragment field, TTL and protocol: one 32-bit word. */
const O_IP_FRAG = O_IP + 6;
const O_UDP = 34;
const O_UDP_LEN = O_UDP + 4;
const O_VXLAN = 42;
const ENCAP = vxlan.VXLAN_ENCAP_LEN;
const ETH_HLEN = ethernet.ETHERNET_HEADER_LEN;
const IPPROTO_UDP = ipv4.IpProtocol.UDP;
const VXLAN_I = vxlan.VXLAN_FLAG_I;
/** An inner frame long enough to hold an IPv4 header. */
const INNER_IPV4_MIN = ETH_HLEN + 20;
/** Outer IPv4 total length = inner frame + 36 (IPv4 20, UDP 8, VXLAN 8). */
const IP_OVER_INNER = ENCAP - ethernet.ETHERNET_HEADER_LEN;
/** Outer UDP length = inner frame + 16 (UDP 8, VXLAN 8). */
const UDP_OVER_INNER = ENCAP - O_UDP;

/**
 * The template as vxlanEncap writes it: 12 big-endian 32-bit words (48 bytes) and a 16-bit one.
 * Thirteen DataView stores cost about half of one `Uint8Array.set` of the 50 bytes (a builtin call
 * with a fixed overhead), and the per-packet fields are merged into their words on the way.
 */
const TEMPLATE_WORDS = 12;
/** Words holding per-packet fields (zero in the template): TOS, total length + id, checksum, source port, UDP length. */
const W_TOS = 3;
const W_TOTLEN_ID = 4;
const W_CSUM = 6;
const W_SPORT = 8;
const W_UDP_LEN = 9;

/** Linux's default source port range: net.ipv4.ip_local_port_range "32768 60999". */
export const VXLAN_SRC_PORT_MIN = 32768;
export const VXLAN_SRC_PORT_MAX = 60999;

export interface VxlanTemplateSpec {
  /** Outer Ethernet: the VTEP's underlay device address and the next hop's (the remote VTEP's). */
  srcMac: MacAddr | number;
  dstMac: MacAddr | number;
  /** Local and remote VTEP addresses. */
  local: number;
  remote: number;
  vni: number;
  /** Outer UDP destination port; default VXLAN_PORT_LINUX (8472, as flannel). */
  port?: number;
  /** Outer TTL; default 64 (Linux's ttl 0 means ip4_dst_hoplimit, 64). */
  ttl?: number;
  /** Outer TOS without ECN (ECN is copied from the inner IPv4 header per packet); default 0. */
  tos?: number;
  /** Outer DF; default true, as in the reference captures. */
  dontFrag?: boolean;
  /** Source port range, Linux's port_min..port_max; default 32768..60999. */
  srcPortMin?: number;
  srcPortMax?: number;
  /** Seed of the flow hash (Linux: a random per-boot key); from the scenario's RNG. */
  hashSeed?: number;
  /** First outer IPv4 identification; incremented per packet. */
  ipId?: number;
}

/** A precomputed outer header for one (local VTEP, remote VTEP, VNI, port); build with vxlanTemplate(). */
export interface VxlanTemplate {
  /** The 50 outer bytes with total length, identification, checksum, UDP source port and length zero. */
  readonly bytes: Uint8Array;
  /** One's-complement sum of the outer IPv4 header as in `bytes` (checksum field zero). */
  readonly ipSum: number;
  readonly vni: number;
  readonly port: number;
  readonly srcPortMin: number;
  readonly srcPortMax: number;
  readonly hashSeed: number;
  /** The outer TOS octet without ECN. */
  readonly tos: number;
  /** Identification of the last packet sent; the next one uses ipId + 1. */
  ipId: number;
  /** `bytes` as TEMPLATE_WORDS big-endian 32-bit words and a final 16-bit one: what vxlanEncap writes. */
  readonly words: Int32Array;
}

/** Builds the template (cold path: once per tunnel endpoint, or when the next hop's MAC changes). */
export function vxlanTemplate(spec: VxlanTemplateSpec): VxlanTemplate {
  const b = new Uint8Array(ENCAP);
  const port = spec.port ?? vxlan.VXLAN_PORT_LINUX;
  ethernet.emit({ dstAddr: spec.dstMac as MacAddr, srcAddr: spec.srcMac as MacAddr, etherType: ethernet.EtherType.IPv4 }, b, 0);
  ipv4.emit(
    {
      srcAddr: (spec.local >>> 0) as Ipv4Addr,
      dstAddr: (spec.remote >>> 0) as Ipv4Addr,
      protocol: ipv4.IpProtocol.UDP,
      ttl: spec.ttl ?? 64,
      ident: 0,
      dontFrag: spec.dontFrag ?? true,
      moreFrags: false,
      fragOffset: 0,
      dscp: (spec.tos ?? 0) >>> 2,
      ecn: 0,
      payloadLen: 0,
    },
    b,
    O_IP,
  );
  // The per-packet fields start at zero so that ipSum covers only the constant ones.
  ipv4.setTotalLen(b, O_IP, 0);
  ipv4.setChecksum(b, O_IP, 0);
  udp.emit({ srcPort: 0, dstPort: port, payloadLen: 0 }, b, O_UDP);
  udp.setLength(b, O_UDP, 0);
  vxlan.emit({ vni: spec.vni }, b, O_VXLAN);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const words = new Int32Array(TEMPLATE_WORDS + 1);
  for (let i = 0; i < TEMPLATE_WORDS; i++) words[i] = dv.getInt32(4 * i);
  words[TEMPLATE_WORDS] = dv.getUint16(4 * TEMPLATE_WORDS);
  return {
    bytes: b,
    words,
    ipSum: onesSum(b, O_IP, O_UDP),
    vni: spec.vni,
    port,
    srcPortMin: spec.srcPortMin ?? VXLAN_SRC_PORT_MIN,
    srcPortMax: spec.srcPortMax ?? VXLAN_SRC_PORT_MAX,
    hashSeed: (spec.hashSeed ?? 0) | 0,
    tos: (spec.tos ?? 0) & 0xfc,
    ipId: ((spec.ipId ?? 0) - 1) & 0xffff,
  };
}

/**
 * A 32-bit hash of three words and a seed (MurmurHash3's mixing: multiply, rotate, fmix32). Linux
 * keys its flow hash with a random per-boot secret (siphash), so no value of it can be reproduced;
 * this one is seeded from the scenario and costs a few multiplies.
 */
export function flowHash3(a: number, b: number, c: number, seed: number): number {
  let h = Math.imul(a ^ seed, 0xcc9e2d51);
  h = Math.imul((h << 15) | (h >>> 17), 0x1b873593) ^ b;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) ^ c;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const u32at = (b: Uint8Array, i: number): number => (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3];

/**
 * Flow hash of an inner IPv4 packet at b[ip, end): addresses, protocol and, for TCP and UDP when not
 * a fragment, the ports: the keys the flow dissector feeds skb_get_hash.
 */
function ipv4FlowHash(b: Uint8Array, ip: number, end: number, seed: number): number {
  const proto = b[ip + 9];
  let c = proto;
  if (proto === 6 || proto === 17) {
    const l4 = ip + ((b[ip] & 0x0f) << 2);
    if (((b[ip + 6] & 0x3f) | b[ip + 7]) === 0 && l4 + 4 <= end) c ^= u32at(b, l4);
  }
  return flowHash3(u32at(b, ip + 12), u32at(b, ip + 16), c, seed);
}

/**
 * ipv4FlowHash read through the packet's DataView (vxlanEncap's path): one bounds check per word
 * instead of four byte reads. The same keys and result as ipv4FlowHash (a property test holds them equal).
 */
function ipv4FlowHashView(v: DataView, ip: number, end: number, seed: number): number {
  const proto = v.getUint8(ip + 9);
  let c = proto;
  if (proto === 6 || proto === 17) {
    const l4 = ip + ((v.getUint8(ip) & 0x0f) << 2);
    if ((v.getUint16(ip + 6) & 0x3fff) === 0 && l4 + 4 <= end) c ^= v.getInt32(l4);
  }
  return flowHash3(v.getInt32(ip + 12), v.getInt32(ip + 16), c, seed);
}

/** udp_flow_src_port's fallback for frames without a flow: jhash(skb->data, 12, protocol), MACs and EtherType. */
const ethFlowHash = (b: Uint8Array, o: number, seed: number): number =>
  flowHash3(u32at(b, o), u32at(b, o + 4), u32at(b, o + 8), seed ^ ((b[o + 12] << 8) | b[o + 13]));

/** The flow hash of the inner Ethernet frame at b[o, o+len), as vxlanEncap computes it. */
export function innerFlowHash(b: Uint8Array, o: number, len: number, seed: number): number {
  if (b[o + 12] === 0x08 && b[o + 13] === 0x00 && len >= INNER_IPV4_MIN) return ipv4FlowHash(b, o + ETH_HLEN, o + len, seed);
  return ethFlowHash(b, o, seed);
}

/**
 * net/ipv4/udp.c:udp_flow_src_port: folds the hash (hash ^= hash << 16) and scales it into
 * [min, max) as ((u64)hash * (max - min)) >> 32, here in 32-bit integer steps.
 */
export function flowSrcPort(hash: number, min: number, max: number): number {
  const h = hash ^ (hash << 16);
  const range = max - min;
  return ((((h >>> 16) * range + (((h & 0xffff) * range) >>> 16)) >>> 16) + min) | 0;
}

/**
 * Encapsulates the frame in pkt (the inner Ethernet frame at pkt.head) for the template's tunnel:
 * writes the outer headers into headroom with push(50), word by word from the template with the
 * varying fields merged in: IPv4 total length, identification, ECN (copied from an inner IPv4 header, CE sent as ECT(0): INET_ECN_encapsulate),
 * the checksum (from the template's partial sum), UDP length and the source port hashed from the
 * inner flow. The outer UDP checksum stays 0 (Linux's IPv4 default, noudpcsum). Returns the new
 * head. Too little headroom is a programmer error (push throws).
 *
 * `flowHash` (uint32), when given, stands for a cached skb->hash (e.g. kept in the conntrack
 * entry) and skips hashing the inner headers; by default the inner flow is hashed.
 */
export function vxlanEncap(pkt: Packet, t: VxlanTemplate, flowHash = -1): number {
  const o = pkt.head;
  const innerLen = pkt.tail - o;
  const v = pkt.view;
  let ecn = 0;
  let hash = flowHash;
  if (innerLen >= INNER_IPV4_MIN && v.getUint16(o + 12) === 0x0800) {
    ecn = v.getUint8(o + ETH_HLEN + 1) & 3;
    if (ecn === 3) ecn = 2;
    if (hash < 0) hash = ipv4FlowHashView(v, o + ETH_HLEN, o + innerLen, t.hashSeed);
  } else if (hash < 0) hash = ethFlowHash(pkt.buf, o, t.hashSeed);
  const h = pkt.push(ENCAP);
  const totLen = innerLen + IP_OVER_INNER;
  const id = (t.ipId = (t.ipId + 1) & 0xffff);
  // RFC 1624: the template's sum plus the fields that vary (ECN is the TOS word's low bits).
  let sum = t.ipSum + ecn + totLen + id;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = ~((sum & 0xffff) + (sum >>> 16)) & 0xffff;
  const sport = flowSrcPort(hash, t.srcPortMin, t.srcPortMax);
  // The template word by word, each varying field merged into its word (zero in the template).
  // All loads of the template come first: a store into the packet would make V8 check w again.
  const w = t.words;
  const w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[W_TOS], w5 = w[5], w6 = w[W_CSUM], w7 = w[7];
  const w8 = w[W_SPORT], w9 = w[W_UDP_LEN], w10 = w[10], w11 = w[11], w12 = w[TEMPLATE_WORDS];
  v.setInt32(h, w0);
  v.setInt32(h + 4, w1);
  v.setInt32(h + 8, w2);
  v.setInt32(h + 4 * W_TOS, w3 | ecn);
  v.setInt32(h + 4 * W_TOTLEN_ID, (totLen << 16) | id);
  v.setInt32(h + 20, w5);
  v.setInt32(h + 4 * W_CSUM, w6 | (sum << 16));
  v.setInt32(h + 28, w7);
  v.setInt32(h + 4 * W_SPORT, w8 | sport);
  v.setInt32(h + 4 * W_UDP_LEN, w9 | (innerLen + UDP_OVER_INNER));
  v.setInt32(h + 40, w10);
  v.setInt32(h + 44, w11);
  v.setUint16(h + 4 * TEMPLATE_WORDS, w12);
  pkt.l3 = h + O_IP;
  pkt.l4 = h + O_UDP;
  return h;
}

/** Why vxlanDecap refused a frame (negative, so a VNI ≥ 0 is success). */
export const VxlanDecapError = {
  /** Shorter than the outer headers plus an inner Ethernet header (PKT_TOO_SMALL). */
  TooShort: -1,
  /** Outer EtherType is not IPv4. */
  NotIpv4: -2,
  /** Outer IPv4 is not version 4 with a 20-byte header, or is a fragment (IP_INHDR). */
  IpHeader: -3,
  /** Outer protocol is not UDP. */
  NotUdp: -4,
  /** IPv4 total length or UDP length impossible for the frame (PKT_TOO_SMALL). */
  BadLength: -5,
  /** I flag clear, or a reserved bit set (VXLAN_INVALID_HDR, as vxlan_rcv: stricter than RFC 7348). */
  InvalidHeader: -6,
} as const;
export type VxlanDecapError = (typeof VxlanDecapError)[keyof typeof VxlanDecapError];

/**
 * Decapsulates the VXLAN frame in pkt (the outer Ethernet header at pkt.head): validates the outer
 * headers' layout, trims to the UDP length, pulls the 50 outer bytes so pkt.head is the inner
 * Ethernet frame, and returns the VNI; or returns a negative VxlanDecapError and leaves pkt as it
 * was. The outer IPv4 and UDP checksums are ip_rcv's and udp_rcv's job, before this (vxlan_rcv).
 */
export function vxlanDecap(pkt: Packet): number {
  const v = pkt.view;
  const h = pkt.head;
  const len = pkt.tail - h;
  if (len < ENCAP + ETH_HLEN) return VxlanDecapError.TooShort;
  // Two words hold the layout checks: EtherType + version/IHL, and fragment field + TTL + protocol.
  const etherVer = v.getInt32(h + O_ETHERTYPE);
  if (etherVer >>> 16 !== 0x0800) return VxlanDecapError.NotIpv4;
  const fragProto = v.getInt32(h + O_IP_FRAG);
  if (((etherVer >>> 8) & 0xff) !== 0x45 || (fragProto & 0x3fff0000) !== 0) return VxlanDecapError.IpHeader;
  if ((fragProto & 0xff) !== IPPROTO_UDP) return VxlanDecapError.NotUdp;
  const totLen = v.getUint16(h + O_IP_TOTLEN);
  const udpLen = v.getUint16(h + O_UDP_LEN);
  if (totLen > len - O_IP || udpLen > totLen - (O_UDP - O_IP) || udpLen < UDP_OVER_INNER + ETH_HLEN)
    return VxlanDecapError.BadLength;
  // Flags byte exactly I, reserved bits zero (vxlan_rcv is stricter than RFC 7348 here).
  const w = v.getInt32(h + O_VXLAN + 4);
  if (v.getInt32(h + O_VXLAN) !== VXLAN_I << 24 || (w & 0xff) !== 0) return VxlanDecapError.InvalidHeader;
  // pkt.trim(O_UDP + udpLen) then pkt.pull(ENCAP), written out: the checks above cover theirs.
  pkt.tail = h + O_UDP + udpLen;
  pkt.head = h + ENCAP;
  pkt.l3 = -1;
  pkt.l4 = -1;
  return w >>> 8;
}

// The VXLAN hot path: encapsulation writes a precomputed 50-byte outer header into headroom and
// patches the few fields that vary; decapsulation validates and moves the head. Mirrors
// drivers/net/vxlan/vxlan_core.c (vxlan_xmit_one, vxlan_rcv) with an IPv4 underlay.

import { ethernet, type Ipv4Addr, ipv4, type MacAddr, onesSum, udp, vxlan } from "../wire/index.js";
import { ethFlowHash, flowSrcPort, ipv4FlowHashView } from "./flowhash.js";
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
/** The VXLAN header's first word: flags exactly I, reserved bits zero. */
const VXLAN_FLAGS_WORD = vxlan.VXLAN_FLAG_I << 24;
/** An inner frame long enough to hold an IPv4 header. */
const INNER_IPV4_MIN = ETH_HLEN + 20;
/** Outer IPv4 total length = inner frame + 36 (IPv4 20, UDP 8, VXLAN 8). */
const IP_OVER_INNER = ENCAP - ethernet.ETHERNET_HEADER_LEN;
/** Outer UDP length = inner frame + 16 (UDP 8, VXLAN 8). */
const UDP_OVER_INNER = ENCAP - O_UDP;
/** The shortest frame vxlanDecap accepts: the outer headers and an inner Ethernet header. */
const DECAP_MIN = ENCAP + ETH_HLEN;
/** The least outer UDP length: UDP 8, VXLAN 8 and an inner Ethernet header. */
const UDP_LEN_MIN = UDP_OVER_INNER + ETH_HLEN;
/** Outer IPv4 header bytes in front of the UDP header. */
const UDP_IN_IP = O_UDP - O_IP;
/** The word at O_ETHERTYPE shifted right by 8: EtherType IPv4, then version 4 with IHL 5. */
const ETHERTYPE_IPV4_VER_IHL = 0x080045;
/** Of the word at O_IP_FRAG: the MF flag and fragment offset, and the protocol. */
const FRAG_PROTO_MASK = 0x3fff00ff;

/**
 * The template as vxlanEncap writes it: 12 32-bit words (48 bytes) and a 16-bit rest, the
 * per-packet fields merged into their words on the way. On a 4-aligned outer head, 13 aligned
 * Int32Array stores of host-order words (~4 ns here), the 13th merged with the inner frame's first
 * 2 bytes (one load and store instead of two byte stores: ~1 ns less per packet); elsewhere 13
 * big-endian DataView stores (~6.4 ns, each with its own receiver, bounds and detach checks); one
 * `Uint8Array.set` of the 50 bytes costs ~12 ns (a builtin call with a fixed overhead).
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
  /** `bytes` as TEMPLATE_WORDS big-endian 32-bit words and a final 16-bit one: the DataView path's stores. */
  readonly words: Int32Array;
  /**
   * `bytes` as TEMPLATE_WORDS + 1 host-order words, the last holding bytes 48 and 49 and zero in its
   * other half: the aligned path's stores.
   */
  readonly hostWords: Int32Array;
}

/** The template's bytes as host-order words, the last one half zero (see VxlanTemplate.hostWords). */
function hostWords(b: Uint8Array): Int32Array {
  const words = new Int32Array(TEMPLATE_WORDS + 1);
  new Uint8Array(words.buffer).set(b);
  return words;
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
    hostWords: hostWords(b),
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

/** The host stores a 32-bit word's low byte first (x86, arm64): the aligned path's word layout. */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
/** Of the host-order word after the template's 12, the half holding the inner frame's first 2 bytes (little-endian host). */
const INNER_HALF = 0xffff0000 | 0;
/** A 16-bit field as it sits in a little-endian host word: its two bytes swapped. */
const swap16 = (x: number): number => ((x & 0xff) << 8) | (x >>> 8);

/**
 * Encapsulates the frame in pkt (the inner Ethernet frame at pkt.head) for the template's tunnel:
 * writes the outer headers into headroom with push(50), word by word from the template with the
 * varying fields merged in: IPv4 total length, identification, ECN (copied from an inner IPv4 header, CE sent as ECT(0): INET_ECN_encapsulate),
 * the checksum (from the template's partial sum), UDP length and the source port hashed from the
 * inner flow. The outer UDP checksum stays 0 (Linux's IPv4 default, noudpcsum). Returns the new
 * head. Too little headroom is a programmer error (push throws).
 *
 * The source port comes from pkt.hash when set (skb->hash: a socket's sk_txhash, or an earlier
 * skb_get_hash); otherwise the inner flow is hashed and the hash kept in pkt.hash, as
 * skb_get_hash caches it. Where the outer head is 4-aligned (the inner Ethernet header at 2 mod 4,
 * as a socket's frames are laid out: NET_IP_ALIGN) on a little-endian host, the template goes in
 * as aligned Int32Array stores; elsewhere through the DataView. The bytes are the same.
 */
export function vxlanEncap(pkt: Packet, t: VxlanTemplate): number {
  const o = pkt.head;
  const innerLen = pkt.tail - o;
  const v = pkt.view;
  let ecn = 0;
  if (innerLen >= INNER_IPV4_MIN && v.getUint16(o + 12) === 0x0800) {
    ecn = v.getUint8(o + ETH_HLEN + 1) & 3;
    if (ecn === 3) ecn = 2;
  }
  const hash = pkt.hash !== 0 ? pkt.hash : encapFlowHash(pkt, t.hashSeed);
  // pkt.push(ENCAP), whose check and message stay out of the hot path: it throws here.
  if (o < ENCAP) pkt.push(ENCAP);
  const h = (pkt.head = o - ENCAP);
  pkt.l3 = h + O_IP;
  pkt.l4 = h + O_UDP;
  const totLen = innerLen + IP_OVER_INNER;
  const id = (t.ipId = (t.ipId + 1) & 0xffff);
  // RFC 1624: the template's sum plus the fields that vary (ECN is the TOS word's low bits).
  let sum = t.ipSum + ecn + totLen + id;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = ~((sum & 0xffff) + (sum >>> 16)) & 0xffff;
  const sport = flowSrcPort(hash, t.srcPortMin, t.srcPortMax);
  const udpLen = innerLen + UDP_OVER_INNER;
  const words = pkt.words;
  const k = h >> 2;
  if ((h & 3) !== 0 || k + TEMPLATE_WORDS + 1 > words.length || !LITTLE_ENDIAN) {
    writeTemplateView(v, h, t.words, ecn, (totLen << 16) | id, sum, sport, udpLen);
    return h;
  }
  // The template's bytes as host words, each varying field byte-swapped into its place; the last
  // word keeps the inner frame's first 2 bytes as they were.
  const w = t.hostWords;
  words[k] = w[0];
  words[k + 1] = w[1];
  words[k + 2] = w[2];
  words[k + W_TOS] = w[W_TOS] | (ecn << 24);
  words[k + W_TOTLEN_ID] = swap16(totLen) | (swap16(id) << 16);
  words[k + 5] = w[5];
  words[k + W_CSUM] = w[W_CSUM] | swap16(sum);
  words[k + 7] = w[7];
  words[k + W_SPORT] = w[W_SPORT] | (swap16(sport) << 16);
  words[k + W_UDP_LEN] = w[W_UDP_LEN] | (swap16(udpLen) << 16);
  words[k + 10] = w[10];
  words[k + 11] = w[11];
  words[k + TEMPLATE_WORDS] = (words[k + TEMPLATE_WORDS] & INNER_HALF) | w[TEMPLATE_WORDS];
  return h;
}

/** vxlanEncap's flow hash where the packet carries none: the inner flow's, kept in pkt.hash as skb_get_hash does. */
function encapFlowHash(pkt: Packet, seed: number): number {
  const o = pkt.head;
  const end = pkt.tail;
  const v = pkt.view;
  if (end - o >= INNER_IPV4_MIN && v.getUint16(o + 12) === 0x0800) return (pkt.hash = ipv4FlowHashView(v, o + ETH_HLEN, end, seed) | 0);
  return (pkt.hash = ethFlowHash(pkt.buf, o, seed) | 0);
}

/**
 * vxlanEncap's template write where the outer head is not 4-aligned: 13 big-endian DataView
 * stores (half the cost of a `Uint8Array.set` of the 50 bytes), the varying fields merged in.
 */
function writeTemplateView(v: DataView, h: number, w: Int32Array, ecn: number, totLenId: number, sum: number, sport: number, udpLen: number): void {
  // All loads of the template come first: a store into the packet would make V8 check w again.
  const w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[W_TOS], w5 = w[5], w6 = w[W_CSUM], w7 = w[7];
  const w8 = w[W_SPORT], w9 = w[W_UDP_LEN], w10 = w[10], w11 = w[11], w12 = w[TEMPLATE_WORDS];
  v.setInt32(h, w0);
  v.setInt32(h + 4, w1);
  v.setInt32(h + 8, w2);
  v.setInt32(h + 4 * W_TOS, w3 | ecn);
  v.setInt32(h + 4 * W_TOTLEN_ID, totLenId);
  v.setInt32(h + 20, w5);
  v.setInt32(h + 4 * W_CSUM, w6 | (sum << 16));
  v.setInt32(h + 28, w7);
  v.setInt32(h + 4 * W_SPORT, w8 | sport);
  v.setInt32(h + 4 * W_UDP_LEN, w9 | udpLen);
  v.setInt32(h + 40, w10);
  v.setInt32(h + 44, w11);
  v.setUint16(h + 4 * TEMPLATE_WORDS, w12);
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
 * The inner frame starts without a flow hash: vxlan_rcv's __iptunnel_pull_header keeps only a
 * NIC's L4 hash of the outer packet (skb_clear_hash_if_not_l4), which no emulated NIC computes, so
 * a hash cached by the sending node's vxlanEncap does not cross the wire.
 */
export function vxlanDecap(pkt: Packet): number {
  const v = pkt.view;
  const h = pkt.head;
  const len = pkt.tail - h;
  if (len >= DECAP_MIN) {
    const totLen = v.getUint16(h + O_IP_TOTLEN);
    const udpLen = v.getUint16(h + O_UDP_LEN);
    const w = v.getInt32(h + O_VXLAN + 4);
    // The layout in one test, vxlanDecapError naming the part that failed: EtherType IPv4 and a
    // 20-byte IPv4 header; not a fragment, protocol UDP; the flags byte exactly I, reserved bits
    // zero (vxlan_rcv is stricter than RFC 7348 here); lengths that fit the frame.
    if (
      v.getInt32(h + O_ETHERTYPE) >>> 8 === ETHERTYPE_IPV4_VER_IHL &&
      (v.getInt32(h + O_IP_FRAG) & FRAG_PROTO_MASK) === IPPROTO_UDP &&
      v.getInt32(h + O_VXLAN) === VXLAN_FLAGS_WORD &&
      (w & 0xff) === 0 &&
      totLen <= len - O_IP &&
      udpLen <= totLen - UDP_IN_IP &&
      udpLen >= UDP_LEN_MIN
    ) {
      // pkt.trim(O_UDP + udpLen) then pkt.pull(ENCAP), written out: the checks above cover theirs.
      pkt.tail = h + O_UDP + udpLen;
      pkt.head = h + ENCAP;
      pkt.l3 = -1;
      pkt.l4 = -1;
      pkt.hash = 0;
      return w >>> 8;
    }
  }
  return vxlanDecapError(v, h, len);
}

/** The first of vxlanDecap's checks that the frame at [h, h + len) of v fails (the cold path). */
function vxlanDecapError(v: DataView, h: number, len: number): VxlanDecapError {
  if (len < DECAP_MIN) return VxlanDecapError.TooShort;
  // Two words hold the layout checks: EtherType + version/IHL, and fragment field + TTL + protocol.
  const etherVer = v.getInt32(h + O_ETHERTYPE);
  if (etherVer >>> 16 !== 0x0800) return VxlanDecapError.NotIpv4;
  const fragProto = v.getInt32(h + O_IP_FRAG);
  if (((etherVer >>> 8) & 0xff) !== 0x45 || (fragProto & 0x3fff0000) !== 0) return VxlanDecapError.IpHeader;
  if ((fragProto & 0xff) !== IPPROTO_UDP) return VxlanDecapError.NotUdp;
  const totLen = v.getUint16(h + O_IP_TOTLEN);
  const udpLen = v.getUint16(h + O_UDP_LEN);
  if (totLen > len - O_IP || udpLen > totLen - UDP_IN_IP || udpLen < UDP_LEN_MIN) return VxlanDecapError.BadLength;
  return VxlanDecapError.InvalidHeader;
}

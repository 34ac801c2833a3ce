// Conntrack tuples (include/net/netfilter/nf_conntrack_tuple.h, nf_conntrack_core.c:
// nf_ct_get_tuple / nf_ct_invert_tuple). One direction is four int32 words: saddr, daddr,
// ports (sport << 16 | dport) and proto. ICMP keeps the echo id where TCP/UDP keep the source
// port and type << 8 | code where they keep the destination port (nf_conntrack_proto_icmp.c).

import { formatIpv4, ipv4 } from "../../wire/index.js";

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** A tuple under construction on the per-packet path. Reuse one instance; never allocate per packet. */
export class Tuple {
  saddr = 0;
  daddr = 0;
  sport = 0;
  dport = 0;
  proto = 0;

  /** The ports word as the table stores it. */
  get ports(): number {
    return ((this.sport << 16) | this.dport) | 0;
  }

  copyFrom(t: Tuple): this {
    this.saddr = t.saddr;
    this.daddr = t.daddr;
    this.sport = t.sport;
    this.dport = t.dport;
    this.proto = t.proto;
    return this;
  }

  equals(t: Tuple): boolean {
    return this.saddr === t.saddr && this.daddr === t.daddr && this.sport === t.sport && this.dport === t.dport && this.proto === t.proto;
  }
}

export const packPorts = (sport: number, dport: number): number => ((sport << 16) | dport) | 0;

/** icmp_invert_tuple's invmap: query type → reply type + 1 (0: the type has no reverse). */
const ICMP_INVMAP = new Uint8Array(19);
ICMP_INVMAP[8] = 0 + 1; // echo → echo reply
ICMP_INVMAP[0] = 8 + 1;
ICMP_INVMAP[13] = 14 + 1; // timestamp
ICMP_INVMAP[14] = 13 + 1;
ICMP_INVMAP[15] = 16 + 1; // information
ICMP_INVMAP[16] = 15 + 1;
ICMP_INVMAP[17] = 18 + 1; // address mask
ICMP_INVMAP[18] = 17 + 1;

/** The reply type of an ICMP query type, or -1 when it has none (icmp_invert_tuple fails). */
export const icmpInvertType = (type: number): number => (type < 19 ? ICMP_INVMAP[type] - 1 : -1);

/** nf_ct_invert_tuple: the tuple of the other direction. False when ICMP has no reply type. */
export function invertTuple(dst: Tuple, src: Tuple): boolean {
  const saddr = src.saddr;
  const sport = src.sport;
  dst.saddr = src.daddr;
  dst.daddr = saddr;
  dst.proto = src.proto;
  if (src.proto === IPPROTO_ICMP) {
    const inv = icmpInvertType(src.dport >>> 8);
    if (inv < 0) return false;
    dst.sport = sport;
    dst.dport = (inv << 8) | (src.dport & 0xff);
    return true;
  }
  dst.sport = src.dport;
  dst.dport = sport;
  return true;
}

/**
 * nf_ct_get_tuple: the tuple of the IPv4 datagram at b[l3] whose transport header is at l4 and
 * which ends at `end`. False when the transport header is too short to read (8 octets for TCP,
 * UDP and ICMP, as the kernel's pkt_to_tuple helpers ask for). Other protocols have no ports.
 */
export function pktToTuple(b: Uint8Array, l3: number, l4: number, end: number, t: Tuple): boolean {
  t.saddr = ipv4.srcAddr(b, l3);
  t.daddr = ipv4.dstAddr(b, l3);
  const proto = b[l3 + 9];
  t.proto = proto;
  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
    if (end - l4 < 8) return false;
    t.sport = (b[l4] << 8) | b[l4 + 1];
    t.dport = (b[l4 + 2] << 8) | b[l4 + 3];
    return true;
  }
  if (proto === IPPROTO_ICMP) {
    if (end - l4 < 8) return false;
    t.sport = (b[l4 + 4] << 8) | b[l4 + 5];
    t.dport = (b[l4] << 8) | b[l4 + 1];
    return true;
  }
  t.sport = 0;
  t.dport = 0;
  return true;
}

/**
 * The table's hash of one direction (hash_conntrack_raw): a multiply-xorshift mix of the four
 * words with a per-table seed, as the kernel mixes with nf_conntrack_hash_rnd.
 */
export function hashTuple(seed: number, saddr: number, daddr: number, ports: number, proto: number): number {
  let h = Math.imul(seed ^ proto, 0x9e3779b1);
  h = Math.imul(h ^ saddr, 0x85ebca77);
  h ^= h >>> 15;
  h = Math.imul(h ^ daddr, 0xc2b2ae3d);
  h ^= h >>> 13;
  h = Math.imul(h ^ ports, 0x27d4eb2f);
  h ^= h >>> 16;
  return h | 0;
}

export const PROTO_NAMES: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp" };
export const protoName = (p: number): string => PROTO_NAMES[p] ?? "unknown";

/** "udp 10.244.1.2:40000 -> 10.96.0.10:53" (icmp: "icmp 10.0.0.1 -> 10.0.0.2 type=8 code=0 id=7"). */
export function formatTupleWords(saddr: number, daddr: number, ports: number, proto: number): string {
  const sport = (ports >>> 16) & 0xffff;
  const dport = ports & 0xffff;
  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP)
    return `${protoName(proto)} ${formatIpv4(saddr)}:${sport} -> ${formatIpv4(daddr)}:${dport}`;
  if (proto === IPPROTO_ICMP)
    return `icmp ${formatIpv4(saddr)} -> ${formatIpv4(daddr)} type=${dport >>> 8} code=${dport & 0xff} id=${sport}`;
  return `proto ${proto} ${formatIpv4(saddr)} -> ${formatIpv4(daddr)}`;
}

export const formatTuple = (t: Tuple): string => formatTupleWords(t.saddr, t.daddr, t.ports, t.proto);

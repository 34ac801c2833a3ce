// Rewriting a packet for NAT (net/netfilter/nf_nat_proto.c: nf_nat_ipv4_manip_pkt, udp/tcp/
// icmp_manip_pkt, nf_nat_icmp_reply_translation): addresses, ports and the ICMP echo id, every
// checksum updated incrementally (RFC 1624) except the ICMP error's, which is recomputed as the
// kernel does once the quoted header has changed. A UDP checksum of 0 ("none") stays 0.

import { icmp, ipv4, tcp, udp } from "../../wire/index.js";
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from "./tuple.js";

/** enum nf_nat_manip_type. */
export const MANIP_SRC = 0;
export const MANIP_DST = 1;

/** ICMP types that carry an identifier NAT may change (icmp_manip_pkt). */
export const icmpHasId = (type: number): boolean =>
  type === 0 || type === 8 || type === 13 || type === 14 || type === 15 || type === 16 || type === 17 || type === 18;

/**
 * The transport part of nf_nat_ipv4_manip_pkt for the datagram whose IPv4 header is at l3 and
 * transport header at l4, ending at `end` (for a quoted datagram, the end of the quote): sets
 * the source (MANIP_SRC) or destination port / echo id, fixing the transport checksum for the
 * port and for the pseudo-header address about to change. The address itself is set by manipIp.
 */
export function manipL4(b: Uint8Array, l3: number, l4: number, end: number, manip: number, addr: number, port: number): void {
  const proto = b[l3 + 9];
  const oldAddr = manip === MANIP_SRC ? ipv4.srcAddr(b, l3) : ipv4.dstAddr(b, l3);
  if (proto === IPPROTO_UDP) {
    if (end - l4 < udp.UDP_HEADER_LEN) return;
    if (addr !== oldAddr) udp.rewritePseudoAddr(b, l4, oldAddr, addr);
    if (manip === MANIP_SRC) {
      if (udp.srcPort(b, l4) !== port) udp.rewriteSrcPort(b, l4, port);
    } else if (udp.dstPort(b, l4) !== port) udp.rewriteDstPort(b, l4, port);
  } else if (proto === IPPROTO_TCP) {
    if (end - l4 < 4) return;
    // A quoted header may stop after 8 octets: the checksum is then out of reach (tcp_manip_pkt).
    const csum = end - l4 >= tcp.TCP_HEADER_LEN;
    if (csum && addr !== oldAddr) tcp.rewritePseudoAddr(b, l4, oldAddr, addr);
    if (manip === MANIP_SRC) {
      if (tcp.srcPort(b, l4) === port) return;
      if (csum) tcp.rewriteSrcPort(b, l4, port);
      else tcp.setSrcPort(b, l4, port);
    } else {
      if (tcp.dstPort(b, l4) === port) return;
      if (csum) tcp.rewriteDstPort(b, l4, port);
      else tcp.setDstPort(b, l4, port);
    }
  } else if (proto === IPPROTO_ICMP) {
    if (end - l4 < icmp.ICMP_HEADER_LEN || !icmpHasId(b[l4])) return;
    if (icmp.echoIdent(b, l4) !== port) icmp.rewriteEchoIdent(b, l4, port);
  }
}

/** The network part of nf_nat_ipv4_manip_pkt: the address, with the header checksum (csum_replace4). */
export function manipIp(b: Uint8Array, l3: number, manip: number, addr: number): void {
  if (manip === MANIP_SRC) {
    if (ipv4.srcAddr(b, l3) !== addr) ipv4.rewriteSrcAddr(b, l3, addr);
  } else if (ipv4.dstAddr(b, l3) !== addr) ipv4.rewriteDstAddr(b, l3, addr);
}

/** Both parts, transport first (it needs the old address for the pseudo-header). */
export function manipPkt(b: Uint8Array, l3: number, l4: number, end: number, manip: number, addr: number, port: number): void {
  manipL4(b, l3, l4, end, manip, addr, port);
  manipIp(b, l3, manip, addr);
}

/**
 * The rewrite of an ICMP error RELATED to a NATed flow (nf_nat_icmp_reply_translation), given
 * the address/port the quoted datagram must get (`innerManip` side) and the address the outer
 * header must get (`outerManip` side): the quoted header first, then the ICMP checksum in full,
 * then the outer header. The quote was validated by conntrack (IPv4 header + 8 octets).
 */
export function icmpErrorManip(
  b: Uint8Array,
  l3: number,
  l4: number,
  end: number,
  innerManip: number,
  innerAddr: number,
  innerPort: number,
  outerManip: number,
  outerAddr: number,
): void {
  const q = l4 + icmp.ICMP_HEADER_LEN;
  const ql4 = q + ipv4.headerLength(b, q);
  manipPkt(b, q, ql4, end, innerManip, innerAddr, innerPort);
  icmp.fillChecksum(b, l4, end);
  manipIp(b, l3, outerManip, outerAddr);
}

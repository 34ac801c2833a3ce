// Frame builder: composes Ethernet/IPv4/{UDP,TCP,ICMP} and Ethernet/ARP frames in one Packet
// buffer without intermediate copies. The payload is written first, then each header is prepended
// into headroom from the innermost outwards (gopacket's SerializeBuffer.PrependBytes), so lengths
// and checksums are known when each header is written. Cold path: for tests, traffic generators
// and the emulated sockets; forwarding never builds.

import {
  arp,
  ethernet,
  type Ipv4Addr,
  icmp,
  ipv4,
  type MacAddr,
  tcp,
  udp,
  vxlan,
} from "../wire/index.js";
import { DEFAULT_HEADROOM, type Packet, type PacketPool } from "./packet.js";

export interface EthernetSpec {
  src: MacAddr | number;
  dst: MacAddr | number;
}

export interface Ipv4Spec {
  src: Ipv4Addr | number;
  dst: Ipv4Addr | number;
  /** Time to Live; default 64 (Linux's ip_default_ttl). */
  ttl?: number;
  /** Identification; default 0. */
  ident?: number;
  /** Don't Fragment; default true (Linux sets DF when path MTU discovery is on, the default). */
  dontFrag?: boolean;
  dscp?: number;
  ecn?: number;
}

export interface UdpSpec {
  srcPort: number;
  dstPort: number;
  /** Compute the checksum (default true); false sends 0, "no checksum". */
  checksum?: boolean;
}

/** The TCP header fields; options default to none, flags to ACK, window to 65535. */
export type TcpSpec = Partial<Omit<tcp.TcpRepr, "srcPort" | "dstPort">> & { srcPort: number; dstPort: number };

export interface IcmpEchoSpec {
  /** IcmpType.EchoRequest (8) or EchoReply (0). */
  type: 0 | 8;
  ident: number;
  seq: number;
}

export interface VxlanSpec {
  eth: EthernetSpec;
  ip: Ipv4Spec;
  /** Outer UDP source port (vxlanEncap hashes the inner flow instead) and destination port. */
  srcPort: number;
  dstPort?: number;
  vni: number;
}

interface L3Frame {
  eth: EthernetSpec;
  ip: Ipv4Spec;
  payload?: Uint8Array;
}
export interface UdpFrameSpec extends L3Frame {
  udp: UdpSpec;
}
export interface TcpFrameSpec extends L3Frame {
  tcp: TcpSpec;
}
export interface IcmpFrameSpec extends L3Frame {
  icmp: IcmpEchoSpec;
}
export interface ArpFrameSpec {
  eth: EthernetSpec;
  arp: arp.ArpRepr;
}

const EMPTY = new Uint8Array(0);

/** Appends bytes at the tail (put + one copy: the only time the payload is written). */
export function appendPayload(pkt: Packet, payload: Uint8Array): number {
  const at = pkt.put(payload.length);
  pkt.buf.set(payload, at);
  return at;
}

/** Prepends an Ethernet header; returns the new head. */
export function prependEthernet(pkt: Packet, eth: EthernetSpec, etherType: number): number {
  const h = pkt.push(ethernet.ETHERNET_HEADER_LEN);
  ethernet.emit({ dstAddr: eth.dst as MacAddr, srcAddr: eth.src as MacAddr, etherType }, pkt.buf, h);
  return h;
}

/** Prepends an IPv4 header over the current frame (its payload), checksum filled; sets pkt.l3. */
export function prependIpv4(pkt: Packet, ip: Ipv4Spec, protocol: number): number {
  const payloadLen = pkt.length;
  const h = pkt.push(ipv4.IPV4_HEADER_LEN);
  ipv4.emit(
    {
      srcAddr: (ip.src >>> 0) as Ipv4Addr,
      dstAddr: (ip.dst >>> 0) as Ipv4Addr,
      protocol,
      ttl: ip.ttl ?? 64,
      ident: ip.ident ?? 0,
      dontFrag: ip.dontFrag ?? true,
      moreFrags: false,
      fragOffset: 0,
      dscp: ip.dscp ?? 0,
      ecn: ip.ecn ?? 0,
      payloadLen,
    },
    pkt.buf,
    h,
  );
  pkt.l3 = h;
  return h;
}

/** Prepends a UDP header over the current frame (its data), checksum over the pseudo-header; sets pkt.l4. */
export function prependUdp(pkt: Packet, u: UdpSpec, src: number, dst: number): number {
  const payloadLen = pkt.length;
  const h = pkt.push(udp.UDP_HEADER_LEN);
  udp.emit({ srcPort: u.srcPort, dstPort: u.dstPort, payloadLen }, pkt.buf, h);
  if (u.checksum ?? true) udp.fillChecksum(pkt.buf, h, src, dst, pkt.length);
  pkt.l4 = h;
  return h;
}

/** The full TcpRepr of a spec, with its defaults. */
export const tcpRepr = (t: TcpSpec): tcp.TcpRepr => ({
  srcPort: t.srcPort,
  dstPort: t.dstPort,
  seq: t.seq ?? 0,
  ack: t.ack ?? 0,
  flags: t.flags ?? tcp.TcpFlags.ACK,
  window: t.window ?? 65535,
  urgent: t.urgent ?? 0,
  options: t.options ?? {},
  optionOrder: t.optionOrder,
});

/** Prepends a TCP header (and options) over the current frame (its data), checksum filled; sets pkt.l4. */
export function prependTcp(pkt: Packet, t: TcpSpec, src: number, dst: number): number {
  const repr = tcpRepr(t);
  const h = pkt.push(tcp.headerLen(repr));
  tcp.emit(repr, pkt.buf, h);
  tcp.fillChecksum(pkt.buf, h, src, dst, pkt.length);
  pkt.l4 = h;
  return h;
}

/** Prepends an ICMP echo header over the current frame (the echo data), checksum filled; sets pkt.l4. */
export function prependIcmpEcho(pkt: Packet, e: IcmpEchoSpec): number {
  const h = pkt.push(icmp.ICMP_HEADER_LEN);
  const b = pkt.buf;
  icmp.setMsgType(b, h, e.type);
  icmp.setCode(b, h, 0);
  icmp.setEchoIdent(b, h, e.ident);
  icmp.setEchoSeq(b, h, e.seq);
  icmp.fillChecksum(b, h, pkt.tail);
  pkt.l4 = h;
  return h;
}

/** Prepends a VXLAN header; returns the new head. */
export function prependVxlan(pkt: Packet, vni: number): number {
  const h = pkt.push(vxlan.VXLAN_HEADER_LEN);
  vxlan.emit({ vni }, pkt.buf, h);
  return h;
}

/**
 * Encapsulates the frame in pkt in full (VXLAN, UDP with checksum 0, IPv4, Ethernet), every field
 * from `spec`. The reference for the template-based vxlanEncap, and for frames with a chosen
 * source port. Returns the new head.
 */
export function encapVxlan(pkt: Packet, spec: VxlanSpec): number {
  prependVxlan(pkt, spec.vni);
  prependUdp(pkt, { srcPort: spec.srcPort, dstPort: spec.dstPort ?? vxlan.VXLAN_PORT_LINUX, checksum: false }, 0, 0);
  prependIpv4(pkt, spec.ip, ipv4.IpProtocol.UDP);
  return prependEthernet(pkt, spec.eth, ethernet.EtherType.IPv4);
}

/**
 * A packet from `pool` with room for `payloadLen` plus `headerLen` in front, leaving
 * DEFAULT_HEADROOM of headroom once the headers are in (enough for two levels of encapsulation).
 */
function alloc(pool: PacketPool, headerLen: number, payloadLen: number): Packet {
  return pool.alloc(DEFAULT_HEADROOM + headerLen, payloadLen);
}

/** Ethernet/IPv4/UDP: `buildUdp(pool, { eth, ip, udp: { srcPort, dstPort }, payload })`. */
export function buildUdp(pool: PacketPool, spec: UdpFrameSpec): Packet {
  const payload = spec.payload ?? EMPTY;
  const pkt = alloc(pool, 42, payload.length);
  appendPayload(pkt, payload);
  prependUdp(pkt, spec.udp, spec.ip.src, spec.ip.dst);
  prependIpv4(pkt, spec.ip, ipv4.IpProtocol.UDP);
  prependEthernet(pkt, spec.eth, ethernet.EtherType.IPv4);
  return pkt;
}

/** Ethernet/IPv4/TCP with options. */
export function buildTcp(pool: PacketPool, spec: TcpFrameSpec): Packet {
  const payload = spec.payload ?? EMPTY;
  const pkt = alloc(pool, 14 + 20 + tcp.TCP_MAX_HEADER_LEN, payload.length);
  appendPayload(pkt, payload);
  prependTcp(pkt, spec.tcp, spec.ip.src, spec.ip.dst);
  prependIpv4(pkt, spec.ip, ipv4.IpProtocol.TCP);
  prependEthernet(pkt, spec.eth, ethernet.EtherType.IPv4);
  return pkt;
}

/** Ethernet/IPv4/ICMP echo request or reply; `payload` is the echo data. */
export function buildIcmp(pool: PacketPool, spec: IcmpFrameSpec): Packet {
  const payload = spec.payload ?? EMPTY;
  const pkt = alloc(pool, 42, payload.length);
  appendPayload(pkt, payload);
  prependIcmpEcho(pkt, spec.icmp);
  prependIpv4(pkt, spec.ip, ipv4.IpProtocol.ICMP);
  prependEthernet(pkt, spec.eth, ethernet.EtherType.IPv4);
  return pkt;
}

/** Ethernet/ARP, 42 bytes (not padded: padding to 60 is the transmitting device's business). */
export function buildArp(pool: PacketPool, spec: ArpFrameSpec): Packet {
  const pkt = alloc(pool, 14 + arp.ARP_LEN, 0);
  const h = pkt.push(arp.ARP_LEN);
  arp.emit(spec.arp, pkt.buf, h);
  pkt.l3 = h;
  prependEthernet(pkt, spec.eth, ethernet.EtherType.ARP);
  return pkt;
}

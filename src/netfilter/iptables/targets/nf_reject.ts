// The TCP reset REJECT sends (net/ipv4/netfilter/nf_reject_ipv4.c: nf_send_reset): built from the
// rejected segment, not from any socket, attached to its conntrack entry and sent from the
// namespace with ip_local_out, so OUTPUT, NAT and POSTROUTING see it as they would in Linux.
// Not modelled: a bridged segment's RST sent straight out of the bridge port with the MACs swapped
// (br_netfilter's physindev path); here it is routed like any other.

import { ipOutput, type NetNamespace, routeOutput } from "../../../net/index.js";
import type { Packet } from "../../../packet/index.js";
import { type Ipv4Addr, ipv4, tcp } from "../../../wire/index.js";
import { ctinfoDir } from "../../conntrack/core.js";
import { CtInfo } from "../../types.js";

const HEADROOM = 128;
const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;
/** nf_reject_iphdr_put: TOS 0, ID 0, DF; the TTL is the route's hop limit (the namespace default). */
const RESET_IP_OPTS = { df: true, tos: 0, id: 0 };

/**
 * nf_send_reset: a RST answering `pkt` (a TCP segment, l3/l4 set): seq = its ACK number when it
 * had one (RST alone), else RST,ACK acknowledging what it occupied (SYN, FIN and payload); no
 * options, window 0, from the address it was sent to. Nothing is sent for a RST, a non-first
 * fragment, a bad checksum or a broadcast/multicast destination. Returns true when a RST was sent.
 */
export function nfSendReset(ns: NetNamespace, pkt: Packet): boolean {
  const b = pkt.buf;
  const l3 = pkt.l3;
  // nf_reject_ip_tcphdr_get.
  if (ipv4.fragOffset(b, l3) !== 0 || b[l3 + 9] !== tcp.TCP_PROTOCOL) return false;
  const th = l3 + ipv4.headerLength(b, l3);
  const end = l3 + ipv4.totalLen(b, l3);
  if (end > pkt.tail || end - th < tcp.TCP_HEADER_LEN) return false;
  const fl = tcp.flags(b, th);
  if (fl & RST) return false;
  const saddr = ipv4.dstAddr(b, l3);
  const daddr = ipv4.srcAddr(b, l3);
  if (!tcp.verifyChecksum(b, th, daddr, saddr, end - th)) return false;
  // skb_rtable(oldskb)->rt_flags & (RTCF_BROADCAST | RTCF_MULTICAST).
  if (saddr === 0xffffffff || saddr >>> 28 === 0xe || ns.isBroadcast(saddr)) return false;
  const rt = routeOutput(ns, daddr, saddr);
  if (typeof rt === "string") return false;
  const p = ns.sim.pool.alloc(HEADROOM, tcp.TCP_HEADER_LEN);
  const o = p.put(tcp.TCP_HEADER_LEN);
  const r = p.buf;
  r.fill(0, o, o + tcp.TCP_HEADER_LEN);
  tcp.setSrcPort(r, o, tcp.dstPort(b, th));
  tcp.setDstPort(r, o, tcp.srcPort(b, th));
  tcp.setHeaderLength(r, o, tcp.TCP_HEADER_LEN);
  // nf_reject_ip_tcphdr_put.
  if (fl & ACK) {
    tcp.setSeqNumber(r, o, tcp.ackNumber(b, th));
    tcp.setFlags(r, o, RST);
  } else {
    const occupied = end - th - tcp.headerLength(b, th) + (fl & SYN ? 1 : 0) + (fl & FIN ? 1 : 0);
    tcp.setAckNumber(r, o, (tcp.seqNumber(b, th) + occupied) >>> 0);
    tcp.setFlags(r, o, RST | ACK);
  }
  tcp.fillChecksum(r, o, saddr, daddr, tcp.TCP_HEADER_LEN);
  // nf_ct_attach: the RST belongs to the rejected packet's connection, in the other direction, so
  // NAT undoes on the RST what it did to that packet (a rejected DNATed SYN is answered from the Service).
  if (pkt.ct >= 0) {
    p.ct = pkt.ct;
    p.ctinfo = ctinfoDir(pkt.ctinfo) === 0 ? CtInfo.RelatedReply : CtInfo.Related;
  }
  ipOutput(ns, p, daddr as Ipv4Addr, tcp.TCP_PROTOCOL, rt, RESET_IP_OPTS);
  return true;
}

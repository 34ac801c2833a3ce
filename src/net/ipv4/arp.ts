// ARP for IPv4 over Ethernet (net/ipv4/arp.c): answering requests for local addresses
// (arp_ignore=0: any local address, on any interface), learning from requests and replies
// (neigh_update), soliciting for the neighbour table, gratuitous ARP.

import type { Packet } from "../../packet/index.js";
import { DropReason } from "../../sim/index.js";
import { arp, ethernet, type Ipv4Addr, MAC_BROADCAST, type MacAddr } from "../../wire/index.js";
import type { NetDevice } from "../core/device.js";
import type { NetNamespace } from "../core/netns.js";
import { icmpSendError } from "./icmp.js";
import type { NeighbourTable, NeighOps } from "./neigh.js";

const ETH = ethernet.ETHERNET_HEADER_LEN;
const ARP_FRAME_LEN = ETH + arp.ARP_LEN;

/** A device that resolves with ARP carries a neighbour table. */
export const neighOf = (dev: NetDevice): NeighbourTable | undefined => (dev as { neigh?: NeighbourTable }).neigh;

/** Receives an ARP frame (arp_rcv → arp_process). */
export function arpRcv(ns: NetNamespace, dev: NetDevice, pkt: Packet): void {
  const b = pkt.buf;
  const o = pkt.head + ETH;
  const err = arp.check(b, o, pkt.tail);
  if (err) return dev.drop(pkt, DropReason.ARP_MALFORMED, err.kind);
  const op = arp.op(b, o);
  const sip = arp.spa(b, o);
  const tip = arp.tpa(b, o);
  const sha = arp.sha(b, o);
  const neigh = neighOf(dev);
  if (neigh === undefined) return pkt.free();
  // Linux drops ARP with a multicast sender address or from a sender claiming to be us.
  if ((b[o + 8] & 1) === 1) return dev.drop(pkt, DropReason.MAC_INVALID_SOURCE);
  const forUs = ns.isLocal(tip);
  if (op === arp.ArpOp.Request && forUs && sip !== 0) {
    neigh.update(sip, sha, false, true);
    sendReply(dev, sha, tip, sip);
  } else if (op === arp.ArpOp.Request && forUs && sip === 0) {
    // An ARP probe (RFC 5227, sender 0.0.0.0): answer, learn nothing.
    sendReply(dev, sha, tip, sip);
  } else if (sip !== 0) {
    // A reply, a gratuitous ARP, or a request for someone else: refresh what we already know.
    const unicastReply = op === arp.ArpOp.Reply && ethernet.dstAddr(b, pkt.head) === dev.mac;
    neigh.update(sip, sha, unicastReply, false);
  }
  pkt.free();
}

function sendReply(dev: NetDevice, toMac: MacAddr, ourIp: Ipv4Addr, theirIp: Ipv4Addr): void {
  const p = buildArp(dev, arp.ArpOp.Reply, toMac, ourIp, toMac, theirIp);
  dev.xmit(p);
}

function buildArp(dev: NetDevice, op: number, ethDst: MacAddr, spa: Ipv4Addr, tha: MacAddr, tpa: Ipv4Addr): Packet {
  const p = dev.ns.sim.pool.alloc();
  const o = p.put(ARP_FRAME_LEN);
  const b = p.buf;
  ethernet.setDstAddr(b, o, ethDst);
  ethernet.setSrcAddr(b, o, dev.mac);
  ethernet.setEtherType(b, o, ethernet.EtherType.ARP);
  arp.emit({ op, sha: dev.mac, spa, tha, tpa }, b, o + ETH);
  p.l3 = o + ETH;
  return p;
}

/**
 * arp_solicit: the sender address is the queued packet's source if it is ours (arp_announce=0),
 * else the device's address on the target's subnet. Broadcast, or unicast to `dstMac` when probing.
 */
function solicit(dev: NetDevice, target: Ipv4Addr, dstMac: MacAddr | null, queued: Packet | null): void {
  let saddr: number | undefined;
  if (queued !== null && queued.l3 >= 0) {
    const s = ((queued.buf[queued.l3 + 12] << 24) | (queued.buf[queued.l3 + 13] << 16) | (queued.buf[queued.l3 + 14] << 8) | queued.buf[queued.l3 + 15]) >>> 0;
    if (dev.ns.isLocal(s)) saddr = s;
  }
  saddr ??= dev.selectAddr(target) ?? 0;
  dev.xmit(buildArp(dev, arp.ArpOp.Request, dstMac ?? MAC_BROADCAST, saddr as Ipv4Addr, 0 as MacAddr, target));
}

/** Resolution failed: Linux reports the queued packet's loss with ICMP host unreachable (arp_error_report). */
function failed(dev: NetDevice, pkt: Packet): void {
  if (pkt.l3 >= 0 && pkt.iif !== 0) icmpSendError(dev.ns, pkt, 3, 1, 0);
  dev.drop(pkt, DropReason.NEIGH_FAILED);
}

export const neighOps: NeighOps = { solicit, failed };

/** Announces `addr` on `dev` with a gratuitous ARP request (arping -U; what a new pod does). */
export function sendGratuitousArp(dev: NetDevice, addr: Ipv4Addr = dev.primaryAddr!): void {
  dev.xmit(buildArp(dev, arp.ArpOp.Request, MAC_BROADCAST, addr, 0 as MacAddr, addr));
}

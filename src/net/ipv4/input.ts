// IPv4 receive (net/ipv4/ip_input.c, ip_forward.c, route.c's input path): header sanity and
// checksum, PREROUTING, the input route decision, local delivery through INPUT to the protocol
// handler, or forwarding with TTL decrement, the MTU check and FORWARD.

import type { Packet } from "../../packet/index.js";
import { DropReason } from "../../sim/index.js";
import { formatIpv4, ipv4 } from "../../wire/index.js";
import type { NetDevice } from "../core/device.js";
import { Hook, Verdict } from "../core/netfilter.js";
import type { NetNamespace } from "../core/netns.js";
import { icmpSendError } from "./icmp.js";
import { ipFinishOutput } from "./output.js";

const ETH = 14;

/** ip_rcv: validates the header, trims link padding, runs PREROUTING, then routes. */
export function ipRcv(ns: NetNamespace, dev: NetDevice, pkt: Packet): void {
  const b = pkt.buf;
  const l3 = pkt.head + ETH;
  const err = ipv4.check(b, l3, pkt.tail);
  if (err !== undefined) {
    const reason = err.kind === "truncated" ? DropReason.PKT_TOO_SMALL : DropReason.IP_INHDR;
    return dev.drop(pkt, reason, err.kind);
  }
  if (!ipv4.verifyChecksum(b, l3)) return dev.drop(pkt, DropReason.IP_CSUM);
  pkt.pull(ETH);
  pkt.l3 = l3;
  pkt.trim(ipv4.totalLen(b, l3));
  pkt.l4 = l3 + ipv4.headerLength(b, l3);
  if (ns.nf !== null) {
    const v = ns.nf.run(Hook.PreRouting, pkt, dev, null, false);
    if (v !== Verdict.Accept) return v === Verdict.Drop ? dev.drop(pkt, DropReason.NETFILTER_DROP) : undefined;
  }
  ipRcvFinish(ns, dev, pkt);
}

/** ip_rcv_finish → ip_route_input: local delivery, forwarding, or an error. */
export function ipRcvFinish(ns: NetNamespace, dev: NetDevice, pkt: Packet): void {
  const b = pkt.buf;
  const l3 = pkt.l3;
  const daddr = ipv4.dstAddr(b, l3);
  const saddr = ipv4.srcAddr(b, l3);
  // Martian sources: multicast, limited broadcast (ip_route_input_slow).
  if (saddr >>> 28 === 0xe || saddr === 0xffffffff) return dev.drop(pkt, DropReason.IP_INADDRERRORS, "martian source");
  if (ns.localAddrs.has(daddr) || daddr === 0xffffffff || ns.isBroadcast(daddr)) return ipLocalDeliver(ns, dev, pkt);
  if (daddr >>> 28 === 0xe) return dev.drop(pkt, DropReason.UNHANDLED_PROTO, "multicast");
  // Linux: with forwarding off a packet for another host is an address error, with no ICMP.
  if (!ns.sysctl.ipForward) return dev.drop(pkt, DropReason.IP_INADDRERRORS, "not forwarding");
  ipForward(ns, dev, pkt);
}

/** ip_local_deliver: INPUT hook, then the protocol handler (or ICMP protocol unreachable). */
export function ipLocalDeliver(ns: NetNamespace, dev: NetDevice, pkt: Packet): void {
  const b = pkt.buf;
  const l3 = pkt.l3;
  if (ipv4.isFragment(b, l3)) return dev.drop(pkt, DropReason.UNHANDLED_PROTO, "fragment (reassembly is not modelled)");
  if (ns.nf !== null) {
    const v = ns.nf.run(Hook.LocalIn, pkt, dev, null, false);
    if (v !== Verdict.Accept) return v === Verdict.Drop ? dev.drop(pkt, DropReason.NETFILTER_DROP) : undefined;
  }
  const proto = ipv4.protocol(b, l3);
  const handler = ns.protocols[proto];
  if (handler === undefined) {
    icmpSendError(ns, pkt, 3, 2, 0);
    return dev.drop(pkt, DropReason.IP_NOPROTO);
  }
  handler(ns, dev, pkt);
}

/** ip_forward: TTL, route, MTU (DF), TTL decrement, FORWARD hook, then output. */
export function ipForward(ns: NetNamespace, indev: NetDevice, pkt: Packet): void {
  const b = pkt.buf;
  const l3 = pkt.l3;
  const daddr = ipv4.dstAddr(b, l3);
  const rt = ns.mainTable.lookup(daddr);
  if (rt === undefined || rt.type !== "unicast") {
    // ip_error: host/net unreachable for a missing route (rate limited like every ICMP error).
    icmpSendError(ns, pkt, 3, rt === undefined ? 0 : 1, 0);
    return indev.drop(pkt, DropReason.IP_INNOROUTES, formatIpv4(daddr));
  }
  if (ipv4.ttl(b, l3) <= 1) {
    icmpSendError(ns, pkt, 11, 0, 0);
    return indev.drop(pkt, DropReason.TTL_EXPIRED);
  }
  const out = rt.dev!;
  const len = pkt.tail - l3;
  if (len > out.mtu && ipv4.dontFrag(b, l3)) {
    icmpSendError(ns, pkt, 3, 4, out.mtu);
    return indev.drop(pkt, DropReason.PKT_TOO_BIG, `${len} > mtu ${out.mtu} of ${out.name}`);
  }
  ipv4.decrementTtl(b, l3);
  const nexthop = rt.via || daddr;
  const sim = ns.sim;
  if (sim.trace.on) {
    sim.trace.emit({ t: sim.sched.now, ns: ns.name, kind: "forward", in: indev.name, out: out.name, ttl: ipv4.ttl(b, l3) });
    sim.trace.emit({ t: sim.sched.now, ns: ns.name, kind: "route", daddr: formatIpv4(daddr), via: rt.via ? formatIpv4(rt.via) : undefined, out: out.name });
  }
  if (ns.nf !== null) {
    const v = ns.nf.run(Hook.Forward, pkt, indev, out, false);
    if (v !== Verdict.Accept) return v === Verdict.Drop ? indev.drop(pkt, DropReason.NETFILTER_DROP) : undefined;
  }
  ipFinishOutput(ns, pkt, indev, out, nexthop);
}

// ICMPv4 in the stack (net/ipv4/icmp.c): errors sent about a packet (icmp_send: which packets
// never get one, the source address, TOS 0xc0, the 576-byte quote, per-destination rate limit),
// echo replies, and received errors handed to the protocol that sent the quoted packet.

import type { Packet } from "../../packet/index.js";
import { DropReason } from "../../sim/index.js";
import { formatIpv4, type Ipv4Addr, icmp, ipv4 } from "../../wire/index.js";
import type { NetDevice } from "../core/device.js";
import type { NetNamespace } from "../core/netns.js";
import type { ProtoErrHandler } from "../core/proto.js";
import { ipOutput, routeOutput } from "./output.js";

/** IPTOS_PREC_INTERNETCONTROL: Linux sends ICMP errors with precedence "internetwork control". */
const TOS_INTERNETCONTROL = 0xc0;
/** XRLIM_BURST_FACTOR: a destination may receive this many errors in a burst. */
const XRLIM_BURST_FACTOR = 6;

interface IcmpState {
  /** Per-destination token buckets for rate-limited errors (inet_peer_xrlim_allow): tokens in ns. */
  peers: Map<number, { tokens: number; last: number }>;
  /** Error handlers of the transport protocols by protocol number (udp_err, tcp_v4_err). */
  errHandlers: (ProtoErrHandler | undefined)[];
  /** Ping (echo) listeners by identifier. */
  echo: Map<number, (reply: EchoReply) => void>;
  /** Path MTU learned from fragmentation-needed, by destination (a route exception). */
  pmtu: Map<number, { mtu: number; expires: number }>;
}

export interface EchoReply {
  from: Ipv4Addr;
  ident: number;
  seq: number;
  ttl: number;
  /** ICMP payload length (56 for a default ping). */
  dataLen: number;
  /** Virtual time the reply arrived. */
  at: number;
}

export function icmpState(ns: NetNamespace): IcmpState {
  let s = ns.state.get("icmp") as IcmpState | undefined;
  if (s === undefined) {
    s = { peers: new Map(), errHandlers: [], echo: new Map(), pmtu: new Map() };
    ns.state.set("icmp", s);
  }
  return s;
}

/** Registers a transport protocol's handler for ICMP errors quoting its packets. */
export function registerIcmpErrHandler(ns: NetNamespace, proto: number, h: ProtoErrHandler): void {
  icmpState(ns).errHandlers[proto] = h;
}

/**
 * icmp_send: answers the packet at pkt.l3 with an ICMP error. The packet itself is not consumed.
 * `info` is the next-hop MTU for fragmentation-needed. Returns true if an error was sent.
 */
export function icmpSendError(ns: NetNamespace, pkt: Packet, type: number, code: number, info: number): boolean {
  const b = pkt.buf;
  const l3 = pkt.l3;
  const saddrOrig = ipv4.srcAddr(b, l3);
  const daddrOrig = ipv4.dstAddr(b, l3);
  // Never about: a non-first fragment, an ICMP error, a broadcast/multicast destination, a zero/martian source.
  if (ipv4.fragOffset(b, l3) !== 0) return false;
  if (daddrOrig === 0xffffffff || daddrOrig >>> 28 === 0xe || ns.isBroadcast(daddrOrig)) return false;
  if (saddrOrig === 0 || saddrOrig >>> 28 === 0xe) return false;
  if (ipv4.protocol(b, l3) === 1) {
    const l4 = l3 + ipv4.headerLength(b, l3);
    if (pkt.tail - l4 < 1 || icmp.isError(b[l4])) return false;
  }
  // Rate limit per destination, except fragmentation-needed (icmpv4_xrlim_allow).
  if (!(type === 3 && code === 4) && !rateAllow(ns, saddrOrig)) {
    const sim = ns.sim;
    if (sim.trace.on) sim.trace.emit({ t: sim.sched.now, ns: ns.name, kind: "icmp", action: "send", type, code, detail: "rate limited" });
    return false;
  }
  // Source: the quoted packet's destination if it was ours, else chosen by the route back.
  const local = ns.isLocal(daddrOrig);
  const rt = routeOutput(ns, saddrOrig, local ? daddrOrig : 0);
  if (typeof rt === "string") return false;
  const datagramLen = pkt.tail - l3;
  const qlen = icmp.quoteLen(datagramLen);
  const p = ns.sim.pool.alloc(128, qlen + 8);
  const o = p.put(icmp.ICMP_HEADER_LEN + qlen);
  icmp.emitError(p.buf, o, type, code, type === 3 && code === 4 ? info & 0xffff : 0, b, l3, qlen);
  const tos = b[l3 + 1] & 0x1e; // RT_TOS
  const sim = ns.sim;
  if (sim.trace.on)
    sim.trace.emit({ t: sim.sched.now, ns: ns.name, kind: "icmp", action: "send", type, code, detail: `to ${formatIpv4(saddrOrig)} about ${formatIpv4(saddrOrig)} -> ${formatIpv4(daddrOrig)}` });
  ipOutput(ns, p, saddrOrig, 1, rt, { tos: tos | TOS_INTERNETCONTROL, ttl: ns.sysctl.ipDefaultTtl });
  return true;
}

function rateAllow(ns: NetNamespace, dst: number): boolean {
  const limit = ns.sysctl.icmpRatelimit;
  if (limit === 0) return true;
  const peers = icmpState(ns).peers;
  const now = ns.sim.sched.now;
  let p = peers.get(dst);
  if (p === undefined) {
    p = { tokens: XRLIM_BURST_FACTOR * limit, last: now };
    peers.set(dst, p);
  }
  p.tokens = Math.min(XRLIM_BURST_FACTOR * limit, p.tokens + (now - p.last));
  p.last = now;
  if (p.tokens < limit) return false;
  p.tokens -= limit;
  return true;
}

/** icmp_rcv: checksum, echo requests answered in place, echo replies to pingers, errors to their protocol. */
export function icmpRcv(ns: NetNamespace, dev: NetDevice, pkt: Packet): void {
  const b = pkt.buf;
  const l3 = pkt.l3;
  const o = pkt.l4;
  const end = pkt.tail;
  if (icmp.check(b, o, end)) return dev.drop(pkt, DropReason.PKT_TOO_SMALL, "icmp header");
  if (!icmp.verifyChecksum(b, o, end)) return dev.drop(pkt, DropReason.ICMP_CSUM);
  const type = icmp.msgType(b, o);
  const sim = ns.sim;
  if (sim.trace.on) sim.trace.emit({ t: sim.sched.now, ns: ns.name, dev: dev.name, kind: "icmp", action: "recv", type, code: icmp.code(b, o), detail: `from ${formatIpv4(ipv4.srcAddr(b, l3))}` });
  if (type === icmp.IcmpType.EchoRequest) return echoReply(ns, dev, pkt);
  if (type === icmp.IcmpType.EchoReply) {
    const cb = icmpState(ns).echo.get(icmp.echoIdent(b, o));
    if (cb) cb({ from: ipv4.srcAddr(b, l3), ident: icmp.echoIdent(b, o), seq: icmp.echoSeq(b, o), ttl: ipv4.ttl(b, l3), dataLen: end - o - 8, at: sim.sched.now });
    return pkt.free();
  }
  if (icmp.isError(type)) {
    if (icmp.checkQuote(b, o, end)) return dev.drop(pkt, DropReason.PKT_TOO_SMALL, "icmp quote");
    const q = icmp.quotedIpv4Offset(b, o);
    const code = icmp.code(b, o);
    let info = 0;
    if (type === 3 && code === 4) {
      info = icmp.nextHopMtu(b, o);
      if (info >= 68) icmpState(ns).pmtu.set(ipv4.dstAddr(b, q), { mtu: info, expires: sim.sched.now + 600e9 });
    }
    const h = icmpState(ns).errHandlers[ipv4.protocol(b, q)];
    if (h) h(ns, pkt, q, type, code, info);
  }
  pkt.free();
}

/** icmp_echo → icmp_reply: the reply reuses the request's buffer; source = the address pinged. */
function echoReply(ns: NetNamespace, dev: NetDevice, pkt: Packet): void {
  const b = pkt.buf;
  const l3 = pkt.l3;
  const saddr = ipv4.dstAddr(b, l3);
  const daddr = ipv4.srcAddr(b, l3);
  if (ns.isBroadcast(saddr)) return dev.drop(pkt, DropReason.OTHERHOST, "echo to broadcast");
  const rt = routeOutput(ns, daddr, saddr);
  if (typeof rt === "string") return dev.drop(pkt, DropReason.IP_OUTNOROUTES);
  const tos = b[l3 + 1];
  icmp.echoRequestToReply(b, pkt.l4);
  pkt.head = pkt.l4;
  // A new packet as far as the stack is concerned (icmp_reply builds a fresh skb).
  pkt.ct = -1;
  pkt.ctinfo = 0;
  pkt.mark = 0;
  ipOutput(ns, pkt, daddr, 1, rt, { tos, ttl: ns.sysctl.ipDefaultTtl });
}

/** The path MTU to `daddr` if an ICMP fragmentation-needed lowered it, else undefined. */
export function pathMtu(ns: NetNamespace, daddr: number): number | undefined {
  const e = icmpState(ns).pmtu.get(daddr);
  if (e === undefined) return undefined;
  if (e.expires <= ns.sim.sched.now) {
    icmpState(ns).pmtu.delete(daddr);
    return undefined;
  }
  return e.mtu;
}

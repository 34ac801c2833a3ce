// IPv4 output (net/ipv4/ip_output.c, route.c's output path): the output route and source address,
// the header, LOCAL_OUT (re-routing when NAT changed the destination, ip_route_me_harder),
// POSTROUTING, the MTU, and the neighbour layer that fills the link header.

import type { Packet } from "../../packet/index.js";
import { DropReason } from "../../sim/index.js";
import { ethernet, formatIpv4, type Ipv4Addr, ipv4, MAC_BROADCAST } from "../../wire/index.js";
import type { NetDevice } from "../core/device.js";
import { Hook, Verdict } from "../core/netfilter.js";
import type { NetNamespace } from "../core/netns.js";
import { neighOf } from "./arp.js";
import type { Route } from "./route.js";

const ETH = 14;

/** The result of an output route lookup (ip_route_output_key): device, next hop, source. */
export interface OutputRoute {
  dev: NetDevice;
  nexthop: Ipv4Addr;
  src: Ipv4Addr;
  route: Route | null;
}

/** Errors a sender sees, named as errno. */
export type OutputError = "ENETUNREACH" | "EHOSTUNREACH" | "EINVAL" | "EPERM" | "EMSGSIZE" | "EACCES";

/**
 * Looks up the output route to `daddr`: local addresses go through `lo`; otherwise the main table.
 * Allocates one small object: callers on the per-packet path look up once per flow or socket.
 */
export function routeOutput(ns: NetNamespace, daddr: number, saddr = 0): OutputRoute | OutputError {
  if (ns.localAddrs.has(daddr) || daddr >>> 24 === 127) {
    return { dev: ns.lo, nexthop: daddr as Ipv4Addr, src: (saddr || daddr) as Ipv4Addr, route: null };
  }
  const rt = ns.mainTable.lookup(daddr);
  if (rt === undefined) return "ENETUNREACH";
  if (rt.type !== "unicast") return rt.type === "prohibit" ? "EACCES" : rt.type === "blackhole" ? "EINVAL" : "EHOSTUNREACH";
  const dev = rt.dev!;
  const nexthop = (rt.via || daddr) as Ipv4Addr;
  const src = (saddr || rt.src || dev.selectAddr(nexthop) || 0) as Ipv4Addr;
  return { dev, nexthop, src, route: rt };
}

export interface IpHeaderOpts {
  ttl?: number;
  tos?: number;
  /** Don't Fragment. */
  df?: boolean;
  /** Explicit IP ID; otherwise 0 for DF packets and a hashed counter for others (ip_select_ident). */
  id?: number;
}

/**
 * Sends the transport segment at pkt.head (its checksum already computed for `rt.src`) to
 * `daddr`: prepends the IPv4 header and runs LOCAL_OUT, POSTROUTING and the neighbour layer.
 * Takes ownership of pkt. Returns an error a socket would see, or undefined.
 */
export function ipOutput(ns: NetNamespace, pkt: Packet, daddr: Ipv4Addr, proto: number, rt: OutputRoute, opts: IpHeaderOpts = {}): OutputError | undefined {
  const o = pkt.push(ipv4.IPV4_HEADER_LEN);
  const b = pkt.buf;
  const len = pkt.tail - o;
  const df = opts.df ?? false;
  const id = opts.id ?? (df ? 0 : ns.nextIdent(rt.src, daddr, proto));
  b[o] = 0x45;
  b[o + 1] = opts.tos ?? 0;
  ipv4.setTotalLen(b, o, len);
  ipv4.setIdent(b, o, id);
  b[o + 6] = df ? 0x40 : 0;
  b[o + 7] = 0;
  b[o + 8] = opts.ttl ?? ns.sysctl.ipDefaultTtl;
  b[o + 9] = proto;
  ipv4.setSrcAddr(b, o, rt.src);
  ipv4.setDstAddr(b, o, daddr);
  ipv4.fillChecksum(b, o);
  pkt.l3 = o;
  pkt.l4 = o + ipv4.IPV4_HEADER_LEN;
  if (ns.sim.trace.on) pkt.notes ??= [];
  return ipLocalOut(ns, pkt, rt);
}

/** __ip_local_out: the OUTPUT hook, re-routing if NAT moved the destination, then ip_output. */
export function ipLocalOut(ns: NetNamespace, pkt: Packet, rt: OutputRoute): OutputError | undefined {
  const b = pkt.buf;
  const l3 = pkt.l3;
  if (pkt.tail - l3 > rt.dev.mtu) {
    // Local datagrams larger than the path MTU: kubewire does not fragment (see README).
    pkt.free();
    return "EMSGSIZE";
  }
  if (ns.nf !== null) {
    const daddr = ipv4.dstAddr(b, l3);
    const v = ns.nf.run(Hook.LocalOut, pkt, null, rt.dev, false);
    if (v !== Verdict.Accept) {
      if (v === Verdict.Drop) rt.dev.drop(pkt, DropReason.NETFILTER_DROP);
      return v === Verdict.Drop ? "EPERM" : undefined;
    }
    const nd = ipv4.dstAddr(b, l3);
    if (nd !== daddr) {
      const r2 = routeOutput(ns, nd);
      if (typeof r2 === "string") {
        rt.dev.drop(pkt, DropReason.IP_OUTNOROUTES, formatIpv4(nd));
        return r2;
      }
      rt = r2;
    }
  }
  traceRoute(ns, pkt, rt);
  ipFinishOutput(ns, pkt, null, rt.dev, rt.nexthop);
  return undefined;
}

function traceRoute(ns: NetNamespace, pkt: Packet, rt: OutputRoute): void {
  const sim = ns.sim;
  if (!sim.trace.on) return;
  const daddr = ipv4.dstAddr(pkt.buf, pkt.l3);
  sim.trace.emit({
    t: sim.sched.now,
    ns: ns.name,
    kind: "route",
    daddr: formatIpv4(daddr),
    via: rt.nexthop !== daddr ? formatIpv4(rt.nexthop) : undefined,
    out: rt.dev.name,
    src: formatIpv4(rt.src),
    type: rt.route === null ? "local" : "unicast",
  });
}

/** ip_output → ip_finish_output: POSTROUTING, the MTU, then the neighbour layer. */
export function ipFinishOutput(ns: NetNamespace, pkt: Packet, indev: NetDevice | null, out: NetDevice, nexthop: Ipv4Addr): void {
  if (ns.nf !== null) {
    const v = ns.nf.run(Hook.PostRouting, pkt, indev, out, false);
    if (v !== Verdict.Accept) return v === Verdict.Drop ? out.drop(pkt, DropReason.NETFILTER_DROP) : undefined;
  }
  neighOutput(out, pkt, nexthop);
}

/** Prepends the Ethernet header and hands the frame to ARP resolution (or straight out for lo/broadcast). */
export function neighOutput(dev: NetDevice, pkt: Packet, nexthop: Ipv4Addr): void {
  if (pkt.head !== pkt.l3) pkt.head = pkt.l3;
  const o = pkt.push(ETH);
  const b = pkt.buf;
  ethernet.setSrcAddr(b, o, dev.mac);
  ethernet.setEtherType(b, o, ethernet.EtherType.IPv4);
  if (dev.noarp) {
    ethernet.setDstAddr(b, o, 0);
    return dev.xmit(pkt);
  }
  if (nexthop === 0xffffffff || isDevBroadcast(dev, nexthop)) {
    ethernet.setDstAddr(b, o, MAC_BROADCAST);
    return dev.xmit(pkt);
  }
  const neigh = neighOf(dev);
  if (neigh === undefined) {
    ethernet.setDstAddr(b, o, MAC_BROADCAST);
    return dev.xmit(pkt);
  }
  neigh.output(pkt, nexthop);
}

function isDevBroadcast(dev: NetDevice, a: number): boolean {
  const addrs = dev.addrs;
  for (let i = 0; i < addrs.length; i++) if (addrs[i].broadcast === a) return true;
  return false;
}

export { ETH as LINK_HEADER_LEN };

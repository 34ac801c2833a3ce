// MASQUERADE's choice of source address (net/netfilter/nf_nat_masquerade.c:
// nf_nat_masquerade_ipv4): the egress device's address chosen by inet_select_addr for the next
// hop, then an ordinary source binding over the target's port range.

import { Verdict } from "../../net/index.js";
import { formatIpv4, ipv4 } from "../../wire/index.js";
import { CtInfo, type NatApi, type NatRange, type NfContext } from "../types.js";

/**
 * The address MASQUERADE would use for this packet, or 0 if the egress device has none
 * ("ate my IP address"). The next hop is the route's gateway (rt_nexthop), or the destination
 * when the route is direct or the packet is bridged (br_netfilter's fake route has no gateway).
 */
export function masqueradeAddress(ctx: NfContext): number {
  const out = ctx.outdev;
  if (out === null) return 0;
  const daddr = ipv4.dstAddr(ctx.pkt.buf, ctx.pkt.l3);
  let nexthop: number = daddr;
  if (!ctx.bridged) {
    const rt = ctx.ns.mainTable.lookup(daddr);
    if (rt?.via) nexthop = rt.via;
  }
  // inet_select_addr(out, nexthop, RT_SCOPE_UNIVERSE): the address whose subnet holds the next hop, else the primary.
  return out.selectAddr(nexthop) ?? 0;
}

const RANGE: NatRange = { minAddr: 0, maxAddr: 0, minPort: 0, maxPort: 0 };

/**
 * The MASQUERADE target's action (masquerade_tg → nf_nat_masquerade_ipv4): binds the source to
 * the egress device's address, keeping `range`'s ports and random flags. Drop when the device has
 * no address. Only for a connection's first packet at POSTROUTING (as the kernel WARNs otherwise).
 */
export function nfNatMasquerade(nat: NatApi, ctx: NfContext, range?: Partial<NatRange>, by = "MASQUERADE"): Verdict {
  const pkt = ctx.pkt;
  if (pkt.ct < 0) return Verdict.Accept;
  if (pkt.ctinfo !== CtInfo.New && pkt.ctinfo !== CtInfo.Related && pkt.ctinfo !== CtInfo.RelatedReply) return Verdict.Accept;
  const a = masqueradeAddress(ctx);
  if (a === 0) {
    const sim = ctx.ns.sim;
    if (sim.trace.on)
      sim.trace.emit({ t: sim.sched.now, ns: ctx.ns.name, kind: "log", text: `${ctx.outdev?.name ?? "?"} ate my IP address (MASQUERADE to ${formatIpv4(ipv4.dstAddr(pkt.buf, pkt.l3))})` });
    return Verdict.Drop;
  }
  RANGE.minAddr = RANGE.maxAddr = a;
  RANGE.minPort = range?.minPort ?? 0;
  RANGE.maxPort = range?.maxPort ?? 0;
  RANGE.random = range?.random;
  RANGE.randomFully = range?.randomFully;
  RANGE.persistent = range?.persistent;
  return nat.setupNat(ctx, RANGE, "src", by);
}

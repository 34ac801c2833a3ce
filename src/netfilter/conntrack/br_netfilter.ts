// br_netfilter (net/bridge/br_netfilter_hooks.c) as far as IPv4 and NAT need it: bridged frames
// are validated before the IP hooks see them (br_validate_ipv4), the IP PREROUTING hooks do not
// run a second time on a frame the bridge passes up (ip_sabotage_in), and a destination changed
// by PREROUTING is honoured (br_nf_pre_routing_finish): bridged on to the new owner's MAC when the
// route leads back out of the same bridge (how a pod reaches a Service backed by a pod on the same
// node, or by itself with hairpin), else up to the IPv4 stack to be routed or delivered.

import { Bridge, type NetDevice, type NetNamespace, Nud, Verdict } from "../../net/index.js";
import type { Packet } from "../../packet/index.js";
import { DropReason } from "../../sim/index.js";
import { asIpv4, ethernet, ipv4 } from "../../wire/index.js";
import type { Conntrack } from "./core.js";

const ETH = 14;
/** Give up on a frame parked for ARP after this long (neighbour resolution has failed by then). */
const PARK_LIMIT = 5e9;

interface Parked {
  br: Bridge;
  port: NetDevice;
  at: number;
}

export class BrNetfilter {
  /** The frame being handled by bridged PREROUTING and its destination before the hooks. */
  private prePkt: Packet | null = null;
  private preDaddr = 0;
  /** A parked frame being bridged on after ARP resolved: its hooks already ran. */
  private resume: Packet | null = null;
  private parked: Map<Packet, Parked> | null = null;
  private readonly attached = new Set<Bridge>();

  constructor(
    readonly ns: NetNamespace,
    readonly ct: Conntrack,
  ) {}

  /** Installs the bridged-DNAT handling on a bridge of the namespace (idempotent). */
  attach(br: Bridge): void {
    if (this.attached.has(br)) return;
    this.attached.add(br);
    br.bridgedDnat = (b, inPort, pkt) => this.preRoutingFinish(b, inPort, pkt);
    // br_nf_dev_xmit: a frame parked for ARP comes back through the bridge device's xmit.
    const xmit = br.xmit.bind(br);
    br.xmit = (pkt: Packet) => {
      const p = this.parked;
      if (p === null || !p.has(pkt)) return xmit(pkt);
      const e = p.get(pkt)!;
      p.delete(pkt);
      if (p.size === 0) this.parked = null;
      this.ct.hold(pkt, false);
      this.resume = pkt;
      e.br.handleFrame(e.port, pkt);
      this.resume = null;
    };
  }

  /** Installs on every bridge the namespace has now. */
  attachAll(): void {
    for (const d of this.ns.devices.values()) if (d instanceof Bridge) this.attach(d);
  }

  /**
   * Before the IP hooks on a bridged frame (br_nf_pre_routing → br_validate_ipv4). Returns a
   * verdict to end the walk with (Accept for a resumed frame, Stolen for a malformed one it
   * dropped), or -1 to run the hooks.
   */
  preRouting(pkt: Packet, port: NetDevice): number {
    if (pkt === this.resume) return Verdict.Accept;
    const br = port.master;
    if (br instanceof Bridge && br.bridgedDnat === null) this.attach(br);
    const b = pkt.buf;
    const l3 = pkt.l3;
    const err = ipv4.check(b, l3, pkt.tail);
    if (err !== undefined) {
      port.drop(pkt, err.kind === "truncated" ? DropReason.PKT_TOO_SMALL : DropReason.IP_INHDR, err.kind);
      return Verdict.Stolen;
    }
    if (!ipv4.verifyChecksum(b, l3)) {
      port.drop(pkt, DropReason.IP_CSUM);
      return Verdict.Stolen;
    }
    pkt.trim(l3 - pkt.head + ipv4.totalLen(b, l3));
    pkt.l4 = l3 + ipv4.headerLength(b, l3);
    // A frame from another namespace carries that namespace's conntrack reference: not ours.
    pkt.ct = -1;
    pkt.ctinfo = 0;
    this.prePkt = pkt;
    this.preDaddr = ipv4.dstAddr(b, l3);
    return -1;
  }

  /**
   * br_nf_pre_routing_finish, after PREROUTING accepted a bridged frame. Returns true if it took
   * the frame (dropped, or parked until ARP resolves); false to let the bridge go on with the
   * frame (whose destination MAC it may have changed).
   */
  private preRoutingFinish(br: Bridge, inPort: NetDevice, pkt: Packet): boolean {
    if (pkt === this.resume) return false;
    if (pkt !== this.prePkt) return false;
    this.prePkt = null;
    const b = pkt.buf;
    const daddr = ipv4.dstAddr(b, pkt.l3);
    if (daddr === this.preDaddr) return false;
    const ns = this.ns;
    if (ns.isLocal(daddr)) return this.passUp(br, pkt);
    const rt = ns.mainTable.lookup(daddr);
    if (rt === undefined || rt.type !== "unicast") {
      inPort.drop(pkt, DropReason.IP_INNOROUTES, "bridged DNAT: no route");
      return true;
    }
    // Bridged and DNATed traffic needs no ip_forward when it leaves by the same bridge.
    if (rt.dev !== br) {
      if (!ns.sysctl.ipForward) {
        inPort.drop(pkt, DropReason.IP_INADDRERRORS, "bridged DNAT: not forwarding");
        return true;
      }
      return this.passUp(br, pkt);
    }
    const nexthop = rt.via || daddr;
    const n = br.neigh.lookup(nexthop);
    if (n !== undefined && n.state !== Nud.Incomplete && n.state !== Nud.Failed) {
      ethernet.setDstAddr(b, pkt.head, n.mac);
      return false;
    }
    this.park(br, inPort, pkt, nexthop);
    return true;
  }

  /** Routed or local after DNAT: the frame goes up through the bridge device as if addressed to it. */
  private passUp(br: Bridge, pkt: Packet): boolean {
    ethernet.setDstAddr(pkt.buf, pkt.head, br.mac);
    return false;
  }

  /** Resolves the new destination's MAC through the bridge's neighbour table, the frame waiting. */
  private park(br: Bridge, port: NetDevice, pkt: Packet, nexthop: number): void {
    const now = this.ns.sim.sched.now;
    if (this.parked !== null) {
      for (const [p, e] of this.parked) if (now - e.at > PARK_LIMIT) this.parked.delete(p);
    }
    (this.parked ??= new Map()).set(pkt, { br, port, at: now });
    this.ct.hold(pkt, true);
    if (pkt.head + ETH !== pkt.l3) pkt.head = pkt.l3 - ETH;
    br.neigh.output(pkt, asIpv4(nexthop));
  }
}

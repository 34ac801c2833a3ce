// A Linux bridge (net/bridge): ports are enslaved devices whose received frames come here
// (br_handle_frame); the FDB learns source MACs; known unicast goes to one port, unknown unicast,
// broadcast and multicast are flooded; frames for the bridge's own MAC go up to the host's stack
// through the bridge device itself, which is also how the host sends (br_dev_xmit). Hairpin
// mode per port lets a frame leave by the port it came in on. With bridge-nf-call-iptables the
// IPv4 hooks run on bridged frames (br_netfilter), as Kubernetes requires.

import type { Packet } from "../../packet/index.js";
import { DropReason } from "../../sim/index.js";
import { ethernet, formatMac, type MacAddr } from "../../wire/index.js";
import { NetDevice } from "../core/device.js";
import { Hook, Verdict } from "../core/netfilter.js";
import type { NetNamespace } from "../core/netns.js";
import { neighOps } from "../ipv4/arp.js";
import { NeighbourTable } from "../ipv4/neigh.js";
import { Fdb } from "./fdb.js";

export interface BridgePort {
  readonly dev: NetDevice;
  hairpin: boolean;
}

export class Bridge extends NetDevice {
  readonly kind = "bridge";
  readonly fdb = new Fdb();
  readonly ports = new Map<NetDevice, BridgePort>();
  readonly neigh: NeighbourTable;

  constructor(ns: NetNamespace, name: string, macAddr?: MacAddr, mtu = 1500) {
    super(ns, name, macAddr ?? ns.randomMac(), mtu);
    this.neigh = new NeighbourTable(this, neighOps);
    ns.register(this);
    this.fdb.addLocal(this.mac, null);
  }

  /** `ip link set DEV master BR` (and `bridge link set dev DEV hairpin on`). */
  addPort(dev: NetDevice, opts: { hairpin?: boolean } = {}): BridgePort {
    if (dev.ns !== this.ns) throw new Error(`${this.name}: port ${dev.name} is in another namespace`);
    if (dev.master) throw new Error(`${dev.name} is already a port of ${dev.master.name}`);
    const port: BridgePort = { dev, hairpin: opts.hairpin ?? false };
    this.ports.set(dev, port);
    dev.master = this;
    dev.rxHandler = (d, p) => this.handleFrame(d, p);
    this.fdb.addLocal(dev.mac, dev);
    // Linux: a bridge's MTU is the smallest of its ports'.
    this.mtu = Math.min(...[...this.ports.keys()].map((d) => d.mtu));
    return port;
  }

  removePort(dev: NetDevice): void {
    if (!this.ports.delete(dev)) return;
    dev.master = null;
    dev.rxHandler = null;
    this.fdb.flushPort(dev);
  }

  setHairpin(dev: NetDevice, on: boolean): void {
    const p = this.ports.get(dev);
    if (!p) throw new Error(`${dev.name} is not a port of ${this.name}`);
    p.hairpin = on;
  }

  /** br_dev_xmit: the host sends through the bridge: FDB lookup, else flood. */
  xmit(pkt: Packet): void {
    this.accountTx(pkt);
    const dst = ethernet.dstAddr(pkt.buf, pkt.head);
    if ((pkt.buf[pkt.head] & 1) === 0) {
      const e = this.fdb.get(dst, this.ns.sim.sched.now);
      if (e !== undefined && e.port !== null) {
        this.traceFdb("hit", dst, e.port);
        return this.portXmit(e.port, pkt);
      }
    }
    this.flood(pkt, null);
  }

  /** br_handle_frame: a frame received on a port. */
  handleFrame(inPort: NetDevice, pkt: Packet): void {
    const b = pkt.buf;
    const o = pkt.head;
    if (pkt.tail - o < 14) return inPort.drop(pkt, DropReason.PKT_TOO_SMALL);
    const src = ethernet.srcAddr(b, o);
    if ((b[o + 6] & 1) === 1 || src === 0) return inPort.drop(pkt, DropReason.MAC_INVALID_SOURCE);
    const now = this.ns.sim.sched.now;
    const learned = this.fdb.learn(src, inPort, now);
    if (learned !== null && this.ns.sim.trace.on) this.traceFdb("learn", src, inPort);
    if (this.ns.sysctl.bridgeNfCallIptables && this.ns.nf !== null && ethernet.etherType(b, o) === 0x0800) {
      // br_nf_pre_routing: the IPv4 PREROUTING hook on a bridged frame.
      pkt.l3 = o + 14;
      const v = this.ns.nf.run(Hook.PreRouting, pkt, inPort, null, true);
      if (v !== Verdict.Accept) return v === Verdict.Drop ? inPort.drop(pkt, DropReason.NETFILTER_DROP) : undefined;
      if (this.bridgedDnat?.(this, inPort, pkt)) return;
    }
    // tcpdump puts the bridge in promiscuous mode, and a promiscuous bridge device sees every
    // frame it bridges (br_handle_frame_finish: local_rcv = dev->flags & IFF_PROMISC).
    if (this.taps !== null) this.tapPromisc(pkt);
    const dst = ethernet.dstAddr(b, o);
    if ((b[o] & 1) === 1) {
      // Broadcast/multicast: to every other port and up to the host.
      this.flood(pkt.clone(), inPort);
      return this.passUp(pkt);
    }
    const e = this.fdb.get(dst, now);
    if (e !== undefined) {
      if (e.local) return this.passUp(pkt);
      const out = e.port!;
      if (out === inPort && !this.ports.get(inPort)!.hairpin) {
        // should_deliver(): never back out of the ingress port without hairpin.
        pkt.free();
        return;
      }
      this.traceFdb("hit", dst, out);
      return this.forward(inPort, out, pkt);
    }
    this.flood(pkt, inPort);
  }

  /**
   * Set by netfilter: after PREROUTING on a bridged frame, handles a destination that NAT moved
   * (br_nf_pre_routing_finish). Returns true if it took the frame.
   */
  bridgedDnat: ((br: Bridge, inPort: NetDevice, pkt: Packet) => boolean) | null = null;

  /** br_forward: FORWARD and POSTROUTING hooks on the bridged frame, then out of the port. */
  private forward(inPort: NetDevice | null, out: NetDevice, pkt: Packet): void {
    const ns = this.ns;
    if (inPort !== null && ns.sysctl.bridgeNfCallIptables && ns.nf !== null && ethernet.etherType(pkt.buf, pkt.head) === 0x0800) {
      pkt.l3 = pkt.head + 14;
      let v = ns.nf.run(Hook.Forward, pkt, inPort, out, true);
      if (v === Verdict.Accept) v = ns.nf.run(Hook.PostRouting, pkt, inPort, out, true);
      if (v !== Verdict.Accept) return v === Verdict.Drop ? out.drop(pkt, DropReason.NETFILTER_DROP) : undefined;
    }
    this.portXmit(out, pkt);
  }

  private portXmit(out: NetDevice, pkt: Packet): void {
    if (!out.up) return out.drop(pkt, DropReason.DEV_READY);
    out.xmit(pkt);
  }

  /** br_flood: a copy to every port but the ingress (unless hairpin), the original to the last. */
  private flood(pkt: Packet, inPort: NetDevice | null): void {
    if (this.ns.sim.trace.on) this.traceFdb("flood", ethernet.dstAddr(pkt.buf, pkt.head), null);
    let last: NetDevice | null = null;
    for (const [dev, port] of this.ports) {
      if (dev === inPort && !port.hairpin) continue;
      if (!dev.up) continue;
      if (last !== null) this.forward(inPort, last, pkt.clone());
      last = dev;
    }
    if (last !== null) this.forward(inPort, last, pkt);
    else pkt.free();
  }

  /** br_pass_frame_up: the frame is received by the bridge device itself (the host's side). */
  private passUp(pkt: Packet): void {
    // Counted, then the host stack (not the bridge again); the capture already saw it.
    this.stats.rxPackets++;
    this.stats.rxBytes += pkt.tail - pkt.head;
    pkt.dev = this;
    pkt.iif = this.ifindex;
    this.ns.netifReceive(this, pkt);
  }

  private tapPromisc(pkt: Packet): void {
    for (const t of this.taps!) t(this, pkt, 0);
  }

  private traceFdb(action: "learn" | "hit" | "flood", mac: number, port: NetDevice | null): void {
    const sim = this.ns.sim;
    if (!sim.trace.on) return;
    sim.trace.emit({ t: sim.sched.now, ns: this.ns.name, dev: this.name, kind: "fdb", action, mac: formatMac(mac), port: port?.name });
  }

  /** `bridge fdb show br NAME`. */
  dumpFdb(): string[] {
    return this.fdb.dump(this, this.ns.sim.sched.now);
  }
}

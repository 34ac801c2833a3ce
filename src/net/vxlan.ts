// A VXLAN device (drivers/net/vxlan): an Ethernet device whose frames travel inside UDP over the
// underlay. Transmit: the inner destination MAC is looked up in the device's FDB (flannel
// installs `bridge fdb add VTEP-MAC dev flannel.1 dst NODE-IP`), the outer IPv4/UDP/VXLAN headers
// are written from a per-remote template into headroom, and the outer packet goes through the
// underlay namespace's stack (OUTPUT, POSTROUTING, ARP on eth0), as udp_tunnel_xmit_skb does.
// Receive: a UDP tunnel socket on the VXLAN port hands datagrams here without a copy.

import { type Packet, type VxlanTemplate, vxlanDecap, vxlanEncap, vxlanTemplate } from "../packet/index.js";
import { DropReason } from "../sim/index.js";
import { ethernet, formatIpv4, formatMac, type Ipv4Addr, type MacAddr, vxlan } from "../wire/index.js";
import { NetDevice } from "./core/device.js";
import type { NetNamespace } from "./core/netns.js";
import { neighOps } from "./ipv4/arp.js";
import { NeighbourTable } from "./ipv4/neigh.js";
import { ipLocalOut, type OutputRoute, routeOutput } from "./ipv4/output.js";
import { createUdpSocket, type UdpSocket } from "./ipv4/udp.js";

export interface VxlanOptions {
  vni: number;
  /** UDP destination port (and the local port listened on). Default 8472, as flannel. */
  port?: number;
  /** Local VTEP address (the node's underlay IP); `local` in `ip link add … type vxlan`. */
  local: Ipv4Addr;
  /** Underlay device (`dev eth0`), for the MTU. */
  underlay: NetDevice;
  /** Default: underlay MTU − 50. */
  mtu?: number;
  mac?: MacAddr;
  /** Learn remote MACs from received frames; flannel creates its device with `nolearning`. */
  learning?: boolean;
  /** Outer DF bit; Linux's default (df unset) sends without DF. */
  df?: boolean;
  ttl?: number;
}

const ENCAP = vxlan.VXLAN_ENCAP_LEN;

export class VxlanDevice extends NetDevice {
  readonly kind = "vxlan";
  readonly neigh: NeighbourTable;
  /** The device's forwarding database: inner MAC → remote VTEP address. */
  readonly fdb = new Map<number, Ipv4Addr>();
  readonly vni: number;
  readonly port: number;
  readonly local: Ipv4Addr;
  readonly underlay: NetDevice;
  private readonly templates = new Map<number, { t: VxlanTemplate; rt: OutputRoute }>();
  private readonly hashSeed: number;
  readonly socket: UdpSocket;
  readonly learning: boolean;
  private readonly df: boolean;
  private readonly ttl: number;

  constructor(ns: NetNamespace, name: string, o: VxlanOptions) {
    super(ns, name, o.mac ?? ns.randomMac(), o.mtu ?? o.underlay.mtu - vxlan.VXLAN_OVERHEAD);
    this.neigh = new NeighbourTable(this, neighOps);
    this.vni = o.vni;
    this.port = o.port ?? vxlan.VXLAN_PORT_LINUX;
    this.local = o.local;
    this.underlay = o.underlay;
    this.learning = o.learning ?? false;
    this.df = o.df ?? false;
    this.ttl = o.ttl ?? 64;
    this.hashSeed = ns.rng.derive(`vxlan-hash/${name}`).u32();
    ns.register(this);
    this.socket = createUdpSocket(ns).bind(this.port);
    this.socket.encapRcv = (dev, pkt) => this.rcv(dev, pkt);
  }

  /** `bridge fdb append MAC dev NAME dst REMOTE` (flannel: the remote VTEP's MAC → its node IP). */
  addFdb(macAddr: MacAddr, remote: Ipv4Addr): void {
    this.fdb.set(macAddr, remote);
  }

  delFdb(macAddr: MacAddr): void {
    this.fdb.delete(macAddr);
  }

  /** vxlan_xmit: FDB lookup, encapsulation, and the outer packet into the underlay's IP output. */
  xmit(pkt: Packet): void {
    const len = pkt.tail - pkt.head;
    if (len > this.mtu + 14) return this.drop(pkt, DropReason.PKT_TOO_BIG, `frame ${len} > mtu ${this.mtu}`);
    const remote = this.fdb.get(ethernet.dstAddr(pkt.buf, pkt.head));
    if (remote === undefined) return this.drop(pkt, DropReason.VXLAN_NO_REMOTE, formatMac(ethernet.dstAddr(pkt.buf, pkt.head)));
    this.accountTx(pkt);
    let e = this.templates.get(remote);
    if (e === undefined) {
      const rt = routeOutput(this.ns, remote, this.local);
      if (typeof rt === "string") return this.drop(pkt, DropReason.IP_OUTNOROUTES, `underlay route to ${formatIpv4(remote)}: ${rt}`);
      const t = vxlanTemplate({ srcMac: 0, dstMac: 0, local: this.local, remote, vni: this.vni, port: this.port, hashSeed: this.hashSeed, dontFrag: this.df, ttl: this.ttl, ipId: this.ns.rng.u32() & 0xffff });
      e = { t, rt };
      this.templates.set(remote, e);
    }
    vxlanEncap(pkt, e.t);
    // The template's outer Ethernet is the neighbour layer's to write: leave the head at outer IPv4.
    pkt.pull(14);
    pkt.mark = 0;
    pkt.ct = -1;
    const sim = this.ns.sim;
    if (sim.trace.on) {
      sim.trace.emit({ t: sim.sched.now, ns: this.ns.name, dev: this.name, kind: "encap", vni: this.vni, remote: formatIpv4(remote) });
      pkt.notes?.push(`VXLAN encap VNI ${this.vni} → ${formatIpv4(remote)}`);
    }
    ipLocalOut(this.ns, pkt, e.rt);
  }

  /** Forgets cached routes (the underlay changed). */
  flushTemplates(): void {
    this.templates.clear();
  }

  /** vxlan_rcv: the datagram arrived on our UDP port; decapsulate and receive the inner frame here. */
  private rcv(dev: NetDevice, pkt: Packet): void {
    pkt.head = pkt.l3 - 14;
    const vni = vxlanDecap(pkt);
    if (vni < 0) return dev.drop(pkt, vni === -6 ? DropReason.VXLAN_INVALID_HDR : DropReason.PKT_TOO_SMALL, `vxlan decap ${vni}`);
    if (vni !== this.vni) return dev.drop(pkt, DropReason.VXLAN_VNI_NOT_FOUND, `vni ${vni}`);
    const sim = this.ns.sim;
    if (sim.trace.on) {
      const b = pkt.buf;
      const outerSrc = formatIpv4(((b[pkt.head - ENCAP + 26] << 24) | (b[pkt.head - ENCAP + 27] << 16) | (b[pkt.head - ENCAP + 28] << 8) | b[pkt.head - ENCAP + 29]) >>> 0);
      sim.trace.emit({ t: sim.sched.now, ns: this.ns.name, dev: this.name, kind: "decap", vni, remote: outerSrc });
    }
    if (this.learning) {
      const b = pkt.buf;
      const src = ethernet.srcAddr(b, pkt.head);
      const o = pkt.head - ENCAP + 26;
      this.fdb.set(src, (((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0) as Ipv4Addr);
    }
    pkt.mark = 0;
    pkt.ct = -1;
    pkt.ctinfo = 0;
    this.receive(pkt);
  }

  /** `bridge fdb show dev NAME` lines. */
  dumpFdb(): string[] {
    return [...this.fdb].sort((a, b) => a[0] - b[0]).map(([m, r]) => `${formatMac(m)} dev ${this.name} dst ${formatIpv4(r)} self permanent`);
  }
}

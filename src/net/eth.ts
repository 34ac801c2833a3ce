// A node's physical NIC (`eth0`) attached to an underlay link. The link is an interface so that
// the medium can be an in-memory L2 segment (a learning switch between the nodes) or, later, a
// real UDP socket (the node:dgram underlay) without changing the device.

import type { Packet } from "../packet/index.js";
import { DropReason, type FaultConfig, FaultInjector } from "../sim/index.js";
import { ethernet, type MacAddr } from "../wire/index.js";
import { NetDevice } from "./core/device.js";
import type { NetNamespace } from "./core/netns.js";
import { neighOps } from "./ipv4/arp.js";
import { NeighbourTable } from "./ipv4/neigh.js";
import { transmitWithFaults } from "./veth.js";

/** The medium an EthDevice transmits onto. */
export interface Link {
  /** Carries a frame sent by `from`. Takes ownership of pkt. */
  transmit(from: EthDevice, pkt: Packet): void;
  /** Called when a device attaches. */
  attach(dev: EthDevice): void;
  detach(dev: EthDevice): void;
}

export class EthDevice extends NetDevice {
  readonly kind = "eth";
  readonly neigh: NeighbourTable;
  link: Link | null = null;

  constructor(ns: NetNamespace, name: string, macAddr?: MacAddr, mtu = 1500) {
    super(ns, name, macAddr ?? ns.randomMac(), mtu);
    this.neigh = new NeighbourTable(this, neighOps);
    ns.register(this);
  }

  connect(link: Link): void {
    this.link?.detach(this);
    this.link = link;
    link.attach(this);
  }

  setFaults(config: FaultConfig | null): void {
    this.faults = config ? new FaultInjector(config, this.ns.sim.rng.derive(`faults/${this.ns.name}/${this.name}`)) : null;
  }

  xmit(pkt: Packet): void {
    if (this.link === null) return this.drop(pkt, DropReason.DEV_READY, "no carrier");
    const len = pkt.tail - pkt.head;
    if (len > this.mtu + 14) return this.drop(pkt, DropReason.PKT_TOO_BIG, `frame ${len} > mtu ${this.mtu}`);
    this.accountTx(pkt);
    this.link.transmit(this, pkt);
  }
}

/**
 * An in-memory L2 segment: a learning switch joining the NICs of the nodes (and routers) of an
 * underlay. Unknown unicast and broadcast are flooded; faults may be set on the segment.
 */
export class L2Segment implements Link {
  private readonly ports: EthDevice[] = [];
  private readonly table = new Map<number, EthDevice>();
  faults: FaultInjector | null = null;

  constructor(readonly name = "underlay") {}

  attach(dev: EthDevice): void {
    if (!this.ports.includes(dev)) this.ports.push(dev);
  }

  detach(dev: EthDevice): void {
    const i = this.ports.indexOf(dev);
    if (i >= 0) this.ports.splice(i, 1);
    for (const [k, d] of this.table) if (d === dev) this.table.delete(k);
  }

  setFaults(config: FaultConfig | null, rngOf: NetDevice): void {
    this.faults = config ? new FaultInjector(config, rngOf.ns.sim.rng.derive(`faults/segment/${this.name}`)) : null;
  }

  transmit(from: EthDevice, pkt: Packet): void {
    const b = pkt.buf;
    const o = pkt.head;
    this.table.set(ethernet.srcAddr(b, o), from);
    if ((b[o] & 1) === 0) {
      const to = this.table.get(ethernet.dstAddr(b, o));
      if (to !== undefined) {
        if (to !== from) this.deliver(from, to, pkt);
        else pkt.free();
        return;
      }
    }
    let last: EthDevice | null = null;
    for (const d of this.ports) {
      if (d === from) continue;
      if (last !== null) this.deliver(from, last, pkt.clone());
      last = d;
    }
    if (last !== null) this.deliver(from, last, pkt);
    else pkt.free();
  }

  private deliver(from: EthDevice, to: EthDevice, pkt: Packet): void {
    const f = this.faults;
    if (f === null || f.inert) from.ns.sim.sched.enqueue(segmentRx, to, pkt);
    else transmitWithFaults(from, to, pkt, f);
  }
}

function segmentRx(dev: NetDevice, pkt: Packet): void {
  dev.receive(pkt);
}

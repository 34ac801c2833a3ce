// Virtual Ethernet pairs (drivers/net/veth.c): a frame sent on one end is received on the other,
// which may live in another namespace. Faults (loss, delay, duplication, corruption, a rate
// cap) can be set on either end's transmit direction.

import type { Packet } from "../packet/index.js";
import { DropReason, type FaultConfig, FaultInjector } from "../sim/index.js";
import type { MacAddr } from "../wire/index.js";
import { NetDevice } from "./core/device.js";
import type { NetNamespace } from "./core/netns.js";
import { neighOps } from "./ipv4/arp.js";
import { NeighbourTable } from "./ipv4/neigh.js";

export interface VethEndSpec {
  ns: NetNamespace;
  name: string;
  mac?: MacAddr;
}

export class Veth extends NetDevice {
  readonly kind = "veth";
  peer!: Veth;
  readonly neigh: NeighbourTable;

  constructor(ns: NetNamespace, name: string, macAddr: MacAddr, mtu: number) {
    super(ns, name, macAddr, mtu);
    this.neigh = new NeighbourTable(this, neighOps);
  }

  /** `ip link add A type veth peer name B` with each end in its namespace. */
  static pair(a: VethEndSpec, b: VethEndSpec, mtu = 1500): [Veth, Veth] {
    const va = new Veth(a.ns, a.name, a.mac ?? a.ns.randomMac(), mtu);
    const vb = new Veth(b.ns, b.name, b.mac ?? b.ns.randomMac(), mtu);
    va.peer = vb;
    vb.peer = va;
    a.ns.register(va);
    b.ns.register(vb);
    return [va, vb];
  }

  /** Applies seeded faults to frames this end transmits (`tc qdisc add dev X root netem …`). */
  setFaults(config: FaultConfig | null): void {
    this.faults = config ? new FaultInjector(config, this.ns.sim.rng.derive(`faults/${this.ns.name}/${this.name}`)) : null;
  }

  xmit(pkt: Packet): void {
    const len = pkt.tail - pkt.head;
    // veth_xmit → __dev_forward_skb: frames longer than the peer's MTU + link header are dropped.
    if (len > this.peer.mtu + 14) return this.drop(pkt, DropReason.PKT_TOO_BIG, `frame ${len} > mtu ${this.peer.mtu}`);
    this.accountTx(pkt);
    if (!this.peer.up) return this.peer.drop(pkt, DropReason.DEV_READY);
    const sched = this.ns.sim.sched;
    const f = this.faults;
    if (f === null || f.inert) {
      sched.enqueue(vethRx, this.peer, pkt);
      return;
    }
    transmitWithFaults(this, this.peer, pkt, f);
  }
}

function vethRx(dev: NetDevice, pkt: Packet): void {
  dev.receive(pkt);
}

/**
 * Hands a frame from `from` to `to` through a fault injector: maybe dropped (counted on the
 * sender under FAULT_INJECTED), duplicated, corrupted, delayed or rate-limited.
 */
export function transmitWithFaults(from: NetDevice, to: NetDevice, pkt: Packet, f: FaultInjector): void {
  const action = f.decide();
  if (action === "drop") return from.drop(pkt, DropReason.FAULT_INJECTED);
  const sched = from.ns.sim.sched;
  const copies = action === "duplicate" ? [pkt, pkt.clone()] : [pkt];
  for (const p of copies) {
    f.maybeCorrupt(p.buf, p.head, p.tail);
    const at = f.deliveryTime(sched.now, p.tail - p.head);
    if (at === sched.now) sched.enqueue(vethRx, to, p);
    else sched.at(at, vethRx, to, p);
  }
}

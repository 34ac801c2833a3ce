// The loopback device (drivers/net/loopback.c): every frame sent is received again on the same
// device, at the same instant, after the frames already queued. Ethernet header with zero MACs,
// as tcpdump on Linux's lo shows it.

import type { Packet } from "../../packet/index.js";
import { asMac } from "../../wire/index.js";
import { NetDevice } from "./device.js";
import type { NetNamespace } from "./netns.js";

export class Loopback extends NetDevice {
  readonly kind = "loopback";
  override readonly noarp = true;
  // tcpdump on Linux's lo shows each looped packet once, not on transmit and again on receive.
  protected override readonly tapsRx = false;

  constructor(ns: NetNamespace) {
    super(ns, "lo", asMac(0), 65536);
    ns.register(this);
  }

  xmit(pkt: Packet): void {
    this.accountTx(pkt);
    this.ns.sim.sched.enqueue(loopbackRx, this, pkt);
  }
}

function loopbackRx(dev: Loopback, pkt: Packet): void {
  dev.receive(pkt);
}

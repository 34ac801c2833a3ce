// A network device (struct net_device): name, index, MAC, MTU, addresses, counters, capture taps,
// optional fault injection, and the two directions every driver has: xmit() from the stack to the
// medium, receive() from the medium to the stack (or to the bridge it is a port of).

import type { Packet } from "../../packet/index.js";
import { DropCounters, DropReason, dropReasonName, type FaultInjector } from "../../sim/index.js";
import { formatIpv4, formatMac, type Ipv4Addr, type MacAddr, prefixMask } from "../../wire/index.js";
import type { NetNamespace } from "./netns.js";

export type Direction = 0 | 1;
export const RX: Direction = 0;
export const TX: Direction = 1;

/** Called with every frame a device receives or sends, as tcpdump on that interface sees it. */
export type DeviceTap = (dev: NetDevice, pkt: Packet, dir: Direction) => void;

/** An IPv4 address on an interface (struct in_ifaddr). */
export interface IfAddr {
  readonly addr: Ipv4Addr;
  readonly len: number;
  /** Directed broadcast (host bits all ones); 0 for /31 and /32. */
  readonly broadcast: Ipv4Addr;
}

export interface DeviceStats {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
}

export type DeviceKind = "loopback" | "veth" | "bridge" | "eth" | "vxlan";

export abstract class NetDevice {
  abstract readonly kind: DeviceKind;
  readonly ifindex: number;
  mtu: number;
  up = true;
  readonly addrs: IfAddr[] = [];
  readonly stats: DeviceStats = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 };
  readonly drops = new DropCounters();
  /** Capture taps; null when none (the hot path tests one field). */
  taps: DeviceTap[] | null = null;
  /** Faults applied to frames this device transmits; null when none. */
  faults: FaultInjector | null = null;
  /**
   * Set when the device is enslaved (a bridge port): frames it receives go to this handler instead
   * of the namespace's stack, as Linux's rx_handler.
   */
  rxHandler: ((dev: NetDevice, pkt: Packet) => void) | null = null;
  /** The bridge this device is a port of, or null. */
  master: NetDevice | null = null;
  /** Whether captures see received frames (loopback: a looped frame is captured once, when sent). */
  protected readonly tapsRx: boolean = true;
  /** No ARP on this device (loopback, point-to-point): the stack fills the link header itself. */
  readonly noarp: boolean = false;

  constructor(
    public ns: NetNamespace,
    public name: string,
    public mac: MacAddr,
    mtu: number,
  ) {
    this.ifindex = ns.sim.nextIfindex();
    this.mtu = mtu;
  }

  /** Transmits a frame (Ethernet header at pkt.head) onto the medium. Takes ownership of pkt. */
  abstract xmit(pkt: Packet): void;

  /** A frame arrives from the medium. Takes ownership of pkt. */
  receive(pkt: Packet): void {
    if (!this.up) return this.drop(pkt, DropReason.DEV_READY);
    this.stats.rxPackets++;
    this.stats.rxBytes += pkt.tail - pkt.head;
    pkt.iif = this.ifindex;
    pkt.dev = this;
    pkt.tstamp = this.ns.sim.sched.now;
    if (this.ns.sim.trace.on) {
      // With tracing on, decisions leave notes on the packet; the capture writes them as comments.
      pkt.notes ??= [];
      this.traceIo(pkt, "rx");
    }
    if (this.taps !== null && this.tapsRx) this.tap(pkt, RX);
    if (this.rxHandler !== null) this.rxHandler(this, pkt);
    else this.ns.netifReceive(this, pkt);
  }

  /** Counts and traces a transmitted frame; drivers call it before handing the frame on. */
  protected accountTx(pkt: Packet): void {
    this.stats.txPackets++;
    this.stats.txBytes += pkt.tail - pkt.head;
    if (this.ns.sim.trace.on) {
      pkt.notes ??= [];
      this.traceIo(pkt, "tx");
    }
    if (this.taps !== null) this.tap(pkt, TX);
  }

  /** Drops a frame: counts it on this device under `reason`, traces it, frees it. */
  drop(pkt: Packet, reason: DropReason, detail?: string): void {
    this.drops.add(reason);
    const sim = this.ns.sim;
    if (sim.trace.on) sim.trace.emit({ t: sim.sched.now, ns: this.ns.name, dev: this.name, kind: "drop", reason, detail });
    pkt.free();
  }

  private tap(pkt: Packet, dir: Direction): void {
    for (const t of this.taps!) t(this, pkt, dir);
  }

  private traceIo(pkt: Packet, kind: "rx" | "tx"): void {
    const sim = this.ns.sim;
    sim.trace.emit({ t: sim.sched.now, ns: this.ns.name, dev: this.name, kind, len: pkt.tail - pkt.head });
  }

  addTap(tap: DeviceTap): () => void {
    (this.taps ??= []).push(tap);
    return () => {
      this.taps = this.taps?.filter((t) => t !== tap) ?? null;
      if (this.taps?.length === 0) this.taps = null;
    };
  }

  /** The first address: the one Linux picks as source when nothing more specific applies. */
  get primaryAddr(): Ipv4Addr | undefined {
    return this.addrs[0]?.addr;
  }

  /** The address on this device whose subnet holds `dst`, else the primary (inet_select_addr). */
  selectAddr(dst: number): Ipv4Addr | undefined {
    for (const a of this.addrs) if (((dst ^ a.addr) & prefixMask(a.len)) === 0) return a.addr;
    return this.addrs[0]?.addr;
  }

  /** `ip link`-style one-liner. */
  describe(): string {
    const master = this.master ? ` master ${this.master.name}` : "";
    return `${this.ifindex}: ${this.name}: mtu ${this.mtu}${master} state ${this.up ? "UP" : "DOWN"} link/ether ${formatMac(this.mac)}`;
  }

  /** `ip addr`-style address lines. */
  describeAddrs(): string[] {
    return this.addrs.map(
      (a) => `inet ${formatIpv4(a.addr)}/${a.len}${a.broadcast ? ` brd ${formatIpv4(a.broadcast)}` : ""} scope ${this.kind === "loopback" ? "host" : "global"} ${this.name}`,
    );
  }

  /** Drop counters by reason name. */
  dropsByName(): Record<string, number> {
    return this.drops.toJSON();
  }
}

export { dropReasonName };

// The neighbour table of one device with ARP as its resolver (net/core/neighbour.c,
// net/ipv4/arp.c): NUD states, a queue of packets waiting for resolution, retransmits on the
// virtual clock, and permanent entries (flannel installs them for remote VTEPs).

import type { Packet } from "../../packet/index.js";
import { DropReason, type Timer } from "../../sim/index.js";
import { ethernet, formatIpv4, formatMac, type Ipv4Addr, type MacAddr } from "../../wire/index.js";
import type { NetDevice } from "../core/device.js";

/** NUD states (include/uapi/linux/neighbour.h). */
export const Nud = {
  Incomplete: "INCOMPLETE",
  Reachable: "REACHABLE",
  Stale: "STALE",
  Delay: "DELAY",
  Probe: "PROBE",
  Failed: "FAILED",
  Permanent: "PERMANENT",
  Noarp: "NOARP",
} as const;
export type Nud = (typeof Nud)[keyof typeof Nud];

/** Linux's defaults (net.ipv4.neigh.default.*), in ns. */
export const NEIGH_DEFAULTS = {
  baseReachableTime: 30e9,
  retransTime: 1e9,
  delayFirstProbeTime: 5e9,
  mcastSolicit: 3,
  ucastSolicit: 3,
  /** unres_qlen: packets queued per unresolved entry. */
  unresQlen: 101,
};

export interface NeighEntry {
  readonly addr: Ipv4Addr;
  mac: MacAddr;
  state: Nud;
  /** When the entry was last confirmed reachable (ns). */
  confirmed: number;
  /** When the entry last changed (ns). */
  updated: number;
  probes: number;
  queue: Packet[] | null;
  timer: Timer | null;
}

/** What the table needs from the stack to resolve: send an ARP request, report a failure. */
export interface NeighOps {
  /** Sends an ARP request for `target`; unicast to `dstMac` when probing, else broadcast. */
  solicit(dev: NetDevice, target: Ipv4Addr, dstMac: MacAddr | null, queued: Packet | null): void;
  /** A queued packet could not be delivered: the stack answers with ICMP host unreachable. */
  failed(dev: NetDevice, pkt: Packet): void;
}

export class NeighbourTable {
  readonly entries = new Map<number, NeighEntry>();
  /** Effective reachable time: base × a seeded factor in [0.5, 1.5), as neigh_rand_reach_time. */
  readonly reachableTime: number;

  constructor(
    readonly dev: NetDevice,
    private readonly ops: NeighOps,
  ) {
    const rng = dev.ns.sim.rng.derive(`neigh/${dev.ns.name}/${dev.name}`);
    this.reachableTime = Math.floor(NEIGH_DEFAULTS.baseReachableTime * (0.5 + rng.float()));
  }

  private get now(): number {
    return this.dev.ns.sim.sched.now;
  }

  lookup(addr: number): NeighEntry | undefined {
    return this.entries.get(addr);
  }

  /**
   * Sends `pkt` (Ethernet header already pushed, source MAC set) to `nexthop`: fills the
   * destination MAC and transmits, or queues the packet and resolves (neigh_resolve_output).
   */
  output(pkt: Packet, nexthop: Ipv4Addr): void {
    let n = this.entries.get(nexthop);
    if (n !== undefined) {
      const st = n.state;
      if (st === Nud.Reachable || st === Nud.Permanent || st === Nud.Noarp) {
        if (st === Nud.Reachable && this.now - n.confirmed > this.reachableTime) this.setState(n, Nud.Stale);
        ethernet.setDstAddr(pkt.buf, pkt.head, n.mac);
        this.dev.xmit(pkt);
        return;
      }
      if (st === Nud.Stale) {
        // First use of a stale entry: send now, and probe if not confirmed within 5 s.
        this.setState(n, Nud.Delay);
        n.timer = this.dev.ns.sim.sched.after(NEIGH_DEFAULTS.delayFirstProbeTime, this.onTimer, this, n);
        ethernet.setDstAddr(pkt.buf, pkt.head, n.mac);
        this.dev.xmit(pkt);
        return;
      }
      if (st === Nud.Delay || st === Nud.Probe) {
        ethernet.setDstAddr(pkt.buf, pkt.head, n.mac);
        this.dev.xmit(pkt);
        return;
      }
      if (st === Nud.Incomplete) return this.enqueue(n, pkt);
      // FAILED: start over, as a new lookup would.
      this.entries.delete(nexthop);
    }
    n = this.create(nexthop, 0 as MacAddr, Nud.Incomplete);
    n.queue = [];
    this.enqueue(n, pkt);
    n.probes = 1;
    this.trace("request", n);
    this.ops.solicit(this.dev, nexthop, null, pkt);
    n.timer = this.dev.ns.sim.sched.after(NEIGH_DEFAULTS.retransTime, this.onTimer, this, n);
  }

  private enqueue(n: NeighEntry, pkt: Packet): void {
    const q = n.queue!;
    if (q.length >= NEIGH_DEFAULTS.unresQlen) this.dev.drop(q.shift()!, DropReason.NEIGH_QUEUEFULL);
    q.push(pkt);
    this.trace("queue", n);
  }

  /** Timer for INCOMPLETE retransmits, DELAY → PROBE and PROBE retransmits. */
  private onTimer(this: void, self: NeighbourTable, n: NeighEntry): void {
    n.timer = null;
    if (self.entries.get(n.addr) !== n) return;
    if (n.state === Nud.Incomplete) {
      if (n.probes >= NEIGH_DEFAULTS.mcastSolicit) return self.fail(n);
      n.probes++;
      self.ops.solicit(self.dev, n.addr, null, n.queue?.[0] ?? null);
      n.timer = self.dev.ns.sim.sched.after(NEIGH_DEFAULTS.retransTime, self.onTimer, self, n);
    } else if (n.state === Nud.Delay) {
      if (n.confirmed >= n.updated) return self.setState(n, Nud.Reachable);
      self.setState(n, Nud.Probe);
      n.probes = 1;
      self.ops.solicit(self.dev, n.addr, n.mac, null);
      n.timer = self.dev.ns.sim.sched.after(NEIGH_DEFAULTS.retransTime, self.onTimer, self, n);
    } else if (n.state === Nud.Probe) {
      if (n.probes >= NEIGH_DEFAULTS.ucastSolicit) return self.fail(n);
      n.probes++;
      self.ops.solicit(self.dev, n.addr, n.mac, null);
      n.timer = self.dev.ns.sim.sched.after(NEIGH_DEFAULTS.retransTime, self.onTimer, self, n);
    }
  }

  private fail(n: NeighEntry): void {
    this.setState(n, Nud.Failed);
    this.trace("failed", n);
    const q = n.queue;
    n.queue = null;
    if (q) for (const p of q) this.ops.failed(this.dev, p);
  }

  /**
   * An ARP message told us `addr` is at `mac` (neigh_update). `solicited`: a reply addressed to
   * us (→ REACHABLE); otherwise (a request for us, a gratuitous ARP) the entry becomes STALE.
   * `create`: make an entry if there is none (requests for us do; gratuitous ARP does not).
   */
  update(addr: Ipv4Addr, mac: MacAddr, solicited: boolean, create: boolean): void {
    let n = this.entries.get(addr);
    if (n === undefined) {
      if (!create) return;
      n = this.create(addr, mac, solicited ? Nud.Reachable : Nud.Stale);
      this.trace("resolve", n);
      return;
    }
    if (n.state === Nud.Permanent || n.state === Nud.Noarp) return;
    const changed = n.mac !== mac;
    if (solicited) {
      n.mac = mac;
      n.confirmed = this.now;
      if (n.timer) {
        n.timer.cancel();
        n.timer = null;
      }
      this.setState(n, Nud.Reachable);
    } else if (changed || n.state === Nud.Incomplete || n.state === Nud.Failed) {
      n.mac = mac;
      if (n.timer) {
        n.timer.cancel();
        n.timer = null;
      }
      this.setState(n, Nud.Stale);
    }
    this.trace("resolve", n);
    const q = n.queue;
    if (q?.length) {
      n.queue = null;
      for (const p of q) {
        ethernet.setDstAddr(p.buf, p.head, n.mac);
        this.dev.xmit(p);
      }
    }
  }

  /** `ip neigh replace ADDR lladdr MAC nud permanent` (also `noarp`). */
  addPermanent(addr: Ipv4Addr, mac: MacAddr, state: Nud = Nud.Permanent): void {
    const old = this.entries.get(addr);
    old?.timer?.cancel();
    const n = this.create(addr, mac, state);
    if (old?.queue) for (const p of old.queue) this.output(p, addr);
    void n;
  }

  delete(addr: number): boolean {
    const n = this.entries.get(addr);
    n?.timer?.cancel();
    if (n?.queue) for (const p of n.queue) this.dev.drop(p, DropReason.NEIGH_DEAD);
    return this.entries.delete(addr);
  }

  /** Drops every entry (the device went down or away). */
  flush(): void {
    for (const addr of [...this.entries.keys()]) this.delete(addr);
  }

  private create(addr: Ipv4Addr, mac: MacAddr, state: Nud): NeighEntry {
    const now = this.now;
    const n: NeighEntry = { addr, mac, state, confirmed: state === Nud.Reachable ? now : 0, updated: now, probes: 0, queue: null, timer: null };
    this.entries.set(addr, n);
    return n;
  }

  private setState(n: NeighEntry, state: Nud): void {
    n.state = state;
    n.updated = this.now;
    this.trace("state", n);
  }

  private trace(action: "request" | "resolve" | "queue" | "failed" | "state", n: NeighEntry): void {
    const sim = this.dev.ns.sim;
    if (!sim.trace.on) return;
    sim.trace.emit({
      t: sim.sched.now,
      ns: this.dev.ns.name,
      dev: this.dev.name,
      kind: "neigh",
      action,
      addr: formatIpv4(n.addr),
      mac: n.state === Nud.Incomplete || n.state === Nud.Failed ? undefined : formatMac(n.mac),
      state: n.state,
    });
  }

  /** `ip neigh show dev DEV` lines. */
  dump(): string[] {
    const lines: string[] = [];
    for (const n of [...this.entries.values()].sort((a, b) => a.addr - b.addr)) {
      let st: Nud = n.state;
      if (st === Nud.Reachable && this.now - n.confirmed > this.reachableTime) st = Nud.Stale;
      const ll = st === Nud.Incomplete || st === Nud.Failed ? "" : ` lladdr ${formatMac(n.mac)}`;
      lines.push(`${formatIpv4(n.addr)} dev ${this.dev.name}${ll} ${st}`);
    }
    return lines;
  }
}

// Per-interface capture: a tap on any set of devices writes one pcapng with an Interface
// Description Block per device, named "<namespace>/<device>", and optionally one classic pcap per
// interface. Timestamps come from the virtual clock; trace notes on a packet become its comment.

import { join } from "node:path";
import { type CaptureTarget, PcapngWriter, PcapWriter } from "../../capture/index.js";
import type { Packet } from "../../packet/index.js";
import { formatIpv4 } from "../../wire/index.js";
import type { Direction, NetDevice } from "./device.js";
import type { NetNamespace } from "./netns.js";

export interface CaptureOptions {
  /** Also write `<dir>/<namespace>_<device>.pcap` per interface (classic pcap, ns resolution). */
  perInterfaceDir?: string;
  /** Which directions to record (default both, as tcpdump -Q inout). */
  direction?: "in" | "out" | "inout";
}

export class NetCapture {
  readonly pcapng: PcapngWriter;
  private readonly ids = new Map<NetDevice, number>();
  private readonly perIf = new Map<NetDevice, PcapWriter>();
  private readonly untaps: (() => void)[] = [];
  packets = 0;

  constructor(
    target: CaptureTarget,
    private readonly opts: CaptureOptions = {},
  ) {
    this.pcapng = new PcapngWriter(target, { userappl: "kubewire" });
  }

  /** Starts capturing on `dev` (idempotent). */
  attach(dev: NetDevice): this {
    if (this.ids.has(dev)) return this;
    const name = `${dev.ns.name}/${dev.name}`;
    const addrs = dev.addrs.map((a) => `${formatIpv4(a.addr)}/${a.len}`).join(", ");
    const id = this.pcapng.addInterface({ name, description: `${dev.kind} ${dev.name} in ${dev.ns.name}${addrs ? ` (${addrs})` : ""}` });
    this.ids.set(dev, id);
    if (this.opts.perInterfaceDir) {
      const file = join(this.opts.perInterfaceDir, `${name.replaceAll("/", "_")}.pcap`);
      this.perIf.set(dev, new PcapWriter(file, { resolution: "ns" }));
    }
    const want = this.opts.direction ?? "inout";
    this.untaps.push(
      dev.addTap((d: NetDevice, pkt: Packet, dir: Direction) => {
        if ((want === "in" && dir !== 0) || (want === "out" && dir !== 1)) return;
        this.write(d, pkt);
      }),
    );
    return this;
  }

  /** Captures every device of the given namespaces (those that exist now). */
  attachAll(...namespaces: NetNamespace[]): this {
    for (const ns of namespaces) for (const d of ns.devices.values()) this.attach(d);
    return this;
  }

  private write(dev: NetDevice, pkt: Packet): void {
    const t = dev.ns.sim.sched.now;
    this.packets++;
    const notes = pkt.notes;
    this.pcapng.writePacket(this.ids.get(dev)!, t, pkt.buf, pkt.head, pkt.tail, notes !== null && notes.length > 0 ? notes : null);
    this.perIf.get(dev)?.writePacket(t, pkt.buf, pkt.head, pkt.tail);
    // A note goes on the first capture of the packet after the decision it records, not on every later hop.
    if (notes !== null) notes.length = 0;
  }

  /** Stops tapping and flushes and closes every file. */
  close(): void {
    for (const u of this.untaps) u();
    this.untaps.length = 0;
    this.pcapng.close();
    for (const w of this.perIf.values()) w.close();
  }
}

// The proxy's routing decision as a packet note: the decision is taken on bytes TCP reassembled,
// so it lands on the first packet that carries the proxied request out of the proxy's pod (the
// upstream connection's first data segment after the decision), where the capture writes it as
// the packet's comment. A tap in front of the capture's on the pod's eth0 puts it there.

import type { NetDevice } from "../../net/index.js";
import type { Packet } from "../../packet/index.js";
import { ipv4, tcp } from "../../wire/index.js";

const ETH_HLEN = 14;
const ETH_P_IP = 0x0800;
const TX = 1;

export class DecisionNotes {
  /** Notes waiting for the next data segment from a local port. */
  private readonly pending = new Map<number, string[]>();
  private readonly untap: () => void;

  constructor(readonly dev: NetDevice) {
    this.untap = dev.addTap((_d, pkt, dir) => {
      if (dir === TX && this.pending.size > 0) this.onTx(pkt);
    });
    // Ahead of any capture tap already there: the note must be on the packet when it is written.
    const taps = dev.taps!;
    taps.unshift(taps.pop()!);
  }

  /** Puts `note` on the next segment with data that leaves from `localPort`. */
  add(localPort: number, note: string): void {
    const q = this.pending.get(localPort);
    if (q) q.push(note);
    else this.pending.set(localPort, [note]);
  }

  close(): void {
    this.untap();
    this.pending.clear();
  }

  private onTx(pkt: Packet): void {
    const b = pkt.buf;
    const l3 = pkt.head + ETH_HLEN;
    if (pkt.tail - l3 < ipv4.IPV4_HEADER_LEN || ((b[pkt.head + 12] << 8) | b[pkt.head + 13]) !== ETH_P_IP) return;
    if (ipv4.protocol(b, l3) !== tcp.TCP_PROTOCOL) return;
    const l4 = l3 + ipv4.headerLength(b, l3);
    const payload = ipv4.totalLen(b, l3) - (l4 - l3) - tcp.headerLength(b, l4);
    if (payload <= 0) return;
    const port = tcp.srcPort(b, l4);
    const q = this.pending.get(port);
    if (!q) return;
    this.pending.delete(port);
    (pkt.notes ??= []).push(...q);
  }
}

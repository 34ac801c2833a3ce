// The emulated kernel's forwarding path: frames per second from pod-a through veth → cni0 →
// veth into pod-b's IPv4 stack, with capture off and on every interface, and the whole UDP socket
// path. The floor is what delivering a frame cannot avoid: a pooled buffer, the frame copied into
// it, its IPv4 header checksum verified, the buffer returned.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createUdpSocket, NetCapture, sendGratuitousArp } from "../src/net/index.js";
import { buildUdp, type Packet } from "../src/packet/index.js";
import { mustParseIpv4, mustParseMac, onesSum } from "../src/wire/index.js";
import { MACS, twoPodsOneBridge } from "../test/net/topologies.js";
import { type BenchCase, environment, type FloorPair, printTable, RESULTS_DIR, runPairs } from "./harness.js";

const N = 2_000;
export const sink = { value: 0 };

/** pod-a → pod-b with resolved neighbours and a learned FDB, and a sink where UDP would be. */
function setup() {
  const t = twoPodsOneBridge();
  t.ea.neigh.addPermanent(mustParseIpv4("10.244.1.3"), mustParseMac(MACS.podB));
  t.eb.neigh.addPermanent(mustParseIpv4("10.244.1.2"), mustParseMac(MACS.podA));
  let delivered = 0;
  t.b.protocols[17] = (_ns, _dev, pkt) => {
    delivered++;
    pkt.free();
  };
  const frame = buildUdp(t.sim.pool, {
    eth: { src: mustParseMac(MACS.podA), dst: mustParseMac(MACS.podB) },
    ip: { src: mustParseIpv4("10.244.1.2"), dst: mustParseIpv4("10.244.1.3"), dontFrag: true },
    udp: { srcPort: 40000, dstPort: 5000 },
    payload: new Uint8Array(22),
  });
  const bytes = Uint8Array.from(frame.bytes());
  const send = () => {
    const p = t.sim.pool.alloc(128, bytes.length);
    p.buf.set(bytes, p.put(bytes.length));
    t.ea.xmit(p);
  };
  // Warm the FDB in both directions: pod-b announces itself, so the bridge forwards, not floods.
  sendGratuitousArp(t.eb);
  send();
  t.sim.run();
  return { t, send, delivered: () => delivered, bytes };
}

const forward = (capture: boolean): BenchCase => ({
  name: capture ? "pod→veth→cni0→veth→pod, capture on 5 taps" : "pod→veth→cni0→veth→pod",
  ops: N,
  make: () => {
    const { t, send, delivered } = setup();
    if (capture) {
      // Written to a file like a real capture; removed when the process ends.
      const dir = mkdtempSync(join(tmpdir(), "kw-bench-"));
      new NetCapture(join(dir, "b.pcapng")).attachAll(t.a, t.node, t.b);
      process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    }
    return () => {
      for (let i = 0; i < N; i++) send();
      t.sim.sched.drain();
      sink.value ^= delivered();
    };
  },
});

const floor: BenchCase = {
  name: "alloc + copy 64 B + verify IPv4 checksum + free",
  ops: N,
  make: () => {
    const { t, bytes } = setup();
    const pool = t.sim.pool;
    return () => {
      let acc = 0;
      for (let i = 0; i < N; i++) {
        const p: Packet = pool.alloc(128, bytes.length);
        const o = p.put(bytes.length);
        p.buf.set(bytes, o);
        acc ^= onesSum(p.buf, o + 14, o + 34);
        p.free();
      }
      sink.value ^= acc;
    };
  },
};

const socketPath: BenchCase = {
  name: "UdpSocket.send → bridge → 'message'",
  ops: N,
  make: () => {
    const t = twoPodsOneBridge();
    t.ea.neigh.addPermanent(mustParseIpv4("10.244.1.3"), mustParseMac(MACS.podB));
    let got = 0;
    createUdpSocket(t.b)
      .bind(5000)
      .on("message", () => got++);
    sendGratuitousArp(t.eb);
    const c = createUdpSocket(t.a);
    c.connect(5000, "10.244.1.3");
    const payload = new Uint8Array(22);
    // The server records every datagram for tests; a benchmark must not grow it.
    return () => {
      for (let i = 0; i < N; i++) c.send(payload);
      t.sim.sched.drain();
      sink.value ^= got;
    };
  },
};

export const pairs: FloorPair[] = [
  { suite: "forward 64 B frame pod→pod (capture off)", figure: forward(false), floor, target: 500 },
  { suite: "forward 64 B frame pod→pod (capture on)", figure: forward(true), floor },
  { suite: "udp socket send→receive pod→pod", figure: socketPath, floor },
];

export default async function run(filters: string[] = []): Promise<void> {
  const selected = pairs.filter((p) => filters.length === 0 || filters.some((f) => p.suite.includes(f)));
  if (selected.length === 0) return;
  const rows = await runPairs("net", selected);
  printTable(rows);
  for (const r of rows) console.log(`${r.suite}: ${(1e9 / r.figureNs / 1e6).toFixed(2)} M frames/s`);
  writeFileSync(`${RESULTS_DIR}net.json`, `${JSON.stringify({ ...environment(), results: rows }, null, 2)}\n`);
}

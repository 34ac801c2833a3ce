// TCP over a faulty link: seeded loss with every dropped segment retransmitted (as tshark judges
// it), and a property: any sequence of writes, reads and ends on both sides, over a link that
// drops, duplicates and reorders, delivers exactly the bytes sent, in order.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { createTcpConnection, createTcpServer, NetCapture, runUntilSettled, type TcpSocket } from "../../src/net/index.js";
import { tsharkFieldLists, tsharkProblems } from "../helpers/tshark.js";
import { twoPodsOneBridge } from "./topologies.js";

const dir = mkdtempSync(join(tmpdir(), "kw-tcp-loss-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("TCP over a lossy link", () => {
  it("10% loss one way: 100 kB arrive; every segment the fault injector dropped is sent again, a retransmission to tshark", async () => {
    const k = twoPodsOneBridge(3);
    // 1 ms each way, so retransmissions are told from reordering by time, as on a real link.
    k.ea.setFaults({ drop: 0.1, delay: 1e6 });
    k.eb.setFaults({ delay: 1e6 });
    const txFile = join(dir, "loss-tx.pcapng");
    const rxFile = join(dir, "loss-rx.pcapng");
    const tx = new NetCapture(txFile).attach(k.ea);
    const rx = new NetCapture(rxFile).attach(k.eb);
    const N = 100_000;
    const payload = Buffer.alloc(N);
    for (let i = 0; i < N; i++) payload[i] = (i * 31) & 0xff;
    const chunks: Buffer[] = [];
    createTcpServer(k.b, {}, (s) => s.on("data", (d: Buffer) => chunks.push(d))).listen(80);
    const c = createTcpConnection(k.a, { host: "10.244.1.3", port: 80 }, () => c.end(payload));
    c.resume();
    await runUntilSettled(k.sim);
    tx.close();
    rx.close();
    expect(Buffer.concat(chunks).equals(payload)).toBe(true);

    const fields = ["frame.number", "ip.id", "tcp.seq", "tcp.len", "tcp.flags.syn", "tcp.flags.fin", "tcp.analysis.retransmission", "tcp.dstport"];
    const sentFrames = tsharkFieldLists(txFile, fields, { filter: "tcp.dstport == 80" });
    const arrived = new Set(tsharkFieldLists(rxFile, ["ip.id"], { filter: "tcp.dstport == 80" }).map((r) => r["ip.id"][0]));
    const occupiesSequence = (r: Record<string, string[]>) => Number(r["tcp.len"][0]) > 0 || r["tcp.flags.syn"][0] === "1" || r["tcp.flags.fin"][0] === "1";
    const dropped = sentFrames.filter((r) => !arrived.has(r["ip.id"][0]) && occupiesSequence(r));
    expect(dropped.length).toBeGreaterThanOrEqual(5);
    const frameNo = (r: Record<string, string[]>) => Number(r["frame.number"][0]);
    for (const d of dropped) {
      // A dropped retransmission of a segment that had got through needs no further copy.
      const deliveredBefore = sentFrames.some((r) => frameNo(r) < frameNo(d) && r["tcp.seq"][0] === d["tcp.seq"][0] && arrived.has(r["ip.id"][0]));
      if (deliveredBefore) continue;
      const again = sentFrames.find((r) => frameNo(r) > frameNo(d) && r["tcp.seq"][0] === d["tcp.seq"][0]);
      expect(again, `frame ${d["frame.number"][0]} (seq ${d["tcp.seq"][0]}) sent again`).toBeDefined();
      expect(again!["tcp.analysis.retransmission"].length, `frame ${again!["frame.number"][0]} flagged as a retransmission`).toBe(1);
    }
    // Nothing malformed, no expert error (retransmissions are warnings and expected here).
    expect(tsharkProblems(txFile)).toEqual([]);
  });
});

type Op = { kind: "write"; size: number } | { kind: "read" } | { kind: "end" };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("write" as const), size: fc.integer({ min: 1, max: 30_000 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("read" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("end" as const) }) },
);

/** Runs one side's ops every 20 ms of virtual time; returns what it wrote and what it read. */
function drive(k: ReturnType<typeof twoPodsOneBridge>, s: TcpSocket, ops: Op[], salt: number) {
  const wrote: Buffer[] = [];
  const read: Buffer[] = [];
  let ended = false;
  let n = salt;
  const readAll = () => {
    for (let d = s.read() as Buffer | null; d !== null; d = s.read() as Buffer | null) read.push(d);
  };
  for (const [i, o] of ops.entries()) {
    k.sim.sched.at(k.sim.now + (i + 1) * 20e6, () => {
      if (o.kind === "read") return readAll();
      if (ended) return;
      if (o.kind === "end") {
        ended = true;
        return void s.end();
      }
      const b = Buffer.alloc(o.size);
      for (let j = 0; j < o.size; j++) b[j] = n++ & 0xff;
      wrote.push(b);
      s.write(b);
    });
  }
  // Afterwards: read everything that comes, and close our side.
  k.sim.sched.at(k.sim.now + (ops.length + 2) * 20e6, () => {
    readAll();
    s.on("data", (d: Buffer) => read.push(d));
    s.resume();
    if (!ended) s.end();
  });
  return { wrote, read };
}

describe("TCP delivers exactly the bytes sent (property)", () => {
  it("random writes, reads and ends on both sides, over loss, duplication and reordering", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 0x7fffffff }), fc.array(op, { maxLength: 12 }), fc.array(op, { maxLength: 12 }), async (seed, clientOps, serverOps) => {
        const k = twoPodsOneBridge(seed);
        const faults = { drop: 0.05, duplicate: 0.05, delay: 1e6, jitter: 3e6 };
        k.ea.setFaults(faults);
        k.eb.setFaults(faults);
        let server: ReturnType<typeof drive> | undefined;
        createTcpServer(k.b, { allowHalfOpen: true }, (s) => {
          s.pause();
          server = drive(k, s, serverOps, 7);
        }).listen(80);
        let client: ReturnType<typeof drive> | undefined;
        const c = createTcpConnection(k.a, { host: "10.244.1.3", port: 80, allowHalfOpen: true }, () => {
          client = drive(k, c, clientOps, 3);
        });
        c.pause();
        await runUntilSettled(k.sim);
        expect(client && server).toBeTruthy();
        expect(c.destroyed).toBe(true);
        expect(Buffer.concat(server!.read).equals(Buffer.concat(client!.wrote))).toBe(true);
        expect(Buffer.concat(client!.read).equals(Buffer.concat(server!.wrote))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});

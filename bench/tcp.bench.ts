// TCP bulk transfer pod→pod through the emulated stack: the sender's write queue cut into
// MSS-sized segments (header, timestamp option, checksum), veth → cni0 → veth, the receiver's
// tcp_v4_rcv, its ACKs every second segment, the copy out to the reader; beside its floor, what
// any stack must do per segment: a pooled buffer, the payload copied in, its checksum, the copy
// out. In the same run, the Linux twin: two network namespaces joined by a veth, a python bulk
// transfer over real TCP, MB/s, for the ratio kubewire / Linux.
// Runnable alone: `npx tsx bench/tcp.bench.ts`.

import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { sendGratuitousArp } from "../src/net/index.js";
import { tcpAccept, tcpConnect, tcpListen, tcpRecvmsgInto, tcpSendmsg } from "../src/net/ipv4/tcp.js";
import { TcpEvent, type TcpSock, TcpState } from "../src/net/ipv4/tcp-sock.js";
import { mustParseIpv4, mustParseMac, onesSum, pseudoHeaderSum } from "../src/wire/index.js";
import { linuxAvailable, withLinuxTwin } from "../test/helpers/linux.js";
import { MACS, twoPodsOneBridge } from "../test/net/topologies.js";
import { type BenchCase, environment, type FloorPair, printTable, RESULTS_DIR, runPairs } from "./harness.js";

/** Data segments per timed call (MSS 1448 on a 1500-byte MTU: 370 kB). */
const SEGS = 256;
const MSS = 1448;
export const sink = { value: 0 };

/** Two pods with resolved neighbours, a connection established, a reader that drains at once. */
function connection() {
  const k = twoPodsOneBridge();
  k.ea.neigh.addPermanent(mustParseIpv4("10.244.1.3"), mustParseMac(MACS.podB));
  k.eb.neigh.addPermanent(mustParseIpv4("10.244.1.2"), mustParseMac(MACS.podA));
  sendGratuitousArp(k.ea);
  sendGratuitousArp(k.eb);
  let received = 0;
  /** The application's read buffer (recv(2) into the same memory each time). */
  const appBuf = Buffer.alloc(1 << 16);
  let server: TcpSock | null = null;
  const reader = {
    tcpEvent(ev: number) {
      if (ev & TcpEvent.READ && server !== null) while (server.rcvBytes > 0) received += tcpRecvmsgInto(server, appBuf, 0, appBuf.length);
    },
  };
  const acceptor = {
    tcpEvent: () => {
      if (typeof l !== "string") server = tcpAccept(l, reader);
    },
  };
  const l = tcpListen(k.b, 0, 80, 128, true, acceptor);
  if (typeof l === "string") throw new Error(l);
  const sk = tcpConnect(k.a, { daddr: mustParseIpv4("10.244.1.3"), dport: 80 }, null);
  if (typeof sk === "string") throw new Error(sk);
  k.sim.sched.runNow();
  if (sk.state !== TcpState.ESTABLISHED || server === null) throw new Error("no connection");
  return { k, sk, received: () => received };
}

const bulk: BenchCase = {
  name: "tcpSendmsg → 256 segments → reader (pod→pod)",
  ops: SEGS,
  make: () => {
    const { k, sk, received } = connection();
    const chunk = Buffer.alloc(SEGS * MSS, 0x61);
    let expected = 0;
    return () => {
      tcpSendmsg(sk, chunk);
      k.sim.sched.runNow();
      expected += chunk.length;
      if (received() !== expected) throw new Error(`delivered ${received()} of ${expected}`);
      sink.value ^= received();
    };
  },
};

const floor: BenchCase = {
  name: "alloc + copy 1448 B in + checksum + copy out + free",
  ops: SEGS,
  make: () => {
    const { k } = connection();
    const pool = k.sim.pool;
    const payload = Buffer.alloc(SEGS * MSS, 0x61);
    const out = Buffer.alloc(SEGS * MSS);
    return () => {
      let acc = 0;
      for (let i = 0; i < SEGS; i++) {
        const p = pool.alloc(128, MSS + 32);
        const o = p.put(MSS);
        payload.copy(p.buf, o, i * MSS, (i + 1) * MSS);
        acc ^= onesSum(p.buf, o, o + MSS, pseudoHeaderSum(0x0af40102, 0x0af40103, 6, MSS + 32));
        p.buf.copy(out, i * MSS, o, o + MSS);
        p.free();
      }
      sink.value ^= acc;
    };
  },
};

const pairs: FloorPair[] = [{ suite: "tcp bulk pod→pod (per 1448-byte segment)", figure: bulk, floor }];

const LINUX_BYTES = 1 << 30;
const PY_SINK = `
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5001)); s.listen(1); print("listening", flush=True)
c, _ = s.accept(); n = 0; t0 = None
while True:
    d = c.recv(1 << 20)
    if not d: break
    if t0 is None: t0 = time.perf_counter()
    n += len(d)
print("bytes", n, "seconds", time.perf_counter() - t0, flush=True)
`;
const PY_SOURCE = `
import socket, sys
c = socket.create_connection((sys.argv[1], 5001)); b = b"a" * (1 << 20)
for _ in range(int(sys.argv[2]) >> 20): c.sendall(b)
c.close()
`;

/** MB/s of a 1 GiB python transfer between two namespaces over a veth (GSO on, as Linux defaults). */
async function linuxBulk(): Promise<number | undefined> {
  const a = linuxAvailable();
  if (!a.ok) {
    console.warn(`tcp bench: no Linux twin (${a.why})`);
    return undefined;
  }
  return withLinuxTwin(async (t) => {
    t.ns("a");
    t.ns("b");
    t.veth("a", "eth0", "b", "eth0");
    t.addr("a", "eth0", "10.0.0.1/24");
    t.addr("b", "eth0", "10.0.0.2/24");
    const sinkProc = t.spawn("b", ["python3", "-c", PY_SINK]);
    await sinkProc.waitFor(/listening/);
    t.exec("a", ["python3", "-c", PY_SOURCE, "10.0.0.2", String(LINUX_BYTES)], { timeoutMs: 120_000 });
    await sinkProc.exited;
    const m = /bytes (\d+) seconds ([\d.e-]+)/.exec(sinkProc.stdout());
    if (!m || Number(m[1]) !== LINUX_BYTES) throw new Error(`linux bulk: ${sinkProc.stdout()} ${sinkProc.stderr()}`);
    return Number(m[1]) / Number(m[2]) / 1e6;
  });
}

export default async function run(filters: string[] = []): Promise<void> {
  const selected = pairs.filter((p) => filters.length === 0 || filters.some((f) => p.suite.includes(f)));
  if (selected.length === 0) return;
  const rows = await runPairs("tcp", selected);
  printTable(rows);
  const r = rows[0];
  const segsPerSec = 1e9 / r.figureNs;
  const mbps = (segsPerSec * MSS) / 1e6;
  const floorMbps = ((1e9 / r.floorNs) * MSS) / 1e6;
  const linux = await linuxBulk();
  console.log(`tcp bulk pod→pod: ${mbps.toFixed(1)} MB/s, ${(segsPerSec / 1e3).toFixed(0)} k segments/s (floor ${floorMbps.toFixed(0)} MB/s, ratio ${r.ratio.toFixed(2)})`);
  if (linux !== undefined) console.log(`Linux twin (veth, python): ${linux.toFixed(0)} MB/s; kubewire / Linux = ${(mbps / linux).toFixed(3)}`);
  writeFileSync(
    `${RESULTS_DIR}tcp.json`,
    `${JSON.stringify({ ...environment(), results: rows, mbPerSec: mbps, segmentsPerSec: segsPerSec, floorMbPerSec: floorMbps, linuxMbPerSec: linux, ratioToLinux: linux ? mbps / linux : undefined }, null, 2)}\n`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await run(process.argv.slice(2));

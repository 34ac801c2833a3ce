// TCP bulk transfer pod→pod through the emulated stack: the sender's write queue cut into
// MSS-sized segments (header, timestamp option, checksum), veth → cni0 → veth, the receiver's
// tcp_v4_rcv, its ACKs every second segment, the copy out to the reader; beside its floor, what
// any stack must do per segment: a pooled buffer, the payload copied in, its checksum, the copy
// out. In the same run, the Linux twin: two network namespaces joined by a veth, a python bulk
// transfer over real TCP, MB/s, for the ratio kubewire / Linux.
// Connection setups through a ClusterIP: a client, a node with kube-proxy's DNAT for the ClusterIP
// (conntrack and NAT on every segment), a server; per connection SYN → DNAT → SYN-ACK (un-DNATed)
// → ACK, then the close (FIN both ways, the client in TIME_WAIT). Its floor: the segments' bare
// cost (a pooled buffer, the headers written, both checksums) and the hash inserts and deletes any
// stack pays for the socket and the conntrack entry. The Linux twin: the same three namespaces and
// the same DNAT rule through the real iptables-restore, a python client connecting and closing in
// a loop, connections per second, for the ratio.
// Runnable alone: `npx tsx bench/tcp.bench.ts`.

import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { sendGratuitousArp } from "../src/net/index.js";
import { tcpAccept, tcpClose, tcpConnect, tcpListen, tcpRecvmsgInto, tcpSendmsg } from "../src/net/ipv4/tcp.js";
import { TcpEvent, type TcpSock, TcpState } from "../src/net/ipv4/tcp-sock.js";
import { IptablesEngine, installNetfilter } from "../src/netfilter/index.js";
import { mustParseIpv4, mustParseMac, onesSum, pseudoHeaderSum } from "../src/wire/index.js";
import { linuxAvailable, withLinuxTwin } from "../test/helpers/linux.js";
import { MACS, routerBetweenSubnets, twoPodsOneBridge } from "../test/net/topologies.js";
import { buildTwinRouter } from "../test/net/twin-topologies.js";
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

/** Connections per timed call. */
const CONNS = 64;
const VIP = mustParseIpv4("10.96.0.10");
/** kube-proxy's DNAT for a ClusterIP, on the node between client and server (the same text goes to the twin's iptables-restore). */
const DNAT_RULES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.2.2:8080
COMMIT
`;

/** host-a — node (DNAT 10.96.0.10:80 → 10.0.2.2:8080) — host-b listening on 8080, closing each connection when the client has closed. */
function clusterIpPath() {
  const k = routerBetweenSubnets();
  installNetfilter(k.r, { rules: new IptablesEngine({ rules: DNAT_RULES, file: "dnat.rules" }) });
  let accepted = 0;
  const closer = (sk: TcpSock) => ({
    tcpEvent() {
      if (sk.fin_rcvd) tcpClose(sk);
    },
  });
  const acceptor = {
    tcpEvent: () => {
      if (typeof l === "string") return;
      for (let sk = l.acceptQueue[0]; sk !== undefined; sk = l.acceptQueue[0]) {
        const user = closer(sk);
        tcpAccept(l, user);
        accepted++;
      }
    },
  };
  const l = tcpListen(k.b, 0, 8080, 4096, true, acceptor);
  if (typeof l === "string") throw new Error(l);
  const client = { tcpEvent() {} };
  /** One connection: handshake through the DNAT, then the close; throws unless both ends got there. */
  const once = () => {
    const sk = tcpConnect(k.a, { daddr: VIP, dport: 80 }, client);
    if (typeof sk === "string") throw new Error(sk);
    k.sim.sched.runNow();
    if (sk.state !== TcpState.ESTABLISHED) throw new Error(`connect: ${sk.state}`);
    tcpClose(sk);
    k.sim.sched.runNow();
    if ((sk.state as TcpState) !== TcpState.TIME_WAIT) throw new Error(`close: ${sk.state}`);
  };
  // Neighbours resolved and the first conntrack entries made before timing.
  once();
  return { k, once, accepted: () => accepted };
}

const setups: BenchCase = {
  name: "connect through DNAT + close (64 connections)",
  ops: CONNS,
  make: () => {
    const { k, once, accepted } = clusterIpPath();
    return () => {
      const before = accepted();
      for (let i = 0; i < CONNS; i++) once();
      if (accepted() - before !== CONNS) throw new Error(`accepted ${accepted() - before} of ${CONNS}`);
      // TIME_WAIT (60 s) ends and the client's ports come free, as they would between Linux's runs.
      k.sim.sched.run(k.sim.sched.now + 61e9);
      sink.value ^= accepted();
    };
  },
};

/** Segments of one connection set-up and close through the node, counted per hop: SYN, SYN-ACK, ACK, FIN, ACK, FIN, ACK, each on two links. */
const SEGMENTS_PER_CONN = 14;

const setupFloor: BenchCase = {
  name: "14 segments (alloc, headers, checksums, free) + 2 hash inserts/deletes",
  ops: CONNS,
  make: () => {
    const { k } = clusterIpPath();
    const pool = k.sim.pool;
    const socks = new Map<number, number>();
    const cts = new Map<number, number>();
    let key = 0;
    return () => {
      let acc = 0;
      for (let c = 0; c < CONNS; c++) {
        key = (key + 0x9e3779b1) >>> 0;
        socks.set(key, c);
        cts.set(key ^ 0x5bd1e995, c);
        for (let i = 0; i < SEGMENTS_PER_CONN; i++) {
          const p = pool.alloc(128, 40);
          const o = p.put(40);
          p.buf.fill(0x45, o, o + 40);
          acc ^= onesSum(p.buf, o, o + 20, 0);
          acc ^= onesSum(p.buf, o + 20, o + 40, pseudoHeaderSum(0x0a000102, 0x0a000202, 6, 20));
          p.free();
        }
        socks.delete(key);
        cts.delete(key ^ 0x5bd1e995);
      }
      sink.value ^= acc;
    };
  },
};

export const pairs: FloorPair[] = [
  { suite: "tcp bulk pod→pod (per 1448-byte segment)", figure: bulk, floor },
  { suite: "tcp connection setups via ClusterIP DNAT (per connection)", figure: setups, floor: setupFloor },
];

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

const LINUX_CONNS = 5000;
const PY_ACCEPT = `
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080)); s.listen(4096); print("listening", flush=True)
while True:
    c, _ = s.accept(); c.close()
`;
const PY_CONNECT = `
import socket, sys, time
host, n = sys.argv[1], int(sys.argv[2])
t0 = time.perf_counter()
for _ in range(n):
    c = socket.create_connection((host, 80)); c.close()
print("conns", n, "seconds", time.perf_counter() - t0, flush=True)
`;

/** Connections per second of a python client through the twin's DNAT (connect, close; the server accepts and closes), best of three runs. */
async function linuxSetups(): Promise<number | undefined> {
  const a = linuxAvailable();
  if (!a.ok) {
    console.warn(`tcp bench: no Linux twin (${a.why})`);
    return undefined;
  }
  return withLinuxTwin(async (t) => {
    buildTwinRouter(t);
    t.iptablesRestore("router", DNAT_RULES);
    const srv = t.spawn("host-b", ["python3", "-c", PY_ACCEPT]);
    await srv.waitFor(/listening/);
    // The best of three runs, as the harness keeps each side's best round: a neighbour's burst of
    // CPU lands on one run. Each run uses fresh ports (5000 of the 28232 ephemeral ones).
    let best = 0;
    for (let run = 0; run < 3; run++) {
      const out = t.exec("host-a", ["python3", "-c", PY_CONNECT, "10.96.0.10", String(LINUX_CONNS)], { timeoutMs: 120_000 });
      const m = /conns (\d+) seconds ([\d.e-]+)/.exec(out);
      if (!m) throw new Error(`linux setups: ${out}`);
      best = Math.max(best, Number(m[1]) / Number(m[2]));
    }
    return best;
  });
}

export default async function run(filters: string[] = []): Promise<void> {
  const selected = pairs.filter((p) => filters.length === 0 || filters.some((f) => p.suite.includes(f)));
  if (selected.length === 0) return;
  const rows = await runPairs("tcp", selected);
  printTable(rows);
  const out: Record<string, unknown> = { ...environment(), results: rows };
  const bulkRow = rows.find((r) => r.suite === pairs[0].suite);
  if (bulkRow) {
    const segsPerSec = 1e9 / bulkRow.figureNs;
    const mbps = (segsPerSec * MSS) / 1e6;
    const floorMbps = ((1e9 / bulkRow.floorNs) * MSS) / 1e6;
    const linux = await linuxBulk();
    console.log(`tcp bulk pod→pod: ${mbps.toFixed(1)} MB/s, ${(segsPerSec / 1e3).toFixed(0)} k segments/s (floor ${floorMbps.toFixed(0)} MB/s, ratio ${bulkRow.ratio.toFixed(2)})`);
    if (linux !== undefined) console.log(`Linux twin (veth, python): ${linux.toFixed(0)} MB/s; kubewire / Linux = ${(mbps / linux).toFixed(3)}`);
    Object.assign(out, { mbPerSec: mbps, segmentsPerSec: segsPerSec, floorMbPerSec: floorMbps, linuxMbPerSec: linux, ratioToLinux: linux ? mbps / linux : undefined });
  }
  const setupRow = rows.find((r) => r.suite === pairs[1].suite);
  if (setupRow) {
    const perSec = 1e9 / setupRow.figureNs;
    const linux = await linuxSetups();
    console.log(`tcp connection setups via ClusterIP DNAT: ${(perSec / 1e3).toFixed(1)} k/s (${(setupRow.figureNs / 1e3).toFixed(1)} µs each; floor ${(setupRow.floorNs / 1e3).toFixed(2)} µs, ratio ${setupRow.ratio.toFixed(2)})`);
    if (linux !== undefined) console.log(`Linux twin (3 namespaces, iptables DNAT, python connect/close loop): ${(linux / 1e3).toFixed(1)} k/s; kubewire / Linux = ${(perSec / linux).toFixed(3)}`);
    Object.assign(out, { setupsPerSec: perSec, linuxSetupsPerSec: linux, setupsRatioToLinux: linux ? perSec / linux : undefined });
  }
  writeFileSync(`${RESULTS_DIR}tcp.json`, `${JSON.stringify(out, null, 2)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await run(process.argv.slice(2));

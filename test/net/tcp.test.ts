// TCP endpoints between emulated pods: the handshake and its options as Linux sends them, data
// by MSS, delayed ACKs, Nagle, flow control, FIN and RST teardown, TIME_WAIT and port reuse, the
// listen backlog, retransmission timers and their limits, ICMP errors and path MTU discovery.
import { describe, expect, it } from "vitest";
import { createTcpConnection, createTcpServer, runUntilSettled, tcpDump, tcpTable } from "../../src/net/index.js";
import { ehashKey } from "../../src/net/ipv4/tcp-table.js";
import { mustParseIpv4, mustParseMac } from "../../src/wire/index.js";
import { exchange, type TapSegment, tapTcp } from "./tcp-helpers.js";
import { MACS, routerBetweenSubnets, twoPodsOneBridge } from "./topologies.js";

function pods(mtu = 1500, seed = 1) {
  const k = twoPodsOneBridge(seed);
  for (const d of [k.ea, k.eb, k.ha, k.hb, k.br]) d.mtu = mtu;
  return k;
}

const sent = (segs: TapSegment[]) => segs.filter((s) => s.dir === "tx");
const received = (segs: TapSegment[]) => segs.filter((s) => s.dir === "rx");
const dataLens = (segs: TapSegment[]) => segs.filter((s) => s.len > 0).map((s) => s.len);
const rel = (s: number, isn: number) => (s - isn) >>> 0;

describe("TCP handshake and data as Linux puts them on the wire", () => {
  for (const [mtu, synWin, synAckWin, ackWin] of [
    [1450, 64860, 64308, 64],
    [1500, 64240, 65160, 63],
  ]) {
    it(`MTU ${mtu}: SYN MSS ${mtu - 40} window ${synWin} wscale 10, SYN-ACK ${synAckWin}, ACK ${ackWin}, data of MSS − 12`, async () => {
      const k = pods(mtu);
      const segs = tapTcp(k.ea);
      const { done } = exchange(k.a, k.b, "10.244.1.3", 8080, 10_000);
      await runUntilSettled(k.sim);
      expect(await done).toEqual({ clientGot: 10_000, serverGot: 10_000 });
      const [syn, synAck, ack] = segs;
      expect(syn).toMatchObject({ dir: "tx", flags: "S", win: synWin, mss: mtu - 40, wscale: 10, ttl: 64, df: true, options: [2, 4, 8, 1, 3], len: 0 });
      expect(synAck).toMatchObject({ dir: "rx", flags: "S.", win: synAckWin, mss: mtu - 40, wscale: 10, ttl: 64, df: true, options: [2, 4, 8, 1, 3] });
      expect(synAck.ack).toBe((syn.seq + 1) >>> 0);
      expect(ack).toMatchObject({ dir: "tx", flags: ".", win: ackWin, options: [1, 1, 8], seq: (syn.seq + 1) >>> 0, ack: (synAck.seq + 1) >>> 0 });
      // 10 000 bytes: full segments of MSS − 12 (the timestamp option), PSH on the last.
      const mss = mtu - 52;
      const full = Math.floor(10_000 / mss);
      expect(dataLens(sent(segs))).toEqual([...Array(full).fill(mss), 10_000 - full * mss]);
      expect(sent(segs).filter((s) => s.len > 0).map((s) => s.flags)).toEqual([...Array(full).fill("."), "P."]);
      expect(dataLens(received(segs))).toEqual(dataLens(sent(segs)));
      // Every segment after the SYNs carries NOP NOP TS; DF and TTL 64 throughout.
      for (const s of segs.slice(2)) expect(s).toMatchObject({ options: [1, 1, 8], ttl: 64, df: true });
      // The close: FIN from the client, FIN,ACK from the server, the last ACK.
      const tail = segs.slice(-3).map((s) => [s.dir, s.flags, rel(s.seq, s.dir === "tx" ? syn.seq : synAck.seq), rel(s.ack, s.dir === "tx" ? synAck.seq : syn.seq)]);
      expect(tail).toEqual([
        ["tx", "F.", 10_001, 10_001],
        ["rx", "F.", 10_001, 10_002],
        ["tx", ".", 10_002, 10_002],
      ]);
    });
  }

  it("draws ISN, timestamp offset and IP ID from the seeded RNG: same seed, same segments", async () => {
    const run = async (seed: number) => {
      const k = pods(1500, seed);
      const segs = tapTcp(k.ea);
      exchange(k.a, k.b, "10.244.1.3", 8080, 3000);
      await runUntilSettled(k.sim);
      return segs.map((s) => [s.seq, s.ack, s.tsval, s.ipId, s.sport]);
    };
    const a = await run(7);
    expect(await run(7)).toEqual(a);
    const b = await run(8);
    expect(b[0][0]).not.toBe(a[0][0]);
    expect(b[0][2]).not.toBe(a[0][2]);
  });

  it("takes ephemeral ports from ip_local_port_range, even ones first, as connect() does", async () => {
    const k = pods();
    createTcpServer(k.b).listen(80);
    const socks = Array.from({ length: 5 }, () => createTcpConnection(k.a, { host: "10.244.1.3", port: 80 }));
    await runUntilSettled(k.sim, { until: 1e9 });
    const ports = socks.map((s) => s.localPort!);
    for (const p of ports) {
      expect(p % 2).toBe(0);
      expect(p).toBeGreaterThanOrEqual(32768);
      expect(p).toBeLessThanOrEqual(60999);
    }
    expect(new Set(ports).size).toBe(5);
    expect(ports.slice(1).map((p, i) => p - ports[i])).toEqual([2, 2, 2, 2]);
  });
});

describe("TCP acknowledgments and sending", () => {
  it("ACKs the first segments at once (quickack), then after the 40 ms delayed-ACK timer", async () => {
    const k = pods();
    const segs = tapTcp(k.ea);
    createTcpServer(k.b, {}, (s) => s.resume()).listen(80);
    const c = createTcpConnection(k.a, { host: "10.244.1.3", port: 80, noDelay: true });
    for (let i = 0; i < 20; i++) k.sim.sched.at(1e9 + i * 100e6, () => c.write(Buffer.alloc(100, i)));
    k.sim.sched.at(4e9, () => c.destroy());
    await runUntilSettled(k.sim);
    const data = sent(segs).filter((s) => s.len > 0);
    const delays = data.map((d) => received(segs).find((a) => a.flags === "." && a.ack === ((d.seq + d.len) >>> 0))!.t - d.t);
    // Linux: tcp_incr_quickack gives 16 immediate ACKs, then TCP_DELACK_MIN (40 ms).
    expect(delays).toEqual([...Array(16).fill(0), ...Array(4).fill(40e6)]);
  });

  it("Nagle holds a small segment while one is unacknowledged; setNoDelay sends each write", async () => {
    const run = async (noDelay: boolean) => {
      const k = pods();
      k.ea.setFaults({ delay: 1e6 });
      k.eb.setFaults({ delay: 1e6 });
      const segs = tapTcp(k.ea);
      createTcpServer(k.b, {}, (s) => s.resume()).listen(80);
      const c = createTcpConnection(k.a, { host: "10.244.1.3", port: 80, noDelay }, () => {
        c.write("a");
        c.write("b");
        c.write("c");
        c.end();
      });
      await runUntilSettled(k.sim);
      return dataLens(sent(segs));
    };
    expect(await run(false)).toEqual([1, 2]);
    expect(await run(true)).toEqual([1, 1, 1]);
  });

  it("flow control: a reader that stops closes the window to zero; the sender probes, then resumes", async () => {
    const k = pods();
    const segs = tapTcp(k.ea);
    const N = 400_000;
    let got = 0;
    createTcpServer(k.b, {}, (s) => {
      s.pause();
      s.on("data", (d: Buffer) => (got += d.length));
      k.sim.sched.at(5e9, () => s.resume());
    }).listen(80);
    const c = createTcpConnection(k.a, { host: "10.244.1.3", port: 80 }, () => c.end(Buffer.alloc(N, 1)));
    await runUntilSettled(k.sim);
    expect(got).toBe(N);
    const zero = received(segs).filter((s) => s.win === 0 && s.t < 5e9);
    expect(zero.length).toBeGreaterThan(0);
    // Zero-window probes: an old sequence number (snd_una − 1) and no data, backing off.
    const probes = sent(segs).filter((s) => s.len === 0 && s.flags === "." && s.t > zero[0].t && s.t < 5e9);
    expect(probes.length).toBeGreaterThanOrEqual(3);
    const gaps = probes.slice(1).map((p, i) => p.t - probes[i].t);
    expect(gaps[1]).toBeGreaterThan(gaps[0]);
    // The window update after the reader resumed.
    expect(received(segs).some((s) => s.t === 5e9 && s.win > 0 && s.len === 0)).toBe(true);
  });
});

describe("TCP socket timeouts", () => {
  it("setTimeout(0, cb) takes back the callback setTimeout(ms, cb) added, as net.Socket does", async () => {
    const k = pods();
    createTcpServer(k.b, {}, () => {}).listen(80);
    const c = createTcpConnection(k.a, { host: "10.244.1.3", port: 80 });
    let fired = 0;
    const cb = () => fired++;
    for (let i = 0; i < 20; i++) {
      c.setTimeout(1000, cb);
      c.setTimeout(0, cb);
    }
    expect(c.listenerCount("timeout")).toBe(0);
    c.setTimeout(1000, cb);
    await runUntilSettled(k.sim);
    expect(fired).toBe(1);
    c.destroy();
  });
});

describe("TCP teardown", () => {
  it("end() half-closes with a FIN; the peer may still send", async () => {
    const k = pods();
    createTcpServer(k.b, { allowHalfOpen: true }, (s) => {
      s.resume();
      s.on("end", () => s.end("after your FIN"));
    }).listen(80);
    const c = createTcpConnection(k.a, { host: "10.244.1.3", port: 80 }, () => c.end("bye"));
    let reply = "";
    c.on("data", (d: Buffer) => (reply += d));
    await runUntilSettled(k.sim);
    expect(reply).toBe("after your FIN");
  });

  it("destroy() with unread data resets the connection: the peer gets ECONNRESET", async () => {
    const k = pods();
    const segs = tapTcp(k.ea);
    createTcpServer(k.b, {}, (s) => {
      s.pause();
      k.sim.sched.at(1e9, () => s.destroy());
    }).listen(80);
    const c = createTcpConnection(k.a, { host: "10.244.1.3", port: 80 }, () => c.write(Buffer.alloc(100_000)));
    const err = new Promise<NodeJS.ErrnoException>((r) => c.on("error", r));
    await runUntilSettled(k.sim);
    expect((await err).code).toBe("ECONNRESET");
    expect(received(segs).at(-1)!.flags).toBe("R.");
  });

  it("keeps TIME_WAIT 60 s; a server restarts on its port meanwhile with SO_REUSEADDR, not without", async () => {
    const k = pods();
    const srv = createTcpServer(k.b, {}, (s) => s.end()).listen(80);
    const c = createTcpConnection(k.a, { host: "10.244.1.3", port: 80 });
    c.resume();
    await runUntilSettled(k.sim, { until: 1e9 });
    srv.close();
    // The server closed first, so its side waits in TIME_WAIT holding port 80.
    expect(tcpDump(k.b)).toEqual([expect.stringMatching(/^TIME-WAIT .* 10\.244\.1\.3:80 10\.244\.1\.2:\d+$/)]);
    const errors: string[] = [];
    createTcpServer(k.b).on("error", (e: NodeJS.ErrnoException) => errors.push(e.code!)).listen({ port: 80, reuseAddr: false });
    const again = createTcpServer(k.b).listen(80);
    await runUntilSettled(k.sim, { until: 30e9 });
    expect(errors).toEqual(["EADDRINUSE"]);
    expect(again.listening).toBe(true);
    again.close();
    await runUntilSettled(k.sim, { until: 61e9 });
    expect(tcpDump(k.b)).toEqual([]);
    const late = createTcpServer(k.b).listen({ port: 80, reuseAddr: false });
    await runUntilSettled(k.sim, { until: 62e9 });
    expect(late.listening).toBe(true);
  });
});

describe("TCP listen backlog and the connection table", () => {
  it("with accepting paused, backlog + 1 connections wait in the accept queue; a further SYN is dropped and retried", async () => {
    const k = pods();
    const srv = createTcpServer(k.b, { acceptPaused: true }).listen({ port: 80, backlog: 1 });
    const connectedAt: number[] = [];
    const acceptedAt: number[] = [];
    const connect = () => createTcpConnection(k.a, { host: "10.244.1.3", port: 80 }, () => connectedAt.push(k.sim.now));
    connect();
    connect();
    k.sim.sched.at(0.5e9, connect);
    srv.on("connection", () => acceptedAt.push(k.sim.now));
    k.sim.sched.at(2.2e9, () => srv.resume());
    await runUntilSettled(k.sim, { until: 5e9 });
    // Two handshakes at once and queued; the third SYN (0.5 s) is dropped while the queue is
    // full, retransmitted at 1.5 s (dropped) and 2.5 s, after accepting resumed.
    expect(connectedAt).toEqual([0, 0, 2.5e9]);
    expect(acceptedAt).toEqual([2.2e9, 2.2e9, 2.5e9]);
  });

  it("keys connections by number: hundreds of connections to one port, each its own socket", async () => {
    const k = pods();
    const got = new Map<number, string>();
    createTcpServer(k.b, {}, (s) => s.on("data", (d: Buffer) => got.set(s.remotePort!, d.toString()))).listen(80);
    for (let i = 0; i < 300; i++) {
      const c = createTcpConnection(k.a, { host: "10.244.1.3", port: 80 }, () => c.write(`hello ${c.localPort}`));
    }
    await runUntilSettled(k.sim, { until: 1e9 });
    expect(got.size).toBe(300);
    for (const [port, text] of got) expect(text).toBe(`hello ${port}`);
    expect(tcpTable(k.b).count).toBe(300);
    // The key is a number below 2^48 and differs with any of the four fields.
    const a = mustParseIpv4("10.244.1.2");
    const b = mustParseIpv4("10.244.1.3");
    const key = ehashKey(b, 80, a, 40000);
    expect(Number.isSafeInteger(key) && key < 2 ** 48).toBe(true);
    expect(new Set([key, ehashKey(b, 80, a, 40002), ehashKey(b, 81, a, 40000), ehashKey(a, 80, b, 40000)]).size).toBe(4);
  });
});

describe("TCP retransmission and errors", () => {
  /** pod-a with pod-b's MAC known, and everything towards pod-b dropped. */
  function blackhole() {
    const k = pods();
    k.ea.neigh.addPermanent(mustParseIpv4("10.244.1.3"), mustParseMac(MACS.podB));
    return k;
  }

  it("retransmits the SYN at 1 s intervals four times, then backs off; ETIMEDOUT at 131 s", async () => {
    const k = blackhole();
    k.hb.setFaults({ drop: 1 });
    const segs = tapTcp(k.ea);
    const c = createTcpConnection(k.a, { host: "10.244.1.3", port: 80 });
    const err = new Promise<NodeJS.ErrnoException>((r) => c.on("error", r));
    await runUntilSettled(k.sim);
    expect(sent(segs).map((s) => s.t / 1e9)).toEqual([0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67]);
    const e = await err;
    expect(e.code).toBe("ETIMEDOUT");
    expect(k.sim.now).toBe(131e9);
  });

  it("retransmits data with RTO 200 ms doubling to 120 s, and gives up after tcp_retries2 (924.6 s)", async () => {
    const k = blackhole();
    const segs = tapTcp(k.ea);
    createTcpServer(k.b, {}, (s) => s.resume()).listen(80);
    const c = createTcpConnection(k.a, { host: "10.244.1.3", port: 80 }, () => {
      k.hb.setFaults({ drop: 1 });
      c.write("lost");
    });
    const err = new Promise<NodeJS.ErrnoException>((r) => c.on("error", r));
    await runUntilSettled(k.sim);
    const times = sent(segs)
      .filter((s) => s.len === 4)
      .map((s) => Math.round(s.t / 1e8) / 10);
    expect(times).toEqual([0, 0.2, 0.6, 1.4, 3, 6.2, 12.6, 25.4, 51, 102.2, 204.6, 324.6, 444.6, 564.6, 684.6, 804.6]);
    expect((await err).code).toBe("ETIMEDOUT");
    expect(k.sim.now).toBeCloseTo(924.6e9, -3);
  });

  it("reports ICMP host and network unreachable while connecting as EHOSTUNREACH and ENETUNREACH", async () => {
    const k = routerBetweenSubnets();
    k.r.addRoute({ dst: "10.0.3.0/24", type: "unreachable" });
    const codes: string[] = [];
    for (const host of ["10.0.3.5", "10.0.9.9"])
      createTcpConnection(k.a, { host, port: 80 }).on("error", (e: NodeJS.ErrnoException) => codes.push(`${host} ${e.code} at ${k.sim.now}`));
    await runUntilSettled(k.sim);
    // The first ICMP error fails the connect (no waiting for the SYN retransmissions).
    expect(codes.sort()).toEqual(["10.0.3.5 EHOSTUNREACH at 0", "10.0.9.9 ENETUNREACH at 0"]);
  });

  it("path MTU: fragmentation needed from a router lowers the MSS and the data goes again, smaller", async () => {
    const k = routerBetweenSubnets();
    k.rb.mtu = 1400;
    const segs = tapTcp(k.ea);
    let got = 0;
    createTcpServer(k.b, {}, (s) => s.on("data", (d: Buffer) => (got += d.length))).listen(80);
    const c = createTcpConnection(k.a, { host: "10.0.2.2", port: 80 }, () => c.end(Buffer.alloc(20_000, 7)));
    await runUntilSettled(k.sim);
    expect(got).toBe(20_000);
    const lens = dataLens(sent(segs));
    expect(lens[0]).toBe(1448);
    const after = lens.slice(lens.indexOf(1348));
    expect(after.length).toBeGreaterThan(10);
    for (const l of after) expect(l).toBeLessThanOrEqual(1348);
    expect(k.ra.drops.total + k.ea.drops.total).toBeGreaterThanOrEqual(0);
  });

  it("times out an idle socket on the virtual clock and probes with keepalive", async () => {
    const k = pods();
    const segs = tapTcp(k.ea);
    createTcpServer(k.b, {}, (s) => s.resume()).listen(80);
    const c = createTcpConnection(k.a, { host: "10.244.1.3", port: 80, keepAlive: true, keepAliveInitialDelay: 10_000 });
    let timedOutAt = -1;
    c.setTimeout(3000, () => {
      timedOutAt = k.sim.now;
    });
    k.sim.sched.at(100e9, () => c.destroy());
    await runUntilSettled(k.sim, { until: 110e9 });
    expect(timedOutAt).toBe(3e9);
    // A probe after 10 s idle, the next tcp_keepalive_intvl (75 s) later; each is answered.
    const probes = sent(segs).filter((s) => s.len === 0 && s.flags === "." && s.t > 0 && s.t < 100e9);
    expect(probes.map((p) => p.t)).toEqual([10e9, 85e9]);
    for (const p of probes) expect(p.seq).toBe((segs[0].seq + 0) >>> 0);
    expect(received(segs).filter((s) => s.t === 10e9 || s.t === 85e9).length).toBe(2);
  });
});

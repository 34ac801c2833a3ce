// A cluster split across processes over the real UDP underlay on loopback: the pods' captures
// equal the single-process run's; a peer that dies and garbage at the port are counted, not thrown.
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { nodeCommand, peerCommandsCommand } from "../../src/cli/commands/node.js";
import { peerCommands, SplitCluster, SplitError, splitCluster } from "../../src/k8s/split.js";
import { NetCapture, pingRealtime, runUntilSettled, tcpEchoServer, tcpIdle, tcpRequestRealtime, udpRequestRealtime } from "../../src/net/index.js";
import { summariseFile } from "../helpers/packets.js";
import { tsharkFieldLists, tsharkProblems } from "../helpers/tshark.js";
import { baselineRun, buildCluster, mustLoad, NodeProcess, TRAFFIC, writeScenario } from "./split-helpers.js";
import { baselineServices, SERVICE_TRAFFIC, SERVICES, serviceTarget } from "./split-services.js";
import { baselineTcp, captureTcp, delayedAckExchange, podFrames, TCP_TRAFFIC, tcpSummary } from "./split-tcp.js";

const dir = mkdtempSync(join(tmpdir(), "kw-split-"));
const scenarioFile = writeScenario(dir);
const scenario = mustLoad(scenarioFile);
const baselinePcap = join(dir, "baseline.pcapng");
const baseline = baselineRun(scenario, baselinePcap);

const opened: SplitCluster[] = [];
afterEach(async () => {
  await NodeProcess.killAll();
  for (const s of opened.splice(0)) await s.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ip = (pod: string) => buildCluster(scenario).pod(pod).ipString;
const IPS = { client: ip("client"), server: ip("server"), neighbour: ip("neighbour") };

describe("split cluster over the UDP underlay", () => {
  it("baseline: the traffic works in one process", () => {
    expect(baseline).toEqual([
      { ping: true, udp: "across the underlay" },
      { ping: true, udp: "and back" },
    ]);
    const frames = podFrames([baselinePcap]);
    expect(frames["client/eth0"].length).toBeGreaterThanOrEqual(8);
  });

  it("both nodes in this process, each on its own socket: the pods see what one process shows", async () => {
    const c = buildCluster(scenario);
    const split = await splitCluster(c, { local: ["node-1", "node-2"], endpoints: { "node-1": { host: "127.0.0.1", port: 0 }, "node-2": { host: "127.0.0.1", port: 0 } } });
    opened.push(split);
    const file = join(dir, "one-process-two-sockets.pcapng");
    const cap = new NetCapture(file).attachAll(...split.namespaces());
    const rt = split.realtime();
    const results = await rt.run(async () => {
      const out = [];
      for (const t of TRAFFIC) {
        const p = await pingRealtime(rt, c.pod(t.from).ns, IPS[t.to], { ident: t.ident });
        const u = await udpRequestRealtime(rt, c.pod(t.from).ns, IPS[t.to], t.port, t.payload, { srcPort: t.srcPort });
        out.push({ ping: p.reply, udp: u.reply });
      }
      return out;
    });
    cap.close();
    expect(results).toEqual(baseline);
    expect(podFrames([file])).toEqual(podFrames([baselinePcap]));
    expect(split.stats()["node-1"]).toMatchObject({ txDatagrams: 4, rxDatagrams: 4, sendFailed: 0, unknownSender: 0 });
  });

  it("two kubewire processes: node-1 here, node-2 in `kubewire node`; pod captures equal the single-process run's", async () => {
    const c = buildCluster(scenario);
    const split = await splitCluster(c, { local: ["node-1"], endpoints: { "node-1": { host: "127.0.0.1", port: 0 }, "node-2": { host: "127.0.0.1", port: 1 } } });
    opened.push(split);
    const p1 = split.endpoint("node-1").port;
    const childPcap = join(dir, "node-2.pcapng");
    const node2 = NodeProcess.start(scenarioFile, ["--node", "node-2", "--endpoint", `node-1=127.0.0.1:${p1}`, "--endpoint", "node-2=127.0.0.1:0", "--pcap", childPcap]);
    const listening = await node2.waitEvent((e) => e.event === "listening");
    await node2.waitEvent((e) => e.event === "ready");
    await split.setEndpoint("node-2", { host: "127.0.0.1", port: listening.port as number });
    const file = join(dir, "node-1.pcapng");
    const cap = new NetCapture(file).attachAll(...split.namespaces());
    const rt = split.realtime();
    const results = await rt.run(async () => {
      const [there, back] = TRAFFIC;
      const p = await pingRealtime(rt, c.pod("client").ns, IPS.server, { ident: there.ident });
      const u = await udpRequestRealtime(rt, c.pod("client").ns, IPS.server, there.port, there.payload, { srcPort: there.srcPort });
      // The other way, driven in the other process while this one keeps running in real time.
      const p2 = await node2.request({ cmd: "ping", from: "server", to: IPS.client, ident: back.ident });
      const u2 = await node2.request({ cmd: "udp", from: "server", to: IPS.client, port: back.port, payload: back.payload, srcPort: back.srcPort });
      return [
        { ping: p.reply, udp: u.reply },
        { ping: p2.reply, udp: u2.reply },
      ];
    });
    cap.close();
    const stats = await node2.request({ cmd: "stats" });
    expect(await node2.quit()).toBe(0);
    expect(results).toEqual(baseline);
    expect(podFrames([file, childPcap])).toEqual(podFrames([baselinePcap]));
    expect(split.stats()["node-1"]).toMatchObject({ txDatagrams: 4, rxDatagrams: 4, sendFailed: 0, unknownSender: 0 });
    expect(stats.underlay).toMatchObject({ "node-2": { txDatagrams: 4, rxDatagrams: 4, sendFailed: 0 } });
    expect(stats.drops).toEqual({});
  });

  it("a peer process that dies mid-run: this side keeps working and counts what it could not send", async () => {
    const c = buildCluster(scenario);
    const split = await splitCluster(c, { local: ["node-1"], endpoints: { "node-1": { host: "127.0.0.1", port: 0 }, "node-2": { host: "127.0.0.1", port: 1 } } });
    opened.push(split);
    const node2 = NodeProcess.start(scenarioFile, ["--node", "node-2", "--endpoint", `node-1=127.0.0.1:${split.endpoint("node-1").port}`, "--endpoint", "node-2=127.0.0.1:0"]);
    const listening = await node2.waitEvent((e) => e.event === "listening");
    await node2.waitEvent((e) => e.event === "ready");
    await split.setEndpoint("node-2", { host: "127.0.0.1", port: listening.port as number });
    const rt = split.realtime();
    const client = c.pod("client").ns;
    const r = await rt.run(async () => {
      const before = await pingRealtime(rt, client, IPS.server, { timeoutMs: 2000 });
      node2.kill("SIGKILL");
      await node2.exited;
      const after: boolean[] = [];
      for (let i = 0; i < 5; i++) after.push((await pingRealtime(rt, client, IPS.server, { timeoutMs: 100 })).reply);
      const local = await pingRealtime(rt, client, IPS.neighbour, { timeoutMs: 1000 });
      const localUdp = await udpRequestRealtime(rt, client, IPS.neighbour, 9000, "still here");
      return { before: before.reply, after, local: local.reply, localUdp: localUdp.reply };
    });
    expect(r).toEqual({ before: true, after: [false, false, false, false, false], local: true, localUdp: "still here" });
    const s = split.stats()["node-1"];
    expect(s.txDatagrams).toBe(6);
    expect(s.sendFailed).toBeGreaterThanOrEqual(4);
    expect(c.node("node-1").eth0.dropsByName()).toEqual({ UNDERLAY_SEND_FAILED: s.sendFailed });
  });

  it("garbage at a node process's port is dropped and counted; the process carries on", async () => {
    const fake = createSocket("udp4");
    const stranger = createSocket("udp4");
    await Promise.all([new Promise<void>((r) => fake.bind(0, "127.0.0.1", () => r())), new Promise<void>((r) => stranger.bind(0, "127.0.0.2", () => r()))]);
    try {
      // node-1 is played by a bare socket: its datagrams count as node-1's, the stranger's as nobody's.
      const node2 = NodeProcess.start(scenarioFile, ["--node", "node-2", "--endpoint", `node-1=127.0.0.1:${fake.address().port}`, "--endpoint", "node-2=127.0.0.1:0"]);
      const port = (await node2.waitEvent((e) => e.event === "listening")).port as number;
      await node2.waitEvent((e) => e.event === "ready");
      const send = (s: typeof fake, b: Buffer) => new Promise<void>((r) => s.send(b, port, "127.0.0.1", () => r()));
      for (let i = 0; i < 3; i++) await send(stranger, Buffer.from("not from a peer"));
      await send(fake, Buffer.alloc(0));
      await send(fake, Buffer.from([0x08, 0, 0, 0]));
      await send(fake, Buffer.concat([Buffer.from([0x08, 0, 0, 0, 0, 0, 7, 0]), Buffer.alloc(60)])); // VNI 7
      await send(fake, Buffer.concat([Buffer.from([0xff, 0, 0, 0, 0, 0, 1, 0]), Buffer.alloc(60)])); // bad flags
      let stats: Record<string, unknown> = {};
      for (let i = 0; i < 100; i++) {
        stats = await node2.request({ cmd: "stats" });
        if ((stats.underlay as Record<string, { rxDatagrams: number }>)["node-2"].rxDatagrams === 7) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(stats.drops).toEqual({ "node-2/eth0": { UNDERLAY_PEER_UNKNOWN: 3, PKT_TOO_SMALL: 2, VXLAN_VNI_NOT_FOUND: 1, VXLAN_INVALID_HDR: 1 } });
      expect((await node2.request({ cmd: "ping", from: "server", to: IPS.server })).reply).toBe(true);
      expect(await node2.quit()).toBe(0);
      expect(node2.stderr).toBe("");
    } finally {
      fake.close();
      stranger.close();
    }
  });

  it("`kubewire node` stops on SIGTERM, closing its sockets and its capture", async () => {
    const pcap = join(dir, "sigterm.pcapng");
    const node2 = NodeProcess.start(scenarioFile, ["--node", "node-2", "--endpoint", "node-1=127.0.0.1:1", "--endpoint", "node-2=127.0.0.1:0", "--pcap", pcap]);
    await node2.waitEvent((e) => e.event === "ready");
    expect((await node2.request({ cmd: "ping", from: "server", to: "10.244.1.1" })).reply).toBe(true);
    node2.kill("SIGTERM");
    await node2.waitEvent((e) => e.event === "stopped");
    expect(await node2.exited).toBe(0);
    expect(summariseFile(pcap).get("server/eth0")).toBeDefined();
  });

  it("TCP pod ↔ pod across two processes: handshake, data both ways, FINs; the pods' segments equal the single-process run's", async () => {
    const basePcap = join(dir, "tcp-baseline.pcapng");
    const base = await baselineTcp(scenario, basePcap);
    expect(base).toEqual(TCP_TRAFFIC.map((t) => ({ reply: t.payload, closed: true })));
    const c = buildCluster(scenario);
    const split = await splitCluster(c, { local: ["node-1"], endpoints: { "node-1": { host: "127.0.0.1", port: 0 }, "node-2": { host: "127.0.0.1", port: 1 } } });
    opened.push(split);
    const childPcap = join(dir, "tcp-node-2.pcapng");
    const node2 = NodeProcess.start(scenarioFile, ["--node", "node-2", "--endpoint", `node-1=127.0.0.1:${split.endpoint("node-1").port}`, "--endpoint", "node-2=127.0.0.1:0", "--pcap", childPcap]);
    const listening = await node2.waitEvent((e) => e.event === "listening");
    await node2.waitEvent((e) => e.event === "ready");
    await split.setEndpoint("node-2", { host: "127.0.0.1", port: listening.port as number });
    const [there, back] = TCP_TRAFFIC;
    expect(await node2.request({ cmd: "tcp-listen", on: "server", port: there.port, batch: there.payload.length })).toEqual({ id: expect.any(Number), ok: true });
    const file = join(dir, "tcp-node-1.pcapng");
    const perIf = mkdtempSync(join(dir, "tcp-per-interface-"));
    const cap = new NetCapture(file, { perInterfaceDir: perIf }).attachAll(...split.namespaces());
    const rt = split.realtime();
    const results = await rt.run(async () => {
      rt.step(() => tcpEchoServer(c.pod("client").ns, back.port, { batch: back.payload.length }));
      const a = await tcpRequestRealtime(rt, c.pod("client").ns, IPS.server, there.port, there.payload, { srcPort: there.srcPort });
      // The other way, driven in the other process while this one keeps running in real time.
      const b = await node2.request({ cmd: "tcp", from: "server", to: IPS.client, port: back.port, payload: back.payload, srcPort: back.srcPort });
      // The other side's last ACK reaches our server pod before this side stops.
      expect(await rt.waitFor(() => tcpIdle(c.pod("client").ns), 5000)).toBe(true);
      return [a, b].map((r) => ({ reply: r.reply, closed: r.closed, ...(r.error !== undefined ? { error: r.error } : {}) }));
    });
    cap.close();
    const stats = await node2.request({ cmd: "stats" });
    expect(await node2.quit()).toBe(0);
    expect(results).toEqual(base);
    const ours = podFrames([file, childPcap]);
    const theirs = podFrames([basePcap]);
    // Every segment at both pods: flags, raw seq/ack (the same seeded ISNs), windows, options in
    // order, MSS, window scale and every payload byte; only the timestamp values are wall time.
    expect(ours["client/eth0"].filter((f) => f.tcp).length).toBeGreaterThanOrEqual(30);
    expect(ours).toEqual(theirs);
    expect(ours["client/eth0"].filter((f) => f.tcp).map((f) => f.tcp!.flags).slice(0, 3)).toEqual(["S", "S.", "."]);
    // The oracle, one interface at a time (the same segment on every hop would read as retransmissions).
    expect(tsharkProblems(join(perIf, "client_eth0.pcap"), { minSeverity: "warning" })).toEqual([]);
    expect(tsharkProblems(join(perIf, "node-1_eth0.pcap"), { minSeverity: "warning", decodeAs: ["udp.port==8472,vxlan"] })).toEqual([]);
    expect(split.stats()["node-1"]).toMatchObject({ sendFailed: 0, unknownSender: 0 });
    expect(stats.drops).toEqual({});
  });

  it("ClusterIP and NodePort across two processes, UDP and TCP: the pods' frames equal the single-process run's", async () => {
    const file0 = writeScenario(dir, undefined, "services", SERVICES);
    const svc = mustLoad(file0);
    const basePcap = join(dir, "services-baseline.pcapng");
    const base = await baselineServices(svc, basePcap);
    expect(base).toEqual(SERVICE_TRAFFIC.map((h) => h.payload));
    const c = buildCluster(svc);
    const split = await splitCluster(c, { local: ["node-1"], endpoints: { "node-1": { host: "127.0.0.1", port: 0 }, "node-2": { host: "127.0.0.1", port: 1 } } });
    opened.push(split);
    const childPcap = join(dir, "services-node-2.pcapng");
    const node2 = NodeProcess.start(file0, ["--node", "node-2", "--endpoint", `node-1=127.0.0.1:${split.endpoint("node-1").port}`, "--endpoint", "node-2=127.0.0.1:0", "--pcap", childPcap]);
    const listening = await node2.waitEvent((e) => e.event === "listening");
    await node2.waitEvent((e) => e.event === "ready");
    await split.setEndpoint("node-2", { host: "127.0.0.1", port: listening.port as number });
    const file = join(dir, "services-node-1.pcapng");
    const cap = new NetCapture(file).attachAll(...split.namespaces());
    const rt = split.realtime();
    const client = c.pod("client").ns;
    const replies = await rt.run(async () => {
      const out: (string | undefined)[] = [];
      for (const hop of SERVICE_TRAFFIC) {
        const to = serviceTarget(svc, hop);
        const r = hop.proto === "udp" ? await udpRequestRealtime(rt, client, to.addr, to.port, hop.payload, { srcPort: hop.srcPort }) : await tcpRequestRealtime(rt, client, to.addr, to.port, hop.payload, { srcPort: hop.srcPort });
        out.push(r.reply);
      }
      return out;
    });
    cap.close();
    const stats = await node2.request({ cmd: "stats" });
    expect(await node2.quit()).toBe(0);
    expect(replies).toEqual(base);
    const ours = podFrames([file, childPcap]);
    expect(ours["server/eth0"].filter((f) => f.tcp).length).toBeGreaterThanOrEqual(16);
    expect(ours).toEqual(podFrames([basePcap]));
    // The NodePort's masquerade: the server saw node-1's flannel.1 address.
    expect(ours["server/eth0"].some((f) => f.ip?.src === "10.244.0.0")).toBe(true);
    expect(stats.drops).toEqual({});
  });

  it("TCP timers on the wall clock: a data segment lost on the underlay comes back by RTO (≥ 200 ms later), once", async () => {
    const c = buildCluster(scenario);
    const split = await splitCluster(c, { local: ["node-1", "node-2"], endpoints: { "node-1": { host: "127.0.0.1", port: 0 }, "node-2": { host: "127.0.0.1", port: 0 } } });
    opened.push(split);
    // The underlay loses the first datagram from node-1 that carries TCP data.
    const u = split.underlays.get("node-1")!;
    const transmit = u.transmit.bind(u);
    let lost = 0;
    u.transmit = (from, pkt) => {
      const inner = tcpSummary(pkt.bytes().subarray(50));
      if (lost === 0 && inner !== undefined && inner.data.length > 0) {
        lost++;
        return pkt.free();
      }
      transmit(from, pkt);
    };
    const perIf = mkdtempSync(join(dir, "rto-"));
    const cap = new NetCapture(join(perIf, "all.pcapng"), { perInterfaceDir: perIf }).attachAll(...split.namespaces());
    const rt = split.realtime();
    const r = await rt.run(async () => {
      rt.step(() => tcpEchoServer(c.pod("server").ns, 8080));
      const x = await tcpRequestRealtime(rt, c.pod("client").ns, IPS.server, 8080, "lost once, sent again", { srcPort: 41002 });
      expect(await rt.waitFor(() => tcpIdle(c.pod("server").ns), 5000)).toBe(true);
      return x;
    });
    cap.close();
    expect(lost).toBe(1);
    expect(r).toMatchObject({ reply: "lost once, sent again", closed: true });
    const segs = captureTcp(join(perIf, "client_eth0.pcap")).filter((s) => s.src === IPS.client && s.len > 0);
    // The same segment twice: the original, then the retransmission, no earlier than TCP_RTO_MIN.
    expect(segs.map((s) => [s.seq, s.len])).toEqual([segs[0], segs[0]].map((s) => [s.seq, s.len]));
    expect(segs[1].t - segs[0].t).toBeGreaterThanOrEqual(200e6);
    expect(tsharkFieldLists(join(perIf, "client_eth0.pcap"), ["frame.number"], { filter: "tcp.analysis.retransmission" })).toHaveLength(1);
    expect(tsharkProblems(join(perIf, "client_eth0.pcap"))).toEqual([]);
  });

  it("TCP timers on the wall clock: a delayed ACK waits its ato (≥ 40 ms), and the pods see what the single-process run shows", async () => {
    const baseFile = join(dir, "delack-baseline.pcapng");
    const b = buildCluster(scenario);
    const bcap = new NetCapture(baseFile).attachAll(...b.namespaces());
    const base = delayedAckExchange(b.pod("client").ns, b.pod("server").ns, IPS.server, 8090);
    await runUntilSettled(b.sim, { until: b.sim.now + 2e9 });
    bcap.close();
    expect(base.closed()).toBe(true);

    const c = buildCluster(scenario);
    const split = await splitCluster(c, { local: ["node-1", "node-2"], endpoints: { "node-1": { host: "127.0.0.1", port: 0 }, "node-2": { host: "127.0.0.1", port: 0 } } });
    opened.push(split);
    const file = join(dir, "delack-split.pcapng");
    const cap = new NetCapture(file).attachAll(...split.namespaces());
    const rt = split.realtime();
    const done = await rt.run(async () => {
      const x = rt.step(() => delayedAckExchange(c.pod("client").ns, c.pod("server").ns, IPS.server, 8090));
      return rt.waitFor(() => x.closed() && tcpIdle(c.pod("server").ns), 5000);
    });
    cap.close();
    expect(done).toBe(true);
    expect(podFrames([file])).toEqual(podFrames([baseFile]));
    // At the client: "two" (P. with 3 bytes), then the server's pure ACK of it, one ato later.
    const delay = (f: string) => {
      const segs = captureTcp(f).filter((s) => s.dport === 41003 || s.sport === 41003);
      const two = segs.findIndex((s) => s.data === Buffer.from("two").toString("hex"));
      // The server's next segment: a pure ACK of "two" (its app sends nothing back).
      const ack = segs.slice(two + 1).find((s) => s.src === IPS.server)!;
      expect(ack).toMatchObject({ flags: ".", len: 0, ack: (segs[two].seq + 3) >>> 0 });
      return { ms: (ack.t - segs[two].t) / 1e6 };
    };
    const [ours, theirs] = [delay(file), delay(baseFile)];
    expect(theirs.ms).toBeGreaterThanOrEqual(40);
    expect(ours.ms).toBeGreaterThanOrEqual(theirs.ms);
  });

  it("`kubewire node` without --control runs the steps sent from its nodes, in real time, and ends when they are done", async () => {
    const file = writeScenario(
      dir,
      `- ping: {from: client, to: server}
  expect: {reply: true}
- udp: {from: client, to: "server:9000", payload: stepped}
  expect: {reply: stepped, replyFrom: "${IPS.server}:9000"}
- wait: 50ms
- udp: {from: node/node-1, to: "server:9000", payload: from the node}
  expect: {reply: from the node}
- ping: {from: server, to: client}
  expect: {reply: true}
- udp: {from: neighbour, to: "server:9000", payload: seen}
  expect: {delivered: true}
- restart: {pod: server}
- ping: {from: client, to: server}
  expect: {reply: false}
  timeout: 300ms
- tcp: {from: client, to: "server:7000", send: over tcp, srcPort: 41010}
  expect: {connected: true, reply: over tcp}
- tcp: {from: client, to: "server:7001"}
  expect: {refused: true}
- tcp: {from: client, to: "server:7000", send: x}
  expect: {seenFrom: "${IPS.client}"}
`,
      "steps",
    );
    // node-1 binds where node-2 already looks for it: a port free a moment ago.
    const free = createSocket("udp4");
    await new Promise<void>((r) => free.bind(0, "127.0.0.1", () => r()));
    const p1 = free.address().port;
    await new Promise<void>((r) => free.close(() => r()));
    const node2 = NodeProcess.start(file, ["--node", "node-2", "--endpoint", `node-1=127.0.0.1:${p1}`, "--endpoint", "node-2=127.0.0.1:0"]);
    const p2 = (await node2.waitEvent((e) => e.event === "listening")).port as number;
    await node2.waitEvent((e) => e.event === "ready");
    const node1 = NodeProcess.start(file, ["--node", "node-1", "--endpoint", `node-1=127.0.0.1:${p1}`, "--endpoint", `node-2=127.0.0.1:${p2}`], undefined, false);
    expect(await node1.exited).toBe(1);
    const out = node1.events.map((e) => e.text as string);
    expect(out).toContain("running node-1 in real time until its traffic steps are done");
    expect(out.filter((l) => /^ {2}[ \d]\d\. /.test(l))).toEqual([
      "   1. ping client → server: runs here",
      '   2. udp client → server:9000 "stepped": runs here',
      "   3. wait 50ms: runs here",
      '   4. udp node/node-1 → server:9000 "from the node": runs here',
      "   5. ping server → client: sent from node-2: runs in that node's process",
      '   6. udp neighbour → server:9000 "seen": not run: expect delivered: seen only by a single-process run (kubewire run)',
      "   7. restart default/server: not run: a restart step changes the cluster, and each process of a split holds its own copy: use kubewire run",
      "   8. ping client → server: runs here",
      '   9. tcp client → server:7000 "over tcp": runs here',
      "  10. tcp client → server:7001: runs here",
      '  11. tcp client → server:7000 "x": not run: expect seenFrom: seen only by a single-process run (kubewire run)',
    ]);
    const results = out.filter((l) => /^(PASS|FAIL) /.test(l));
    expect(results.map((l) => l.slice(0, 8))).toEqual(["PASS  1.", "PASS  2.", "PASS  3.", "PASS  4.", "FAIL  8.", "PASS  9.", "PASS 10."]);
    expect(results[1]).toContain(`reply "stepped" from ${IPS.server}:9000`);
    expect(results[4]).toContain("expected no reply, got one");
    expect(results[5]).toContain(`connected to ${IPS.server}:7000; reply "over tcp"; closed after`);
    expect(results[6]).toContain("refused");
    expect(out).toContain("split: 7 steps, 6 passed, 1 FAILED");
    expect(node1.stderr).toBe("");
    const stats = await node2.request({ cmd: "stats" });
    expect(await node2.quit()).toBe(0);
    expect(stats.underlay).toMatchObject({ "node-2": { sendFailed: 0, unknownSender: 0 } });
    // The one drop: step 10's SYN to a port nothing listens on (answered with a RST).
    expect(stats.drops).toEqual({ "server/eth0": { NO_SOCKET: 1 } });
  });

  it("`kubewire peer-commands` prints them; `kubewire node` says what is missing", () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s), tty: false };
    expect(peerCommandsCommand([scenarioFile, "--node", "node-2", "--dev", "ens3"], io)).toBe(0);
    expect(out.join("").trim().split("\n")).toEqual(peerCommands(scenario.config, "node-2", { dev: "ens3" }));
    expect(() => nodeCommand([scenarioFile, "--endpoint", "node-1=127.0.0.1:7001"], io)).toThrow(/--node NAME/);
    expect(() => nodeCommand([scenarioFile, "--node", "node-1", "--endpoint", "node-1=7001"], io)).toThrow(/NAME=HOST:PORT/);
    expect(() => nodeCommand([scenarioFile, "--node", "node-1", "--linux", "node-2"], io)).toThrow(/--linux node-2: give its --endpoint/);
  });

  it("configuration mistakes are errors that say what to fix", async () => {
    const c = buildCluster(scenario);
    await expect(SplitCluster.open(c, { local: ["node-3"], endpoints: { "node-1": { host: "127.0.0.1", port: 0 } } })).rejects.toThrow(
      /no node "node-3"[\s\S]*no underlay endpoint for node "node-2"/,
    );
    await expect(splitCluster(c, { local: ["node-1"], endpoints: { "node-1": { host: "127.0.0.1", port: 0 }, "node-2": { host: "127.0.0.1", port: 1 }, x: { host: "h", port: 1 } } })).rejects.toThrow(
      SplitError,
    );
    expect(() => peerCommands(scenario.config, "node-9")).toThrow(/no node "node-9"/);
    expect(() => peerCommands({ ...scenario.config, cni: { ...scenario.config.cni, backend: "host-gw" } }, "node-2")).toThrow(/vxlan backend/);
  });

  it("peer commands: flannel.1 and, per other node, the neighbour, FDB entry and route flanneld installs", () => {
    const c = buildCluster(scenario);
    const vx1 = c.vxlan.get("node-1")!;
    const vx2 = c.vxlan.get("node-2")!;
    const mac = (m: number) => m.toString(16).padStart(12, "0").replace(/(..)(?!$)/g, "$1:");
    const cmds = peerCommands(scenario.config, "node-2").filter((l) => !l.startsWith("#"));
    expect(cmds).toEqual([
      `ip link add flannel.1 address ${mac(vx2.mac)} mtu 1450 type vxlan id 1 local 192.168.50.12 dev eth0 dstport 8472 nolearning`,
      "ip addr add 10.244.1.0/32 dev flannel.1",
      "ip link set flannel.1 up",
      `ip neigh replace 10.244.0.0 lladdr ${mac(vx1.mac)} dev flannel.1 nud permanent`,
      `bridge fdb append ${mac(vx1.mac)} dev flannel.1 dst 192.168.50.11`,
      "ip route add 10.244.0.0/24 via 10.244.0.0 dev flannel.1 onlink",
    ]);
    expect(peerCommands(scenario.config, "node-2", { dev: "ens3", cni0: true })).toContain("ip addr add 10.244.1.1/24 dev cni0");
  });
});

// Unit behaviours of the emulated kernel: neighbour states, FDB ageing, faults, drop accounting,
// routes, per-interface captures, determinism.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readCapture } from "../../src/capture/index.js";
import { createUdpSocket, NetCapture, NetConfigError, NetNamespace, Nud, sendGratuitousArp, Veth } from "../../src/net/index.js";
import { DropReason, Sim, type TraceEvent } from "../../src/sim/index.js";
import { mustParseIpv4, mustParseMac } from "../../src/wire/index.js";
import { summariseFile } from "../helpers/packets.js";
import { tsharkProblems } from "../helpers/tshark.js";
import { routerBetweenSubnets, twoPodsOneBridge } from "./topologies.js";

const dir = mkdtempSync(join(tmpdir(), "kw-kernel-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("neighbour table", () => {
  it("retries ARP three times a second apart, then fails: queued packets dropped with NEIGH_FAILED", () => {
    const t = routerBetweenSubnets();
    const sock = createUdpSocket(t.a);
    sock.send("void", 7000, "10.0.1.99");
    t.sim.run();
    const n = t.ea.neigh.lookup(mustParseIpv4("10.0.1.99"));
    expect(n?.state).toBe(Nud.Failed);
    expect(t.ea.stats.txPackets).toBe(3); // three broadcast requests
    expect(t.sim.now).toBe(3e9);
    expect(t.ea.drops.counts[DropReason.NEIGH_FAILED]).toBe(1);
  });

  it("answers a forwarded packet whose next hop never resolves with ICMP host unreachable", () => {
    const t = routerBetweenSubnets();
    const sock = createUdpSocket(t.a);
    sock.connect(7000, "10.0.2.77");
    sock.send("to nobody");
    t.sim.run();
    expect(sock.errors.map((e) => e.code)).toEqual(["EHOSTUNREACH"]);
    expect(t.rb.drops.counts[DropReason.NEIGH_FAILED]).toBe(1);
  });

  it("learns from a request for us (STALE), confirms on a reply (REACHABLE), goes STALE after reachable time", () => {
    const t = twoPodsOneBridge();
    createUdpSocket(t.b).bind(5000); // bound, so pod-b sends nothing back (no port unreachable)
    createUdpSocket(t.a).send("x", 5000, "10.244.1.3");
    t.sim.runFor(1e6);
    expect(t.eb.neigh.lookup(mustParseIpv4("10.244.1.2"))?.state).toBe(Nud.Stale);
    expect(t.ea.neigh.lookup(mustParseIpv4("10.244.1.3"))?.state).toBe(Nud.Reachable);
    t.sim.runFor(46e9);
    expect(t.ea.neigh.dump()).toEqual(["10.244.1.3 dev eth0 lladdr 02:00:00:00:0b:03 STALE"]);
  });

  it("updates existing entries from gratuitous ARP but creates none", () => {
    const t = twoPodsOneBridge();
    createUdpSocket(t.a).send("x", 5000, "10.244.1.3");
    t.sim.runFor(1e6);
    t.eb.mac = mustParseMac("02:00:00:00:0b:99");
    sendGratuitousArp(t.eb);
    t.sim.runFor(1e6);
    expect(t.ea.neigh.lookup(mustParseIpv4("10.244.1.3"))?.mac).toBe(mustParseMac("02:00:00:00:0b:99"));
    expect(t.node.dumpNeighbours()).toEqual([]); // the node's cni0 saw it but knew nobody
  });

  it("keeps permanent entries and never ARPs for them", () => {
    const t = twoPodsOneBridge();
    t.ea.neigh.addPermanent(mustParseIpv4("10.244.1.3"), mustParseMac("02:00:00:00:0b:03"));
    const srv = createUdpSocket(t.b).bind(5000);
    createUdpSocket(t.a).send("x", 5000, "10.244.1.3");
    t.sim.run();
    expect(srv.received).toHaveLength(1);
    expect(t.ea.neigh.dump()).toEqual(["10.244.1.3 dev eth0 lladdr 02:00:00:00:0b:03 PERMANENT"]);
  });
});

describe("bridge FDB", () => {
  it("learns ports, ages entries out after 300 s, and floods unknown unicast", () => {
    const t = twoPodsOneBridge();
    createUdpSocket(t.b).bind(5000);
    createUdpSocket(t.a).send("x", 5000, "10.244.1.3");
    t.sim.runFor(1e6);
    expect(t.br.dumpFdb()).toEqual(
      expect.arrayContaining(["02:00:00:00:0a:02 dev veth-a master cni0", "02:00:00:00:0b:03 dev veth-b master cni0", "02:00:00:00:aa:01 dev veth-a master cni0 permanent"]),
    );
    t.sim.runFor(301e9);
    expect(t.br.dumpFdb().filter((l) => !l.includes("permanent"))).toEqual([]);
  });
});

describe("drops", () => {
  it("are counted per device and reason, and traced", () => {
    const t = routerBetweenSubnets();
    const { events, stop } = t.sim.trace.record();
    const sock = createUdpSocket(t.a);
    sock.ipOpts = { ttl: 1 };
    sock.send("x", 7000, "10.0.2.2");
    t.sim.run();
    stop();
    expect(t.ra.dropsByName()).toEqual({ TTL_EXPIRED: 1 });
    const drops = events.filter((e): e is Extract<TraceEvent, { kind: "drop" }> => e.kind === "drop");
    expect(drops).toMatchObject([{ ns: "router", dev: "eth-a", reason: DropReason.TTL_EXPIRED }]);
  });

  it("drops a frame with a bad IPv4 checksum as IP_CSUM and a truncated one as PKT_TOO_SMALL", () => {
    const t = twoPodsOneBridge();
    t.ha.faults = null;
    const send = (mutate: (b: Buffer, o: number) => number) => {
      const p = t.sim.pool.alloc();
      const o = p.put(42);
      const b = p.buf;
      b.fill(0, o, o + 42);
      b.writeUIntBE(0x02000000_0b03, o, 6);
      b.writeUIntBE(0x02000000_0a02, o + 6, 6);
      b.writeUInt16BE(0x0800, o + 12);
      b[o + 14] = 0x45;
      b.writeUInt16BE(28, o + 16);
      b[o + 22] = 64;
      b[o + 23] = 17;
      b.writeUInt32BE(0x0af40102, o + 26);
      b.writeUInt32BE(0x0af40103, o + 30);
      p.tail = o + mutate(b, o);
      t.eb.receive(p);
    };
    send(() => 42); // checksum left zero: wrong
    send(() => 20); // cut inside the IPv4 header
    t.sim.run();
    expect(t.eb.dropsByName()).toEqual({ IP_CSUM: 1, PKT_TOO_SMALL: 1 });
  });
});

describe("faults", () => {
  it("drop a seeded, reproducible subset of frames and count them", () => {
    const run = (seed: number) => {
      const t = twoPodsOneBridge(seed);
      t.ea.neigh.addPermanent(mustParseIpv4("10.244.1.3"), mustParseMac("02:00:00:00:0b:03"));
      t.ea.setFaults({ drop: 0.3 });
      const srv = createUdpSocket(t.b).bind(5000);
      const c = createUdpSocket(t.a);
      for (let i = 0; i < 200; i++) c.send(`m${i}`, 5000, "10.244.1.3");
      t.sim.run();
      return { got: srv.received.map((m) => m.msg.toString()), dropped: t.ea.drops.counts[DropReason.FAULT_INJECTED] };
    };
    const a = run(11);
    const b = run(11);
    expect(a).toEqual(b);
    expect(a.got.length + a.dropped).toBe(200);
    expect(a.dropped).toBeGreaterThan(30);
    expect(a.dropped).toBeLessThan(90);
    expect(run(12).got).not.toEqual(a.got);
  });

  it("delay, duplicate and corrupt (a corrupted frame fails a checksum and is dropped, not thrown)", () => {
    const t = twoPodsOneBridge(5);
    t.ea.neigh.addPermanent(mustParseIpv4("10.244.1.3"), mustParseMac("02:00:00:00:0b:03"));
    t.ea.setFaults({ delay: 5e6, duplicate: 0.5, corrupt: 0.2 });
    const srv = createUdpSocket(t.b).bind(5000);
    const c = createUdpSocket(t.a);
    for (let i = 0; i < 100; i++) c.send(`m${i}`, 5000, "10.244.1.3");
    t.sim.run();
    expect(t.sim.now).toBe(5e6);
    const f = t.ea.faults!.counts;
    expect(f.duplicated).toBeGreaterThan(20);
    expect(f.corrupted).toBeGreaterThan(5);
    const eb = t.eb.drops.toJSON();
    const dropped = Object.values(eb).reduce((x, y) => x + y, 0);
    expect(srv.received.length + dropped).toBe(100 + f.duplicated);
  });

  it("a rate cap serialises frames in virtual time", () => {
    const t = twoPodsOneBridge();
    t.ea.neigh.addPermanent(mustParseIpv4("10.244.1.3"), mustParseMac("02:00:00:00:0b:03"));
    t.ea.setFaults({ rateBps: 8e6 }); // 1 byte per µs
    const srv = createUdpSocket(t.b).bind(5000);
    const times: number[] = [];
    srv.on("message", () => times.push(t.sim.now));
    const c = createUdpSocket(t.a);
    for (let i = 0; i < 3; i++) c.send(Buffer.alloc(958), 5000, "10.244.1.3"); // 1000-byte frames
    t.sim.run();
    expect(times).toEqual([1e6, 2e6, 3e6]);
  });
});

describe("routes", () => {
  it("longest prefix wins, metrics order equal prefixes, ip route prints like iproute2", () => {
    const sim = new Sim();
    const ns = new NetNamespace(sim, "r");
    const [e0] = Veth.pair({ ns, name: "eth0" }, { ns: new NetNamespace(sim, "x"), name: "eth0" });
    const [e1] = Veth.pair({ ns, name: "eth1" }, { ns: new NetNamespace(sim, "y"), name: "eth0" });
    ns.addAddress(e0, "10.0.0.2/24");
    ns.addAddress(e1, "10.1.0.2/24");
    ns.addRoute({ dst: "default", via: "10.0.0.1" });
    ns.addRoute({ dst: "10.244.0.0/16", via: "10.1.0.1", metric: 100 });
    ns.addRoute({ dst: "10.244.0.0/16", via: "10.0.0.1", metric: 50 });
    ns.addRoute({ dst: "10.244.3.0/24", via: "10.244.3.0", dev: "eth1", onlink: true });
    expect(ns.mainTable.lookup(mustParseIpv4("10.244.3.9"))?.via).toBe(mustParseIpv4("10.244.3.0"));
    expect(ns.mainTable.lookup(mustParseIpv4("10.244.9.9"))?.metric).toBe(50);
    expect(ns.mainTable.lookup(mustParseIpv4("8.8.8.8"))?.dev).toBe(e0);
    expect(ns.dumpRoutes()).toEqual([
      "default via 10.0.0.1 dev eth0",
      "10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.2",
      "10.1.0.0/24 dev eth1 proto kernel scope link src 10.1.0.2",
      "10.244.0.0/16 via 10.0.0.1 dev eth0 metric 50",
      "10.244.0.0/16 via 10.1.0.1 dev eth1 metric 100",
      "10.244.3.0/24 via 10.244.3.0 dev eth1 onlink",
    ]);
    expect(() => ns.addRoute({ dst: "10.9.0.0/16", via: "10.5.0.1" })).toThrow(NetConfigError);
    expect(() => ns.addRoute({ dst: "10.9.0.0/16", via: "10.5.0.1" })).toThrow(/not on a connected subnet/);
    expect(() => ns.addRoute({ dst: "10.9.0.1/16", dev: "eth0" })).toThrow(/host bits set/);
  });
});

describe("capture", () => {
  it("writes one pcapng with an interface per device and one classic pcap per interface", () => {
    const t = twoPodsOneBridge();
    const file = join(dir, "all.pcapng");
    const per = mkdtempSync(join(dir, "per-"));
    const cap = new NetCapture(file, { perInterfaceDir: per }).attachAll(t.a, t.node, t.b);
    createUdpSocket(t.b).bind(5000);
    createUdpSocket(t.a).send("x", 5000, "10.244.1.3");
    t.sim.run();
    cap.close();
    const all = readCapture(file);
    expect(new Set(all.interfaces.map((i) => i.name))).toEqual(new Set(["pod-a/lo", "pod-a/eth0", "node-1/lo", "node-1/cni0", "node-1/veth-a", "node-1/veth-b", "pod-b/lo", "pod-b/eth0"]));
    const files = readdirSync(per).sort();
    expect(files).toContain("pod-a_eth0.pcap");
    const one = readCapture(join(per, "pod-b_eth0.pcap"));
    expect(one.pcap?.resolution).toBe("ns");
    expect(one.records.length).toBe(summariseFile(file).get("pod-b/eth0")!.length);
    expect(tsharkProblems(join(per, "node-1_cni0.pcap"))).toEqual([]);
  });

  it("is deterministic: the same seed gives byte-identical files", () => {
    const once = (name: string) => {
      const t = twoPodsOneBridge(42);
      const file = join(dir, name);
      const cap = new NetCapture(file).attachAll(t.a, t.node, t.b);
      const s = createUdpSocket(t.b).bind(5000);
      s.on("message", (m, r) => s.send(m, r.port, r.address));
      const c = createUdpSocket(t.a);
      for (let i = 0; i < 5; i++) c.send(`m${i}`, 5000, "10.244.1.3");
      t.sim.run();
      cap.close();
      return readFileSync(file);
    };
    expect(once("d1.pcapng").equals(once("d2.pcapng"))).toBe(true);
  });
});

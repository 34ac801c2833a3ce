// The emulated kernel's behaviours, each on a small topology, asserted hop by hop from the
// per-interface capture and checked by tshark.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createUdpSocket, type EchoReply, NetCapture, NetNamespace, ping } from "../../src/net/index.js";
import { DropReason, Sim } from "../../src/sim/index.js";
import { mustParseIpv4 } from "../../src/wire/index.js";
import { summariseFile } from "../helpers/packets.js";
import { tsharkProblems } from "../helpers/tshark.js";
import { routerBetweenSubnets, twoPodsOneBridge } from "./topologies.js";

const dir = mkdtempSync(join(tmpdir(), "kw-net-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("two pods on one bridge", () => {
  it("resolves with ARP, then delivers UDP unchanged (no NAT, TTL 64 at both ends)", () => {
    const t = twoPodsOneBridge();
    const file = join(dir, "bridge.pcapng");
    const cap = new NetCapture(file).attachAll(t.a, t.node, t.b);
    const server = createUdpSocket(t.b).bind(5000);
    createUdpSocket(t.a).send("hello", 5000, "10.244.1.3");
    t.sim.run();
    cap.close();
    expect(server.received.map((m) => m.msg.toString())).toEqual(["hello"]);
    const hops = summariseFile(file);
    const atA = hops.get("pod-a/eth0")!;
    // Hairpin mode (as the CNI bridge plugin sets it) floods the broadcast request back to its
    // sender too, as Linux does (the twin test shows the same).
    expect(atA.map((f) => f.kind)).toEqual(["arp", "arp", "arp", "ipv4"]);
    expect(atA[0]).toMatchObject({ ethDst: "ff:ff:ff:ff:ff:ff", arp: { op: 1, spa: "10.244.1.2", tpa: "10.244.1.3", tha: "00:00:00:00:00:00" } });
    expect(atA[1]).toEqual(atA[0]);
    expect(atA[2]).toMatchObject({ ethDst: "02:00:00:00:0a:02", arp: { op: 2, spa: "10.244.1.3", sha: "02:00:00:00:0b:03" } });
    for (const hop of ["pod-a/eth0", "node-1/veth-a", "node-1/veth-b", "pod-b/eth0"]) {
      const udpFrames = hops.get(hop)!.filter((f) => f.udp);
      expect(udpFrames, hop).toHaveLength(1);
      expect(udpFrames[0].ip).toMatchObject({ src: "10.244.1.2", dst: "10.244.1.3", ttl: 64, df: true });
    }
    // tcpdump makes the bridge promiscuous: the capture on cni0 sees every bridged frame.
    expect(hops.get("node-1/cni0")!.map((f) => f.kind)).toEqual(["arp", "arp", "ipv4"]);
    expect(tsharkProblems(file)).toEqual([]);
  });
});

describe("two containers of one pod", () => {
  it("talk over localhost through lo", () => {
    const sim = new Sim();
    const pod = new NetNamespace(sim, "pod");
    const file = join(dir, "lo.pcapng");
    const cap = new NetCapture(file).attach(pod.lo);
    const web = createUdpSocket(pod).bind(8080, "127.0.0.1");
    const sidecar = createUdpSocket(pod);
    sidecar.connect(8080, "127.0.0.1");
    sidecar.send("ping");
    web.on("message", (_m, rinfo) => web.send("pong", rinfo.port, rinfo.address));
    sim.run();
    cap.close();
    expect(sidecar.received.map((m) => m.msg.toString())).toEqual(["pong"]);
    const lo = summariseFile(file).get("pod/lo")!;
    // Each datagram is seen once on lo, with zero MACs, as tcpdump shows it on Linux.
    expect(lo).toHaveLength(2);
    expect(lo.every((f) => f.ethSrc === "00:00:00:00:00:00" && f.ip?.src === "127.0.0.1" && f.ip.dst === "127.0.0.1")).toBe(true);
    expect(tsharkProblems(file)).toEqual([]);
  });
});

describe("a router between two subnets", () => {
  it("forwards with TTL decremented once", () => {
    const t = routerBetweenSubnets();
    const server = createUdpSocket(t.b).bind(7000);
    createUdpSocket(t.a).send("x", 7000, "10.0.2.2");
    t.sim.run();
    expect(server.received).toHaveLength(1);
    expect(t.eb.stats.rxPackets).toBe(2); // the router's ARP request, then the datagram
  });

  it("answers TTL 1 with ICMP time exceeded from the ingress address", () => {
    const t = routerBetweenSubnets();
    const file = join(dir, "ttl.pcapng");
    const cap = new NetCapture(file).attachAll(t.a, t.r);
    const sock = createUdpSocket(t.a);
    sock.ipOpts = { ttl: 1 };
    sock.connect(7000, "10.0.2.2");
    sock.send("x");
    t.sim.run();
    cap.close();
    const atA = summariseFile(file).get("host-a/eth0")!.filter((f) => f.icmp);
    expect(atA).toHaveLength(1);
    expect(atA[0]).toMatchObject({
      ip: { src: "10.0.1.1", dst: "10.0.1.2", ttl: 64, tos: 0xc0, df: false },
      icmp: { type: 11, code: 0, quoted: { src: "10.0.1.2", dst: "10.0.2.2", ttl: 1, dport: 7000 } },
    });
    expect(t.ra.drops.counts[DropReason.TTL_EXPIRED]).toBe(1);
    expect(sock.errors.map((e) => e.code)).toEqual(["EHOSTUNREACH"]);
    expect(tsharkProblems(file)).toEqual([]);
  });

  it("answers a UDP datagram to a closed port with ICMP port unreachable, delivered as ECONNREFUSED", () => {
    const t = routerBetweenSubnets();
    const file = join(dir, "closed.pcapng");
    const cap = new NetCapture(file).attachAll(t.a, t.b);
    const sock = createUdpSocket(t.a);
    sock.connect(9999, "10.0.2.2");
    sock.send("anyone?");
    t.sim.run();
    cap.close();
    expect(sock.errors.map((e) => e.code)).toEqual(["ECONNREFUSED"]);
    const atA = summariseFile(file).get("host-a/eth0")!.filter((f) => f.icmp);
    expect(atA[0]).toMatchObject({
      ip: { src: "10.0.2.2", dst: "10.0.1.2", ttl: 63, tos: 0xc0 },
      icmp: { type: 3, code: 3, quoted: { src: "10.0.1.2", dst: "10.0.2.2", ttl: 63, dport: 9999, proto: 17 } },
    });
    expect(t.eb.drops.counts[DropReason.NO_SOCKET]).toBe(1);
    expect(tsharkProblems(file)).toEqual([]);
  });

  it("answers DF too big for the next hop with fragmentation needed carrying that hop's MTU", () => {
    const t = routerBetweenSubnets(1, 1400);
    const file = join(dir, "fragneeded.pcapng");
    const cap = new NetCapture(file).attachAll(t.a, t.r);
    const sock = createUdpSocket(t.a);
    sock.connect(7000, "10.0.2.2");
    expect(sock.send(Buffer.alloc(1450))).toBeUndefined();
    t.sim.run();
    cap.close();
    const atA = summariseFile(file).get("host-a/eth0")!;
    const big = atA.find((f) => f.udp);
    expect(big?.ip).toMatchObject({ len: 1478, df: true });
    const err = atA.find((f) => f.icmp);
    expect(err).toMatchObject({ ip: { src: "10.0.1.1" }, icmp: { type: 3, code: 4, mtu: 1400, quoted: { len: 1478, dport: 7000 } } });
    expect(sock.errors.map((e) => e.code)).toEqual(["EMSGSIZE"]);
    expect(t.ra.drops.counts[DropReason.PKT_TOO_BIG]).toBe(1);
    expect(tsharkProblems(file)).toEqual([]);
  });

  it("answers ping through the router", () => {
    const t = routerBetweenSubnets();
    const replies: EchoReply[] = [];
    ping(t.a, "10.0.2.2", { ident: 42, seq: 1 }, (r) => replies.push(r));
    t.sim.run();
    expect(replies).toMatchObject([{ from: mustParseIpv4("10.0.2.2"), ident: 42, seq: 1, ttl: 63, dataLen: 56 }]);
  });
});

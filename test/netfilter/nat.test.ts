import { describe, expect, it } from "vitest";
import { createUdpSocket, Hook, icmpSendError, ping, udpInit, Verdict } from "../../src/net/index.js";
import { CtStateBit, nfNatMasquerade } from "../../src/netfilter/index.js";
import { formatIpv4, icmp, ipv4, udp } from "../../src/wire/index.js";
import { capture, daddrOf, dportOf, ip, protoOf, routedTopo } from "./conntrack.fixtures.js";

const SVC = ip("10.96.0.10");
const EP = ip("10.0.2.2");

/** DNAT udp SVC:53 → EP:5353 at PREROUTING, as a KUBE-SEP chain would. */
function withDnat(t: ReturnType<typeof routedTopo>) {
  t.rules.add({
    table: "nat",
    hook: Hook.PreRouting,
    match: (ctx) => daddrOf(ctx) === SVC && protoOf(ctx) === 17 && dportOf(ctx) === 53,
    action: (ctx) => t.nf.nat.setupNat(ctx, { minAddr: EP, maxAddr: EP, minPort: 5353, maxPort: 5353 }, "dst", "KUBE-SEP-TEST"),
  });
  return t;
}

/** Checks the IPv4 header checksum and the transport checksum of a frame (Ethernet at 0). */
function expectChecksumsOk(frame: Uint8Array): void {
  const l3 = 14;
  expect(ipv4.verifyChecksum(frame, l3)).toBe(true);
  const l4 = l3 + ipv4.headerLength(frame, l3);
  const end = l3 + ipv4.totalLen(frame, l3);
  const proto = ipv4.protocol(frame, l3);
  if (proto === 17) expect(udp.verifyChecksum(frame, l4, ipv4.srcAddr(frame, l3), ipv4.dstAddr(frame, l3), end - l4)).toBe(true);
  if (proto === 1) expect(icmp.verifyChecksum(frame, l4, end)).toBe(true);
}

describe("DNAT", () => {
  it("rewrites a UDP flow to the endpoint and un-NATs the reply: the client sees the Service", () => {
    const t = withDnat(routedTopo());
    const srv = createUdpSocket(t.server).bind(5353);
    srv.on("message", (_m, r) => srv.send("pong", r.port, r.address));
    const cli = createUdpSocket(t.client);
    const towardsServer = capture(t.r1);
    const { events } = t.sim.trace.record();
    cli.send("ping", 53, "10.96.0.10");
    t.sim.run();

    expect(srv.received.map((m) => [m.msg.toString(), m.rinfo.address])).toEqual([["ping", "10.0.1.2"]]);
    expect(cli.received.map((m) => [m.msg.toString(), m.rinfo.address, m.rinfo.port])).toEqual([["pong", "10.96.0.10", 53]]);
    // On the wire behind the router: the endpoint's address and port, every checksum valid.
    const sent = towardsServer.tx.filter((f) => f[23] === 17);
    expect(sent).toHaveLength(1);
    expect(formatIpv4(ipv4.dstAddr(sent[0], 14))).toBe("10.0.2.2");
    expect(udp.dstPort(sent[0], 34)).toBe(5353);
    expectChecksumsOk(sent[0]);
    for (const f of towardsServer.rx.filter((x) => x[23] === 17)) expectChecksumsOk(f);

    const sport = cli.localPort;
    const left = Math.floor((30e9 - t.sim.now) / 1e9); // neighbour timers moved the clock on a little
    expect(t.nf.list()).toEqual([
      `udp      17 ${left} src=10.0.1.2 dst=10.96.0.10 sport=${sport} dport=53 src=10.0.2.2 dst=10.0.1.2 sport=5353 dport=${sport} mark=0 use=1`,
    ]);
    const nat = events.filter((e) => e.kind === "nat");
    expect(nat.map((e) => e.kind === "nat" && `${e.type} ${e.from} -> ${e.to}${e.by ? ` ${e.by}` : ""}`)).toEqual([
      `dnat 10.96.0.10:53 -> 10.0.2.2:5353 KUBE-SEP-TEST`,
      `snat 10.0.2.2:5353 -> 10.96.0.10:53 reply`,
    ]);
  });

  it("translates an ICMP port unreachable from the endpoint: quoted header un-NATed, checksums right", () => {
    const t = withDnat(routedTopo());
    udpInit(t.server); // closed ports answer with ICMP
    const cli = createUdpSocket(t.client).connect(53, "10.96.0.10");
    const atClient = capture(t.c0);
    cli.send("ping");
    t.sim.run();

    const errs = atClient.rx.filter((f) => f[23] === 1);
    expect(errs).toHaveLength(1);
    const f = errs[0];
    const l4 = 34;
    expect([icmp.msgType(f, l4), icmp.code(f, l4)]).toEqual([3, 3]);
    expect(formatIpv4(ipv4.srcAddr(f, 14))).toBe("10.96.0.10");
    expect(formatIpv4(ipv4.dstAddr(f, 14))).toBe("10.0.1.2");
    const q = l4 + 8;
    const ql4 = q + ipv4.headerLength(f, q);
    expect(formatIpv4(ipv4.srcAddr(f, q))).toBe("10.0.1.2");
    expect(formatIpv4(ipv4.dstAddr(f, q))).toBe("10.96.0.10");
    expect(udp.srcPort(f, ql4)).toBe(cli.localPort);
    expect(udp.dstPort(f, ql4)).toBe(53);
    expectChecksumsOk(f); // outer IPv4 and the ICMP message
    expect(ipv4.verifyChecksum(f, q)).toBe(true); // the quoted header
    // The whole datagram is quoted: its UDP checksum still verifies against the quoted addresses.
    expect(udp.verifyChecksum(f, ql4, ipv4.srcAddr(f, q), ipv4.dstAddr(f, q), udp.length(f, ql4))).toBe(true);
    // And the connected socket got its error, as on Linux.
    expect(cli.errors.map((e) => e.code)).toEqual(["ECONNREFUSED"]);
  });

  it("un-NATs an error the router itself sends about a DNATed packet not yet confirmed (nf_ct_attach)", () => {
    const t = withDnat(routedTopo());
    const states: number[] = [];
    t.rules.add({
      table: "filter",
      hook: Hook.Forward,
      match: (ctx) => protoOf(ctx) === 17,
      action: (ctx) => {
        states.push(ctx.ctstate);
        icmpSendError(ctx.ns, ctx.pkt, 3, 3, 0); // REJECT --reject-with icmp-port-unreachable
        return Verdict.Drop;
      },
    });
    const cli = createUdpSocket(t.client).connect(53, "10.96.0.10");
    const atClient = capture(t.c0);
    cli.send("ping");
    t.sim.run();
    expect(states).toEqual([CtStateBit.New | CtStateBit.Dnat]);
    const f = atClient.rx.find((x) => x[23] === 1)!;
    expect(formatIpv4(ipv4.srcAddr(f, 14))).toBe("10.96.0.10");
    expect(formatIpv4(ipv4.dstAddr(f, 42))).toBe("10.96.0.10");
    expect(udp.dstPort(f, 62)).toBe(53);
    expectChecksumsOk(f);
    expect(cli.errors.map((e) => e.code)).toEqual(["ECONNREFUSED"]);
    // The dropped connection never made it into the table.
    expect(t.nf.list()).toEqual([]);
  });
});

describe("SNAT / MASQUERADE", () => {
  it("rewrites the source leaving the router and un-SNATs the reply", () => {
    const t = routedTopo();
    t.rules.add({ table: "nat", hook: Hook.PostRouting, match: (ctx) => ctx.outdev === t.r1, action: (ctx) => nfNatMasquerade(t.nf.nat, ctx) });
    const srv = createUdpSocket(t.server).bind(7000);
    srv.on("message", (_m, r) => srv.send("pong", r.port, r.address));
    const cli = createUdpSocket(t.client);
    cli.send("ping", 7000, "10.0.2.2");
    t.sim.run();
    expect(srv.received[0].rinfo.address).toBe("10.0.2.1");
    expect(srv.received[0].rinfo.port).toBe(cli.localPort); // original port kept: the tuple is free
    expect(cli.received.map((m) => [m.rinfo.address, m.rinfo.port])).toEqual([["10.0.2.2", 7000]]);
    const [e] = t.nf.entries();
    expect(e.snat).toBe(true);
    expect(e.reply).toEqual({ src: "10.0.2.2", dst: "10.0.2.1", sport: 7000, dport: cli.localPort });
  });

  it("--random-fully picks a seeded port; a second flow clashing on the port gets another", () => {
    const run = (seed: number) => {
      const t = routedTopo({ seed });
      t.rules.add({ table: "nat", hook: Hook.PostRouting, action: (ctx) => nfNatMasquerade(t.nf.nat, ctx, { randomFully: true }) });
      const srv = createUdpSocket(t.server).bind(7000);
      const cli = createUdpSocket(t.client).bind(40000);
      cli.send("a", 7000, "10.0.2.2");
      t.sim.run();
      return srv.received.map((m) => m.rinfo.port);
    };
    const a = run(1);
    expect(a).toHaveLength(1);
    expect(a[0]).toBeGreaterThanOrEqual(1024);
    expect(a[0]).not.toBe(40000);
    expect(run(1)).toEqual(a); // deterministic per seed

    // Two clients behind the router with the same source port: the second source binding clashes.
    const t = routedTopo();
    t.rules.add({ table: "nat", hook: Hook.PostRouting, action: (ctx) => nfNatMasquerade(t.nf.nat, ctx) });
    t.client.addAddress(t.c0, "10.0.1.3/24");
    const srv = createUdpSocket(t.server).bind(7000);
    createUdpSocket(t.client).bind(40000, "10.0.1.2").send("a", 7000, "10.0.2.2");
    createUdpSocket(t.client).bind(40000, "10.0.1.3").send("b", 7000, "10.0.2.2");
    t.sim.run();
    const ports = srv.received.map((m) => m.rinfo.port);
    expect(ports[0]).toBe(40000);
    expect(ports[1]).not.toBe(40000);
    expect(t.nf.entries().map((e) => e.reply.dport)).toEqual(ports);
  });

  it("an ICMP error for a masqueraded flow comes back to the client with its own address quoted", () => {
    const t = routedTopo();
    t.rules.add({ table: "nat", hook: Hook.PostRouting, match: (ctx) => ctx.outdev === t.r1, action: (ctx) => nfNatMasquerade(t.nf.nat, ctx, { randomFully: true }) });
    udpInit(t.server);
    const cli = createUdpSocket(t.client).connect(7000, "10.0.2.2");
    const atClient = capture(t.c0);
    cli.send("ping");
    t.sim.run();
    const f = atClient.rx.find((x) => x[23] === 1)!;
    expect(formatIpv4(ipv4.srcAddr(f, 14))).toBe("10.0.2.2");
    expect(formatIpv4(ipv4.dstAddr(f, 14))).toBe("10.0.1.2");
    expect(formatIpv4(ipv4.srcAddr(f, 42))).toBe("10.0.1.2");
    expect(udp.srcPort(f, 62)).toBe(cli.localPort);
    expectChecksumsOk(f);
    expect(ipv4.verifyChecksum(f, 42)).toBe(true);
    expect(udp.verifyChecksum(f, 62, ipv4.srcAddr(f, 42), ipv4.dstAddr(f, 42), udp.length(f, 62))).toBe(true);
    expect(cli.errors.map((e) => e.code)).toEqual(["ECONNREFUSED"]);
  });

  it("ping through MASQUERADE: the echo id plays the port, the reply finds its way back", () => {
    const t = routedTopo();
    t.rules.add({ table: "nat", hook: Hook.PostRouting, match: (ctx) => ctx.outdev === t.r1, action: (ctx) => nfNatMasquerade(t.nf.nat, ctx) });
    const atServer = capture(t.s0);
    const replies: string[] = [];
    ping(t.client, "10.0.2.2", { ident: 4242, seq: 1 }, (r) => replies.push(formatIpv4(r.from)));
    t.sim.run();
    expect(replies).toEqual(["10.0.2.2"]);
    const req = atServer.rx.find((f) => f[23] === 1)!;
    expect(formatIpv4(ipv4.srcAddr(req, 14))).toBe("10.0.2.1");
    expect(icmp.echoIdent(req, 34)).toBe(4242);
    expectChecksumsOk(req);
    expect(t.nf.list()).toEqual([
      expect.stringMatching(/^icmp {5}1 \d+ src=10\.0\.1\.2 dst=10\.0\.2\.2 type=8 code=0 id=4242 src=10\.0\.2\.2 dst=10\.0\.2\.1 type=0 code=0 id=4242 mark=0 use=1$/),
    ]);
  });
});

describe("tracing", () => {
  it("notes what conntrack and NAT did on the packet (the pcapng comment) and emits ct/nat events", () => {
    const t = withDnat(routedTopo());
    const { events } = t.sim.trace.record();
    const notes: string[][] = [];
    t.r1.addTap((_d, pkt, dir) => {
      if (dir === 1 && pkt.notes) notes.push([...pkt.notes]);
    });
    createUdpSocket(t.server).bind(5353);
    createUdpSocket(t.client).bind(40000).send("x", 53, "10.96.0.10");
    t.sim.run();
    expect(notes.find((n) => n.some((x) => x.startsWith("DNAT")))).toEqual([
      "ct NEW udp 10.0.1.2:40000 -> 10.96.0.10:53",
      "DNAT 10.96.0.10:53 -> 10.0.2.2:5353 (KUBE-SEP-TEST)",
    ]);
    expect(events.some((e) => e.kind === "ct" && e.state === "NEW")).toBe(true);
  });
});


import { describe, expect, it } from "vitest";
import { createUdpSocket, Hook, ping, Verdict } from "../../src/net/index.js";
import { CtStateBit } from "../../src/netfilter/index.js";
import { buildIcmp } from "../../src/packet/index.js";
import { DropReason } from "../../src/sim/index.js";
import { daddrOf, dportOf, ip, protoOf, routedTopo } from "./conntrack.fixtures.js";

const S = 1e9;

/** Records the ctstate of every UDP/ICMP packet crossing the router's filter FORWARD. */
function recordStates(t: ReturnType<typeof routedTopo>, dropInvalid = false): number[] {
  const states: number[] = [];
  t.rules.add({
    table: "filter",
    hook: Hook.Forward,
    action: (ctx) => {
      states.push(ctx.ctstate);
      return dropInvalid && ctx.ctstate & CtStateBit.Invalid ? Verdict.Drop : Verdict.Accept;
    },
  });
  return states;
}

/** A UDP echo server on the server namespace. */
function echoServer(t: ReturnType<typeof routedTopo>, port = 7000) {
  const srv = createUdpSocket(t.server).bind(port);
  srv.on("message", (_m, r) => srv.send("pong", r.port, r.address));
  return srv;
}

describe("conntrack states", () => {
  it("NEW, then ESTABLISHED both ways; an ICMP error about the flow is RELATED", () => {
    const t = routedTopo();
    const states = recordStates(t);
    const srv = echoServer(t);
    const cli = createUdpSocket(t.client).connect(7000, "10.0.2.2");
    cli.send("1");
    t.sim.run();
    cli.send("2");
    t.sim.run();
    const { New, Established, Related } = CtStateBit;
    expect(states).toEqual([New, Established, Established, Established]);
    // The server closes its port: the next datagram earns a port unreachable, RELATED to the flow.
    srv.close();
    states.length = 0;
    cli.send("3");
    t.sim.run();
    expect(states).toEqual([Established, Related]);
    expect(cli.errors.map((e) => e.code)).toEqual(["ECONNREFUSED"]);
  });

  it("an echo reply without a request is INVALID, and `--ctstate INVALID -j DROP` drops it", () => {
    const t = routedTopo();
    const states = recordStates(t, true);
    const pkt = buildIcmp(t.sim.pool, {
      eth: { src: t.c0.mac, dst: t.r0.mac },
      ip: { src: ip("10.0.1.2"), dst: ip("10.0.2.2") },
      icmp: { type: 0, ident: 77, seq: 1 },
      payload: new Uint8Array(8),
    });
    t.c0.xmit(pkt);
    t.sim.run();
    expect(states).toEqual([CtStateBit.Invalid]);
    expect(t.r0.drops.counts[DropReason.NETFILTER_DROP]).toBe(1);
    expect(t.nf.list()).toEqual([]);
  });

  it("ping: an ICMP echo entry, its dump line, and the reply ESTABLISHED", () => {
    const t = routedTopo();
    const states = recordStates(t);
    const replies: number[] = [];
    ping(t.client, "10.0.2.2", { ident: 0x1234, seq: 1 }, (r) => replies.push(r.seq));
    t.sim.run(0);
    expect(replies).toEqual([1]);
    expect(states).toEqual([CtStateBit.New, CtStateBit.Established]);
    expect(t.nf.list()).toEqual([
      "icmp     1 30 src=10.0.1.2 dst=10.0.2.2 type=8 code=0 id=4660 src=10.0.2.2 dst=10.0.1.2 type=0 code=0 id=4660 mark=0 use=1",
    ]);
  });

  it("DNAT shows in ctstate as the DNAT virtual state", () => {
    const t = routedTopo();
    const SVC = ip("10.96.0.10");
    const EP = ip("10.0.2.2");
    t.rules.add({
      table: "nat",
      hook: Hook.PreRouting,
      match: (ctx) => daddrOf(ctx) === SVC && protoOf(ctx) === 17 && dportOf(ctx) === 53,
      action: (ctx) => t.nf.nat.setupNat(ctx, { minAddr: EP, maxAddr: EP, minPort: 7000, maxPort: 7000 }, "dst"),
    });
    const states = recordStates(t);
    echoServer(t);
    createUdpSocket(t.client).send("x", 53, "10.96.0.10");
    t.sim.run();
    expect(states).toEqual([CtStateBit.New | CtStateBit.Dnat, CtStateBit.Established | CtStateBit.Dnat]);
  });
});

describe("conntrack timeouts on the virtual clock", () => {
  it("an unreplied UDP entry lives 30 s", () => {
    const t = routedTopo();
    createUdpSocket(t.server).bind(7000); // receives, never answers
    createUdpSocket(t.client).send("x", 7000, "10.0.2.2");
    t.sim.run(0);
    expect(t.nf.list()[0]).toMatch(/^udp {6}17 30 .* \[UNREPLIED\] /);
    t.sim.run(29.5 * S);
    expect(t.nf.list()).toHaveLength(1);
    t.sim.run(30 * S);
    expect(t.nf.list()).toEqual([]);
    expect(t.nf.conntrack.count()).toBe(0);
  });

  it("replied: 30 s; still active after 2 s: a stream, 120 s and ASSURED", () => {
    const t = routedTopo();
    echoServer(t);
    const cli = createUdpSocket(t.client).connect(7000, "10.0.2.2");
    cli.send("1");
    t.sim.run(0);
    expect(t.nf.list()[0]).toMatch(/^udp {6}17 30 src=.* src=\S+ dst=\S+ sport=7000 dport=\d+ mark=0 use=1$/);
    t.sim.run(3 * S);
    cli.send("2");
    t.sim.run(3 * S);
    const [e] = t.nf.entries();
    expect([e.timeout, e.assured]).toEqual([120, true]);
    expect(t.nf.list()[0]).toMatch(/ \[ASSURED\] mark=0 use=1$/);
    t.sim.run(122 * S);
    expect(t.nf.list()).toHaveLength(1);
    t.sim.run(123.5 * S);
    expect(t.nf.list()).toEqual([]);
  });

  it("an idle simulation still ends: conntrack arms no timer", () => {
    const t = routedTopo();
    createUdpSocket(t.server).bind(7000);
    createUdpSocket(t.client).send("x", 7000, "10.0.2.2");
    t.sim.run();
    expect(t.sim.sched.pendingTimers).toBe(0);
  });
});

describe("table full (nf_conntrack_max)", () => {
  /** Two assured UDP flows fill a table of 2. */
  function fullOfAssured() {
    const t = routedTopo({ conntrackMax: 2 });
    echoServer(t);
    const a = createUdpSocket(t.client).connect(7000, "10.0.2.2");
    const b = createUdpSocket(t.client).connect(7000, "10.0.2.2");
    a.send("1");
    b.send("1");
    t.sim.run(3 * S);
    a.send("2");
    b.send("2");
    t.sim.run(3 * S);
    expect(t.nf.entries().map((e) => e.assured)).toEqual([true, true]);
    return t;
  }

  it("drops a new flow with CT_TABLE_FULL when nothing can be early-dropped", () => {
    const t = fullOfAssured();
    const { events } = t.sim.trace.record();
    const c = createUdpSocket(t.client);
    c.send("3", 7000, "10.0.2.2");
    t.sim.run(3 * S);
    expect(t.r0.drops.counts[DropReason.CT_TABLE_FULL]).toBe(1);
    expect(events.some((e) => e.kind === "log" && e.text === "nf_conntrack: table full, dropping packet")).toBe(true);
    expect(c.received).toEqual([]);
    expect(t.nf.conntrack.stats.drop).toBe(1);
  });

  it("early_drop evicts a non-assured entry to make room", () => {
    const t = routedTopo({ conntrackMax: 2 });
    createUdpSocket(t.server).bind(7000);
    for (let i = 0; i < 3; i++) createUdpSocket(t.client).send(`${i}`, 7000, "10.0.2.2");
    t.sim.run(0);
    expect(t.nf.conntrack.count()).toBe(2);
    expect(t.nf.conntrack.stats.earlyDrop).toBe(1);
    expect(t.r0.drops.counts[DropReason.CT_TABLE_FULL]).toBe(0);
  });

  it("expired entries make room, as the gc worker would have", () => {
    const t = fullOfAssured();
    t.sim.run(200 * S);
    createUdpSocket(t.client).send("3", 7000, "10.0.2.2");
    t.sim.run(200 * S);
    expect(t.r0.drops.counts[DropReason.CT_TABLE_FULL]).toBe(0);
    expect(t.nf.conntrack.count()).toBe(1);
  });
});

describe("conntrack -D", () => {
  it("flushes the UDP entries of a Service IP and of a removed endpoint", () => {
    const t = routedTopo();
    const SVC = ip("10.96.0.10");
    t.rules.add({
      table: "nat",
      hook: Hook.PreRouting,
      match: (ctx) => daddrOf(ctx) === SVC,
      action: (ctx) => t.nf.nat.setupNat(ctx, { minAddr: ip("10.0.2.2"), maxAddr: ip("10.0.2.2"), minPort: 7000, maxPort: 7000 }, "dst"),
    });
    createUdpSocket(t.server).bind(7000);
    createUdpSocket(t.server).bind(7001);
    createUdpSocket(t.client).send("a", 53, "10.96.0.10");
    createUdpSocket(t.client).send("b", 53, "10.96.0.10");
    createUdpSocket(t.client).send("c", 7001, "10.0.2.2");
    t.sim.run(0);
    expect(t.nf.list()).toHaveLength(3);
    expect(t.nf.delete({ proto: "udp", origDst: "10.96.0.10" })).toBe(2);
    expect(t.nf.list()).toHaveLength(1);
    expect(t.nf.delete({ proto: "tcp", replySrc: "10.0.2.2" })).toBe(0);
    expect(t.nf.delete({ proto: "udp", replySrc: "10.0.2.2" })).toBe(1);
    expect(t.nf.list()).toEqual([]);
  });
});

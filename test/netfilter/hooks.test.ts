import { describe, expect, it } from "vitest";
import { Bridge, createUdpSocket, Hook, NetNamespace, Verdict, Veth } from "../../src/net/index.js";
import { installNetfilter, NfHooks, nfNatMasquerade, PRIORITY_FIRST, Priority } from "../../src/netfilter/index.js";
import { Sim } from "../../src/sim/index.js";
import { ethernet, formatMac, ipv4, mustParseMac } from "../../src/wire/index.js";
import { bridgeTopo, capture, daddrOf, FakeRules, ip, saddrOf } from "./conntrack.fixtures.js";

describe("NfHooks (nf_hook_slow)", () => {
  it("walks by priority, equal priorities in registration order; the first non-Accept ends the walk", () => {
    const ns = new NetNamespace(new Sim(), "x");
    const h = new NfHooks(ns);
    const seen: string[] = [];
    const fn = (name: string, v: Verdict = Verdict.Accept) => () => {
      seen.push(name);
      return v;
    };
    h.register({ hook: Hook.Forward, priority: Priority.Filter, fn: fn("filter"), name: "filter" });
    h.register({ hook: Hook.Forward, priority: Priority.Mangle, fn: fn("mangle"), name: "mangle" });
    h.register({ hook: Hook.Forward, priority: Priority.Filter, fn: fn("filter2", Verdict.Drop), name: "filter2" });
    h.register({ hook: Hook.Forward, priority: Priority.Security, fn: fn("security"), name: "security" });
    const off = h.register({ hook: Hook.Forward, priority: PRIORITY_FIRST, fn: fn("first"), name: "first" });
    const pkt = ns.sim.pool.alloc();
    expect(h.run(Hook.Forward, pkt, null, null, false)).toBe(Verdict.Drop);
    expect(seen).toEqual(["first", "mangle", "filter", "filter2"]);
    off();
    seen.length = 0;
    h.run(Hook.Forward, pkt, null, null, false);
    expect(seen).toEqual(["mangle", "filter", "filter2"]);
    expect(h.run(Hook.LocalIn, pkt, null, null, false)).toBe(Verdict.Accept);
  });

  it("installNetfilter registers conntrack, nat, the runner's tables and confirm at the kernel's priorities", () => {
    const ns = new NetNamespace(new Sim(), "node");
    const nf = installNetfilter(ns, { rules: new FakeRules(["raw", "mangle", "nat", "filter"]) });
    const names = (hook: Hook) => nf.hooks.list(hook).map((o) => `${o.name}@${o.priority}`);
    expect(names(Hook.PreRouting)).toEqual(["raw@-300", "conntrack@-200", "mangle@-150", "nat@-100"]);
    expect(names(Hook.LocalIn)).toEqual(["mangle@-150", "filter@0", "nat@100", `confirm@${Priority.ConntrackConfirm}`]);
    expect(names(Hook.Forward)).toEqual(["mangle@-150", "filter@0"]);
    expect(names(Hook.LocalOut)).toEqual(["raw@-300", "conntrack@-200", "mangle@-150", "nat@-100", "filter@0"]);
    expect(names(Hook.PostRouting)).toEqual(["mangle@-150", "nat@100", `confirm@${Priority.ConntrackConfirm}`]);
    // kube-proxy resyncs: a new runner replaces the old one's tables.
    nf.setRules(new FakeRules(["filter"]));
    expect(names(Hook.PreRouting)).toEqual(["conntrack@-200", "nat@-100"]);
    expect(ns.nf).toBe(nf.hooks);
    expect(() => installNetfilter(ns)).toThrow(/already installed/);
  });
});

const SVC = ip("10.96.0.20");
const A = ip("10.244.1.2");
const B = ip("10.244.1.3");

/** DNAT udp SVC:80 → to:port at PREROUTING and OUTPUT, as KUBE-SERVICES → KUBE-SEP would. */
function dnat(t: ReturnType<typeof bridgeTopo>, to: number, port: number) {
  t.rules.add({
    table: "nat",
    match: (ctx) => (ctx.hook === Hook.PreRouting || ctx.hook === Hook.LocalOut) && daddrOf(ctx) === SVC,
    action: (ctx) => t.nf.nat.setupNat(ctx, { minAddr: to, maxAddr: to, minPort: port, maxPort: port }, "dst", "KUBE-SEP"),
  });
}

function echo(ns: NetNamespace, port: number) {
  const s = createUdpSocket(ns).bind(port);
  s.on("message", (_m, r) => s.send("pong", r.port, r.address));
  return s;
}

describe("br_netfilter: a Service backed by a pod on the same bridge", () => {
  it("bridges the DNATed frame to the endpoint (no routing: TTL kept, source MAC kept) and un-NATs the reply", () => {
    const t = bridgeTopo();
    dnat(t, B, 8080);
    const srv = echo(t.b, 8080);
    const atB = capture(t.eb);
    const cli = createUdpSocket(t.a);
    cli.send("ping", 80, "10.96.0.20");
    t.sim.run();
    expect(srv.received.map((m) => m.rinfo.address)).toEqual(["10.244.1.2"]);
    expect(cli.received.map((m) => [m.msg.toString(), m.rinfo.address, m.rinfo.port])).toEqual([["pong", "10.96.0.20", 80]]);
    const f = atB.rx.find((x) => ethernet.etherType(x, 0) === 0x0800)!;
    expect(formatMac(ethernet.srcAddr(f, 0))).toBe("0a:58:0a:f4:01:02");
    expect(formatMac(ethernet.dstAddr(f, 0))).toBe("0a:58:0a:f4:01:03");
    expect(ipv4.ttl(f, 14)).toBe(64);
    expect(t.nf.entries().map((e) => [e.orig.dst, e.reply.src, e.dnat])).toEqual([["10.96.0.20", "10.244.1.3", true]]);
  });

  it("hairpin: a pod reaching itself through its Service, masqueraded to the bridge address", () => {
    const t = bridgeTopo({ hairpin: true });
    dnat(t, A, 8080);
    // KUBE-MARK-MASQ for hairpin traffic, then KUBE-POSTROUTING's MASQUERADE.
    t.rules.add({ table: "nat", hook: Hook.PostRouting, match: (ctx) => saddrOf(ctx) === daddrOf(ctx), action: (ctx) => nfNatMasquerade(t.nf.nat, ctx) });
    const srv = echo(t.a, 8080);
    const cli = createUdpSocket(t.a);
    cli.send("ping", 80, "10.96.0.20");
    t.sim.run();
    expect(srv.received.map((m) => m.rinfo.address)).toEqual(["10.244.1.1"]);
    expect(cli.received.map((m) => [m.rinfo.address, m.rinfo.port])).toEqual([["10.96.0.20", 80]]);
  });

  it("without hairpin on the port the frame cannot go back out where it came from", () => {
    const t = bridgeTopo({ hairpin: false });
    dnat(t, A, 8080);
    t.rules.add({ table: "nat", hook: Hook.PostRouting, match: (ctx) => saddrOf(ctx) === daddrOf(ctx), action: (ctx) => nfNatMasquerade(t.nf.nat, ctx) });
    const srv = echo(t.a, 8080);
    createUdpSocket(t.a).send("ping", 80, "10.96.0.20");
    t.sim.run();
    expect(srv.received).toEqual([]);
  });

  it("an endpoint on the node itself: the frame goes up and is delivered locally", () => {
    const t = bridgeTopo();
    dnat(t, ip("10.244.1.1"), 8080);
    const srv = echo(t.node, 8080);
    const cli = createUdpSocket(t.a);
    cli.send("ping", 80, "10.96.0.20");
    t.sim.run();
    expect(srv.received.map((m) => m.rinfo.address)).toEqual(["10.244.1.2"]);
    expect(cli.received.map((m) => m.rinfo.address)).toEqual(["10.96.0.20"]);
  });

  it("an endpoint elsewhere: routed by the node (TTL decremented)", () => {
    const t = bridgeTopo();
    const remote = new NetNamespace(t.sim, "remote");
    const [n1, r1] = Veth.pair({ ns: t.node, name: "eth1" }, { ns: remote, name: "eth0" });
    t.node.addAddress(n1, "10.0.9.1/24");
    remote.addAddress(r1, "10.0.9.2/24");
    remote.addRoute({ dst: "default", via: "10.0.9.1" });
    dnat(t, ip("10.0.9.2"), 8080);
    const srv = echo(remote, 8080);
    const atRemote = capture(r1);
    const cli = createUdpSocket(t.a);
    cli.send("ping", 80, "10.96.0.20");
    t.sim.run();
    expect(srv.received.map((m) => m.rinfo.address)).toEqual(["10.244.1.2"]);
    expect(cli.received.map((m) => m.rinfo.address)).toEqual(["10.96.0.20"]);
    expect(ipv4.ttl(atRemote.rx.find((x) => ethernet.etherType(x, 0) === 0x0800)!, 14)).toBe(63);
  });

  it("covers a bridge created after netfilter was installed", () => {
    const sim = new Sim({ seed: 9 });
    const node = new NetNamespace(sim, "node");
    node.sysctl.bridgeNfCallIptables = true;
    node.sysctl.ipForward = true;
    const rules = new FakeRules(["nat"]);
    const nf = installNetfilter(node, { rules });
    const br = new Bridge(node, "cbr0", mustParseMac("02:00:00:00:00:01"));
    node.addAddress(br, "10.244.1.1/24");
    const pa = new NetNamespace(sim, "a");
    const pb = new NetNamespace(sim, "b");
    const [ea, ha] = Veth.pair({ ns: pa, name: "eth0" }, { ns: node, name: "veth-a" });
    const [eb, hb] = Veth.pair({ ns: pb, name: "eth0" }, { ns: node, name: "veth-b" });
    br.addPort(ha);
    br.addPort(hb);
    pa.addAddress(ea, "10.244.1.2/24");
    pb.addAddress(eb, "10.244.1.3/24");
    pa.addRoute({ dst: "default", via: "10.244.1.1" });
    pb.addRoute({ dst: "default", via: "10.244.1.1" });
    rules.add({ table: "nat", match: (ctx) => daddrOf(ctx) === SVC, action: (ctx) => nf.nat.setupNat(ctx, { minAddr: B, maxAddr: B, minPort: 8080, maxPort: 8080 }, "dst") });
    const srv = echo(pb, 8080);
    const cli = createUdpSocket(pa);
    cli.send("ping", 80, "10.96.0.20");
    sim.run();
    expect(srv.received).toHaveLength(1);
    expect(cli.received.map((m) => m.rinfo.address)).toEqual(["10.96.0.20"]);
  });

  it("a node-local client: OUTPUT DNAT, re-routed to the pod, the reply un-NATed at INPUT", () => {
    const t = bridgeTopo();
    dnat(t, B, 8080);
    t.node.addRoute({ dst: "default", via: "10.244.1.254" }); // Service IPs route somewhere until DNAT
    const srv = echo(t.b, 8080);
    const cli = createUdpSocket(t.node);
    cli.send("ping", 80, "10.96.0.20");
    t.sim.run();
    expect(srv.received.map((m) => m.rinfo.address)).toEqual(["10.244.1.1"]);
    expect(cli.received.map((m) => m.rinfo.address)).toEqual(["10.96.0.20"]);
  });

  it("loopback keeps the entry the packet got on the way out", () => {
    const t = bridgeTopo();
    const states: number[] = [];
    t.rules.add({ table: "filter", hook: Hook.LocalIn, action: (ctx) => {
        states.push(ctx.ctstate);
        return Verdict.Accept;
      },
    });
    echo(t.node, 9000);
    const cli = createUdpSocket(t.node);
    cli.send("ping", 9000, "127.0.0.1");
    t.sim.run();
    expect(cli.received).toHaveLength(1);
    expect(states).toEqual([8, 2]); // NEW, then ESTABLISHED
    expect(t.nf.entries()).toHaveLength(1);
  });
});

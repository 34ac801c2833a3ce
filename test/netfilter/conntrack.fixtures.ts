// Shared pieces of the conntrack/NAT/hooks tests: a tiny rule engine (so these tests do not
// depend on the iptables engine), small topologies built through the public net API, and
// frame capture on a device.

import { Bridge, type Hook, type NetDevice, NetNamespace, RX, TX, Verdict, Veth } from "../../src/net/index.js";
import { installNetfilter, type Netfilter, type NfContext, type RuleTableRunner, type TableName } from "../../src/netfilter/index.js";
import { Sim } from "../../src/sim/index.js";
import { ipv4, mustParseIpv4, mustParseMac, udp } from "../../src/wire/index.js";

export interface FakeRule {
  table: TableName;
  hook?: Hook;
  match?: (ctx: NfContext) => boolean;
  action: (ctx: NfContext) => Verdict;
}

/** A rule engine in a dozen lines: the first matching rule of the table and hook decides. */
export class FakeRules implements RuleTableRunner {
  readonly rules: FakeRule[] = [];
  constructor(private readonly names: TableName[]) {}
  tables(): TableName[] {
    return this.names;
  }
  run(table: TableName, ctx: NfContext): Verdict {
    for (const r of this.rules) {
      if (r.table !== table || (r.hook !== undefined && r.hook !== ctx.hook)) continue;
      if (r.match === undefined || r.match(ctx)) return r.action(ctx);
    }
    return Verdict.Accept;
  }
  add(r: FakeRule): this {
    this.rules.push(r);
    return this;
  }
}

export const ip = mustParseIpv4;
export const daddrOf = (ctx: NfContext): number => ipv4.dstAddr(ctx.pkt.buf, ctx.pkt.l3);
export const saddrOf = (ctx: NfContext): number => ipv4.srcAddr(ctx.pkt.buf, ctx.pkt.l3);
export const protoOf = (ctx: NfContext): number => ctx.pkt.buf[ctx.pkt.l3 + 9];
export const dportOf = (ctx: NfContext): number => udp.dstPort(ctx.pkt.buf, ctx.pkt.l4);

/** Frames a device saw, copied (dir 0 = received, 1 = sent). */
export function capture(dev: NetDevice): { rx: Uint8Array[]; tx: Uint8Array[] } {
  const out = { rx: [] as Uint8Array[], tx: [] as Uint8Array[] };
  dev.addTap((_d, pkt, dir) => (dir === RX ? out.rx : out.tx).push(Uint8Array.from(pkt.bytes())));
  void TX;
  return out;
}

export interface RoutedTopo {
  sim: Sim;
  client: NetNamespace;
  router: NetNamespace;
  server: NetNamespace;
  c0: Veth;
  r0: Veth;
  r1: Veth;
  s0: Veth;
  rules: FakeRules;
  nf: Netfilter;
}

/**
 * client 10.0.1.2 ── r0 10.0.1.1 [router, forwarding, netfilter] r1 10.0.2.1 ── server 10.0.2.2.
 * The client routes everything (Service IPs included) through the router.
 */
export function routedTopo(opts: { conntrackMax?: number; tables?: TableName[]; seed?: number } = {}): RoutedTopo {
  const sim = new Sim({ seed: opts.seed ?? 1 });
  const client = new NetNamespace(sim, "client");
  const router = new NetNamespace(sim, "router");
  const server = new NetNamespace(sim, "server");
  const [c0, r0] = Veth.pair({ ns: client, name: "eth0", mac: mustParseMac("02:00:00:00:01:02") }, { ns: router, name: "r0", mac: mustParseMac("02:00:00:00:01:01") });
  const [r1, s0] = Veth.pair({ ns: router, name: "r1", mac: mustParseMac("02:00:00:00:02:01") }, { ns: server, name: "eth0", mac: mustParseMac("02:00:00:00:02:02") });
  client.addAddress(c0, "10.0.1.2/24");
  router.addAddress(r0, "10.0.1.1/24");
  router.addAddress(r1, "10.0.2.1/24");
  server.addAddress(s0, "10.0.2.2/24");
  client.addRoute({ dst: "default", via: "10.0.1.1" });
  server.addRoute({ dst: "default", via: "10.0.2.1" });
  router.sysctl.ipForward = true;
  const rules = new FakeRules(opts.tables ?? ["nat", "filter"]);
  const nf = installNetfilter(router, { rules, conntrackMax: opts.conntrackMax });
  return { sim, client, router, server, c0, r0, r1, s0, rules, nf };
}

export interface BridgeTopo {
  sim: Sim;
  node: NetNamespace;
  a: NetNamespace;
  b: NetNamespace;
  br: Bridge;
  ea: Veth;
  eb: Veth;
  ha: Veth;
  hb: Veth;
  rules: FakeRules;
  nf: Netfilter;
}

/** A node with cni0 10.244.1.1/24 and pods a 10.244.1.2, b 10.244.1.3; bridge-nf-call-iptables on. */
export function bridgeTopo(opts: { hairpin?: boolean } = {}): BridgeTopo {
  const sim = new Sim({ seed: 3 });
  const node = new NetNamespace(sim, "node");
  const a = new NetNamespace(sim, "pod-a");
  const b = new NetNamespace(sim, "pod-b");
  const br = new Bridge(node, "cni0", mustParseMac("02:00:0a:f4:01:01"));
  node.addAddress(br, "10.244.1.1/24");
  const [ea, ha] = Veth.pair({ ns: a, name: "eth0", mac: mustParseMac("0a:58:0a:f4:01:02") }, { ns: node, name: "veth-a" });
  const [eb, hb] = Veth.pair({ ns: b, name: "eth0", mac: mustParseMac("0a:58:0a:f4:01:03") }, { ns: node, name: "veth-b" });
  br.addPort(ha, { hairpin: opts.hairpin ?? false });
  br.addPort(hb, { hairpin: opts.hairpin ?? false });
  a.addAddress(ea, "10.244.1.2/24");
  b.addAddress(eb, "10.244.1.3/24");
  a.addRoute({ dst: "default", via: "10.244.1.1" });
  b.addRoute({ dst: "default", via: "10.244.1.1" });
  node.sysctl.ipForward = true;
  node.sysctl.bridgeNfCallIptables = true;
  const rules = new FakeRules(["nat", "filter"]);
  const nf = installNetfilter(node, { rules });
  return { sim, node, a, b, br, ea, eb, ha, hb, rules, nf };
}

// Test helpers for the iptables engine: a node namespace with devices and routes, packets built
// with the packet builder, a fake NfContext per hook, a NatApi that records its calls.

import { EthDevice, Hook, NetNamespace, Verdict } from "../../src/net/index.js";
import type { NatApi, NatRange, NfContext } from "../../src/netfilter/types.js";
import { CtStateBit } from "../../src/netfilter/types.js";
import { buildIcmp, buildTcp, buildUdp, type Packet, PacketPool } from "../../src/packet/index.js";
import { Sim } from "../../src/sim/index.js";
import { mustParseIpv4, tcp } from "../../src/wire/index.js";

export const pool = new PacketPool();
export const ip = mustParseIpv4;

export interface Node {
  sim: Sim;
  ns: NetNamespace;
  eth0: EthDevice;
  cni0: EthDevice;
}

/** node: eth0 192.168.0.10/24 (default via 192.168.0.1), cni0 10.244.1.1/24. */
export function makeNode(seed = 1, name = "node"): Node {
  const sim = new Sim({ seed });
  const ns = new NetNamespace(sim, name);
  const eth0 = new EthDevice(ns, "eth0");
  const cni0 = new EthDevice(ns, "cni0");
  ns.addAddress(eth0, "192.168.0.10/24");
  ns.addAddress(cni0, "10.244.1.1/24");
  ns.addRoute({ dst: "default", via: "192.168.0.1" });
  return { sim, ns, eth0, cni0 };
}

const ETH = { src: 0x020000000001, dst: 0x020000000002 };

export const udpPacket = (src: string, sport: number, dst: string, dport: number, payload = new Uint8Array(4)): Packet =>
  buildUdp(pool, { eth: ETH, ip: { src: ip(src), dst: ip(dst) }, udp: { srcPort: sport, dstPort: dport }, payload });

export const tcpPacket = (src: string, sport: number, dst: string, dport: number, flags: number = tcp.TcpFlags.SYN): Packet =>
  buildTcp(pool, { eth: ETH, ip: { src: ip(src), dst: ip(dst) }, tcp: { srcPort: sport, dstPort: dport, flags } });

export const icmpPacket = (src: string, dst: string, type: 0 | 8 = 8): Packet =>
  buildIcmp(pool, { eth: ETH, ip: { src: ip(src), dst: ip(dst) }, icmp: { type, ident: 1, seq: 1 } });

export interface CtxOpts {
  indev?: EthDevice | null;
  outdev?: EthDevice | null;
  ctstate?: number;
}

/** A context for `hook` with the devices a packet has there (in: PREROUTING/INPUT/FORWARD, out: FORWARD/OUTPUT/POSTROUTING). */
export function ctxFor(node: Node, hook: Hook, pkt: Packet, o: CtxOpts = {}): NfContext {
  const hasIn = hook === Hook.PreRouting || hook === Hook.LocalIn || hook === Hook.Forward;
  const hasOut = hook === Hook.Forward || hook === Hook.LocalOut || hook === Hook.PostRouting;
  return {
    ns: node.ns,
    hook,
    pkt,
    indev: o.indev !== undefined ? o.indev : hasIn ? node.eth0 : null,
    outdev: o.outdev !== undefined ? o.outdev : hasOut ? node.eth0 : null,
    bridged: false,
    ctstate: o.ctstate ?? CtStateBit.New,
  };
}

export interface NatCall {
  manip: "src" | "dst";
  range: NatRange;
  by?: string;
}

/** A NatApi that records every call and answers `verdict`. */
export function recordingNat(verdict: Verdict = Verdict.Accept): NatApi & { calls: NatCall[] } {
  const calls: NatCall[] = [];
  return {
    calls,
    setupNat(_ctx, range, manip, by) {
      calls.push({ manip, range: { ...range }, by });
      return verdict;
    },
  };
}

/** kube-proxy's probabilities for n endpoints: 1/n, 1/(n-1), … 1/2 with "%0.10f" (proxier.go probability()). */
export function kubeProxyProbabilities(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n - 1; i++) out.push((1 / (n - i)).toFixed(10));
  return out;
}

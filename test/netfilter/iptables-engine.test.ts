// The chain walk (ipt_do_table): first match in order, jumps on a stack, goto, RETURN, policies,
// counters per rule and per built-in chain, TRACE-like "nf" events; and the kube-proxy ruleset on
// real packets: service DNAT with kube-proxy's probabilities, masquerade marking, sessionAffinity
// through -m recent, REJECT for a service without endpoints.

import { describe, expect, it } from "vitest";
import { Hook, Verdict } from "../../src/net/index.js";
import { formatProbability, IptablesEngine, probabilityToU32 } from "../../src/netfilter/index.js";
import { CtStateBit } from "../../src/netfilter/types.js";
import { formatTraceEvent, type TraceEvent } from "../../src/sim/index.js";
import { formatIpv4 } from "../../src/wire/index.js";
import { KUBE_PROXY_RULES } from "./iptables-fixtures.js";
import { ctxFor, ip, kubeProxyProbabilities, makeNode, recordingNat, tcpPacket, udpPacket } from "./iptables-helpers.js";

describe("the chain walk", () => {
  const rules = [
    "*filter",
    ":INPUT DROP [0:0]",
    ":A - [0:0]",
    ":B - [0:0]",
    ":G - [0:0]",
    "-A INPUT -p udp --dport 1 -j A",
    "-A INPUT -p udp --dport 2 -g G",
    "-A INPUT -p udp --dport 3 -j RETURN",
    "-A INPUT -p udp -j ACCEPT",
    "-A A -j B",
    "-A A -p udp --sport 7 -j ACCEPT",
    "-A B -p udp --sport 5 -j RETURN",
    "-A B -p udp --sport 6 -j DROP",
    "-A G -p udp --sport 8 -j ACCEPT",
    "COMMIT",
  ].join("\n");
  const node = makeNode();
  const run = (e: IptablesEngine, sport: number, dport: number) => e.run("filter", ctxFor(node, Hook.LocalIn, udpPacket("192.168.0.99", sport, "192.168.0.10", dport)));

  it("jump and return, goto, RETURN from a built-in chain to its policy", () => {
    const e = new IptablesEngine({ rules });
    expect(run(e, 5, 1)).toBe(Verdict.Accept); // B returns to A, A falls off, back in INPUT: rule 4 accepts
    expect(run(e, 6, 1)).toBe(Verdict.Drop); // B drops
    expect(run(e, 7, 1)).toBe(Verdict.Accept); // B falls off, A accepts
    expect(run(e, 8, 2)).toBe(Verdict.Accept); // goto G accepts
    expect(run(e, 9, 2)).toBe(Verdict.Drop); // G falls off: returns past INPUT (goto pushed nothing) → policy DROP
    expect(run(e, 9, 3)).toBe(Verdict.Drop); // RETURN in INPUT → policy
    expect(run(e, 9, 4)).toBe(Verdict.Accept);
  });

  it("counts packets and bytes per rule and on the policy", () => {
    const e = new IptablesEngine({ rules });
    for (const [s, d] of [[5, 1], [6, 1], [9, 3], [9, 4], [9, 4]]) run(e, s, d);
    const save = e.save({ counters: true, header: false });
    // UDP with 4 bytes of payload: 32 bytes at the IP layer.
    expect(save).toContain(":INPUT DROP [1:32]");
    expect(save).toContain("[2:64] -A INPUT -p udp -m udp --dport 1 -j A");
    expect(save).toContain("[1:32] -A INPUT -p udp -m udp --dport 3 -j RETURN");
    expect(save).toContain("[3:96] -A INPUT -p udp -j ACCEPT");
    expect(save).toContain("[2:64] -A A -j B");
    expect(save).toContain("[1:32] -A B -p udp -m udp --sport 5 -j RETURN");
    e.zero();
    expect(e.save({ counters: true, header: false })).not.toMatch(/\[[1-9]/);
  });

  it("counters survive a --noflush restore for the rules it keeps", () => {
    const e = new IptablesEngine({ rules });
    run(e, 9, 4);
    e.restore("*filter\n:G - [0:0]\n-A G -j DROP\nCOMMIT\n", { noflush: true });
    expect(e.save({ counters: true, header: false })).toContain("[1:32] -A INPUT -p udp -j ACCEPT");
  });

  it("traces every rule taken like -j TRACE, policy and returns included", () => {
    const e = new IptablesEngine({ rules });
    const { events, stop } = node.sim.trace.record();
    run(e, 5, 1);
    run(e, 9, 3);
    stop();
    const nf = events.filter((ev): ev is Extract<TraceEvent, { kind: "nf" }> => ev.kind === "nf");
    expect(nf.map((ev) => `${ev.table}:${ev.chain}:${ev.rule} ${ev.verdict}`)).toEqual([
      "filter:INPUT:1 A",
      "filter:A:1 B",
      "filter:B:1 RETURN",
      "filter:A:3 RETURN",
      "filter:INPUT:4 ACCEPT",
      "filter:INPUT:3 RETURN (to policy)",
      "filter:INPUT:5 DROP",
    ]);
    expect(nf[0].text).toBe("-A INPUT -p udp -m udp --dport 1 -j A");
    expect(nf[6].text).toBe(":INPUT DROP");
    expect(formatTraceEvent(nf[0])).toContain("INPUT filter/INPUT rule 1: -A INPUT -p udp -m udp --dport 1 -j A -> A");
  });

  it("tables the ruleset has; hooks and tables it has not accept", () => {
    const e = new IptablesEngine({ rules });
    expect(e.tables()).toEqual(["filter"]);
    expect(e.run("nat", ctxFor(node, Hook.PreRouting, udpPacket("1.1.1.1", 1, "2.2.2.2", 2)))).toBe(Verdict.Accept);
    expect(e.run("filter", ctxFor(node, Hook.PreRouting, udpPacket("1.1.1.1", 1, "2.2.2.2", 2)))).toBe(Verdict.Accept);
  });
});

describe("kube-proxy's probabilities", () => {
  it("1/n, 1/(n-1) … written with 10 decimals, stored ×2^31, printed with 11", () => {
    expect(kubeProxyProbabilities(4)).toEqual(["0.2500000000", "0.3333333333", "0.5000000000"]);
    expect(kubeProxyProbabilities(3).map((p) => formatProbability(probabilityToU32(Number(p))))).toEqual(["0.33333333349", "0.50000000000"]);
    expect(formatProbability(probabilityToU32(0.1))).toBe("0.10000000009");
    expect(formatProbability(probabilityToU32(1 / 7))).toBe("0.14285714272");
  });

  it("spread new flows evenly over the endpoints, reproducibly for a seed", () => {
    const pick = (seed: number, flows: number): string[] => {
      const node = makeNode(seed);
      const nat = recordingNat();
      const e = new IptablesEngine({ rules: KUBE_PROXY_RULES, nat });
      for (let i = 0; i < flows; i++) e.run("nat", ctxFor(node, Hook.PreRouting, udpPacket("10.244.1.9", 10000 + i, "10.96.0.10", 53), { indev: node.cni0 }));
      return nat.calls.map((c) => `${formatIpv4(c.range.minAddr)}:${c.range.minPort}`);
    };
    const picks = pick(42, 30000);
    const share = (ep: string) => picks.filter((p) => p === ep).length / picks.length;
    for (const ep of ["10.244.1.5:53", "10.244.2.5:53", "10.244.3.5:53"]) {
      expect(share(ep)).toBeGreaterThan(0.32);
      expect(share(ep)).toBeLessThan(0.347);
    }
    expect(pick(42, 50)).toEqual(picks.slice(0, 50));
    expect(pick(43, 50)).not.toEqual(picks.slice(0, 50));
  });
});

describe("the kube-proxy ruleset on packets", () => {
  it("pod → ClusterIP: DNAT to an endpoint, no masquerade mark for pod sources", () => {
    const node = makeNode();
    const nat = recordingNat();
    const e = new IptablesEngine({ rules: KUBE_PROXY_RULES, nat });
    const p = tcpPacket("10.244.1.9", 40000, "10.96.0.1", 443);
    expect(e.run("nat", ctxFor(node, Hook.PreRouting, p, { indev: node.cni0 }))).toBe(Verdict.Accept);
    expect(nat.calls).toEqual([{ manip: "dst", by: "nat/KUBE-SEP-VOCRBNOQZQYCYMMK", range: { minAddr: ip("192.168.0.10"), maxAddr: ip("192.168.0.10"), minPort: 6443, maxPort: 6443 } }]);
    expect(p.mark).toBe(0);
    // POSTROUTING: not marked, KUBE-POSTROUTING returns, no MASQUERADE.
    expect(e.run("nat", ctxFor(node, Hook.PostRouting, p))).toBe(Verdict.Accept);
    expect(nat.calls).toHaveLength(1);
  });

  it("outside → NodePort: marked for masquerade, DNAT, then MASQUERADE with the egress address and the mark cleared", () => {
    const node = makeNode();
    const nat = recordingNat();
    const e = new IptablesEngine({ rules: KUBE_PROXY_RULES, nat });
    const p = tcpPacket("192.168.0.99", 50000, "192.168.0.10", 30080);
    const { events, stop } = node.sim.trace.record();
    expect(e.run("nat", ctxFor(node, Hook.PreRouting, p))).toBe(Verdict.Accept);
    expect(p.mark).toBe(0x4000);
    expect(nat.calls[0].manip).toBe("dst");
    expect(["10.244.1.7", "10.244.2.7"]).toContain(formatIpv4(nat.calls[0].range.minAddr));
    // The endpoint is on cni0's subnet: MASQUERADE picks cni0's address.
    expect(e.run("nat", ctxFor(node, Hook.PostRouting, p, { outdev: node.cni0 }))).toBe(Verdict.Accept);
    stop();
    expect(p.mark).toBe(0);
    expect(nat.calls[1]).toEqual({ manip: "src", by: "nat/KUBE-POSTROUTING", range: { minAddr: ip("10.244.1.1"), maxAddr: ip("10.244.1.1"), minPort: 0, maxPort: 0, randomFully: true } });
    const path = events.filter((ev): ev is Extract<TraceEvent, { kind: "nf" }> => ev.kind === "nf").map((ev) => ev.chain);
    expect(path.slice(0, 5)).toEqual(["PREROUTING", "KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-EXT-WEBXXXXXXXXXXXXX", "KUBE-MARK-MASQ"]);
  });

  it("sessionAffinity: a client sticks to its endpoint for timeoutSeconds, then is balanced again", () => {
    const node = makeNode(5);
    const nat = recordingNat();
    const e = new IptablesEngine({ rules: KUBE_PROXY_RULES, nat });
    const connect = (client: string, port: number) => {
      e.run("nat", ctxFor(node, Hook.PreRouting, tcpPacket(client, port, "10.96.0.20", 80), { indev: node.cni0 }));
      return formatIpv4(nat.calls[nat.calls.length - 1].range.minAddr);
    };
    const first = connect("10.244.1.9", 1000);
    for (let i = 1; i < 50; i++) expect(connect("10.244.1.9", 1000 + i)).toBe(first);
    expect(e.recent(first === "10.244.1.7" ? "KUBE-SEP-WEBAAAAAAAAAAAA1" : "KUBE-SEP-WEBAAAAAAAAAAAA2")!.entries.size).toBe(1);
    // Other clients are spread over both endpoints.
    const others = new Set(Array.from({ length: 40 }, (_, i) => connect(`10.244.3.${i + 2}`, 2000)));
    expect(others.size).toBe(2);
    // After 10800 s without traffic the entry is stale: --rcheck misses and --reap drops it.
    node.sim.runFor(10801e9);
    const after = Array.from({ length: 40 }, (_, i) => connect("10.244.1.9", 3000 + i));
    expect(new Set(after).size).toBe(1);
  });

  it("filter: REJECT for a service without endpoints, INVALID dropped in FORWARD, masqueraded traffic accepted", () => {
    const node = makeNode();
    const e = new IptablesEngine({ rules: KUBE_PROXY_RULES });
    const { events, stop } = node.sim.trace.record();
    expect(e.run("filter", ctxFor(node, Hook.LocalOut, tcpPacket("10.244.1.9", 1, "10.96.0.50", 80), { ctstate: CtStateBit.New }))).toBe(Verdict.Drop);
    stop();
    expect(events.some((ev) => ev.kind === "icmp" && ev.type === 3 && ev.code === 3)).toBe(true);
    expect(e.run("filter", ctxFor(node, Hook.Forward, tcpPacket("10.244.1.9", 1, "10.244.2.9", 80), { ctstate: CtStateBit.Invalid }))).toBe(Verdict.Drop);
    const marked = tcpPacket("192.168.0.99", 1, "10.244.2.9", 8080);
    marked.mark = 0x4000;
    expect(e.run("filter", ctxFor(node, Hook.Forward, marked, { ctstate: CtStateBit.New | CtStateBit.Dnat }))).toBe(Verdict.Accept);
    // Load balancer firewall: only the source range gets through KUBE-FW, the rest is dropped in filter.
    expect(e.run("filter", ctxFor(node, Hook.Forward, tcpPacket("192.0.2.1", 1, "203.0.113.10", 80), { ctstate: CtStateBit.New }))).toBe(Verdict.Drop);
  });
});

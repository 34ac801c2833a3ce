// The iptables engine as the rule tables of installNetfilter: kube-proxy-style rules on a router
// between a client and an endpoint, through the real conntrack and NAT: ClusterIP DNAT with
// masquerade, replies un-NATed, ctstate in filter, REJECT's ICMP error walking OUTPUT while the
// FORWARD walk is still in progress.

import { describe, expect, it } from "vitest";
import { createUdpSocket } from "../../src/net/index.js";
import { IptablesEngine } from "../../src/netfilter/index.js";
import type { TraceEvent } from "../../src/sim/index.js";
import { routedTopo } from "./conntrack.fixtures.js";

const RULES = `*nat
:KUBE-SERVICES - [0:0]
:KUBE-SVC-DNS - [0:0]
:KUBE-SEP-A - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-DNS
-A KUBE-SVC-DNS -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 ! -s 10.0.2.0/24 -j KUBE-MARK-MASQ
-A KUBE-SVC-DNS -m comment --comment "kube-system/kube-dns:dns -> 10.0.2.2:5353" -j KUBE-SEP-A
-A KUBE-SEP-A -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.0.2.2:5353
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
COMMIT
*filter
:FORWARD DROP [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-SERVICES - [0:0]
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-SERVICES -m comment --comment "default/noep:dns has no endpoints" -m udp -p udp -d 10.96.0.50 --dport 53 -j REJECT
COMMIT
`;

describe("IptablesEngine under installNetfilter", () => {
  it("ClusterIP: DNAT to the endpoint, MASQUERADE to the router, the reply un-NATed to the Service", () => {
    const t = routedTopo();
    const engine = new IptablesEngine({ rules: RULES });
    t.nf.setRules(engine);
    const srv = createUdpSocket(t.server).bind(5353);
    srv.on("message", (_m, r) => srv.send("pong", r.port, r.address));
    const cli = createUdpSocket(t.client);
    cli.send("ping", 53, "10.96.0.10");
    t.sim.run();
    expect(srv.received.map((m) => [m.msg.toString(), m.rinfo.address])).toEqual([["ping", "10.0.2.1"]]);
    expect(cli.received.map((m) => [m.msg.toString(), m.rinfo.address, m.rinfo.port])).toEqual([["pong", "10.96.0.10", 53]]);
    const save = engine.save({ counters: true, header: false });
    // Only the first packet of the connection crosses the nat table; both packets cross filter FORWARD.
    expect(save).toContain("[1:32] -A KUBE-SEP-A -p udp -m comment --comment \"kube-system/kube-dns:dns\" -m udp -j DNAT --to-destination 10.0.2.2:5353");
    expect(save).toContain('[1:32] -A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully');
    expect(save).toContain('[1:32] -A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT');
    expect(save).toContain('[1:32] -A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
    expect(t.nf.list()[0]).toMatch(/^udp +17 \d+ src=10\.0\.1\.2 dst=10\.96\.0\.10 sport=\d+ dport=53 src=10\.0\.2\.2 dst=10\.0\.2\.1 sport=5353 /);
  });

  it("REJECT answers with port unreachable through OUTPUT while FORWARD is being walked", () => {
    const t = routedTopo();
    // A route for Service addresses (a node's default route): without one the router answers net unreachable before FORWARD.
    t.router.addRoute({ dst: "default", via: "10.0.2.2" });
    const engine = new IptablesEngine({ rules: RULES });
    t.nf.setRules(engine);
    const { events } = t.sim.trace.record();
    const cli = createUdpSocket(t.client);
    cli.send("ping", 53, "10.96.0.50");
    t.sim.run();
    const icmp = events.filter((e): e is Extract<TraceEvent, { kind: "icmp" }> => e.kind === "icmp");
    expect(icmp.map((e) => `${e.ns} ${e.action} ${e.type}/${e.code}`)).toEqual(["router send 3/3", "client recv 3/3"]);
    const nf = events.filter((e): e is Extract<TraceEvent, { kind: "nf" }> => e.kind === "nf");
    expect(nf.filter((e) => e.table === "filter").map((e) => `${e.hook} ${e.chain} ${e.verdict}`)).toEqual([
      "FORWARD FORWARD KUBE-FORWARD",
      "FORWARD KUBE-FORWARD RETURN",
      "FORWARD FORWARD KUBE-SERVICES",
      "FORWARD KUBE-SERVICES REJECT",
      // The ICMP error, sent from inside REJECT, walks OUTPUT (a nested walk) before FORWARD's DROP returns.
      "OUTPUT OUTPUT ACCEPT",
    ]);
  });
});

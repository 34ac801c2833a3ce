// The Linux twin of netfilter: the same router topology with the same rules loaded through the
// real iptables-restore on Linux and through kubewire's parser into its engine, the same exchange,
// compared hop by hop: DNAT and its reply, MASQUERADE on the way out, an ICMP port unreachable
// coming back through DNAT with its quoted header un-NATed, REJECT.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { createUdpSocket, NetCapture } from "../../src/net/index.js";
import { IptablesEngine, installNetfilter } from "../../src/netfilter/index.js";
import { describeLinux, useLinuxTwin } from "../helpers/linux.js";
import { tsharkProblems } from "../helpers/tshark.js";
import { routerBetweenSubnets } from "../net/topologies.js";
import { buildTwinRouter, captureTwin, expectSameHops, type Hop, kubewireHops } from "../net/twin-topologies.js";

const dir = mkdtempSync(join(tmpdir(), "kw-nf-twin-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOPS: Hop[] = [["host-a", "eth0"], ["router", "eth-a"], ["router", "eth-b"], ["host-b", "eth0"]];

const RULES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.96.0.10/32 -p udp -m udp --dport 8053 -j DNAT --to-destination 10.0.2.2:9053
-A PREROUTING -d 10.96.0.11/32 -p udp -m udp --dport 8053 -j DNAT --to-destination 10.0.2.2:9054
-A POSTROUTING -o eth-b -p udp -m udp --dport 7000 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -d 10.96.0.50/32 -p udp -m udp --dport 8053 -j REJECT --reject-with icmp-port-unreachable
COMMIT
`;

/** The clients' exchanges, one after the other, the same on both sides. */
const EXCHANGES = [
  { what: "DNAT and reply", dst: "10.96.0.10", port: 8053, srcPort: 40010, reply: true },
  { what: "MASQUERADE out of eth-b", dst: "10.0.2.2", port: 7000, srcPort: 40011, reply: true },
  { what: "port unreachable through DNAT", dst: "10.96.0.11", port: 8053, srcPort: 40012, reply: false },
  { what: "REJECT", dst: "10.96.0.50", port: 8053, srcPort: 40013, reply: false },
];

describeLinux("Linux twin: netfilter", () => {
  const twin = useLinuxTwin();

  it("DNAT, MASQUERADE, ICMP through DNAT, REJECT: hop by hop with the rules in the real iptables-restore", async () => {
    const t = twin();
    buildTwinRouter(t);
    // Service addresses are routed like a node routes them: by the default route (here towards host-b).
    t.route("router", "default via 10.0.2.2");
    t.iptablesRestore("router", RULES);
    await t.udpEcho("host-b", 9053);
    await t.udpEcho("host-b", 7000);
    const linux = await captureTwin(t, HOPS, async () => {
      for (const x of EXCHANGES) {
        const r = await t.udpRequest("host-a", x.dst, x.port, x.what, { srcPort: x.srcPort, timeoutMs: 700 });
        expect(r.reply !== undefined, `${x.what} on Linux`).toBe(x.reply);
        if (!x.reply) expect(r.refused, `${x.what} refused on Linux`).toBe(true);
      }
    });

    const k = routerBetweenSubnets();
    k.r.addRoute({ dst: "default", via: "10.0.2.2" });
    installNetfilter(k.r, { rules: new IptablesEngine({ rules: RULES, file: "rules.v4" }) });
    const file = join(dir, "nf.pcapng");
    const cap = new NetCapture(file).attachAll(k.a, k.r, k.b);
    for (const port of [9053, 7000]) {
      const s = createUdpSocket(k.b).bind(port);
      s.on("message", (m, r) => s.send(m, r.port, r.address));
    }
    const results: { reply: boolean; refused: boolean }[] = [];
    for (const x of EXCHANGES) {
      const c = createUdpSocket(k.a).bind(x.srcPort);
      c.connect(x.port, x.dst);
      c.send(x.what);
      k.sim.runFor(200e6);
      results.push({ reply: c.received.length > 0, refused: c.errors.some((e) => e.code === "ECONNREFUSED") });
    }
    cap.close();
    expect(results).toEqual(EXCHANGES.map((x) => ({ reply: x.reply, refused: !x.reply })));
    expectSameHops(kubewireHops(file, HOPS), linux);
    // The quoted header of the port unreachable that crossed the DNAT names the Service, not the endpoint.
    const icmps = kubewireHops(file, HOPS).get("host-a/eth0")!.filter((f) => f.icmp);
    expect(icmps.map((f) => f.icmp?.quoted && `${f.ip?.src} ${f.icmp.quoted.dst}:${f.icmp.quoted.dport}`)).toEqual(["10.96.0.11 10.96.0.11:8053", "10.0.1.1 10.96.0.50:8053"]);
    expect(tsharkProblems(file)).toEqual([]);
  });

  it("iptables-save of the twin → kubewire parse → kubewire print is identical, line for line", () => {
    const t = twin();
    t.ns("n");
    t.iptablesRestore("n", RULES);
    const linuxSave = t.iptablesSave("n");
    const strip = (s: string) =>
      s
        .split("\n")
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => l.replace(/\[\d+:\d+\]/, "[0:0]"));
    const ours = new IptablesEngine({ rules: linuxSave }).save({ header: false });
    expect(strip(ours)).toEqual(strip(linuxSave));
  });
});

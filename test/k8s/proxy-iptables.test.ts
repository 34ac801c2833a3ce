// kube-proxy's iptables rules from kubewire's Services and EndpointSlices, checked against the
// expected rule text of kube-proxy's own unit tests (pkg/proxy/iptables/proxier_test.go), after
// the same normalisation (sortIPTablesRules); and every output loaded by the iptables engine.

import { describe, expect, it } from "vitest";
import {
  computeProbability,
  IptablesProxier,
  iptablesEndpointChain,
  iptablesJumpsText,
  iptablesRestoreText,
  iptablesServiceChains,
  type ProxierConfig,
  type ProxyService,
} from "../../src/k8s/index.js";
import { IptablesEngine } from "../../src/netfilter/index.js";
import { describeLinux, useLinuxTwin } from "../helpers/linux.js";
import { OVERALL_IPTABLES, REPEATED } from "./proxy-expected.js";
import { chainRules, FAKE_IPTABLES_PROXIER, makeTestEndpointSlice, makeTestService, overallCase, sortIPTablesRules } from "./proxy-helpers.js";

/** The -m nfacct match is not in the engine: load the same rules as a node without nfacct writes them. */
function expectLoads(cfg: ProxierConfig, text: string): IptablesEngine {
  const e = new IptablesEngine();
  e.restore(cfg.nfacct ? text.replace(/ -m nfacct --nfacct-name \S+/g, "") : text, { noflush: true, file: "kube-proxy" });
  return e;
}

describe("chain names and probabilities (pkg/proxy/iptables/proxier.go)", () => {
  it("hash sha256(servicePortName + protocol [+ endpoint]) to base32, 16 characters", () => {
    expect(iptablesServiceChains("ns1/svc1:p80", "tcp")).toEqual({
      svc: "KUBE-SVC-XPGD46QRK7WJZT7O",
      svl: "KUBE-SVL-XPGD46QRK7WJZT7O",
      fw: "KUBE-FW-XPGD46QRK7WJZT7O",
      ext: "KUBE-EXT-XPGD46QRK7WJZT7O",
    });
    expect(iptablesEndpointChain("ns1/svc1:p80", "tcp", "10.180.0.1:80")).toBe("KUBE-SEP-SXIVWICOYRO3J4NJ");
  });

  it("format 1/n as %0.10f (TestComputeProbability), ties to even as Go does", () => {
    const expected: Record<number, string> = { 1: "1.0000000000", 2: "0.5000000000", 10: "0.1000000000", 100: "0.0100000000", 1000: "0.0010000000", 10000: "0.0001000000", 100000: "0.0000100000", 100001: "0.0000099999" };
    for (const [n, s] of Object.entries(expected)) expect(computeProbability(Number(n))).toBe(s);
    expect(computeProbability(2048)).toBe("0.0004882812");
    expect(computeProbability(3)).toBe("0.3333333333");
    let prev = 0;
    let ordered = true;
    for (let i = 100000; i > 1; i--) {
      const p = Number(computeProbability(i));
      ordered &&= p > prev;
      prev = p;
    }
    expect(ordered).toBe(true);
  });
});

describe("TestOverallIPTablesRules", () => {
  it("gives kube-proxy's rules for ClusterIP, NodePort, LoadBalancer (Local and Cluster, source ranges, affinity), external IPs and no endpoints", () => {
    const { services, slices } = overallCase();
    const text = iptablesRestoreText(FAKE_IPTABLES_PROXIER, services, slices);
    expect(sortIPTablesRules(text)).toBe(OVERALL_IPTABLES.trimStart());
    expectLoads(FAKE_IPTABLES_PROXIER, text);
  });

  it("a real node's variant (no nfacct, --random-fully, mark 0x00004000) loads and saves as iptables-save prints it", () => {
    const { services, slices } = overallCase();
    const cfg: ProxierConfig = { ...FAKE_IPTABLES_PROXIER, masqueradeMark: undefined, randomFully: true, nfacct: false };
    const text = iptablesRestoreText(cfg, services, slices);
    expect(text).toContain("-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000\n");
    expect(text).toContain('-j MASQUERADE --random-fully\n');
    const saved = expectLoads(cfg, text).save({ header: false });
    expect(saved).toContain("-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n");
    expect(saved).toContain('-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully\n');
    expect(saved).toContain(
      '-A KUBE-SVC-XPGD46QRK7WJZT7O ! -s 10.0.0.0/8 -d 172.30.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ\n',
    );
    expect(saved).toContain(
      '-A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.180.0.4:80" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-UKSFD7AGPMPPLUHC\n',
    );
    expect(saved).toContain('-A KUBE-SEP-I77PXRDZVX7PMWMN -p tcp -m comment --comment "ns5/svc5:p80" -m recent --set --name KUBE-SEP-I77PXRDZVX7PMWMN --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.180.0.3:80\n');
    // iptables-save quotes every comment with a character outside [A-Za-z0-9_-] (xtables_save_string).
    expect(saved).toContain('-A KUBE-SEP-SXIVWICOYRO3J4NJ -s 10.180.0.1/32 -m comment --comment "ns1/svc1:p80" -j KUBE-MARK-MASQ\n');
    expect(saved).toContain("-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0\n");
  });
});

describe("single chains", () => {
  it("TestMasqueradeRule: KUBE-POSTROUTING with and without --random-fully", () => {
    for (const randomFully of [false, true]) {
      const text = iptablesRestoreText({ ...FAKE_IPTABLES_PROXIER, randomFully }, [], []);
      expect(chainRules(text, "nat", "KUBE-POSTROUTING")).toEqual([
        "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
        "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000",
        `-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${randomFully ? " --random-fully" : ""}`,
      ]);
    }
  });

  it("TestDropInvalidRule: the INVALID drop with and without nfacct, none with nf_conntrack_tcp_be_liberal", () => {
    const forward = [
      '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
      '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    ];
    const cases: [Partial<ProxierConfig>, string | null][] = [
      [{ nfacct: false, conntrackTCPLiberal: false }, "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP"],
      [{ nfacct: true, conntrackTCPLiberal: false }, "-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP"],
      [{ nfacct: false, conntrackTCPLiberal: true }, null],
    ];
    for (const [over, drop] of cases) {
      const text = iptablesRestoreText({ ...FAKE_IPTABLES_PROXIER, ...over }, [], []);
      expect(chainRules(text, "filter", "KUBE-FORWARD")).toEqual(drop === null ? forward : [drop, ...forward]);
    }
  });

  it("TestNodePorts: KUBE-FIREWALL only with localhost NodePorts; per-address tail calls with --nodeport-addresses", () => {
    const block =
      '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP';
    expect(chainRules(iptablesRestoreText(FAKE_IPTABLES_PROXIER, [], []), "filter", "KUBE-FIREWALL")).toEqual([block]);
    expect(chainRules(iptablesRestoreText({ ...FAKE_IPTABLES_PROXIER, localhostNodePorts: false }, [], []), "filter", "KUBE-FIREWALL")).toEqual([]);
    const noLocal = iptablesRestoreText({ ...FAKE_IPTABLES_PROXIER, localhostNodePorts: false }, [], []);
    expect(chainRules(noLocal, "nat", "KUBE-SERVICES").at(-1)).toContain("-m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS");
    const some = iptablesRestoreText({ ...FAKE_IPTABLES_PROXIER, localhostNodePorts: false, nodePortAddresses: ["192.168.0.0/24", "127.0.0.1/32"] }, [], []);
    expect(chainRules(some, "nat", "KUBE-SERVICES")).toEqual([
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 192.168.0.2 -j KUBE-NODEPORTS',
    ]);
  });
});

describe("TestSyncProxyRulesRepeated: partial syncs rewrite only what changed, stale chains are deleted", () => {
  it("follows kube-proxy step by step, and every step loads on top of the previous ones", () => {
    const p = new IptablesProxier(FAKE_IPTABLES_PROXIER);
    const engine = new IptablesEngine();
    const svc = (ns: string, name: string, ip: string, port: string, n: number) =>
      makeTestService(ns, name, (s, ports) => {
        s.spec.clusterIP = ip;
        ports([{ name: port, port: n }]);
      });
    const services = new Map([
      ["svc1", svc("ns1", "svc1", "172.30.0.41", "p80", 80)],
      ["svc2", svc("ns2", "svc2", "172.30.0.42", "p8080", 8080)],
    ]);
    const slices = new Map([
      ["svc1", makeTestEndpointSlice("ns1", "svc1", 1, [{ addresses: ["10.0.1.1"] }], [{ name: "p80", port: 80 }])],
      ["svc2", makeTestEndpointSlice("ns2", "svc2", 1, [{ addresses: ["10.0.2.1"] }], [{ name: "p8080", port: 8080 }])],
    ]);
    const step = (expected: string) => {
      const r = p.sync(services.values(), slices.values());
      expect(sortIPTablesRules(r.text)).toBe(expected);
      engine.restore(r.text.replace(/ -m nfacct --nfacct-name \S+/g, ""), { noflush: true });
    };
    step(REPEATED.initial);
    services.set("svc3", svc("ns3", "svc3", "172.30.0.43", "p80", 80));
    slices.set("svc3", makeTestEndpointSlice("ns3", "svc3", 1, [{ addresses: ["10.0.3.1"] }], [{ name: "p80", port: 80 }]));
    step(REPEATED.addSvc3);
    services.delete("svc2");
    step(REPEATED.deleteSvc2);
    services.set("svc4", svc("ns4", "svc4", "172.30.0.44", "p80", 80));
    step(REPEATED.addSvc4);
    slices.set("svc4", makeTestEndpointSlice("ns4", "svc4", 1, [{ addresses: ["10.0.4.1"] }], [{ name: "p80", port: 80 }]));
    step(REPEATED.addSvc4Endpoints);
    slices.set("svc3", makeTestEndpointSlice("ns3", "svc3", 1, [{ addresses: ["10.0.3.2"] }], [{ name: "p80", port: 80 }]));
    step(REPEATED.changeSvc3Endpoint);
    slices.set("svc3", makeTestEndpointSlice("ns3", "svc3", 1, [{ addresses: ["10.0.3.2"] }, { addresses: ["10.0.3.3"] }], [{ name: "p80", port: 80 }]));
    step(REPEATED.addSvc3Endpoint);
    step(REPEATED.noChanges);
    // What is on the node now is what a full sync would write.
    const full = new IptablesEngine();
    const again = new IptablesProxier(FAKE_IPTABLES_PROXIER).sync(services.values(), slices.values());
    full.restore(again.text.replace(/ -m nfacct --nfacct-name \S+/g, ""), { noflush: true });
    expect(engine.save({ header: false })).toBe(full.save({ header: false }));
  });
});

describe("large cluster mode (more than 1000 endpoints)", () => {
  it("drops the per-endpoint comments (TestEndpointCommentElision)", () => {
    const services: ProxyService[] = [];
    const slices = [];
    for (let i = 0; i < 101; i++) {
      services.push(
        makeTestService("ns", `svc${i}`, (s, ports) => {
          s.spec.clusterIP = `172.30.${i >> 8}.${i & 0xff}`;
          ports([{ name: "p80", port: 80 }]);
        }),
      );
      slices.push(makeTestEndpointSlice("ns", `svc${i}`, 1, Array.from({ length: 10 }, (_, j) => ({ addresses: [`10.${i}.0.${j + 1}`] })), [{ name: "p80", port: 80 }]));
    }
    const text = iptablesRestoreText(FAKE_IPTABLES_PROXIER, services, slices);
    const sep = text.split("\n").filter((l) => l.startsWith("-A KUBE-SEP-"));
    expect(sep).toHaveLength(2020);
    expect(sep.some((l) => l.includes("--comment"))).toBe(false);
    expect(text).toContain(`-A ${iptablesEndpointChain("ns/svc0:p80", "tcp", "10.0.0.1:80")} -m tcp -p tcp -j DNAT --to-destination 10.0.0.1:80\n`);
    expectLoads(FAKE_IPTABLES_PROXIER, text);
  });
});

describeLinux("the real iptables-restore (1.8.9, nf_tables) in a throwaway netns", () => {
  const twin = useLinuxTwin();
  it("accepts the jumps and a sync, and iptables-save prints what the engine's save prints", () => {
    const { services, slices } = overallCase();
    const cfg: ProxierConfig = { ...FAKE_IPTABLES_PROXIER, masqueradeMark: undefined, randomFully: true, nfacct: false };
    const jumps = iptablesJumpsText();
    const sync = iptablesRestoreText(cfg, services, slices);
    const t = twin();
    const ns = t.ns("node");
    t.exec(ns, ["iptables-restore", "--noflush"], { input: jumps });
    t.exec(ns, ["iptables-restore", "--noflush", "--counters"], { input: sync });
    const real = t.exec(ns, ["iptables-save"]).split("\n").filter((l) => !l.startsWith("#")).join("\n");
    const e = new IptablesEngine();
    e.restore(jumps, { noflush: true });
    e.restore(sync, { noflush: true, counters: true });
    expect(e.save({ header: false }).trimEnd()).toBe(real.trimEnd());
  });
});

// The KubeProxy controller and flanneld's masquerade rules on a running cluster: what each node
// lists (iptables-save, or nft list + iptables-save in nftables mode), flannel's FLANNEL-POSTRTG
// masquerading pod traffic that leaves the cluster, and re-syncs following the cluster.

import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Cluster, flannelMasqRules, flannelMasqText, KubeProxy, type ProxyMode, parseClusterConfig, parseManifests, sha256 } from "../../src/k8s/index.js";
import { createUdpSocket } from "../../src/net/index.js";
import { IptablesEngine } from "../../src/netfilter/index.js";

const CLUSTER = (mode: ProxyMode) => `
apiVersion: kubewire.dev/v1alpha1
kind: Cluster
name: ctl
nodes:
- {name: node-1, address: 192.168.50.11}
- {name: node-2, address: 192.168.50.12}
underlay: {cidr: 192.168.50.0/24, gateway: 192.168.50.1}
kubeProxy: {mode: ${mode}}
`;

const MANIFESTS = `
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {app: client}}
spec: {nodeName: node-1, containers: [{name: main}]}
---
apiVersion: v1
kind: Pod
metadata: {name: api, labels: {app: api}}
spec: {nodeName: node-2, containers: [{name: main, ports: [{containerPort: 8080, protocol: UDP}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec:
  clusterIP: 10.96.0.15
  selector: {app: api}
  ports: [{name: http, port: 80, targetPort: 8080, protocol: UDP}]
`;

function start(mode: ProxyMode) {
  const cfg = parseClusterConfig(CLUSTER(mode), "cluster.yaml");
  const m = parseManifests(MANIFESTS, { file: "m.yaml" });
  const c = Cluster.fromManifests(cfg.config!, m.objects);
  return { c, kp: KubeProxy.start(c) };
}

describe("flanneld's masquerade rules (MasqRules, ForwardRules)", () => {
  it("are written as flanneld writes them and load as iptables-restore input", () => {
    const o = { network: "10.244.0.0/16", subnet: "10.244.1.0/24" };
    expect(flannelMasqRules(o).map((r) => `${r.table} ${r.action} ${r.chain} ${r.spec}`)).toEqual([
      'nat -I POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG',
      'nat -A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN',
      'nat -A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
      'nat -A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
      'nat -A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
      'nat -A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
      'filter -I FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD',
      'filter -A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
      'filter -A FLANNEL-FWD -d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
    ]);
    const e = new IptablesEngine();
    e.restore(flannelMasqText(o), { noflush: true });
    expect(e.save({ header: false, tables: ["nat"] })).toContain('-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN\n');
  });

  it("masquerade a pod's traffic leaving the cluster to the node's address", () => {
    const { c } = start("iptables");
    const ext = createUdpSocket(c.addExternalHost("outside", "192.168.50.100")).bind(9000);
    c.pod("client").container().udpSocket().send("out", 9000, "192.168.50.100");
    c.sim.run();
    expect(ext.received.map((m) => m.rinfo.address)).toEqual(["192.168.50.11"]);
  });
});

describe("KubeProxy", () => {
  it("dump(): iptables-save of the node in iptables mode", () => {
    const { kp } = start("iptables");
    const d = kp.dump("node-1");
    expect(d.startsWith("*mangle\n")).toBe(true);
    expect(d).toContain('-A KUBE-SERVICES -d 10.96.0.15/32 -p udp -m comment --comment "default/api:http cluster IP" -m udp --dport 80 -j KUBE-SVC-');
    expect(d).toContain("-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n-A POSTROUTING -m comment --comment \"flanneld masq\" -j FLANNEL-POSTRTG\n");
    expect(() => kp.dump("node-9")).toThrow(/no node "node-9"/);
  });

  it("dump(): nft list of table ip kube-proxy, then iptables-save of flanneld's rules, in nftables mode", () => {
    const { kp } = start("nftables");
    const d = kp.dump("node-2");
    expect(d.startsWith('table ip kube-proxy {\n\tcomment "rules for kube-proxy"\n')).toBe(true);
    expect(d).toMatch(/elements = \{ 10\.96\.0\.15 \. udp \. 80 : goto service-[A-Z2-7]{8}-default\/api\/udp\/http \}/);
    expect(d).toContain("\t\telements = { 192.168.50.12 }\n");
    const iptables = d.slice(d.indexOf("*"));
    expect(iptables).toContain("FLANNEL-POSTRTG");
    expect(iptables).not.toContain("KUBE-");
  });

  it("follows the cluster: a new Service is synced on every node, then reached through its ClusterIP", () => {
    const { c, kp } = start("nftables");
    const before = kp.node("node-1").syncs;
    const m = parseManifests(
      `apiVersion: v1
kind: Service
metadata: {name: api2}
spec:
  clusterIP: 10.96.0.16
  selector: {app: api}
  ports: [{port: 81, targetPort: 8080, protocol: UDP}]`,
      { file: "late.yaml" },
    );
    c.addService(m.objects[0] as Parameters<Cluster["addService"]>[0]);
    expect(kp.node("node-1").syncs).toBe(before + 1);
    expect(kp.dump("node-1")).toContain("10.96.0.16 . udp . 81");
    const srv = c.pod("api").container().udpSocket().bind(8080);
    c.pod("client").container().udpSocket().send("late", 81, "10.96.0.16");
    c.sim.run();
    expect(srv.received.map((x) => x.msg.toString())).toEqual(["late"]);
    kp.stop();
  });
});

describe("sha256 (the chain-name hash)", () => {
  it("agrees with node:crypto across block boundaries and non-ASCII names", () => {
    for (const s of ["", "abc", "a".repeat(55), "a".repeat(56), "a".repeat(63), "a".repeat(64), "a".repeat(119), "x".repeat(1000), "ns1/svc1:p80tcp", "héllo/wörld"])
      expect(Buffer.from(sha256(s)).toString("hex")).toBe(createHash("sha256").update(s).digest("hex"));
  });
});

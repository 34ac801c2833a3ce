// kube-proxy end to end in kubewire: a two-node flannel VXLAN cluster with kube-proxy on both nodes,
// UDP through ClusterIPs and NodePorts, captured on every interface and checked hop by hop, with
// tshark finding no problem in any capture; the same scenario in both proxy modes gives the same frames.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Cluster, KubeProxy, type KubeProxyOptions, type ProxyMode, parseClusterConfig, parseManifests } from "../../src/k8s/index.js";
import { createUdpSocket, NetCapture } from "../../src/net/index.js";
import { type FrameSummary, summariseFile } from "../helpers/packets.js";
import { tsharkProblems } from "../helpers/tshark.js";

const dir = mkdtempSync(join(tmpdir(), "kw-kube-proxy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const VXLAN = { decodeAs: ["udp.port==8472,vxlan"] };

const CLUSTER = (mode: ProxyMode) => `
apiVersion: kubewire.dev/v1alpha1
kind: Cluster
name: proxy
seed: 11
nodes:
- {name: node-1, address: 192.168.50.11}
- {name: node-2, address: 192.168.50.12}
underlay:
  cidr: 192.168.50.0/24
  gateway: 192.168.50.1
cni: {backend: vxlan}
kubeProxy: {mode: ${mode}}
`;

const pod = (name: string, node: string, app: string, port?: number) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: ${app}}}
spec:
  nodeName: ${node}
  containers: [{name: main, image: busybox${port ? `, ports: [{name: dns, containerPort: ${port}, protocol: UDP}]` : ""}}]
`;

const MANIFESTS = [
  pod("client", "node-1", "client"),
  pod("web", "node-1", "web"),
  pod("dns-a", "node-2", "dns", 19999),
  `
apiVersion: v1
kind: Service
metadata: {name: dns}
spec:
  clusterIP: 10.96.0.10
  selector: {app: dns}
  ports: [{name: dns, port: 9999, targetPort: dns, protocol: UDP}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: 10.96.0.20
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, protocol: UDP}]
---
apiVersion: v1
kind: Service
metadata: {name: empty}
spec:
  clusterIP: 10.96.0.30
  ports: [{port: 80, protocol: UDP}]
---
apiVersion: v1
kind: Service
metadata: {name: dns-np}
spec:
  type: NodePort
  clusterIP: 10.96.0.40
  selector: {app: dns}
  ports: [{port: 9999, targetPort: dns, nodePort: 30053, protocol: UDP}]
---
apiVersion: v1
kind: Service
metadata: {name: dns-local}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  clusterIP: 10.96.0.50
  selector: {app: dns}
  ports: [{port: 9999, targetPort: dns, nodePort: 30054, protocol: UDP}]
`,
].join("\n---\n");

function cluster(mode: ProxyMode = "iptables", extra = "", opts: KubeProxyOptions = {}): { c: Cluster; kp: KubeProxy } {
  const cfg = parseClusterConfig(CLUSTER(mode), "cluster.yaml");
  if (!cfg.config) throw new Error(cfg.diagnostics.map((d) => d.message).join("\n"));
  const m = parseManifests(MANIFESTS + extra, { file: "manifests.yaml" });
  if (m.diagnostics.some((d) => d.severity === "error")) throw new Error(m.diagnostics.map((d) => d.message).join("\n"));
  const c = Cluster.fromManifests(cfg.config, m.objects);
  return { c, kp: KubeProxy.start(c, opts) };
}

/** An echo server on the pod's UDP port. */
function echo(c: Cluster, name: string, port: number) {
  const s = c.pod(name).container().udpSocket().bind(port);
  s.on("message", (msg, r) => s.send(msg, r.port, r.address));
  return s;
}

const udpFrames = (hops: Map<string, FrameSummary[]>, iface: string) => (hops.get(iface) ?? []).filter((f) => f.udp || f.icmp);

describe("kube-proxy on a flannel VXLAN cluster", () => {
  it("pod → ClusterIP (UDP) → pod on the other node over VXLAN; the reply is un-DNATed", () => {
    const { c } = cluster();
    const file = join(dir, "clusterip.pcapng");
    const cap = new NetCapture(file).attachAll(...c.namespaces());
    const srv = echo(c, "dns-a", 19999);
    const cli = c.pod("client").container().udpSocket();
    cli.send("query", 9999, "10.96.0.10");
    c.sim.run();
    cap.close();
    expect(srv.received.map((m) => m.rinfo.address)).toEqual(["10.244.0.2"]);
    expect(cli.received.map((m) => [m.msg.toString(), m.rinfo.address, m.rinfo.port])).toEqual([["query", "10.96.0.10", 9999]]);
    const hops = summariseFile(file);
    // Leaving the client: to the Service; inside the tunnel: to the endpoint, source untouched.
    expect(udpFrames(hops, "client/eth0")[0]).toMatchObject({ ip: { src: "10.244.0.2", dst: "10.96.0.10" }, udp: { dport: 9999 } });
    const tunnel = udpFrames(hops, "node-1/eth0")[0];
    expect(tunnel).toMatchObject({ ip: { src: "192.168.50.11", dst: "192.168.50.12" }, udp: { dport: 8472 } });
    expect(tunnel.vxlan?.inner).toMatchObject({ ip: { src: "10.244.0.2", dst: "10.244.1.2", ttl: 63 }, udp: { dport: 19999 } });
    expect(udpFrames(hops, "dns-a/eth0")[0]).toMatchObject({ ip: { src: "10.244.0.2", dst: "10.244.1.2", ttl: 62 }, udp: { dport: 19999 } });
    // The reply, as the client sees it: from the Service again.
    expect(udpFrames(hops, "client/eth0")[1]).toMatchObject({ ip: { src: "10.96.0.10", dst: "10.244.0.2" }, udp: { sport: 9999 } });
    expect(tsharkProblems(file, VXLAN)).toEqual([]);
  });

  it("hairpin: a pod reaching its own Service is masqueraded to cni0's address (KUBE-SEP's -s EP -j KUBE-MARK-MASQ)", () => {
    const { c } = cluster();
    const file = join(dir, "hairpin.pcapng");
    const cap = new NetCapture(file).attachAll(...c.namespaces());
    const srv = echo(c, "web", 8080);
    const cli = c.pod("web").container().udpSocket();
    cli.send("self", 80, "10.96.0.20");
    c.sim.run();
    cap.close();
    // Without the masquerade the pod would answer itself directly and drop the reply; through the node it works.
    expect(srv.received.map((m) => m.rinfo.address)).toEqual(["10.244.0.1"]);
    expect(cli.received.map((m) => [m.msg.toString(), m.rinfo.address, m.rinfo.port])).toEqual([["self", "10.96.0.20", 80]]);
    const atWeb = udpFrames(summariseFile(file), "web/eth0");
    expect(atWeb.map((f) => `${f.ip?.src}:${f.udp?.sport} > ${f.ip?.dst}:${f.udp?.dport}`)).toEqual([
      `10.244.0.3:${cli.localPort} > 10.96.0.20:80`,
      expect.stringMatching(/^10\.244\.0\.1:\d+ > 10\.244\.0\.3:8080$/),
      expect.stringMatching(/^10\.244\.0\.3:8080 > 10\.244\.0\.1:\d+$/),
      `10.96.0.20:80 > 10.244.0.3:${cli.localPort}`,
    ]);
    expect(tsharkProblems(file, VXLAN)).toEqual([]);
  });

  it("external host → NodePort, externalTrafficPolicy Cluster: masqueraded (to flannel.1's address on the way to the other node)", () => {
    const { c } = cluster();
    const ext = c.addExternalHost("client-ext", "192.168.50.100");
    const file = join(dir, "nodeport-cluster.pcapng");
    const cap = new NetCapture(file).attachAll(...c.namespaces());
    const srv = echo(c, "dns-a", 19999);
    const s = createUdpSocket(ext);
    s.send("np", 30053, "192.168.50.11");
    c.sim.run();
    s.send("np-local", 30053, "192.168.50.12");
    c.sim.run();
    cap.close();
    // MASQUERADE takes the egress device's address (nf_nat_masquerade_ipv4): flannel.1 holds 10.244.0.0/32
    // on the way to node-2's pod; to a pod on the node itself it is cni0's 10.244.1.1.
    expect(srv.received.map((m) => [m.msg.toString(), m.rinfo.address])).toEqual([
      ["np", "10.244.0.0"],
      ["np-local", "10.244.1.1"],
    ]);
    expect(s.received.map((m) => [m.msg.toString(), m.rinfo.address, m.rinfo.port])).toEqual([
      ["np", "192.168.50.11", 30053],
      ["np-local", "192.168.50.12", 30053],
    ]);
    const hops = summariseFile(file);
    expect(udpFrames(hops, "node-1/eth0")[0]).toMatchObject({ ip: { src: "192.168.50.100", dst: "192.168.50.11" }, udp: { dport: 30053 } });
    expect(udpFrames(hops, "node-1/flannel.1")[0]).toMatchObject({ ip: { src: "10.244.0.0", dst: "10.244.1.2" }, udp: { dport: 19999 } });
    expect(tsharkProblems(file, VXLAN)).toEqual([]);
  });

  it("external host → NodePort, externalTrafficPolicy Local: source preserved on the endpoint's node, dropped on the other", () => {
    const { c } = cluster();
    const ext = c.addExternalHost("client-ext", "192.168.50.100");
    const file = join(dir, "nodeport-local.pcapng");
    const cap = new NetCapture(file).attachAll(...c.namespaces());
    const srv = echo(c, "dns-a", 19999);
    const s = createUdpSocket(ext);
    s.send("to-node-2", 30054, "192.168.50.12");
    s.send("to-node-1", 30054, "192.168.50.11");
    c.sim.run();
    cap.close();
    expect(srv.received.map((m) => [m.msg.toString(), m.rinfo.address])).toEqual([["to-node-2", "192.168.50.100"]]);
    expect(s.received.map((m) => [m.msg.toString(), m.rinfo.address])).toEqual([["to-node-2", "192.168.50.12"]]);
    // node-1 has no local endpoint: KUBE-EXTERNAL-SERVICES drops it (no ICMP).
    expect(udpFrames(summariseFile(file), "node-1/eth0").filter((f) => f.ip?.src === "192.168.50.11")).toEqual([]);
    expect(tsharkProblems(file, VXLAN)).toEqual([]);
  });

  it("a Service with no endpoints: REJECT answers with ICMP port unreachable", () => {
    const { c } = cluster();
    const file = join(dir, "no-endpoints.pcapng");
    const cap = new NetCapture(file).attachAll(...c.namespaces());
    const cli = c.pod("client").container().udpSocket().connect(80, "10.96.0.30");
    cli.send("anyone?");
    c.sim.run();
    cap.close();
    expect(cli.errors.map((e) => e.code)).toEqual(["ECONNREFUSED"]);
    const icmp = udpFrames(summariseFile(file), "client/eth0").find((f) => f.icmp);
    // From the node, not the ClusterIP: the packet was being forwarded, so icmp_send picks the source by route (cni0's address).
    expect(icmp?.ip).toMatchObject({ src: "10.244.0.1", dst: "10.244.0.2" });
    expect(icmp?.icmp).toMatchObject({ type: 3, code: 3, quoted: { src: "10.244.0.2", dst: "10.96.0.30", dport: 80 } });
    expect(tsharkProblems(file, VXLAN)).toEqual([]);
  });

  it("… unless flanneld started after kube-proxy: FLANNEL-FWD, inserted first in FORWARD, accepts the pod's packet before KUBE-SERVICES", () => {
    const { c, kp } = cluster("iptables", "", { startOrder: "kube-proxy-first" });
    expect(kp.dump("node-1")).toMatch(/-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD\n-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall"/);
    const cli = c.pod("client").container().udpSocket().connect(80, "10.96.0.30");
    cli.send("anyone?");
    c.sim.run();
    expect(cli.errors).toEqual([]);
  });

  it("deleting a pod re-syncs the rules and flushes the UDP conntrack entries of its endpoint", () => {
    const { c, kp } = cluster("iptables", `\n---\n${pod("dns-b", "node-2", "dns", 19999)}`);
    const a = echo(c, "dns-a", 19999);
    const b = echo(c, "dns-b", 19999);
    const node1 = kp.node("node-1");
    // Two endpoints: the statistic match picks one per flow; new flows until one goes to dns-a.
    let s = c.pod("client").container().udpSocket();
    for (let i = 0; i < 20 && a.received.length === 0; i++) {
      s = c.pod("client").container().udpSocket();
      s.send("first", 9999, "10.96.0.10");
      c.sim.run();
    }
    expect(a.received.length).toBe(1);
    const flow = (l: string) => l.includes(`sport=${s.localPort} dport=9999 src=10.244.1.2 `);
    expect(node1.nf.list({ proto: "udp", origDst: "10.96.0.10" }).filter(flow)).toHaveLength(1);
    const syncs = node1.syncs;
    c.deletePod("dns-a");
    expect(node1.syncs).toBeGreaterThan(syncs);
    // The flow to the gone endpoint is flushed (conntrack -D --orig-dst 10.96.0.10 --reply-src 10.244.1.2 …),
    // so the next datagram of the same flow is a new connection, to dns-b.
    expect(node1.nf.list({ proto: "udp", origDst: "10.96.0.10" }).filter(flow)).toHaveLength(0);
    expect(node1.conntrackDeleted).toBeGreaterThan(0);
    s.send("second", 9999, "10.96.0.10");
    c.sim.run();
    expect(b.received.map((m) => m.msg.toString())).toContain("second");
    expect(s.received.map((m) => m.msg.toString())).toEqual(["first", "second"]);
    // The rules now name dns-b only.
    const dump = kp.dump("node-1");
    expect(dump).toContain('--comment "default/dns:dns -> 10.244.1.3:19999"');
    expect(dump).not.toContain("10.244.1.2:19999");
  });

  it("both modes give the same frames for the same scenario", () => {
    const run = (mode: ProxyMode) => {
      const { c } = cluster(mode);
      const ext = c.addExternalHost("client-ext", "192.168.50.100");
      const file = join(dir, `modes-${mode}.pcapng`);
      const cap = new NetCapture(file).attachAll(...c.namespaces());
      echo(c, "dns-a", 19999);
      echo(c, "web", 8080);
      const cli = c.pod("client").container().udpSocket();
      cli.send("q1", 9999, "10.96.0.10");
      c.pod("web").container().udpSocket().send("self", 80, "10.96.0.20");
      createUdpSocket(ext).send("np", 30053, "192.168.50.11");
      c.pod("client").container().udpSocket().connect(80, "10.96.0.30").send("nobody");
      c.sim.run();
      cap.close();
      expect(tsharkProblems(file, VXLAN)).toEqual([]);
      return summariseFile(file);
    };
    const ipt = run("iptables");
    const nft = run("nftables");
    expect([...nft.keys()].sort()).toEqual([...ipt.keys()].sort());
    for (const [iface, frames] of ipt) expect({ iface, frames: nft.get(iface) }).toEqual({ iface, frames });
    expect([...ipt.values()].flat().filter((f) => f.udp || f.icmp).length).toBeGreaterThan(20);
  });
});

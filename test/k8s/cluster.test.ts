// The cluster runtime: pods as namespaces on the CNI bridge, and pod-to-pod traffic across nodes
// over each backend, flat and NAT-free, asserted hop by hop from the capture.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { IpamExhaustedError } from "../../src/k8s/index.js";
import { NetCapture } from "../../src/net/index.js";
import { summariseFile } from "../helpers/packets.js";
import { tsharkJson, tsharkProblems } from "../helpers/tshark.js";
import { twoNodeCluster } from "./cluster-fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "kw-cluster-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const VXLAN = { decodeAs: ["udp.port==8472,vxlan"] };

describe("pods", () => {
  it("get .2, .3 … of their node's podCIDR, eth0 with the CNI MTU, a veth on cni0 with hairpin", () => {
    const c = twoNodeCluster("vxlan");
    expect(c.pod("client").ipString).toBe("10.244.0.2");
    expect(c.pod("neighbour").ipString).toBe("10.244.0.3");
    expect(c.pod("server").ipString).toBe("10.244.1.2");
    const n1 = c.node("node-1").ns;
    expect(n1.dumpRoutes()).toEqual([
      "10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1",
      "10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink",
      "192.168.50.0/24 dev eth0 proto kernel scope link src 192.168.50.11",
    ]);
    const eth0 = c.pod("client").ns.device("eth0");
    expect(eth0.mtu).toBe(1450);
    const host = c.pod("client").attachment.hostVeth;
    expect(host.name).toMatch(/^veth[0-9a-f]{8}$/);
    expect(host.master?.name).toBe("cni0");
    expect(c.pod("client").ns.dumpRoutes()).toEqual(["default via 10.244.0.1 dev eth0", "10.244.0.0/24 dev eth0 proto kernel scope link src 10.244.0.2"]);
  });

  it("two containers of one pod talk over localhost", () => {
    const c = twoNodeCluster("vxlan");
    const p = c.pod("client");
    const srv = p.container("sidecar").udpSocket().bind(8125, "127.0.0.1");
    p.container("main").udpSocket().send("metric:1|c", 8125, "127.0.0.1");
    c.sim.run();
    expect(srv.received.map((m) => [m.msg.toString(), m.rinfo.address])).toEqual([["metric:1|c", "127.0.0.1"]]);
  });

  it("a container restart closes its sockets and keeps the namespace and IP", () => {
    const c = twoNodeCluster("vxlan");
    const p = c.pod("server");
    const before = p.ns;
    const s = p.container("main").udpSocket().bind(9000);
    p.container("main").restart();
    expect(s.closed).toBe(true);
    expect(c.pod("server").ns).toBe(before);
    expect(c.pod("server").ipString).toBe("10.244.1.2");
    // The restarted container binds the same port again.
    expect(() => p.container("main").udpSocket().bind(9000)).not.toThrow();
  });

  it("deleting a pod frees its IP and veth; the next pod gets the next address (round-robin)", () => {
    const c = twoNodeCluster("vxlan");
    const node = c.node("node-1");
    const veth = c.pod("neighbour").attachment.hostVeth.name;
    c.deletePod("neighbour");
    expect(node.ns.devices.has(veth)).toBe(false);
    expect(node.ipam.ownerOf(0x0af40003)).toBeUndefined();
    const again = c.addPod({ ...c.pod("client").pod, metadata: { ...c.pod("client").pod.metadata, name: "late" } });
    expect(again.ipString).toBe("10.244.0.4");
  });

  it("IP exhaustion is a clear error for that pod", () => {
    const c = twoNodeCluster("vxlan");
    const tmpl = c.pod("client").pod;
    expect(() => {
      for (let i = 0; i < 300; i++) c.addPod({ ...tmpl, metadata: { ...tmpl.metadata, name: `p${i}` } });
    }).toThrow(IpamExhaustedError);
  });
});

describe("pods on one node", () => {
  it("talk through cni0 with ARP and no NAT", () => {
    const c = twoNodeCluster("vxlan");
    const file = join(dir, "same-node.pcapng");
    const cap = new NetCapture(file).attachAll(...c.namespaces());
    const srv = c.pod("neighbour").container().udpSocket().bind(9000);
    c.pod("client").container().udpSocket().send("hi", 9000, "10.244.0.3");
    c.sim.run();
    cap.close();
    expect(srv.received.map((m) => m.rinfo.address)).toEqual(["10.244.0.2"]);
    const atServer = summariseFile(file).get("neighbour/eth0")!;
    expect(atServer.map((f) => f.kind)).toEqual(["arp", "arp", "ipv4"]);
    expect(atServer[2].ip).toMatchObject({ src: "10.244.0.2", dst: "10.244.0.3", ttl: 64 });
    expect(summariseFile(file).get("node-1/eth0") ?? []).toEqual([]);
    expect(tsharkProblems(file)).toEqual([]);
  });
});

describe.each(["vxlan", "host-gw", "routed"] as const)("pods on two nodes over %s", (backend) => {
  it("are reached flat and NAT-free, the TTL decremented once per routing hop", () => {
    const c = twoNodeCluster(backend);
    const file = join(dir, `two-nodes-${backend}.pcapng`);
    const cap = new NetCapture(file).attachAll(...c.namespaces());
    const srv = c.pod("server").container().udpSocket().bind(9000);
    srv.on("message", (m, r) => srv.send(m, r.port, r.address));
    const cli = c.pod("client").container().udpSocket();
    cli.send("across", 9000, "10.244.1.2");
    c.sim.run();
    cap.close();
    expect(srv.received.map((m) => m.rinfo.address)).toEqual(["10.244.0.2"]);
    expect(cli.received.map((m) => [m.msg.toString(), m.rinfo.address])).toEqual([["across", "10.244.1.2"]]);
    const hops = summariseFile(file);
    const routingHops = backend === "routed" ? 3 : 2;
    const atServer = hops.get("server/eth0")!.filter((f) => f.udp);
    expect(atServer[0].ip).toMatchObject({ src: "10.244.0.2", dst: "10.244.1.2", ttl: 64 - routingHops });
    const onWire = hops.get("node-1/eth0")!.filter((f) => f.kind === "ipv4");
    if (backend === "vxlan") {
      expect(onWire[0]).toMatchObject({ ip: { src: "192.168.50.11", dst: "192.168.50.12", proto: 17 }, udp: { dport: 8472 } });
      const inner = tsharkJson(file, { ...VXLAN, filter: "vxlan && frame.interface_name == \"node-1/eth0\"" })[0] as { ip: { "ip.src": string; "ip.ttl": string }[] };
      expect(inner.ip[1]).toMatchObject({ "ip.src": "10.244.0.2", "ip.ttl": "63" });
      expect(hops.get("node-1/flannel.1")!.filter((f) => f.udp)[0].ip).toMatchObject({ src: "10.244.0.2", dst: "10.244.1.2", ttl: 63 });
    } else {
      expect(onWire[0]).toMatchObject({ ip: { src: "10.244.0.2", dst: "10.244.1.2", ttl: 63 }, udp: { dport: 9000 } });
    }
    expect(tsharkProblems(file, VXLAN)).toEqual([]);
  });
});

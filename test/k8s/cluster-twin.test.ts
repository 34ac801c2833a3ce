// The Linux twin of the two-node layouts: the same nodes, pods, cni0, veths and (for vxlan) a
// real flannel.1 with the neighbour, FDB and route entries flanneld installs, MACs copied from
// kubewire's cluster, captured with tcpdump on every interface and compared hop by hop.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { NetCapture } from "../../src/net/index.js";
import { describeLinux, useLinuxTwin } from "../helpers/linux.js";
import { type FrameSummary, summariseFile } from "../helpers/packets.js";
import { tsharkProblems } from "../helpers/tshark.js";
import { twoNodeCluster } from "./cluster-fixtures.js";
import { buildTwin } from "./cluster-twin-build.js";

const dir = mkdtempSync(join(tmpdir(), "kw-cluster-twin-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Ephemeral ports are the one thing two stacks may choose differently: the outer VXLAN source port. */
function normalise(frames: FrameSummary[]): FrameSummary[] {
  return frames.map((f) => (f.vxlan && f.udp ? { ...f, udp: { ...f.udp, sport: 0 } } : f));
}

describeLinux("Linux twin: two nodes", () => {
  const twin = useLinuxTwin();

  for (const backend of ["vxlan", "host-gw"] as const) {
    it(`${backend}: pod → pod across nodes and back, hop by hop`, async () => {
      const c = twoNodeCluster(backend);
      const hostVeth = (p: string) => c.pod(p).attachment.hostVeth.name;
      const hops: [string, string][] = [
        ["client", "eth0"],
        ["node-1", hostVeth("client")],
        ["node-1", "cni0"],
        ...(backend === "vxlan" ? ([["node-1", "flannel.1"]] as [string, string][]) : []),
        ["node-1", "eth0"],
        ["node-2", "eth0"],
        ...(backend === "vxlan" ? ([["node-2", "flannel.1"]] as [string, string][]) : []),
        ["node-2", "cni0"],
        ["node-2", hostVeth("server")],
        ["server", "eth0"],
      ];

      const t = twin();
      buildTwin(t, c, backend);
      await t.udpEcho("server", 9000);
      const caps = await Promise.all(hops.map(([ns, dev]) => t.capture(ns, dev)));
      const r = await t.udpRequest("client", "10.244.1.2", 9000, "across", { srcPort: 40000 });
      expect(r.reply?.toString()).toBe("across");
      const linux = new Map<string, FrameSummary[]>();
      for (let i = 0; i < hops.length; i++) linux.set(hops[i].join("/"), normalise(summariseFile(await caps[i].stop()).get("") ?? []));

      const file = join(dir, `${backend}.pcapng`);
      const cap = new NetCapture(file).attachAll(...c.namespaces());
      const srv = c.pod("server").container().udpSocket().bind(9000);
      srv.on("message", (m, rinfo) => srv.send(m, rinfo.port, rinfo.address));
      const cli = c.pod("client").container().udpSocket().bind(40000);
      cli.send("across", 9000, "10.244.1.2");
      c.sim.runFor(1e9);
      cap.close();
      expect(cli.received.map((m) => m.msg.toString())).toEqual(["across"]);
      const kw = summariseFile(file);
      // The comparison is not vacuous: the twin saw the datagram on every hop, encapsulated on the wire.
      for (const [hop, frames] of linux) expect(frames.some((f) => f.udp?.dport === 9000 || f.vxlan?.inner.udp?.dport === 9000), hop).toBe(true);
      if (backend === "vxlan") expect(linux.get("node-1/eth0")!.find((f) => f.vxlan)).toMatchObject({ ip: { df: false, ttl: 64 }, vxlan: { vni: 1, inner: { ip: { ttl: 63 } } } });
      for (const [hop, frames] of linux) expect(normalise(kw.get(hop) ?? []), `hop ${hop}`).toEqual(frames);
      expect(tsharkProblems(file, { decodeAs: ["udp.port==8472,vxlan"] })).toEqual([]);
    });
  }
});

// The Linux twin of kube-proxy's ClusterIP and NodePort paths: kubewire's own generated rules
// (kube-proxy's and flanneld's, as `kubewire dump … iptables` prints them) loaded through the real
// iptables-restore into a real two-node flannel VXLAN twin, the same exchange, compared hop by hop.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { KubeProxy } from "../../src/k8s/index.js";
import { NetCapture } from "../../src/net/index.js";
import { describeLinux, useLinuxTwin } from "../helpers/linux.js";
import { type FrameSummary, summariseFile } from "../helpers/packets.js";
import { tsharkProblems } from "../helpers/tshark.js";
import { TWO_PODS, twoNodeCluster } from "./cluster-fixtures.js";
import { buildTwin } from "./cluster-twin-build.js";

const dir = mkdtempSync(join(tmpdir(), "kw-proxy-twin-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MANIFESTS = `${TWO_PODS.replace("name: neighbour, labels: {app: server}", "name: neighbour, labels: {app: other}")}
---
apiVersion: v1
kind: Service
metadata: {name: server}
spec:
  type: NodePort
  clusterIP: 10.96.0.20
  selector: {app: server}
  ports: [{port: 80, targetPort: 9000, nodePort: 30080, protocol: UDP}]
`;

/** Ports chosen at random on each side (ephemeral, MASQUERADE --random-fully, VXLAN's flow hash) are not compared. */
const FIXED = new Set([80, 9000, 30080, 8472, 40000]);
function normalise(frames: FrameSummary[]): FrameSummary[] {
  const n = (f: FrameSummary): FrameSummary => ({
    ...f,
    udp: f.udp && { ...f.udp, sport: FIXED.has(f.udp.sport) ? f.udp.sport : 0, dport: FIXED.has(f.udp.dport) ? f.udp.dport : 0 },
    vxlan: f.vxlan && { ...f.vxlan, inner: n(f.vxlan.inner) },
  });
  return frames.filter((f) => f.kind === "ipv4").map(n);
}

describeLinux("Linux twin: kube-proxy", () => {
  const twin = useLinuxTwin();

  for (const path of [
    { what: "ClusterIP", to: "10.96.0.20", port: 80 },
    { what: "NodePort on node-2 (masqueraded)", to: "192.168.50.12", port: 30080 },
  ]) {
    it(`${path.what}: pod → ${path.to}:${path.port} → pod on node-2 and back, hop by hop`, async () => {
      const c = twoNodeCluster("vxlan", MANIFESTS);
      const kp = KubeProxy.start(c);
      const hops: [string, string][] = [
        ["client", "eth0"],
        ["node-1", "cni0"],
        ["node-1", "eth0"],
        ["node-2", "eth0"],
        ["node-2", "cni0"],
        ["server", "eth0"],
      ];

      const t = twin();
      buildTwin(t, c, "vxlan");
      for (const node of ["node-1", "node-2"]) t.iptablesRestore(node, kp.node(node).iptablesSave());
      await t.udpEcho("server", 9000);
      const caps = await Promise.all(hops.map(([ns, dev]) => t.capture(ns, dev)));
      const r = await t.udpRequest("client", path.to, path.port, "via the service", { srcPort: 40000 });
      expect(r.reply?.toString()).toBe("via the service");
      const linux = new Map<string, FrameSummary[]>();
      for (let i = 0; i < hops.length; i++) linux.set(hops[i].join("/"), normalise(summariseFile(await caps[i].stop()).get("") ?? []));

      const file = join(dir, `${path.port}.pcapng`);
      const cap = new NetCapture(file).attachAll(...c.namespaces());
      const srv = c.pod("server").container().udpSocket().bind(9000);
      srv.on("message", (m, rinfo) => srv.send(m, rinfo.port, rinfo.address));
      const cli = c.pod("client").container().udpSocket().bind(40000);
      cli.connect(path.port, path.to);
      cli.send("via the service");
      c.sim.runFor(1e9);
      cap.close();
      expect(cli.received.map((m) => [m.msg.toString(), m.rinfo.address])).toEqual([["via the service", path.to]]);
      const kw = summariseFile(file);
      for (const [hop, frames] of linux) {
        expect(frames.length, `the twin saw the exchange on ${hop}`).toBeGreaterThan(0);
        expect(normalise(kw.get(hop) ?? []), `hop ${hop}`).toEqual(frames);
      }
      expect(tsharkProblems(file, { decodeAs: ["udp.port==8472,vxlan"] })).toEqual([]);
    });
  }
});

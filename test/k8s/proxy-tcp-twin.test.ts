// The Linux twin of a TCP Service: kubewire's own generated rules (kube-proxy's and flanneld's)
// loaded through the real iptables-restore into a real two-node flannel VXLAN twin, a python
// client connecting through the ClusterIP and the NodePort to a python echo server on node-2,
// writing, reading the echo and closing; kubewire runs the same. Compared hop by hop: the
// handshake field by field (addresses as NAT left them, inner and outer, flags, relative seq/ack,
// window, options, MSS, window scale, TTL, DF) and the addresses of every segment of the
// connection (NAT on each hop, both directions). Ports picked at random on either side
// (ephemeral, --random-fully, VXLAN's flow hash) are not compared.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { KubeProxy } from "../../src/k8s/index.js";
import { createTcpConnection, createTcpServer, NetCapture, runUntilSettled } from "../../src/net/index.js";
import { describeLinux, useLinuxTwin } from "../helpers/linux.js";
import { tsharkFieldLists, tsharkProblems } from "../helpers/tshark.js";
import { flagString } from "../net/tcp-helpers.js";
import { TWO_PODS, twoNodeCluster } from "./cluster-fixtures.js";
import { buildTwin } from "./cluster-twin-build.js";

const dir = mkdtempSync(join(tmpdir(), "kw-proxy-tcp-twin-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const VXLAN = ["udp.port==8472,vxlan"];

const MANIFESTS = `${TWO_PODS.replace("name: neighbour, labels: {app: server}", "name: neighbour, labels: {app: other}").replace("containerPort: 9000, protocol: UDP", "containerPort: 9000, protocol: TCP")}
---
apiVersion: v1
kind: Service
metadata: {name: server}
spec:
  type: NodePort
  clusterIP: 10.96.0.20
  selector: {app: server}
  ports: [{port: 80, targetPort: 9000, nodePort: 30080}]
`;

const FIXED = new Set([80, 9000, 30080, 8472, 40000]);
const port = (p: string) => (FIXED.has(Number(p)) ? Number(p) : 0);

interface Seg {
  outer?: string;
  addrs: string;
  flags: string;
  seq: number;
  ack: number;
  win: number;
  len: number;
  ttl: number;
  df: boolean;
  options: number[];
  mss?: number;
  wscale?: number;
}

/** The TCP segments of one hop (a pcap of one interface, or one interface of a pcapng), inner headers for VXLAN. */
function segments(file: string, iface?: string): Seg[] {
  const fields = ["ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "tcp.flags", "tcp.seq", "tcp.ack", "tcp.window_size_value", "tcp.len", "ip.ttl", "ip.flags.df", "tcp.option_kind", "tcp.options.mss_val", "tcp.options.wscale.shift"];
  const filter = iface ? `tcp && frame.interface_name == "${iface}"` : "tcp";
  return tsharkFieldLists(file, fields, { filter, decodeAs: VXLAN }).map((r) => {
    const src = r["ip.src"];
    const dst = r["ip.dst"];
    const s: Seg = {
      addrs: `${src.at(-1)}:${port(r["tcp.srcport"][0])} > ${dst.at(-1)}:${port(r["tcp.dstport"][0])}`,
      flags: flagString(Number.parseInt(r["tcp.flags"][0], 16)),
      seq: Number(r["tcp.seq"][0]),
      ack: Number(r["tcp.ack"][0]),
      win: Number(r["tcp.window_size_value"][0]),
      len: Number(r["tcp.len"][0]),
      ttl: Number(r["ip.ttl"].at(-1)),
      df: ["1", "True"].includes(r["ip.flags.df"].at(-1) ?? ""),
      options: r["tcp.option_kind"].map(Number),
    };
    if (src.length > 1) s.outer = `${src[0]} > ${dst[0]} ttl ${r["ip.ttl"][0]}`;
    if (r["tcp.options.mss_val"].length) s.mss = Number(r["tcp.options.mss_val"][0]);
    if (r["tcp.options.wscale.shift"].length) s.wscale = Number(r["tcp.options.wscale.shift"][0]);
    return s;
  });
}

const PY_ECHO = `
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9000)); s.listen(8); print("listening", flush=True)
c, _ = s.accept()
while True:
    d = c.recv(65536)
    if not d: break
    c.sendall(d)
c.close(); print("done", flush=True)
`;
const PY_CLIENT = `
import socket, sys
c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); c.bind(("0.0.0.0", 40000))
c.connect((sys.argv[1], int(sys.argv[2]))); c.sendall(b"via the service"); got = b""
while len(got) < 15: got += c.recv(100)
c.close(); print("got", got.decode(), flush=True)
`;

const HOPS: [string, string][] = [
  ["client", "eth0"],
  ["node-1", "cni0"],
  ["node-1", "eth0"],
  ["node-2", "eth0"],
  ["node-2", "cni0"],
  ["server", "eth0"],
];

describeLinux("Linux twin: kube-proxy, TCP", () => {
  const twin = useLinuxTwin();

  for (const path of [
    { what: "ClusterIP", to: "10.96.0.20", port: 80 },
    { what: "NodePort on node-2 (masqueraded)", to: "192.168.50.12", port: 30080 },
  ]) {
    it(`${path.what}: connect, echo, close through ${path.to}:${path.port}, hop by hop`, async () => {
      const c = twoNodeCluster("vxlan", MANIFESTS);
      const kp = KubeProxy.start(c);

      const t = twin();
      buildTwin(t, c, "vxlan");
      for (const node of ["node-1", "node-2"]) t.iptablesRestore(node, kp.node(node).iptablesSave());
      const srv = t.spawn("server", ["python3", "-c", PY_ECHO]);
      await srv.waitFor(/listening/);
      const caps = await Promise.all(HOPS.map(([ns, dev]) => t.capture(ns, dev, { filter: "tcp or udp port 8472" })));
      expect(t.exec("client", ["python3", "-c", PY_CLIENT, path.to, String(path.port)])).toContain("got via the service");
      await srv.exited;
      await new Promise((r) => setTimeout(r, 200));
      const linux = new Map<string, Seg[]>();
      for (let i = 0; i < HOPS.length; i++) linux.set(HOPS[i].join("/"), segments(await caps[i].stop()));

      const file = join(dir, `${path.port}.pcapng`);
      const cap = new NetCapture(file).attachAll(...c.namespaces());
      createTcpServer(c.pod("server").ns, {}, (s) => s.on("data", (d: Buffer) => s.write(d))).listen(9000);
      let got = "";
      const cli = createTcpConnection(c.pod("client").ns, { host: path.to, port: path.port, localPort: 40000 }, () => cli.write("via the service"));
      cli.on("data", (d: Buffer) => {
        got += d.toString();
        if (got.length >= 15) cli.end();
      });
      await runUntilSettled(c.sim, { until: 2e9 });
      cap.close();
      expect(got).toBe("via the service");

      for (const [hop, frames] of linux) {
        const kw = segments(file, hop);
        expect(frames.length, `the twin saw the connection on ${hop}`).toBeGreaterThanOrEqual(8);
        // The handshake, every field compared.
        expect(kw.slice(0, 3), `handshake on ${hop}`).toEqual(frames.slice(0, 3));
        // Every segment's addresses as NAT left them on this hop, each way (Linux's ACK timing follows wall time: not the count).
        expect(new Set(kw.map((s) => s.addrs)), `addresses on ${hop}`).toEqual(new Set(frames.map((s) => s.addrs)));
        // Both FINs crossed every hop.
        expect(kw.filter((s) => s.flags.includes("F")).length, `FINs on ${hop}`).toBe(frames.filter((s) => s.flags.includes("F")).length);
      }
      // What the comparison stood on: a flannel pod's SYN (MTU 1450) and the tunnel's outer header.
      expect(linux.get("client/eth0")![0]).toMatchObject({ flags: "S", mss: 1410, wscale: 10, win: 64860, options: [2, 4, 8, 1, 3] });
      const first = linux.get("node-1/eth0")![0];
      if (path.port === 30080) {
        // To a node's address the SYN leaves node-1 unencapsulated, masqueraded to node-1's address by flannel's rules.
        expect(first.outer).toBeUndefined();
        expect(first.addrs).toMatch(/^192\.168\.50\.11:\d+ > 192\.168\.50\.12:30080$/);
      } else expect(first.outer).toMatch(/^192\.168\.50\.1[12] > 192\.168\.50\.1[12] ttl 64$/);
      expect(linux.get("client/eth0")![0].addrs).toBe(`10.244.0.2:40000 > ${path.to}:${path.port}`);
      expect(tsharkProblems(file, { decodeAs: VXLAN })).toEqual([]);
    });
  }
});

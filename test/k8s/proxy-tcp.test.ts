// TCP Services end to end in kubewire: a two-node flannel VXLAN cluster with kube-proxy on both
// nodes. node:http over the emulated socket from a pod to a ClusterIP whose endpoint is on the
// other node (the handshake DNATed on the client's node, un-DNATed on the way back, hop by hop);
// NodePort (masqueraded with --random-fully; externalTrafficPolicy Local keeping the source),
// LoadBalancer and hairpin in both kube-proxy modes, with the same frames from both; conntrack's
// TCP states as `conntrack -L` prints them; tshark finds nothing wrong on any interface.
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Cluster, KubeProxy, type ProxyMode, parseClusterConfig, parseManifests } from "../../src/k8s/index.js";
import { createTcpConnection, createTcpServer, NetCapture, type NetNamespace, runUntilSettled } from "../../src/net/index.js";
import { tsharkFields, tsharkProblems } from "../helpers/tshark.js";

const dir = mkdtempSync(join(tmpdir(), "kw-proxy-tcp-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const VXLAN = { decodeAs: ["udp.port==8472,vxlan"] };

const CLUSTER = (mode: ProxyMode) => `
apiVersion: kubewire.dev/v1alpha1
kind: Cluster
name: proxy-tcp
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

const pod = (name: string, node: string, app: string) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: ${app}}}
spec:
  nodeName: ${node}
  containers: [{name: main, image: busybox, ports: [{name: web, containerPort: 8080}]}]
`;

const MANIFESTS = [
  pod("client", "node-1", "client"),
  pod("web", "node-1", "web"),
  pod("backend", "node-2", "backend"),
  `
apiVersion: v1
kind: Service
metadata: {name: backend}
spec:
  clusterIP: 10.96.0.10
  selector: {app: backend}
  ports: [{name: http, port: 80, targetPort: web}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: 10.96.0.20
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: backend-np}
spec:
  type: NodePort
  clusterIP: 10.96.0.40
  selector: {app: backend}
  ports: [{port: 80, targetPort: web, nodePort: 30080}]
---
apiVersion: v1
kind: Service
metadata: {name: backend-local}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  clusterIP: 10.96.0.50
  selector: {app: backend}
  ports: [{port: 80, targetPort: web, nodePort: 30081}]
---
apiVersion: v1
kind: Service
metadata: {name: empty}
spec:
  clusterIP: 10.96.0.30
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: backend-lb}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.60
  selector: {app: backend}
  ports: [{port: 80, targetPort: web, nodePort: 30082}]
status: {loadBalancer: {ingress: [{ip: 203.0.113.10}]}}
`,
].join("\n---\n");

function cluster(mode: ProxyMode): { c: Cluster; kp: KubeProxy; laptop: NetNamespace } {
  const cfg = parseClusterConfig(CLUSTER(mode), "cluster.yaml");
  if (!cfg.config) throw new Error(cfg.diagnostics.map((d) => d.message).join("\n"));
  const m = parseManifests(MANIFESTS, { file: "manifests.yaml" });
  if (m.diagnostics.some((d) => d.severity === "error")) throw new Error(m.diagnostics.map((d) => d.message).join("\n"));
  const c = Cluster.fromManifests(cfg.config, m.objects);
  const kp = KubeProxy.start(c);
  const laptop = c.addExternalHost("laptop", "192.168.50.100");
  // The cloud load balancer's part: 203.0.113.10 reaches node-1 unchanged.
  laptop.addRoute({ dst: "203.0.113.10/32", via: "192.168.50.11" });
  return { c, kp, laptop };
}

/** A TCP echo server on port 8080 of a pod; records the peer of every connection it accepts. */
function echo(c: Cluster, name: string): string[] {
  const peers: string[] = [];
  createTcpServer(c.pod(name).ns, {}, (s) => {
    peers.push(`${s.remoteAddress}:${s.remotePort}`);
    s.on("data", (d: Buffer) => s.write(d));
  }).listen(8080);
  return peers;
}

interface Exchange {
  reply: string;
  error?: string;
  local: string;
  closed: boolean;
}

/** Connects from `ns`, writes `msg`, reads the echo, closes (unless `keepOpen`). Run the clock to see it through. */
function connect(ns: NetNamespace, host: string, port: number, msg: string, opts: { localPort?: number; keepOpen?: boolean } = {}): Exchange {
  const x: Exchange = { reply: "", local: "", closed: false };
  const s = createTcpConnection(ns, { host, port, localPort: opts.localPort }, () => {
    x.local = `${s.localAddress}:${s.localPort}`;
    s.write(msg);
  });
  s.on("data", (d: Buffer) => {
    x.reply += d.toString();
    if (x.reply.length >= msg.length && !opts.keepOpen) s.end();
  });
  s.on("error", (e: NodeJS.ErrnoException) => {
    x.error = e.code;
  });
  s.on("close", () => {
    x.closed = true;
  });
  return x;
}

const settle = (c: Cluster, ms = 2000) => runUntilSettled(c.sim, { until: c.sim.now + ms * 1e6 });

/** "iface src:sport > dst:dport FLAGS" of each TCP segment (inner addresses inside VXLAN). */
function hops(file: string, filter: string): string[] {
  const last = (v: string) => v.split(",").at(-1);
  return tsharkFields(file, ["frame.interface_name", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "tcp.flags.str"], { ...VXLAN, filter: `tcp && !icmp && (${filter})` }).map(
    (r) => `${r["frame.interface_name"]} ${last(r["ip.src"])}:${r["tcp.srcport"]} > ${last(r["ip.dst"])}:${r["tcp.dstport"]} ${r["tcp.flags.str"].replace(/·/g, "")}`,
  );
}

/** Every per-interface capture in `perIf` (loopbacks aside) passes tshark with no warning but expected resets. */
function expectCleanPerInterface(perIf: string): void {
  const files = readdirSync(perIf).filter((f) => !f.endsWith("_lo.pcap"));
  expect(files.length).toBeGreaterThan(8);
  for (const f of files) {
    const problems = tsharkProblems(join(perIf, f), { ...VXLAN, minSeverity: "warning" });
    expect({ f, problems }).toEqual({ f, problems: [] });
  }
}

describe("TCP Services on a flannel VXLAN cluster", () => {
  it("node:http from a pod to a ClusterIP: the backend on the other node answers; the SYN is DNATed on node-1, the SYN-ACK un-DNATed", async () => {
    const { c } = cluster("iptables");
    const file = join(dir, "http.pcapng");
    const perIf = join(dir, "http-if");
    mkdirSync(perIf);
    const cap = new NetCapture(file, { perInterfaceDir: perIf }).attachAll(...c.namespaces());
    const server = http.createServer((req, res) => {
      res.sendDate = false;
      res.end(`${req.method} ${req.url} from ${req.socket.remoteAddress}`);
    });
    createTcpServer(c.pod("backend").ns, {}, (s) => server.emit("connection", s)).listen(8080);
    const result = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        { host: "10.96.0.10", port: 80, path: "/hello", headers: { connection: "close" }, createConnection: () => createTcpConnection(c.pod("client").ns, { host: "10.96.0.10", port: 80 }) },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => (body += d));
          res.on("end", () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on("error", reject);
      req.end();
    });
    await settle(c);
    cap.close();
    expect(await result).toEqual({ status: 200, body: "GET /hello from 10.244.0.2" });

    const syn = hops(file, "tcp.flags.syn == 1 && tcp.flags.ack == 0");
    const synAck = hops(file, "tcp.flags.syn == 1 && tcp.flags.ack == 1");
    const port = /10\.244\.0\.2:(\d+)/.exec(syn[0])![1];
    // Leaving the client: to the Service; from cni0 on (after PREROUTING's DNAT): to the endpoint.
    expect(syn.filter((h) => /^(client|node-1)\//.test(h))).toEqual([
      `client/eth0 10.244.0.2:${port} > 10.96.0.10:80 S`,
      expect.stringMatching(new RegExp(`^node-1/veth[0-9a-f]{8} 10\\.244\\.0\\.2:${port} > 10\\.96\\.0\\.10:80 S$`)),
      `node-1/cni0 10.244.0.2:${port} > 10.244.1.2:8080 S`,
      `node-1/flannel.1 10.244.0.2:${port} > 10.244.1.2:8080 S`,
      `node-1/eth0 10.244.0.2:${port} > 10.244.1.2:8080 S`,
    ]);
    expect(syn.at(-1)).toBe(`backend/eth0 10.244.0.2:${port} > 10.244.1.2:8080 S`);
    // The SYN-ACK: from the endpoint until conntrack on node-1 puts the Service back.
    expect(synAck.filter((h) => /^(client|node-1)\//.test(h))).toEqual([
      `node-1/eth0 10.244.1.2:8080 > 10.244.0.2:${port} AS`,
      `node-1/flannel.1 10.244.1.2:8080 > 10.244.0.2:${port} AS`,
      `node-1/cni0 10.96.0.10:80 > 10.244.0.2:${port} AS`,
      expect.stringMatching(new RegExp(`^node-1/veth[0-9a-f]{8} 10\\.96\\.0\\.10:80 > 10\\.244\\.0\\.2:${port} AS$`)),
      `client/eth0 10.96.0.10:80 > 10.244.0.2:${port} AS`,
    ]);
    // Every segment the client saw came from the Service; the close is complete on both sides.
    expect(new Set(hops(file, 'frame.interface_name == "client/eth0" && ip.dst == 10.244.0.2').map((h) => h.split(" ")[1]))).toEqual(new Set(["10.96.0.10:80"]));
    expect(hops(file, 'frame.interface_name == "client/eth0" && tcp.flags.fin == 1')).toHaveLength(2);
    expect(tsharkProblems(file, VXLAN)).toEqual([]);
    expectCleanPerInterface(perIf);
  });

  for (const mode of ["iptables", "nftables"] as const) {
    describe(`kube-proxy ${mode} mode`, () => {
      it("NodePort (eTP Cluster): masqueraded with --random-fully to flannel.1's address; the reply comes from the node", async () => {
        const { c, kp, laptop } = cluster(mode);
        const peers = echo(c, "backend");
        const x = connect(laptop, "192.168.50.11", 30080, "np", { localPort: 45000 });
        await settle(c);
        expect(x).toMatchObject({ reply: "np", closed: true, local: "192.168.50.100:45000" });
        expect(x.error).toBeUndefined();
        // The source is masqueraded to node-1's flannel.1 address; --random-fully picks a port from the seeded stream.
        expect(peers).toHaveLength(1);
        const [addr, seenPort] = peers[0].split(":");
        expect(addr).toBe("10.244.0.0");
        expect(Number(seenPort)).not.toBe(45000);
        const flow = kp.node("node-1").nf.entries({ proto: "tcp", origSrc: "192.168.50.100" });
        expect(flow.map((e) => ({ state: e.state, orig: e.orig, reply: e.reply, snat: e.snat, dnat: e.dnat }))).toEqual([
          {
            state: "TIME_WAIT",
            orig: { src: "192.168.50.100", dst: "192.168.50.11", sport: 45000, dport: 30080 },
            reply: { src: "10.244.1.2", dst: "10.244.0.0", sport: 8080, dport: Number(seenPort) },
            snat: true,
            dnat: true,
          },
        ]);
        if (mode === "iptables") expect(kp.dump("node-1")).toContain("-j MASQUERADE --random-fully");
        else expect(kp.dump("node-1")).toMatch(/masquerade fully-random/);
      });

      it("NodePort with externalTrafficPolicy Local: the source is kept on the endpoint's node; the other node drops the SYN", async () => {
        const { c, laptop } = cluster(mode);
        const peers = echo(c, "backend");
        const ok = connect(laptop, "192.168.50.12", 30081, "local", { localPort: 45001 });
        const dropped = connect(laptop, "192.168.50.11", 30081, "nobody", { localPort: 45002 });
        await settle(c, 4000);
        expect(ok).toMatchObject({ reply: "local", closed: true });
        expect(peers).toEqual(["192.168.50.100:45001"]);
        // No answer at all on node-1 (KUBE-EXTERNAL-SERVICES drops): the SYN is retried, unanswered.
        expect(dropped).toMatchObject({ reply: "", closed: false, local: "" });
      });

      it("LoadBalancer: the address delivered to node-1 is DNATed and masqueraded; the reply comes from it", async () => {
        const { c, kp, laptop } = cluster(mode);
        const peers = echo(c, "backend");
        const file = join(dir, `lb-${mode}.pcapng`);
        const cap = new NetCapture(file).attachAll(laptop);
        const x = connect(laptop, "203.0.113.10", 80, "lb", { localPort: 45003 });
        await settle(c);
        cap.close();
        expect(x).toMatchObject({ reply: "lb", closed: true });
        expect(peers.map((p) => p.split(":")[0])).toEqual(["10.244.0.0"]);
        expect(new Set(hops(file, "ip.dst == 192.168.50.100").map((h) => h.split(" ")[1]))).toEqual(new Set(["203.0.113.10:80"]));
        expect(kp.node("node-1").nf.entries({ proto: "tcp", origDst: "203.0.113.10" }).map((e) => e.state)).toEqual(["TIME_WAIT"]);
      });

      it("hairpin: a pod reaching its own Service is masqueraded to cni0's address", async () => {
        const { c } = cluster(mode);
        const peers = echo(c, "web");
        const x = connect(c.pod("web").ns, "10.96.0.20", 80, "self", { localPort: 45004 });
        await settle(c);
        expect(x).toMatchObject({ reply: "self", closed: true, local: "10.244.0.3:45004" });
        expect(peers.map((p) => p.split(":")[0])).toEqual(["10.244.0.1"]);
      });

      it("a Service without endpoints: kube-proxy's REJECT answers the SYN with ICMP port unreachable, connect() fails with ECONNREFUSED", async () => {
        const { c } = cluster(mode);
        const file = join(dir, `no-endpoints-${mode}.pcapng`);
        const cap = new NetCapture(file).attachAll(c.pod("client").ns);
        const x = connect(c.pod("client").ns, "10.96.0.30", 80, "anyone?");
        await settle(c);
        cap.close();
        expect(x).toMatchObject({ error: "ECONNREFUSED", reply: "", closed: true });
        const icmp = tsharkFields(file, ["ip.src", "icmp.type", "icmp.code"], { filter: "icmp" });
        expect(icmp.map((r) => `${r["ip.src"].split(",")[0]} ${r["icmp.type"]}/${r["icmp.code"]}`)).toEqual(["10.244.0.1 3/3"]);
        expect(tsharkProblems(file)).toEqual([]);
      });

      it("conntrack -L shows the TCP states: ESTABLISHED while open, TIME_WAIT after the close", async () => {
        const { c, kp } = cluster(mode);
        echo(c, "backend");
        connect(c.pod("client").ns, "10.96.0.10", 80, "open", { localPort: 45005, keepOpen: true });
        connect(c.pod("client").ns, "10.96.0.10", 80, "closed", { localPort: 45006 });
        await settle(c);
        // Two seconds after the last segment: 432000 s (5 days) and 120 s, less two.
        const lines = kp.node("node-1").nf.list({ proto: "tcp", origDst: "10.96.0.10" });
        expect(lines).toEqual([
          "tcp      6 431998 ESTABLISHED src=10.244.0.2 dst=10.96.0.10 sport=45005 dport=80 src=10.244.1.2 dst=10.244.0.2 sport=8080 dport=45005 [ASSURED] mark=0 use=1",
          "tcp      6 118 TIME_WAIT src=10.244.0.2 dst=10.96.0.10 sport=45006 dport=80 src=10.244.1.2 dst=10.244.0.2 sport=8080 dport=45006 [ASSURED] mark=0 use=1",
        ]);
        // node-2 sees the same connections without NAT (the pod IPs end to end).
        expect(kp.node("node-2").nf.list({ proto: "tcp" }).map((l) => l.split(" ").filter(Boolean).slice(3, 5).join(" "))).toEqual([
          "ESTABLISHED src=10.244.0.2",
          "TIME_WAIT src=10.244.0.2",
        ]);
      });
    });
  }

  it("both modes give the same frames for the same TCP traffic", async () => {
    const run = async (mode: ProxyMode) => {
      const { c, laptop } = cluster(mode);
      const file = join(dir, `tcp-modes-${mode}.pcapng`);
      const cap = new NetCapture(file).attachAll(...c.namespaces());
      echo(c, "backend");
      echo(c, "web");
      connect(c.pod("client").ns, "10.96.0.10", 80, "q1");
      connect(c.pod("web").ns, "10.96.0.20", 80, "self");
      connect(laptop, "192.168.50.11", 30080, "np");
      connect(laptop, "203.0.113.10", 80, "lb");
      await settle(c);
      cap.close();
      expect(tsharkProblems(file, VXLAN)).toEqual([]);
      return hops(file, "tcp");
    };
    const ipt = await run("iptables");
    const nft = await run("nftables");
    expect(nft).toEqual(ipt);
    expect(ipt.length).toBeGreaterThan(100);
  });
});

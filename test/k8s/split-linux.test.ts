// Interop with Linux: a kubewire process running node-1 (inside a namespace of the test, its UDP
// underlay bound to its address on a veth) and a real Linux node-2 (a namespace with cni0, a pod
// and a real flannel.1 built from `peerCommands`' own output) exchange pod traffic both ways:
// ICMP echo, UDP, and TCP (python's sockets in the Linux pod, kubewire's in the emulated one).
// tcpdump on the Linux node's eth0 and kubewire's capture of its eth0 must carry the same inner
// frames, byte for byte; the outer frames kubewire rebuilds from the datagrams match Linux's; and
// each TCP handshake, data phase and close is as the other stack makes it (test/net/tcp-twin's
// fields: flags, options in order, MSS, window scale, window, relative seq/ack, segment sizes).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, expect, it } from "vitest";
import { readCapture } from "../../src/capture/index.js";
import { peerCommands } from "../../src/k8s/split.js";
import { formatMac, ipv4 } from "../../src/wire/index.js";
import { describeLinux, type LinuxTwin, useLinuxTwin } from "../helpers/linux.js";
import { summarise } from "../helpers/packets.js";
import { PY_CLIENT, PY_SERVER } from "../net/tcp-helpers.js";
import { buildCluster, mustLoad, NodeProcess, writeScenario } from "./split-helpers.js";
import { type TcpSummary, tcpSummary } from "./split-tcp.js";

const dir = mkdtempSync(join(tmpdir(), "kw-split-linux-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** VXLAN frames (UDP to 8472) of a capture, optionally of one pcapng interface: [outer frame, inner frame]. */
function vxlanFrames(file: string, iface?: string): { outer: Buffer; inner: Buffer }[] {
  const cap = readCapture(file);
  if (cap.errors.length) throw new Error(cap.errors.map((e) => e.what).join("; "));
  const out: { outer: Buffer; inner: Buffer }[] = [];
  for (const r of cap.records) {
    if (iface !== undefined && (r.interfaceName ?? cap.interfaces[r.interfaceId]?.name) !== iface) continue;
    const b = Buffer.from(r.data);
    if (b.length < 50 || b.readUInt16BE(12) !== 0x0800 || ipv4.protocol(b, 14) !== 17) continue;
    const l4 = 14 + ipv4.headerLength(b, 14);
    if (b.readUInt16BE(l4 + 2) !== 8472) continue;
    out.push({ outer: b, inner: b.subarray(l4 + 16) });
  }
  return out;
}

/**
 * The two nodes: node-2 a Linux node in the twin's namespaces (cni0, the server pod, a real
 * flannel.1 from `peerCommands`' own lines), node-1 a `kubewire node` process inside namespace
 * "kw", joined to node-2 by a veth; tcpdump runs on node-2's eth0.
 */
async function twoNodes(t: LinuxTwin, label: string) {
  const scenarioFile = writeScenario(dir);
  const scenario = mustLoad(scenarioFile);
  const c = buildCluster(scenario);
  const [n1, n2] = [c.node("node-1"), c.node("node-2")];
  const server = c.pod("server");
  const client = c.pod("client");
  // kw: the kubewire process's namespace; node-2: the Linux node; server: its pod.
  for (const ns of ["kw", "node-2", "server"]) t.ns(ns);
  t.sysctl("node-2", "net.ipv4.ip_forward", 1);
  // The MACs kubewire gives the two nodes' eth0, so the outer frames compare too.
  t.veth("kw", "eth0", "node-2", "eth0", { macA: formatMac(n1.eth0.mac), macB: formatMac(n2.eth0.mac) });
  t.addr("kw", "eth0", "192.168.50.11/24");
  t.addr("node-2", "eth0", "192.168.50.12/24");
  const cmds = peerCommands(scenario.config, "node-2", { cni0: true }).filter((l) => !l.startsWith("#"));
  for (const line of cmds) {
    if (line.startsWith("ip ")) t.ip("node-2", line.slice(3));
    else t.exec("node-2", line.split(" "));
  }
  const host = server.attachment.hostVeth;
  t.veth("server", "eth0", "node-2", host.name, { macA: formatMac(server.attachment.podVeth.mac), macB: formatMac(host.mac), mtu: host.mtu });
  t.attach("node-2", host.name, "cni0");
  t.addr("server", "eth0", `${server.ipString}/24`);
  t.route("server", "default via 10.244.1.1");
  // One segment per packet from the Linux pod (as test/net/tcp-twin.test.ts): tcpdump on a veth
  // would otherwise see GSO super-segments that are cut to the MSS only later.
  t.ip("server", ["link", "set", "dev", "eth0", "gso_max_segs", "1"]);
  expect(t.ip("node-2", "-d link show flannel.1")).toMatch(/vxlan id 1 local 192\.168\.50\.12 dev eth0 .*dstport 8472 nolearning/);
  await t.udpEcho("server", 9000);
  // A NIC fills in the checksums the stack leaves to it (tx checksum offload); a veth passes them
  // on unfinished, and a pod's UDP checksum would reach kubewire's socket as a partial sum
  // (kubewire then drops it: UDP_CSUM). The CHECKSUM target does the NIC's work on node-2's
  // tunnel packets (skb_checksum_help completes the inner checksum at csum_start).
  t.iptablesRestore("node-2", "*mangle\n-A POSTROUTING -p udp --dport 8472 -j CHECKSUM --checksum-fill\nCOMMIT");
  const linuxCap = await t.capture("node-2", "eth0");

  const kwPcap = join(dir, `kw-${label}.pcapng`);
  const kw = NodeProcess.start(
    scenarioFile,
    ["--node", "node-1", "--endpoint", "node-1=192.168.50.11:8472", "--endpoint", "node-2=192.168.50.12:8472", "--linux", "node-2", "--pcap", kwPcap],
    t.real("kw"),
  );
  expect(await kw.waitEvent((e) => e.event === "listening")).toMatchObject({ host: "192.168.50.11", port: 8472 });
  await kw.waitEvent((e) => e.event === "ready");
  return { scenario, c, n1, n2, server, client, linuxCap, kwPcap, kw };
}

describeLinux("interop: a kubewire node and a real Linux flannel node", () => {
  const twin = useLinuxTwin();
  afterEach(() => NodeProcess.killAll());

  it("pod traffic both ways (ICMP echo, UDP); the inner frames on both sides are the same bytes", async () => {
    const t = twin();
    const { n1, n2, server, client, linuxCap, kwPcap, kw } = await twoNodes(t, "icmp-udp");

    // kubewire pod → Linux pod.
    expect(await kw.request({ cmd: "ping", from: "client", to: server.ipString })).toMatchObject({ ok: true, reply: true, from: server.ipString, ttl: 62 });
    expect(await kw.request({ cmd: "udp", from: "client", to: server.ipString, port: 9000, payload: "kubewire to linux", srcPort: 40000 })).toMatchObject({
      reply: "kubewire to linux",
      from: `${server.ipString}:9000`,
    });
    // Linux pod → kubewire pod.
    const ping = await t.ping("server", client.ipString, { payload: "from a real kernel" });
    expect(ping.ok).toBe(true);
    const udp = await t.udpRequest("server", client.ipString, 9100, "linux to kubewire", { srcPort: 40001 });
    expect(udp.reply?.toString()).toBe("linux to kubewire");

    const stats = await kw.request({ cmd: "stats" });
    expect(await kw.quit()).toBe(0);
    const linuxFile = await linuxCap.stop();
    expect(stats.drops).toEqual({});
    expect(stats.underlay).toMatchObject({ "node-1": { txDatagrams: 4, rxDatagrams: 4, arpProxied: 1, sendFailed: 0, unknownSender: 0 } });

    const linux = vxlanFrames(linuxFile);
    const ours = vxlanFrames(kwPcap, "node-1/eth0");
    expect(linux.length).toBe(8);
    // The same inner frames in the same order, byte for byte, whichever side built them.
    expect(ours.map((f) => f.inner.toString("hex"))).toEqual(linux.map((f) => f.inner.toString("hex")));
    const kinds = linux.map((f) => summarise(f.inner));
    expect(kinds.map((s) => [s.ip?.src, s.icmp?.type ?? s.udp?.dport])).toEqual([
      [client.ipString, 8],
      [server.ipString, 0],
      [client.ipString, 9000],
      [server.ipString, 40000],
      [server.ipString, 8],
      [client.ipString, 0],
      [server.ipString, 9100],
      [client.ipString, 40001],
    ]);
    // Linux → kubewire: the outer frame kubewire rebuilt is the one Linux sent (IP ID aside), its
    // UDP source port the flow hash Linux chose, checksum 0, TTL 64, no DF.
    for (const [i, f] of linux.entries()) {
      if (summarise(f.outer).ip?.src !== "192.168.50.12") continue;
      expect(summarise(ours[i].outer), `frame ${i}`).toEqual(summarise(f.outer));
      expect(ours[i].outer.readUInt16BE(40)).toBe(0);
    }
    // kubewire → Linux: the outer IPv4/UDP is the host kernel's (socket source port 8472, DF as a UDP socket sets it).
    for (const [i, f] of linux.entries()) {
      const s = summarise(f.outer);
      if (s.ip?.src !== "192.168.50.11") continue;
      expect(s).toMatchObject({ ethSrc: formatMac(n1.eth0.mac), ethDst: formatMac(n2.eth0.mac), ip: { dst: "192.168.50.12", ttl: 64 }, udp: { sport: 8472, dport: 8472 } });
      expect(summarise(ours[i].outer)).toMatchObject({ ip: { src: "192.168.50.11", dst: "192.168.50.12", ttl: 64, df: false } });
    }
  });

  it("TCP both ways (kubewire client → Linux server, Linux client → kubewire server): the same inner frames on both sides; each handshake as the other stack makes it", async () => {
    const t = twin();
    const { server, client, linuxCap, kwPcap, kw } = await twoNodes(t, "tcp");
    // kubewire pod → Linux pod: python's server reads N bytes, answers N bytes of "b", closes on EOF.
    const srv = t.spawn("server", ["python3", "-c", PY_SERVER, "8080", String(N)]);
    await srv.waitFor(/listening/);
    const there = await kw.request({ cmd: "tcp", from: "client", to: server.ipString, port: 8080, payload: "a".repeat(N), srcPort: 41000, timeoutMs: 10_000 }, 20_000);
    expect(there).toMatchObject({ ok: true, received: N, reply: "b".repeat(N), closed: true });
    await srv.exited;
    expect(srv.stdout()).toContain(`done ${N}`);
    // Linux pod → kubewire pod: python's client sends N bytes of "a", reads N, closes; kubewire's
    // echo server answers in one write once the N bytes are in, and closes when the client does.
    expect(await kw.request({ cmd: "tcp-listen", on: "client", port: 8081, batch: N })).toMatchObject({ ok: true });
    expect(t.exec("server", ["python3", "-c", PY_CLIENT, client.ipString, "8081", String(N)])).toContain(`got ${N}`);
    // The Linux client is in TIME_WAIT once kubewire's FIN came and its last ACK left.
    // (Polled for up to 10 s of wall time, not a count of polls: each `ss` is a process, slow on a loaded machine.)
    const until = Date.now() + 10_000;
    while (Date.now() < until && !t.exec("server", ["ss", "-Htan", "state", "time-wait"]).includes(`${client.ipString}:8081`)) await new Promise((r) => setTimeout(r, 10));
    expect(t.exec("server", ["ss", "-Htan", "state", "time-wait"])).toContain(`${client.ipString}:8081`);
    // … and that ACK has reached kubewire's server socket.
    expect(await kw.request({ cmd: "tcp-idle", on: "client" })).toMatchObject({ ok: true });

    const stats = await kw.request({ cmd: "stats" });
    expect(await kw.quit()).toBe(0);
    const linuxFile = await linuxCap.stop();
    expect(stats.drops).toEqual({});
    expect(stats.underlay).toMatchObject({ "node-1": { sendFailed: 0, unknownSender: 0 } });

    const linux = vxlanFrames(linuxFile);
    const ours = vxlanFrames(kwPcap, "node-1/eth0");
    // The same inner frames each way, in the same order, byte for byte: the carriage is exact.
    // (How the two directions interleave depends on where one looks: kubewire's capture records
    // its burst of segments before the first ACK comes back, tcpdump sees that ACK on the way.)
    expect(linux.length).toBeGreaterThanOrEqual(30);
    for (const src of ["192.168.50.11", "192.168.50.12"]) expect(firstDifference(oneWay(ours, src), oneWay(linux, src)), `from ${src}`).toBeUndefined();
    const tcpOf = (inner: Buffer) => {
      const s = tcpSummary(inner);
      const ip = summarise(inner).ip;
      return s && ip ? { ...s, ttl: ip.ttl, df: ip.df } : undefined;
    };
    const segs = (port: number) => relative(linux.map((f) => tcpOf(f.inner)).filter((s) => s !== undefined && (s.sport === port || s.dport === port)) as Tcp[], port);
    const kwClient = segs(8080);
    const linuxClient = segs(8081);
    // Every byte, each way, in segments of MSS − 12 (the timestamp option): 1410 − 12 = 1398.
    for (const conn of [kwClient, linuxClient]) {
      expect(payload(conn, "c2s")).toBe("a".repeat(N));
      for (const d of ["c2s", "s2c"] as const) expect(dataSizes(conn, d)[0]).toBe(1398);
    }
    expect(payload(kwClient, "s2c")).toBe("b".repeat(N));
    expect(payload(linuxClient, "s2c")).toBe("a".repeat(N));
    // The handshakes: kubewire's SYN is Linux's SYN, Linux's SYN-ACK is kubewire's, and so the ACK
    // (flags, options in order, MSS, window scale, window, relative seq/ack, TTL, DF).
    expect(kwClient.slice(0, 3).map(exact)).toEqual(linuxClient.slice(0, 3).map(exact));
    expect(kwClient[0]).toMatchObject({ flags: "S", options: [2, 4, 8, 1, 3], mss: 1410 });
    // The data: the same segment sizes each way whichever stack sends.
    for (const d of ["c2s", "s2c"] as const) expect(dataSizes(kwClient, d)).toEqual(dataSizes(linuxClient, d));
    // The close, started by the client: FIN, FIN (with the ACK), ACK, in both.
    expect(closing(kwClient).map((s) => `${s.dir} ${s.flags}`)).toEqual(["c2s F.", "s2c F.", "c2s ."]);
    expect(closing(linuxClient).map((s) => ({ ...exact(s), win: 0 }))).toEqual(closing(kwClient).map((s) => ({ ...exact(s), win: 0 })));
  });
});

const N = 10_000;

type Tcp = TcpSummary & { ttl: number; df: boolean };
type Seg = Tcp & { dir: "c2s" | "s2c"; rseq: number; rack: number; len: number };

/** Directions and sequence numbers relative to each side's ISN, as tshark shows them. */
function relative(list: Tcp[], serverPort: number): Seg[] {
  const isn = { c2s: 0, s2c: 0 };
  return list.map((s) => {
    const dir = s.dport === serverPort ? "c2s" : "s2c";
    if (s.flags.includes("S")) isn[dir] = s.seq;
    const other = dir === "c2s" ? "s2c" : "c2s";
    return { ...s, dir, rseq: (s.seq - isn[dir]) >>> 0, rack: s.flags.includes(".") ? (s.ack - isn[other]) >>> 0 : 0, len: s.data.length / 2 };
  });
}

const exact = (s: Seg) => ({ dir: s.dir, flags: s.flags, seq: s.rseq, ack: s.rack, win: s.win, len: s.len, ttl: s.ttl, df: s.df, options: s.options, mss: s.mss, wscale: s.wscale });
const dataSizes = (segs: Seg[], dir: "c2s" | "s2c") => segs.filter((s) => s.dir === dir && s.len > 0).map((s) => s.len);
/** The bytes one way, in segment order (a clean link: no retransmissions to skip). */
const payload = (segs: Seg[], dir: "c2s" | "s2c") => Buffer.from(segs.filter((s) => s.dir === dir).map((s) => s.data).join(""), "hex").toString("latin1");
const closing = (segs: Seg[]) => segs.slice(segs.findIndex((s) => s.flags.includes("F")));

/** The inner frames sent from underlay address `src`, hex. */
const oneWay = (frames: { outer: Buffer; inner: Buffer }[], src: string) => frames.filter((f) => summarise(f.outer).ip?.src === src).map((f) => f.inner.toString("hex"));

/** Where two lists of frames first differ (short enough to read), or undefined. */
function firstDifference(a: string[], b: string[]): string | undefined {
  for (let i = 0; i < Math.max(a.length, b.length); i++)
    if (a[i] !== b[i]) return `frame ${i} of ${a.length} / ${b.length}: ${a[i]?.slice(0, 140) ?? "(none)"} vs ${b[i]?.slice(0, 140) ?? "(none)"}`;
  return undefined;
}

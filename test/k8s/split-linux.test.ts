// Interop with Linux: a kubewire process running node-1 (inside a namespace of the test, its UDP
// underlay bound to its address on a veth) and a real Linux node-2 (a namespace with cni0, a pod
// and a real flannel.1 built from `peerCommands`' own output) exchange pod traffic both ways.
// tcpdump on the Linux node's eth0 and kubewire's capture of its eth0 must carry the same inner
// frames, byte for byte; the outer frames kubewire rebuilds from the datagrams match Linux's.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, expect, it } from "vitest";
import { readCapture } from "../../src/capture/index.js";
import { peerCommands } from "../../src/k8s/split.js";
import { formatMac, ipv4 } from "../../src/wire/index.js";
import { describeLinux, useLinuxTwin } from "../helpers/linux.js";
import { summarise } from "../helpers/packets.js";
import { buildCluster, mustLoad, NodeProcess, writeScenario } from "./split-helpers.js";

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

describeLinux("interop: a kubewire node and a real Linux flannel node", () => {
  const twin = useLinuxTwin();
  afterEach(() => NodeProcess.killAll());

  it("pod traffic both ways (ICMP echo, UDP); the inner frames on both sides are the same bytes", async () => {
    const scenarioFile = writeScenario(dir);
    const scenario = mustLoad(scenarioFile);
    const c = buildCluster(scenario);
    const [n1, n2] = [c.node("node-1"), c.node("node-2")];
    const server = c.pod("server");
    const client = c.pod("client");
    const t = twin();
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
    expect(t.ip("node-2", "-d link show flannel.1")).toMatch(/vxlan id 1 local 192\.168\.50\.12 dev eth0 .*dstport 8472 nolearning/);
    await t.udpEcho("server", 9000);
    // A NIC fills in the checksums the stack leaves to it (tx checksum offload); a veth passes them
    // on unfinished, and a pod's UDP checksum would reach kubewire's socket as a partial sum
    // (kubewire then drops it: UDP_CSUM). The CHECKSUM target does the NIC's work on node-2's
    // tunnel packets (skb_checksum_help completes the inner checksum at csum_start).
    t.iptablesRestore("node-2", "*mangle\n-A POSTROUTING -p udp --dport 8472 -j CHECKSUM --checksum-fill\nCOMMIT");
    const linuxCap = await t.capture("node-2", "eth0");

    const kwPcap = join(dir, "kw.pcapng");
    const kw = NodeProcess.start(
      scenarioFile,
      ["--node", "node-1", "--endpoint", "node-1=192.168.50.11:8472", "--endpoint", "node-2=192.168.50.12:8472", "--linux", "node-2", "--pcap", kwPcap],
      t.real("kw"),
    );
    expect(await kw.waitEvent((e) => e.event === "listening")).toMatchObject({ host: "192.168.50.11", port: 8472 });
    await kw.waitEvent((e) => e.event === "ready");

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
});

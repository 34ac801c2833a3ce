// Self-test of the Linux twin harness: builds pod-a — veth — cni0 (node) — veth — pod-b in real
// network namespaces, captures with tcpdump, reads back with tshark.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { describeLinux, icmpEchoRequest, inetChecksum, type LinuxTwin, listNetns, pcapFields, pcapFieldsAll, useLinuxTwin, withLinuxTwin } from "./linux.js";

const MAC = {
  podA: "02:42:0a:f4:01:02",
  podB: "02:42:0a:f4:01:03",
  cni0: "02:42:0a:f4:01:01",
};

/** pod-a — veth — bridge cni0 in "node" — veth — pod-b, all in 10.244.1.0/24. */
function bridgeTopology(t: LinuxTwin): void {
  t.ns("node");
  t.ns("pod-a");
  t.ns("pod-b");
  t.bridge("node", "cni0", { mac: MAC.cni0 });
  t.addr("node", "cni0", "10.244.1.1/24");
  t.veth("pod-a", "eth0", "node", "veth-a", { macA: MAC.podA });
  t.veth("pod-b", "eth0", "node", "veth-b");
  t.setMac("pod-b", "eth0", MAC.podB);
  t.attach("node", "veth-a", "cni0");
  t.attach("node", "veth-b", "cni0");
  t.addr("pod-a", "eth0", "10.244.1.2/24");
  t.addr("pod-b", "eth0", "10.244.1.3/24");
  t.route("pod-a", "default via 10.244.1.1");
  t.route("pod-b", "default via 10.244.1.1");
}

it("computes the internet checksum of an echo request", () => {
  const req = icmpEchoRequest(0x1234, 1, Buffer.from("kubewire"));
  // The kernel's echo reply to it carried checksum 0x3621; the type went 8 -> 0, so +0x0800.
  expect(req.readUInt16BE(2) + 0x0800).toBe(0x3621);
  expect(inetChecksum(req)).toBe(0);
});

describeLinux("Linux twin harness", () => {
  const twin = useLinuxTwin();

  it("builds a bridged pod pair, pings, gets a port unreachable, and captures it all without IPv6", async () => {
    const t = twin();
    bridgeTopology(t);
    expect(t.realNames).toHaveLength(3);
    for (const r of t.realNames) {
      expect(r.length).toBeLessThanOrEqual(15);
      expect(listNetns()).toContain(r);
    }
    expect(t.mac("pod-a", "eth0")).toBe(MAC.podA);
    expect(t.mac("pod-b", "eth0")).toBe(MAC.podB);
    for (const ns of t.namespaces) {
      // Every interface, lo included, has IPv6 off, and none has an IPv6 address.
      const flags = t.exec(ns, ["grep", "-r", ".", "/proc/sys/net/ipv6/conf/", "--include=disable_ipv6"]);
      const lines = flags.trim().split("\n");
      expect(lines.length).toBeGreaterThanOrEqual(ns === "node" ? 6 : 4); // all, default, lo, eth0 | cni0, veth-a, veth-b
      for (const l of lines) expect(l, `${ns}: ${l}`).toMatch(/:1$/);
      expect(t.ip(ns, "-6 addr show").trim()).toBe("");
    }

    const capA = await t.capture("pod-a", "eth0");
    const capBr = await t.capture("node", "cni0");

    const ping = await t.ping("pod-a", "10.244.1.3", { id: 0x4b57, seq: 7 });
    expect(ping.ok).toBe(true);
    expect(ping.reply?.[0]).toBe(0); // echo reply
    const udp = await t.udpRequest("pod-a", "10.244.1.3", 9, "hello", { srcPort: 40000 });
    expect(udp.refused).toBe(true);
    expect(udp.timedOut).toBe(false);

    const [fileA, fileBr] = await t.stopCaptures();
    expect(fileA).toBe(capA.file);
    expect(fileBr).toBe(capBr.file);
    expect(existsSync(fileBr)).toBe(true);

    const fields = ["frame.protocols", "eth.src", "eth.dst", "arp.opcode", "ip.src", "ip.dst", "ip.ttl", "icmp.type", "icmp.code", "udp.srcport", "udp.dstport", "_ws.malformed", "_ws.expert.severity"];
    const [a, br] = await pcapFieldsAll([fileA, fileBr], fields);
    const summary = a.map((r) => `${r["frame.protocols"]} ${r["arp.opcode"]}${r["icmp.type"]}/${r["icmp.code"]} ${r["ip.src"]}>${r["ip.dst"]}`);

    // ARP request (broadcast, from pod-a) and reply (from pod-b).
    const arpReq = a.find((r) => r["arp.opcode"] === "1");
    const arpRep = a.find((r) => r["arp.opcode"] === "2");
    expect(arpReq, summary.join("\n")).toBeDefined();
    expect(arpReq?.["eth.src"]).toBe(MAC.podA);
    expect(arpReq?.["eth.dst"]).toBe("ff:ff:ff:ff:ff:ff");
    expect(arpRep?.["eth.src"]).toBe(MAC.podB);
    expect(arpRep?.["eth.dst"]).toBe(MAC.podA);

    // ICMP echo request and reply; both hosts are on the bridge: no TTL decrement.
    const echoReq = a.find((r) => r["icmp.type"] === "8");
    const echoRep = a.find((r) => r["icmp.type"] === "0");
    expect(echoReq, summary.join("\n")).toMatchObject({ "ip.src": "10.244.1.2", "ip.dst": "10.244.1.3", "ip.ttl": "64" });
    expect(echoRep).toMatchObject({ "ip.src": "10.244.1.3", "ip.dst": "10.244.1.2", "ip.ttl": "64", "eth.src": MAC.podB });

    // The UDP datagram, then ICMP port unreachable (3/3) quoting it.
    const dgram = a.find((r) => r["frame.protocols"] === "eth:ethertype:ip:udp:data");
    expect(dgram, summary.join("\n")).toMatchObject({ "udp.srcport": "40000", "udp.dstport": "9" });
    const unreach = a.find((r) => r["icmp.type"] === "3");
    expect(unreach, summary.join("\n")).toMatchObject({ "icmp.code": "3", "ip.src": "10.244.1.3,10.244.1.2", "udp.dstport": "9" });

    // No IPv6 at all, nothing else: exactly ARP x2, ICMP x2, UDP, ICMP error.
    const all = [...a, ...br];
    expect(all.filter((r) => r["frame.protocols"].includes("ipv6"))).toEqual([]);
    expect(all.filter((r) => r["frame.protocols"].includes("igmp"))).toEqual([]);
    expect(all.filter((r) => r["_ws.malformed"] || r["_ws.expert.severity"])).toEqual([]);
    expect(a, summary.join("\n")).toHaveLength(6);

    // The bridge in promiscuous capture sees the same conversation.
    expect(br.some((r) => r["arp.opcode"] === "1")).toBe(true);
    expect(br.some((r) => r["icmp.type"] === "8")).toBe(true);
    expect(br.some((r) => r["icmp.type"] === "3" && r["icmp.code"] === "3")).toBe(true);
  });

  it("routes through the node namespace, echoes UDP, and runs iptables in a namespace", async () => {
    const t = twin();
    // pod-a in 10.244.1.0/24 and pod-b in 10.244.2.0/24, the node routes between them.
    t.ns("node");
    t.ns("pod-a");
    t.ns("pod-b");
    t.veth("pod-a", "eth0", "node", "veth-a");
    t.veth("pod-b", "eth0", "node", "veth-b");
    t.addr("node", "veth-a", "10.244.1.1/24");
    t.addr("node", "veth-b", "10.244.2.1/24");
    t.addr("pod-a", "eth0", "10.244.1.2/24");
    t.addr("pod-b", "eth0", "10.244.2.2/24");
    t.route("pod-a", "default via 10.244.1.1");
    t.route("pod-b", "default via 10.244.2.1");
    t.sysctl("node", "net.ipv4.ip_forward", 1);
    expect(t.getSysctl("node", "net.ipv4.ip_forward")).toBe("1");

    const echo = await t.udpEcho("pod-b", 5353);
    const cap = await t.capture("pod-b", "eth0", { filter: "udp" });
    const r = await t.udpRequest("pod-a", "10.244.2.2", 5353, "ping-over-udp", { srcPort: 41000 });
    expect(r.reply?.toString()).toBe("ping-over-udp");
    t.sendUdp("pod-a", "10.244.2.2", 5353, "fire-and-forget", { srcPort: 41001 });
    const rows = pcapFields(await cap.stop(), ["ip.ttl", "udp.srcport", "udp.dstport", "udp.payload"]);
    expect(rows[0]).toEqual({ "ip.ttl": "63", "udp.srcport": "41000", "udp.dstport": "5353", "udp.payload": Buffer.from("ping-over-udp").toString("hex") }); // forwarded once
    expect(rows[1]).toMatchObject({ "ip.ttl": "64", "udp.srcport": "5353", "udp.dstport": "41000" }); // the echo
    expect(rows.some((x) => x["udp.srcport"] === "41001" && x["udp.payload"] === Buffer.from("fire-and-forget").toString("hex"))).toBe(true);
    echo.kill();

    // iptables (default = nft backend here) inside the node namespace: drop the forward, then
    // the request times out.
    t.iptablesRestore("node", ["*filter", ":FORWARD ACCEPT [0:0]", '-A FORWARD -p udp --dport 5353 -m comment --comment "kubewire twin" -j DROP', "COMMIT"].join("\n"));
    expect(t.iptablesSave("node", { table: "filter" })).toContain('-A FORWARD -p udp -m udp --dport 5353 -m comment --comment "kubewire twin" -j DROP');
    const dropped = await t.udpRequest("pod-a", "10.244.2.2", 5353, "x", { timeoutMs: 300 });
    expect(dropped).toMatchObject({ timedOut: true, refused: false });
    expect(dropped.reply).toBeUndefined();
    // A namespace's rules are its own: the pods have none.
    expect(t.iptablesSave("pod-a")).not.toContain("kubewire twin");

    // Legacy iptables works in a namespace of its own too.
    t.iptablesRestore("pod-b", "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp --dport 9 -j DROP\nCOMMIT\n", { backend: "legacy" });
    expect(t.iptablesSave("pod-b", { backend: "legacy" })).toContain("-A INPUT -p udp -m udp --dport 9 -j DROP");
  });

  it("creates a VXLAN device on a veth inside a namespace", () => {
    const t = twin();
    t.ns("n1");
    t.ns("n2");
    t.veth("n1", "eth0", "n2", "eth0");
    t.addr("n1", "eth0", "192.168.50.1/24");
    t.vxlan("n1", "flannel.1", { id: 1, dev: "eth0", local: "192.168.50.1" });
    const d = JSON.parse(t.ip("n1", "-d -j link show dev flannel.1"))[0];
    expect(d.linkinfo.info_kind).toBe("vxlan");
    expect(d.linkinfo.info_data).toMatchObject({ id: 1, port: 8472, learning: false });
    // flannel-style static entries for a remote node, in one batch.
    t.ipBatch("n1", [
      "addr add 10.244.1.0/32 dev flannel.1",
      "neigh add 10.244.2.0 lladdr 5a:00:00:00:02:00 dev flannel.1 nud permanent",
      "route add 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink",
    ]);
    t.exec("n1", ["bridge", "fdb", "append", "5a:00:00:00:02:00", "dev", "flannel.1", "dst", "192.168.50.2"]);
    expect(t.ip("n1", "route show 10.244.2.0/24")).toContain("via 10.244.2.0 dev flannel.1 onlink");
    expect(t.exec("n1", ["bridge", "fdb", "show", "dev", "flannel.1"])).toContain("5a:00:00:00:02:00 dst 192.168.50.2");
  });

  it("rejects unknown namespaces and over-long interface names", () => {
    const t = twin();
    t.ns("pod-a");
    expect(() => t.exec("host", ["true"])).toThrow(/not one of this twin's/);
    expect(() => t.veth("pod-a", "a-very-long-ifname", "pod-a", "x")).toThrow(/at most 15/);
    expect(() => t.ns("pod-a")).toThrow(/already exists/);
  });

  let leaked: string[] = [];
  it.fails("cleans up after a test body that throws (this test fails on purpose)", () => {
    const t = twin();
    bridgeTopology(t);
    leaked = t.realNames;
    throw new Error("boom");
  });
  it("…and its namespaces are gone", () => {
    expect(leaked).toHaveLength(3);
    const now = listNetns();
    for (const n of leaked) expect(now).not.toContain(n);
  });

  it("withLinuxTwin cleans up when the body throws, and cleanup is idempotent", async () => {
    let names: string[] = [];
    let kept: LinuxTwin | undefined;
    await expect(
      withLinuxTwin(async (t) => {
        kept = t;
        t.ns("a");
        t.ns("b");
        t.veth("a", "eth0", "b", "eth0");
        t.spawn("a", ["sleep", "30"]);
        names = t.realNames;
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    const now = listNetns();
    for (const n of names) expect(now).not.toContain(n);
    expect(existsSync(kept!.dir)).toBe(false);
    expect(() => kept!.cleanup()).not.toThrow();
    expect(() => kept!.ns("c")).toThrow(/cleaned up/);
  });

  it("removes the namespaces when the process exits or is killed by SIGTERM without cleanup", async () => {
    const helper = fileURLToPath(new URL("./linux.ts", import.meta.url));
    const child = (ending: string) =>
      new Promise<{ stdout: string; stderr: string }>((resolve) => {
        const code = `import { LinuxTwin } from ${JSON.stringify(helper)};
          const t = new LinuxTwin(); t.ns("a"); t.ns("b"); t.veth("a", "eth0", "b", "eth0");
          t.spawn("a", ["sleep", "30"]); console.log(t.realNames.join(" ")); ${ending};`;
        execFile(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { timeout: 20_000 }, (_err, stdout, stderr) => resolve({ stdout, stderr }));
      });
    const runs = await Promise.all([child("process.exit(3)"), child("process.kill(process.pid, 'SIGTERM'); setTimeout(() => {}, 5000)")]);
    const now = listNetns();
    for (const r of runs) {
      const names = r.stdout.trim().split(/\s+/);
      expect(names, r.stderr).toHaveLength(2);
      for (const n of names) expect(now).not.toContain(n);
    }
  });
});

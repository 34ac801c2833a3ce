// The Linux twin of the emulated kernel's scenarios: the same topology built with ip netns, veth
// and a bridge, captured with tcpdump on every interface, compared hop by hop with kubewire's
// capture of the same exchange (addresses, ports, TTLs, DF, TOS, lengths, ARP, ICMP and quotes).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { createUdpSocket, NetCapture, NetNamespace } from "../../src/net/index.js";
import { Sim } from "../../src/sim/index.js";
import { describeLinux, useLinuxTwin } from "../helpers/linux.js";
import { tsharkProblems } from "../helpers/tshark.js";
import { routerBetweenSubnets, twoPodsOneBridge } from "./topologies.js";
import { buildTwinBridge, buildTwinRouter, captureTwin, expectSameHops, type Hop, kubewireHops } from "./twin-topologies.js";

const dir = mkdtempSync(join(tmpdir(), "kw-twin-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An echo server like `socat UDP4-RECVFROM:PORT,fork PIPE`. */
function udpEcho(ns: NetNamespace, port: number): void {
  const s = createUdpSocket(ns).bind(port);
  s.on("message", (msg, r) => s.send(msg, r.port, r.address));
}

describeLinux("Linux twin: the emulated kernel", () => {
  const twin = useLinuxTwin();

  it("two pods on one bridge: ARP, then UDP both ways, hop by hop", async () => {
    const hops: Hop[] = [["pod-a", "eth0"], ["node-1", "veth-a"], ["node-1", "cni0"], ["node-1", "veth-b"], ["pod-b", "eth0"]];
    const t = twin();
    buildTwinBridge(t);
    await t.udpEcho("pod-b", 5000);
    const linux = await captureTwin(t, hops, async () => {
      const r = await t.udpRequest("pod-a", "10.244.1.3", 5000, "hello", { srcPort: 40000 });
      expect(r.reply?.toString()).toBe("hello");
    });

    const k = twoPodsOneBridge();
    const file = join(dir, "bridge.pcapng");
    const cap = new NetCapture(file).attachAll(k.a, k.node, k.b);
    udpEcho(k.b, 5000);
    const client = createUdpSocket(k.a).bind(40000);
    client.connect(5000, "10.244.1.3");
    client.send("hello");
    k.sim.runFor(1e9);
    cap.close();
    expect(client.received.map((m) => m.msg.toString())).toEqual(["hello"]);
    expectSameHops(kubewireHops(file, hops), linux);
    expect(tsharkProblems(file)).toEqual([]);
  });

  it("router: forwarding, ICMP time exceeded for TTL 1, port unreachable from a closed port", async () => {
    const hops: Hop[] = [["host-a", "eth0"], ["router", "eth-a"], ["router", "eth-b"], ["host-b", "eth0"]];
    const t = twin();
    buildTwinRouter(t);
    const linux = await captureTwin(t, hops, async () => {
      t.exec("host-a", ["socat", "-u", "-", "UDP4-SENDTO:10.0.2.2:7000,sourceport=40001,ttl=1"], { input: Buffer.from("ttl") });
      await new Promise((r) => setTimeout(r, 200));
      const r = await t.udpRequest("host-a", "10.0.2.2", 9999, "anyone?", { srcPort: 40002 });
      expect(r.refused).toBe(true);
    });

    const k = routerBetweenSubnets();
    const file = join(dir, "router.pcapng");
    const cap = new NetCapture(file).attachAll(k.a, k.r, k.b);
    const s1 = createUdpSocket(k.a).bind(40001);
    s1.ipOpts = { ttl: 1 };
    s1.send("ttl", 7000, "10.0.2.2");
    k.sim.runFor(200e6);
    const s2 = createUdpSocket(k.a).bind(40002);
    s2.connect(9999, "10.0.2.2");
    s2.send("anyone?");
    k.sim.runFor(1e9);
    cap.close();
    expect(s2.errors.map((e) => e.code)).toEqual(["ECONNREFUSED"]);
    expectSameHops(kubewireHops(file, hops), linux);
    expect(tsharkProblems(file)).toEqual([]);
  });

  it("two containers of one pod over localhost: what lo shows", async () => {
    const t = twin();
    t.ns("pod");
    await t.udpEcho("pod", 8080);
    const linux = await captureTwin(t, [["pod", "lo"]], async () => {
      const r = await t.udpRequest("pod", "127.0.0.1", 8080, "over lo", { srcPort: 40020 });
      expect(r.reply?.toString()).toBe("over lo");
    });

    const sim = new Sim();
    const pod = new NetNamespace(sim, "pod");
    const file = join(dir, "lo.pcapng");
    const cap = new NetCapture(file).attach(pod.lo);
    udpEcho(pod, 8080);
    const c = createUdpSocket(pod).bind(40020);
    c.connect(8080, "127.0.0.1");
    c.send("over lo");
    sim.runFor(1e9);
    cap.close();
    expect(c.received.map((m) => m.msg.toString())).toEqual(["over lo"]);
    expectSameHops(kubewireHops(file, [["pod", "lo"]]), linux);
  });

  it("router: DF datagram too big for the next hop gets fragmentation needed with its MTU", async () => {
    const hops: Hop[] = [["host-a", "eth0"], ["router", "eth-a"], ["router", "eth-b"]];
    const t = twin();
    buildTwinRouter(t, 1400);
    const payload = Buffer.alloc(1450, 0x61);
    const linux = await captureTwin(t, hops, async () => {
      t.exec("host-a", ["socat", "-u", "-b", "65535", "-", "UDP4-SENDTO:10.0.2.2:7000,sourceport=40003"], { input: payload });
      await new Promise((r) => setTimeout(r, 300));
    });

    const k = routerBetweenSubnets(1, 1400);
    const file = join(dir, "frag.pcapng");
    const cap = new NetCapture(file).attachAll(k.a, k.r);
    createUdpSocket(k.a).bind(40003).send(payload, 7000, "10.0.2.2");
    k.sim.runFor(1e9);
    cap.close();
    expectSameHops(kubewireHops(file, hops), linux);
    expect(tsharkProblems(file)).toEqual([]);
  });
});

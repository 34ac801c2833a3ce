// The UDP underlay: VXLAN between two nodes over real node:dgram sockets on loopback, the outer
// frame rebuilt on receive as the kernel would have seen it, proxy ARP, what is not carried, and
// malformed or unwanted datagrams dropped with named reasons, never thrown.
import { createSocket, type Socket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { ping, RealtimeDriver, UdpUnderlay } from "../../src/net/index.js";
import { Sim } from "../../src/sim/index.js";
import { arp, ethernet, formatMac, ipv4, mustParseIpv4, udp } from "../../src/wire/index.js";
import { summarise } from "../helpers/packets.js";
import { flannelPeer, type HandNode, handNode, until } from "./underlay-helpers.js";

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

async function pair() {
  const sim = new Sim({ seed: 3 });
  const [n1, n2] = [handNode(sim, 1), handNode(sim, 2)];
  flannelPeer(n1, n2);
  flannelPeer(n2, n1);
  const u1 = await UdpUnderlay.open(n1.eth0, { host: "127.0.0.1", port: 0 });
  const u2 = await UdpUnderlay.open(n2.eth0, { host: "127.0.0.1", port: 0 });
  open.push(u1, u2);
  await u1.setPeer({ name: "node-2", addr: n2.addr, mac: n2.eth0.mac, host: "127.0.0.1", port: u2.port });
  await u2.setPeer({ name: "node-1", addr: n1.addr, mac: n1.eth0.mac, host: "127.0.0.1", port: u1.port });
  return { sim, n1, n2, u1, u2 };
}

/** A test socket standing in for a peer node: it sends what the test wants and records what it gets. */
async function fakePeer(host = "127.0.0.1"): Promise<{ sock: Socket; port: number; got: Buffer[] }> {
  const sock = createSocket("udp4");
  const got: Buffer[] = [];
  sock.on("message", (m) => got.push(m));
  await new Promise<void>((r) => sock.bind(0, host, () => r()));
  open.push({ close: () => new Promise<void>((r) => (closed(sock) ? r() : sock.close(() => r()))) });
  return { sock, port: sock.address().port, got };
}

/** Whether a dgram socket is closed (close() twice throws ERR_SOCKET_DGRAM_NOT_RUNNING). */
function closed(s: Socket): boolean {
  try {
    s.address();
    return false;
  } catch {
    return true;
  }
}

const send = (s: Socket, data: Uint8Array, port: number) => new Promise<void>((r) => s.send(data, port, "127.0.0.1", () => r()));

/** A VXLAN datagram (header + inner frame) from node-2's VTEP to node-1's: an echo request 10.244.1.0 → 10.244.0.0. */
function vxlanEcho(n1: HandNode, n2: HandNode, o: { vni?: number; flags?: number; badIpCsum?: boolean } = {}): Buffer {
  const b = Buffer.alloc(8 + 14 + 20 + 8 + 4);
  b[0] = o.flags ?? 0x08;
  b.writeUIntBE(o.vni ?? 1, 4, 3);
  ethernet.emit({ dstAddr: n1.vx.mac, srcAddr: n2.vx.mac, etherType: 0x0800 }, b, 8);
  ipv4.emit(
    { srcAddr: mustParseIpv4("10.244.1.0"), dstAddr: mustParseIpv4("10.244.0.0"), protocol: 1, ttl: 64, ident: 7, dontFrag: true, moreFrags: false, fragOffset: 0, dscp: 0, ecn: 0, payloadLen: 12 },
    b,
    22,
  );
  if (o.badIpCsum) b[22 + 10] ^= 0xff;
  b[42] = 8; // echo request; checksum over the 12 ICMP bytes
  b.writeUInt16BE(0x1234, 46);
  b.writeUInt16BE(1, 48);
  let sum = 0;
  for (let i = 42; i < 54; i += 2) sum += b.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  b.writeUInt16BE(~sum & 0xffff, 44);
  return b;
}

describe("UDP underlay", () => {
  it("carries VXLAN between two nodes; eth0 shows the outer frame the kernel would have seen", async () => {
    const { sim, n1, n2, u1, u2 } = await pair();
    const rt = new RealtimeDriver(sim.sched).attach(u1, u2);
    let reply: { ttl: number } | undefined;
    const got = await rt.run(async () => {
      rt.step(() => ping(n1.ns, "10.244.1.0", { ident: 0x77 }, (r) => (reply = r)));
      return rt.waitFor(() => reply !== undefined, 2000);
    });
    expect(got).toBe(true);
    expect(u1.stats).toMatchObject({ txDatagrams: 1, rxDatagrams: 1, arpProxied: 1, sendFailed: 0 });
    // node-1 resolved node-2's underlay address by proxy ARP: a reply from node-2's configured MAC.
    const [req, rep, out] = n1.frames.map((f) => summarise(f.bytes));
    expect(req).toMatchObject({ kind: "arp", arp: { op: 1, tpa: "192.168.50.12" } });
    expect(rep).toMatchObject({ kind: "arp", ethSrc: formatMac(n2.eth0.mac), arp: { op: 2, spa: "192.168.50.12", sha: formatMac(n2.eth0.mac), tha: formatMac(n1.eth0.mac) } });
    expect(out).toMatchObject({ ip: { src: "192.168.50.11", dst: "192.168.50.12" }, udp: { dport: 8472 }, vxlan: { vni: 1, inner: { icmp: { type: 8 } } } });
    // node-2 received the datagram rebuilt into the frame its NIC would have seen.
    const rx = n2.frames.find((f) => f.dir === 0 && summarise(f.bytes).vxlan);
    expect(rx).toBeDefined();
    const b = rx!.bytes;
    expect(summarise(b)).toMatchObject({
      ethSrc: formatMac(n1.eth0.mac),
      ethDst: formatMac(n2.eth0.mac),
      ip: { src: "192.168.50.11", dst: "192.168.50.12", ttl: 64, df: false, proto: 17 },
      udp: { sport: u1.port, dport: 8472 },
      vxlan: { vni: 1, inner: { ip: { src: "10.244.0.0", dst: "10.244.1.0" }, icmp: { type: 8 } } },
    });
    expect(udp.checksum(b, 34)).toBe(0);
    expect(ipv4.verifyChecksum(b, 14)).toBe(true);
    // The outer datagram is byte for byte what node-1 put on its eth0, from the VXLAN header on.
    const tx = n1.frames.find((f) => f.dir === 1 && summarise(f.bytes).vxlan)!.bytes;
    expect(b.subarray(42)).toEqual(tx.subarray(42));
    expect(reply!.ttl).toBe(64);
    expect(n1.eth0.dropsByName()).toEqual({});
    expect(n2.eth0.dropsByName()).toEqual({});
  });

  it("drops what it cannot carry with named reasons: ARP for a non-peer, IP to a non-peer, non-VXLAN to a peer", async () => {
    const { sim, n1, u1 } = await pair();
    const rt = new RealtimeDriver(sim.sched).attach(u1);
    await rt.run(async () => {
      rt.step(() => ping(n1.ns, "192.168.50.12")); // ICMP straight to the peer's underlay address
      rt.step(() => ping(n1.ns, "192.168.50.99")); // nobody: ARP for a non-peer
      await rt.sleep(20);
    });
    // 192.168.50.99 is retried as Linux does (3 solicitations, 1 s apart); the first one is enough here.
    expect(n1.eth0.dropsByName()).toEqual({ UNDERLAY_NOT_CARRIED: 2 });
    expect(u1.stats.txDatagrams).toBe(0);
    n1.ns.addRoute({ dst: "10.9.0.0/16", via: "192.168.50.77", dev: "eth0", onlink: true });
    n1.eth0.neigh.addPermanent(mustParseIpv4("192.168.50.77"), n1.eth0.mac);
    rt.step(() => ping(n1.ns, "10.9.0.1"));
    expect(n1.eth0.dropsByName()).toMatchObject({ UNDERLAY_PEER_UNKNOWN: 1 });
  });

  it("garbage datagrams are dropped and counted, never thrown; a good one still gets through", async () => {
    const sim = new Sim({ seed: 3 });
    const [n1, n2] = [handNode(sim, 1), handNode(sim, 2)];
    flannelPeer(n1, n2);
    const peer = await fakePeer();
    const stranger = await fakePeer("127.0.0.2");
    const u1 = await UdpUnderlay.open(n1.eth0, { host: "127.0.0.1", port: 0, peers: [{ name: "node-2", addr: n2.addr, mac: n2.eth0.mac, host: "127.0.0.1", port: peer.port }] });
    open.push(u1);
    const rt = new RealtimeDriver(sim.sched).attach(u1).start();
    const garbage: [Buffer, Socket][] = [
      [vxlanEcho(n1, n2), stranger.sock], // not a peer
      [Buffer.from([1, 2, 3]), peer.sock], // shorter than a VXLAN header
      [Buffer.alloc(0), peer.sock], // empty
      [vxlanEcho(n1, n2, { flags: 0x0c }), peer.sock], // reserved flag set
      [vxlanEcho(n1, n2, { vni: 42 }), peer.sock], // wrong VNI
      [vxlanEcho(n1, n2, { badIpCsum: true }), peer.sock], // inner IPv4 checksum wrong
      [Buffer.alloc(1600, 0x55), peer.sock], // more than eth0's MTU
    ];
    for (const [data, from] of garbage) await send(from, data, u1.port);
    await until(() => u1.stats.rxDatagrams === garbage.length, 2000, "the garbage");
    expect(n1.eth0.dropsByName()).toEqual({ UNDERLAY_PEER_UNKNOWN: 1, PKT_TOO_SMALL: 2, VXLAN_INVALID_HDR: 1, VXLAN_VNI_NOT_FOUND: 1, PKT_TOO_BIG: 1 });
    expect(n1.vx.dropsByName()).toEqual({ IP_CSUM: 1 });
    expect(u1.stats.unknownSender).toBe(1);
    await send(peer.sock, vxlanEcho(n1, n2), u1.port);
    await until(() => peer.got.length === 1, 2000, "the echo reply");
    rt.stop();
    const reply = peer.got[0];
    // What node-1 sent: the VXLAN header and the inner echo reply, as a kernel's socket would get it.
    expect(reply[0]).toBe(0x08);
    expect(reply.readUIntBE(4, 3)).toBe(1);
    expect(summarise(reply.subarray(8))).toMatchObject({ ethSrc: formatMac(n1.vx.mac), ethDst: formatMac(n2.vx.mac), ip: { src: "10.244.0.0", dst: "10.244.1.0" }, icmp: { type: 0 } });
  });

  it("a peer that is gone: sends are counted as UNDERLAY_SEND_FAILED and the node keeps working", async () => {
    const sim = new Sim({ seed: 3 });
    const [n1, n2] = [handNode(sim, 1), handNode(sim, 2)];
    flannelPeer(n1, n2);
    const peer = await fakePeer();
    const u1 = await UdpUnderlay.open(n1.eth0, { host: "127.0.0.1", port: 0, peers: [{ name: "node-2", addr: n2.addr, mac: n2.eth0.mac, host: "127.0.0.1", port: peer.port }] });
    open.push(u1);
    await new Promise<void>((r) => peer.sock.close(() => r()));
    const rt = new RealtimeDriver(sim.sched).attach(u1);
    let local = false;
    await rt.run(async () => {
      for (let seq = 1; seq <= 5; seq++) {
        rt.step(() => ping(n1.ns, "10.244.1.0", { ident: 9, seq }));
        await rt.sleep(10);
      }
      rt.step(() => ping(n1.ns, "192.168.50.11", {}, () => (local = true)));
      await rt.waitFor(() => local, 1000);
    });
    expect(u1.stats.txDatagrams).toBe(5);
    // Each datagram's ICMP port unreachable comes back as ECONNREFUSED on the connected socket.
    expect(u1.stats.sendFailed).toBeGreaterThanOrEqual(4);
    expect(n1.eth0.dropsByName().UNDERLAY_SEND_FAILED).toBe(u1.stats.sendFailed);
    expect(u1.peers()[0].refused).toBe(u1.stats.sendFailed);
    expect(local).toBe(true);
  });

  it("refuses a port another socket holds, and closes cleanly", async () => {
    const sim = new Sim();
    const n1 = handNode(sim, 1);
    const holder = await fakePeer();
    await expect(UdpUnderlay.open(n1.eth0, { host: "127.0.0.1", port: holder.port })).rejects.toThrow(/EADDRINUSE/);
    const u = await UdpUnderlay.open(n1.eth0, { host: "127.0.0.1", port: 0 });
    expect(n1.eth0.link).toBe(u);
    await u.close();
    expect(n1.eth0.link).toBe(null);
    // With the carrier gone, eth0 drops as a NIC without link does.
    sim.sched.enqueue(() => ping(n1.ns, "192.168.50.12"));
    sim.run(5e9);
    expect(n1.eth0.dropsByName()).toMatchObject({ DEV_READY: expect.any(Number) });
    expect(arp.ARP_LEN).toBe(28);
  });
});

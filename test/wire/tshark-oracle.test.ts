// The oracle for the codecs: a frame of every protocol kubewire writes, to classic pcap (ns and
// µs) and pcapng, dissected by tshark with zero malformed frames and zero expert errors, and every
// field equal to what was meant.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PcapngWriter, PcapWriter } from "../../src/capture/index.js";
import { buildArp, buildIcmp, buildTcp, buildUdp, encapVxlan, type Packet, PacketPool, prependEthernet, prependIpv4 } from "../../src/packet/index.js";
import { ethernet, icmp, mustParseIpv4 as ip, mustParseMac as mac, tcp } from "../../src/wire/index.js";
import { tsharkJson, tsharkProblems } from "../helpers/tshark.js";

const dir = mkdtempSync(join(tmpdir(), "kw-oracle-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// biome-ignore lint/suspicious/noExplicitAny: tshark's JSON is untyped; the checks index into it freely.
type Layers = Record<string, any>;

const pool = new PacketPool();
const A = { mac: mac("02:00:00:00:00:0a"), ip: ip("10.244.1.2") };
const B = { mac: mac("02:00:00:00:00:0b"), ip: ip("10.244.2.3") };
const eth = { src: A.mac, dst: B.mac };
const payload = new TextEncoder().encode("kubewire oracle payload");

function udpFrame(): Packet {
  return buildUdp(pool, { eth, ip: { src: A.ip, dst: B.ip, ident: 0x1234 }, udp: { srcPort: 40000, dstPort: 9000 }, payload });
}

/** An ICMP error quoting `quoted` (an IPv4 datagram without its Ethernet header). */
function icmpError(type: number, code: number, rest: number, quoted: Packet): Packet {
  const q = quoted.bytes().subarray(14);
  const p = pool.alloc(128, 8 + q.length);
  const o = p.put(8 + q.length);
  icmp.emitError(p.buf, o, type, code, rest, q, 0, q.length);
  prependIpv4(p, { src: ip("10.244.2.1"), dst: A.ip, ttl: 64, dontFrag: false, dscp: 0x30 }, 1);
  prependEthernet(p, { src: B.mac, dst: A.mac }, ethernet.EtherType.IPv4);
  return p;
}

function vlanUdp(): Packet {
  const p = udpFrame();
  // Re-tag: move the Ethernet addresses 4 bytes forward and insert TPID 0x8100, PCP 3, VID 165.
  const o = p.push(4);
  p.buf.copy(p.buf, o, o + 4, o + 16);
  ethernet.setVlanTci(p.buf, o, 3, false, 165);
  p.buf.writeUInt16BE(0x8100, o + 12);
  p.buf.writeUInt16BE(0x0800, o + 16);
  return p;
}

function vxlanFrame(port: number): Packet {
  const inner = buildIcmp(pool, { eth, ip: { src: A.ip, dst: B.ip, ident: 7 }, icmp: { type: 8, ident: 0x42, seq: 1 }, payload });
  encapVxlan(inner, { eth: { src: mac("02:00:c0:a8:32:0b"), dst: mac("02:00:c0:a8:32:0c") }, ip: { src: ip("192.168.50.11"), dst: ip("192.168.50.12"), dontFrag: false }, srcPort: 45149, dstPort: port, vni: 1 });
  return inner;
}

const frames: { what: string; pkt: Packet; check: (l: Layers) => void }[] = [
  {
    what: "ARP request",
    pkt: buildArp(pool, { eth: { src: A.mac, dst: mac("ff:ff:ff:ff:ff:ff") }, arp: { op: 1, sha: A.mac, spa: A.ip, tha: mac("00:00:00:00:00:00"), tpa: B.ip } }),
    check: (l) => expect(l.arp).toMatchObject({ "arp.opcode": "1", "arp.src.proto_ipv4": "10.244.1.2", "arp.dst.proto_ipv4": "10.244.2.3", "arp.src.hw_mac": "02:00:00:00:00:0a" }),
  },
  {
    what: "ARP reply",
    pkt: buildArp(pool, { eth: { src: B.mac, dst: A.mac }, arp: { op: 2, sha: B.mac, spa: B.ip, tha: A.mac, tpa: A.ip } }),
    check: (l) => expect(l.arp).toMatchObject({ "arp.opcode": "2", "arp.src.hw_mac": "02:00:00:00:00:0b" }),
  },
  {
    what: "IPv4/UDP",
    pkt: udpFrame(),
    check: (l) => {
      expect(l.ip).toMatchObject({ "ip.src": "10.244.1.2", "ip.dst": "10.244.2.3", "ip.ttl": "64", "ip.id": "0x1234", "ip.len": String(20 + 8 + payload.length), "ip.checksum.status": "1" });
      expect(l.udp).toMatchObject({ "udp.srcport": "40000", "udp.dstport": "9000", "udp.length": String(8 + payload.length), "udp.checksum.status": "1" });
    },
  },
  {
    what: "802.1Q VLAN 165",
    pkt: vlanUdp(),
    check: (l) => {
      expect(l.vlan).toMatchObject({ "vlan.id": "165", "vlan.priority": "3", "vlan.etype": "0x0800" });
      expect(l.udp["udp.dstport"]).toBe("9000");
    },
  },
  {
    what: "ICMP echo request",
    pkt: buildIcmp(pool, { eth, ip: { src: A.ip, dst: B.ip }, icmp: { type: 8, ident: 0x42, seq: 3 }, payload }),
    check: (l) => expect(l.icmp).toMatchObject({ "icmp.type": "8", "icmp.ident": "66", "icmp.seq": "3", "icmp.checksum.status": "1" }),
  },
  {
    what: "ICMP echo reply",
    pkt: buildIcmp(pool, { eth: { src: B.mac, dst: A.mac }, ip: { src: B.ip, dst: A.ip }, icmp: { type: 0, ident: 0x42, seq: 3 }, payload }),
    check: (l) => expect(l.icmp).toMatchObject({ "icmp.type": "0", "icmp.checksum.status": "1" }),
  },
  {
    what: "ICMP port unreachable quoting the UDP datagram",
    pkt: icmpError(3, 3, 0, udpFrame()),
    check: (l) => {
      expect(l.icmp).toMatchObject({ "icmp.type": "3", "icmp.code": "3", "icmp.checksum.status": "1" });
      const quoted = l.icmp.ip ?? l.ip[1];
      expect(quoted).toMatchObject({ "ip.src": "10.244.1.2", "ip.dst": "10.244.2.3" });
      expect(l.ip[0] ?? l.ip).toMatchObject({ "ip.dsfield": "0xc0" });
    },
  },
  {
    what: "ICMP fragmentation needed, next-hop MTU 1450",
    pkt: icmpError(3, 4, 1450, udpFrame()),
    check: (l) => expect(l.icmp).toMatchObject({ "icmp.type": "3", "icmp.code": "4", "icmp.mtu": "1450" }),
  },
  {
    what: "ICMP time exceeded",
    pkt: icmpError(11, 0, 0, udpFrame()),
    check: (l) => expect(l.icmp).toMatchObject({ "icmp.type": "11", "icmp.code": "0", "icmp.checksum.status": "1" }),
  },
  {
    what: "TCP SYN with Linux's options",
    pkt: buildTcp(pool, {
      eth,
      ip: { src: A.ip, dst: B.ip },
      tcp: { srcPort: 40000, dstPort: 80, seq: 1000, flags: tcp.TcpFlags.SYN, window: 64860, options: { mss: 1410, sackPermitted: true, timestamp: { val: 1, ecr: 0 }, wscale: 10 } },
    }),
    check: (l) => {
      expect(l.tcp).toMatchObject({ "tcp.srcport": "40000", "tcp.dstport": "80", "tcp.flags": "0x0002", "tcp.window_size_value": "64860", "tcp.checksum.status": "1", "tcp.hdr_len": "40" });
      const opts = l.tcp["tcp.options_tree"];
      expect(opts["tcp.options.mss_tree"]["tcp.options.mss_val"]).toBe("1410");
      expect(opts["tcp.options.wscale_tree"]["tcp.options.wscale.shift"]).toBe("10");
      expect(opts["tcp.options.sack_perm_tree"]).toBeDefined();
      expect(opts["tcp.options.timestamp_tree"]["tcp.options.timestamp.tsval"]).toBe("1");
    },
  },
  {
    what: "VXLAN on 4789 carrying a ping",
    pkt: vxlanFrame(4789),
    check: (l) => {
      expect(l.vxlan).toMatchObject({ "vxlan.vni": "1" });
      expect(l.ip[0]).toMatchObject({ "ip.src": "192.168.50.11", "ip.dst": "192.168.50.12" });
      expect(l.ip[1]).toMatchObject({ "ip.src": "10.244.1.2", "ip.dst": "10.244.2.3" });
      expect(l.udp).toMatchObject({ "udp.srcport": "45149", "udp.dstport": "4789", "udp.checksum": "0x0000" });
    },
  },
  {
    what: "VXLAN on 8472 (flannel) carrying a ping",
    pkt: vxlanFrame(8472),
    check: (l) => {
      expect(l.vxlan).toMatchObject({ "vxlan.vni": "1" });
      expect(l.icmp).toMatchObject({ "icmp.type": "8" });
    },
  },
];

const decodeAs = ["udp.port==8472,vxlan"];

function layersOf(file: string): Layers[] {
  return tsharkJson(file, { decodeAs }) as Layers[];
}

describe("tshark dissects every frame kubewire writes", () => {
  for (const res of ["ns", "us"] as const) {
    it(`classic pcap (${res})`, () => {
      const file = join(dir, `all-${res}.pcap`);
      const w = new PcapWriter(file, { resolution: res });
      frames.forEach((f, i) => {
        w.writePacket(1_700_000_000_000_000_000n + BigInt(i * 1001), f.pkt.buf, f.pkt.head, f.pkt.tail);
      });
      w.close();
      expect(tsharkProblems(file, { decodeAs })).toEqual([]);
      const got = layersOf(file);
      expect(got).toHaveLength(frames.length);
      frames.forEach((f, i) => {
        f.check(got[i]);
      });
      expect(got[1].frame["frame.time_epoch"]).toBe(res === "ns" ? "1700000000.000001001" : "1700000000.000001000");
    });
  }

  it("pcapng with an interface per device and packet comments", () => {
    const file = join(dir, "all.pcapng");
    const w = new PcapngWriter(file);
    const ifs = ["node-1/cni0", "pod-a/eth0"].map((name) => w.addInterface({ name, description: `test ${name}` }));
    frames.forEach((f, i) => {
      w.writePacket(ifs[i % 2], 1_000_000_000 + i, f.pkt.buf, f.pkt.head, f.pkt.tail, `frame ${i}: ${f.what}`);
    });
    w.close();
    expect(tsharkProblems(file, { decodeAs })).toEqual([]);
    const got = layersOf(file);
    frames.forEach((f, i) => {
      f.check(got[i]);
      const iface = got[i].frame["frame.interface_id_tree"] ?? got[i].frame;
      expect(iface["frame.interface_name"]).toBe(i % 2 ? "pod-a/eth0" : "node-1/cni0");
      expect(iface["frame.interface_description"]).toBe(i % 2 ? "test pod-a/eth0" : "test node-1/cni0");
      expect(got[i].frame["frame.comment"] ?? got[i].pkt_comment?.["frame.comment"]).toBe(`frame ${i}: ${f.what}`);
    });
  });
});

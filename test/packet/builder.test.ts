import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildArp,
  buildIcmp,
  buildTcp,
  buildUdp,
  DEFAULT_HEADROOM,
  encapVxlan,
  flowHash3,
  flowSrcPort,
  innerFlowHash,
  Packet,
  PacketPool,
  VXLAN_SRC_PORT_MAX,
  VXLAN_SRC_PORT_MIN,
  VxlanDecapError,
  vxlanDecap,
  vxlanEncap,
  vxlanTemplate,
} from "../../src/packet/index.js";
import { arp, icmp, ipv4, mustParseIpv4, mustParseMac, tcp, udp, vxlan } from "../../src/wire/index.js";
import { hexDump } from "../helpers/captures.js";
import { VXLAN_8472_ARP as VX_ARP, VXLAN_4789_PING as VX_PING } from "../helpers/golden.js";

const ip = mustParseIpv4;
const mac = mustParseMac;

// tcpdump_dns_udp.pcap frame 1 (see test/wire/udp.test.ts): IPv4 id 0x59cd, no DF, TTL 64.
const DNS = hexDump(`
0000  00 11 22 33 44 66 00 11 22 33 44 55 08 00 45 00   .."3Df.."3DU..E.
0010  00 54 59 cd 00 00 40 11 94 ae c0 a8 01 0b d1 57   .TY...@........W
0020  f9 12 ab be 00 35 00 40 78 24 59 34 01 20 00 01   .....5.@x$Y4. ..
0030  00 00 00 00 00 01 03 77 77 77 07 74 63 70 64 75   .......www.tcpdu
0040  6d 70 03 6f 72 67 00 00 01 00 01 00 00 29 10 00   mp.org.......)..
0050  00 00 00 00 00 0c 00 0a 00 08 42 f5 d0 09 96 f9   ..........B.....
0060  0b 13                                             ..
`);
// gopacket_test_ethernet.pcap frame 1: the Linux SYN (see test/wire/tcp.test.ts).
const SYN = hexDump(`
0000  c4 39 3a 02 a9 2a 58 6d 8f 99 ec a8 08 00 45 00   .9:..*Xm......E.
0010  00 3c 5b 9f 40 00 40 06 c9 18 0a 01 01 02 0a 01   .<[.@.@.........
0020  01 01 ae 64 00 50 93 49 c8 30 00 00 00 00 a0 02   ...d.P.I.0......
0030  72 10 e4 7d 00 00 02 04 05 b4 04 02 08 0a 3d 8f   r..}..........=.
0040  93 af 00 00 00 00 01 03 03 07                     ..........
`);

const VTEP_A = { mac: mac("36:dc:85:1e:b3:40"), ip: ip("192.168.203.1") };
const VTEP_B = { mac: mac("00:16:3e:08:71:cf"), ip: ip("192.168.202.1") };
const POD_3 = { mac: mac("00:16:3e:37:f6:04"), ip: ip("192.168.203.3") };
const POD_5 = { mac: mac("00:30:88:01:00:02"), ip: ip("192.168.203.5") };

const pool = new PacketPool();
const bytes = (p: Packet) => new Uint8Array(p.bytes());

function pingFrame(): Packet {
  return buildIcmp(pool, {
    eth: { src: POD_3.mac, dst: POD_5.mac },
    ip: { src: POD_3.ip, dst: POD_5.ip, ident: 0 },
    icmp: { type: 8, ident: 0x050c, seq: 1 },
    payload: VX_PING.subarray(50 + 42),
  });
}

describe("builder reproduces real frames", () => {
  it("buildUdp: the DNS query", () => {
    const p = buildUdp(pool, {
      eth: { src: mac("00:11:22:33:44:55"), dst: mac("00:11:22:33:44:66") },
      ip: { src: ip("192.168.1.11"), dst: ip("209.87.249.18"), ident: 0x59cd, dontFrag: false },
      udp: { srcPort: 43966, dstPort: 53 },
      payload: DNS.subarray(42),
    });
    expect(bytes(p)).toEqual(DNS);
    expect([p.l3 - p.head, p.l4 - p.head]).toEqual([14, 34]);
    expect(p.headroom).toBe(DEFAULT_HEADROOM);
  });

  it("buildTcp: the Linux SYN with its options", () => {
    const p = buildTcp(pool, {
      eth: { src: mac("58:6d:8f:99:ec:a8"), dst: mac("c4:39:3a:02:a9:2a") },
      ip: { src: ip("10.1.1.2"), dst: ip("10.1.1.1"), ident: 0x5b9f },
      tcp: {
        srcPort: 44644,
        dstPort: 80,
        seq: 0x9349c830,
        flags: tcp.TcpFlags.SYN,
        window: 29200,
        options: { mss: 1460, sackPermitted: true, timestamp: { val: 0x3d8f93af, ecr: 0 }, wscale: 7 },
      },
    });
    expect(bytes(p)).toEqual(SYN);
  });

  it("buildIcmp + encapVxlan: the VXLAN ping, byte for byte", () => {
    const p = pingFrame();
    expect(bytes(p)).toEqual(VX_PING.subarray(50));
    encapVxlan(p, {
      eth: { src: VTEP_A.mac, dst: VTEP_B.mac },
      ip: { src: VTEP_A.ip, dst: VTEP_B.ip, ident: 0xd2c0 },
      srcPort: 45149,
      dstPort: vxlan.VXLAN_PORT_IANA,
      vni: 100,
    });
    expect(bytes(p)).toEqual(VX_PING);
  });

  it("buildArp + encapVxlan: the VXLAN ARP request on port 8472", () => {
    const p = buildArp(pool, {
      eth: { src: POD_5.mac, dst: mac("ff:ff:ff:ff:ff:ff") },
      arp: { op: arp.ArpOp.Request, sha: POD_5.mac, spa: POD_5.ip, tha: mac("00:00:00:00:00:00"), tpa: POD_3.ip },
    });
    expect(bytes(p)).toEqual(VX_ARP.subarray(50));
    encapVxlan(p, {
      eth: { src: VTEP_B.mac, dst: VTEP_A.mac },
      ip: { src: VTEP_B.ip, dst: VTEP_A.ip, ident: 0xb802, ttl: 62 },
      srcPort: 42710,
      vni: 100,
    });
    expect(bytes(p)).toEqual(VX_ARP);
  });
});

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const payload = fc.uint8Array({ maxLength: 300 });
const eth = fc.record({ src: fc.integer({ min: 0, max: 2 ** 48 - 1 }), dst: fc.integer({ min: 0, max: 2 ** 48 - 1 }) });
const ipSpec = fc.record({ src: u32, dst: u32, ttl: fc.integer({ min: 1, max: 255 }), ident: u16, dontFrag: fc.boolean() });

/** Parses the built frame's Ethernet and IPv4 headers (checksum verified) and returns the L4 offset. */
function l4Of(p: Packet, proto: number): number {
  const b = p.buf;
  expect(ipv4.check(b, p.head + 14, p.tail)).toBeUndefined();
  expect(ipv4.verifyChecksum(b, p.head + 14)).toBe(true);
  expect(ipv4.protocol(b, p.head + 14)).toBe(proto);
  expect(ipv4.totalLen(b, p.head + 14)).toBe(p.length - 14);
  return p.head + 34;
}

describe("builder frames verify", () => {
  it("UDP, TCP and ICMP checksums are good", () => {
    fc.assert(
      fc.property(eth, ipSpec, u16, u16, payload, (e, i, sp, dp, data) => {
        const u = buildUdp(pool, { eth: e, ip: i, udp: { srcPort: sp, dstPort: dp }, payload: data });
        const ul = l4Of(u, 17);
        expect(udp.check(u.buf, ul, u.tail)).toBeUndefined();
        expect(udp.checksum(u.buf, ul)).not.toBe(0);
        expect(udp.verifyChecksum(u.buf, ul, i.src, i.dst, u.tail - ul)).toBe(true);
        u.free();
        const t = buildTcp(pool, { eth: e, ip: i, tcp: { srcPort: sp, dstPort: dp, options: { mss: 1460 } }, payload: data });
        const tl = l4Of(t, 6);
        expect(tcp.verifyChecksum(t.buf, tl, i.src, i.dst, t.tail - tl)).toBe(true);
        t.free();
        const c = buildIcmp(pool, { eth: e, ip: i, icmp: { type: 0, ident: sp, seq: dp }, payload: data });
        expect(icmp.verifyChecksum(c.buf, l4Of(c, 1), c.tail)).toBe(true);
        c.free();
      }),
    );
    expect(pool.outstanding).toBeLessThan(10);
  });
});

describe("vxlanEncap (template) and vxlanDecap", () => {
  const tmpl = () =>
    vxlanTemplate({ srcMac: VTEP_A.mac, dstMac: VTEP_B.mac, local: VTEP_A.ip, remote: VTEP_B.ip, vni: 100, port: 4789, ipId: 0xd2c0 });

  it("writes what the full builder writes, given the same source port and id", () => {
    const t = tmpl();
    const p = pingFrame();
    const h = vxlanEncap(p, t);
    expect(h).toBe(p.head);
    expect(p.length).toBe(VX_PING.length);
    const sport = udp.srcPort(p.buf, h + 34);
    expect(sport).toBeGreaterThanOrEqual(VXLAN_SRC_PORT_MIN);
    expect(sport).toBeLessThan(VXLAN_SRC_PORT_MAX);
    const expected = VX_PING.slice();
    udp.setSrcPort(expected, 34, sport);
    ipv4.fillChecksum(expected, 14);
    expect(bytes(p)).toEqual(expected);
    expect(ipv4.verifyChecksum(p.buf, h + 14)).toBe(true);
    expect(ipv4.ident(p.buf, h + 14)).toBe(0xd2c0);
    expect([p.l3, p.l4]).toEqual([h + 14, h + 34]);
    // The next packet gets the next identification.
    const q = pingFrame();
    vxlanEncap(q, t);
    expect(ipv4.ident(q.buf, q.head + 14)).toBe(0xd2c1);
  });

  it("the source port is a function of the inner flow, in Linux's range", () => {
    const t = tmpl();
    const ports = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const make = () =>
        buildUdp(pool, { eth: { src: 1, dst: 2 }, ip: { src: 0x0a000001 + i, dst: 0x0a000002 }, udp: { srcPort: 1000 + i, dstPort: 53 } });
      const a = make();
      const b = make();
      vxlanEncap(a, t);
      vxlanEncap(b, t);
      const sp = udp.srcPort(a.buf, a.head + 34);
      expect(udp.srcPort(b.buf, b.head + 34)).toBe(sp);
      expect(sp >= VXLAN_SRC_PORT_MIN && sp < VXLAN_SRC_PORT_MAX).toBe(true);
      ports.add(sp);
      a.free();
      b.free();
    }
    expect(ports.size).toBeGreaterThan(480);
  });

  it("flowSrcPort is udp_flow_src_port's ((u64)hash * range) >> 32 in integer steps", () => {
    fc.assert(
      fc.property(u32, fc.integer({ min: 1, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), (hash, range, min) => {
        const folded = (hash ^ (hash << 16)) >>> 0;
        expect(flowSrcPort(hash, min, min + range)).toBe(Math.floor((folded * range) / 2 ** 32) + min);
      }),
    );
  });

  it("keeps the flow hash in pkt.hash (skb_get_hash) and uses one already there (sk_txhash)", () => {
    const t = vxlanTemplate({ srcMac: 1, dstMac: 2, local: 1, remote: 2, vni: 7, hashSeed: 0x1234567 });
    const a = pingFrame();
    expect(a.hash).toBe(0);
    const want = innerFlowHash(a.buf, a.head, a.length, t.hashSeed);
    vxlanEncap(a, t);
    expect(a.hash >>> 0).toBe(want);
    expect(udp.srcPort(a.buf, a.head + 34)).toBe(flowSrcPort(want, VXLAN_SRC_PORT_MIN, VXLAN_SRC_PORT_MAX));
    // A clone carries it; decapsulation clears it (it does not cross the wire); reset clears it.
    expect(a.clone().hash).toBe(a.hash);
    expect(vxlanDecap(a)).toBe(7);
    expect(a.hash).toBe(0);
    // A hash already on the packet is used as it is, not recomputed from the inner headers.
    for (const preset of [1, 0x9e3779b9 | 0, -1, 0x7fffffff]) {
      const b = pingFrame();
      b.hash = preset;
      vxlanEncap(b, t);
      expect(b.hash).toBe(preset);
      expect(udp.srcPort(b.buf, b.head + 34)).toBe(flowSrcPort(preset, VXLAN_SRC_PORT_MIN, VXLAN_SRC_PORT_MAX));
      b.free();
    }
    const c = pingFrame();
    c.hash = 5;
    c.free();
    expect(pool.alloc().hash).toBe(0);
  });

  it("writes the same bytes at every alignment of the head and of the buffer", () => {
    // 130 puts the outer head on a 4-byte boundary (the aligned word stores), the others do not.
    const inner = bytes(pingFrame());
    const outer = (p: Packet) => {
      vxlanEncap(p, tmpl());
      return bytes(p);
    };
    const want = outer(Packet.from(inner, 130));
    for (const headroom of [128, 129, 131, 132, 50, 53]) expect(outer(Packet.from(inner, headroom))).toEqual(want);
    // A buffer whose start is not 4-aligned has no word view: the DataView path.
    const odd = new Packet(Buffer.alloc(2049).subarray(1)).reset(130);
    expect(odd.words.length).toBe(0);
    odd.buf.set(inner, 130);
    odd.tail = 130 + inner.length;
    expect(outer(odd)).toEqual(want);
  });

  /** skb_get_hash's keys read byte by byte: an independent reading of what flowhash.ts reads a word at a time. */
  const byteFlowHash = (f: Uint8Array, seed: number): number => {
    const u32 = (i: number) => ((f[i] << 24) | (f[i + 1] << 16) | (f[i + 2] << 8) | f[i + 3]) | 0;
    if (f.length < 34 || f[12] !== 0x08 || f[13] !== 0x00) return flowHash3(u32(0), u32(4), u32(8), seed ^ ((f[12] << 8) | f[13]));
    const proto = f[23];
    let c = proto;
    const l4 = 14 + ((f[14] & 0x0f) << 2);
    if ((proto === 6 || proto === 17) && (f[20] & 0x3f) === 0 && f[21] === 0 && l4 + 4 <= f.length) c ^= u32(l4);
    return flowHash3(u32(26), u32(30), c, seed);
  };

  it("hashes the inner flow as innerFlowHash does, for any IPv4 header (TCP/UDP ports, fragments, options, short frames)", () => {
    // vxlanEncap decides for itself whether the inner frame is IPv4 and hashes it; innerFlowHash
    // must agree with it on the source port of every frame.
    const inner = fc
      .tuple(fc.uint8Array({ minLength: 80, maxLength: 80 }), fc.integer({ min: 14, max: 80 }), fc.constantFrom(6, 17, 1, 47), fc.integer({ min: 0, max: 15 }), fc.boolean(), fc.integer({ min: 0, max: 3 }))
      .map(([b, len, proto, ihl, ipv4Type, frag]) => {
        // The length drawn apart from the bytes: fast-check favours short arrays.
        const f = b.slice(0, len);
        if (ipv4Type && f.length >= 14) {
          f[12] = 0x08;
          f[13] = 0x00;
        }
        if (f.length >= 34) {
          f[14] = 0x40 | ihl;
          f[23] = proto;
          if (frag === 0) f[20] = f[21] = 0;
          else if (frag === 1) [f[20], f[21]] = [0x40, 0]; // DF alone: not a fragment
          else if (frag === 2) [f[20], f[21]] = [0x20, 0]; // MF, offset 0: a first fragment, no ports
        }
        return f;
      });
    fc.assert(
      fc.property(inner, u32, (frame, seed) => {
        const t = vxlanTemplate({ srcMac: 1, dstMac: 2, local: 1, remote: 2, vni: 7, hashSeed: seed });
        const a = Packet.from(frame);
        const b = Packet.from(frame);
        b.hash = innerFlowHash(frame, 0, frame.length, t.hashSeed) | 0;
        expect(b.hash >>> 0).toBe(byteFlowHash(frame, t.hashSeed));
        vxlanEncap(a, t);
        vxlanEncap(b, t);
        expect(udp.srcPort(a.buf, a.head + 34)).toBe(udp.srcPort(b.buf, b.head + 34));
      }),
      { numRuns: 500 },
    );
  });

  it("copies the inner ECN, CE as ECT(0) (INET_ECN_encapsulate)", () => {
    for (const [inner, outer] of [
      [0, 0],
      [1, 1],
      [2, 2],
      [3, 2],
    ]) {
      const p = buildUdp(pool, { eth: { src: 1, dst: 2 }, ip: { src: 1, dst: 2, ecn: inner }, udp: { srcPort: 1, dstPort: 2 } });
      vxlanEncap(p, tmpl());
      expect(ipv4.ecn(p.buf, p.head + 14)).toBe(outer);
      expect(ipv4.verifyChecksum(p.buf, p.head + 14)).toBe(true);
    }
  });

  it("decapsulates the reference frames", () => {
    for (const frame of [VX_PING, VX_ARP]) {
      const p = Packet.from(frame);
      expect(vxlanDecap(p)).toBe(100);
      expect(bytes(p)).toEqual(frame.subarray(50));
      expect(p.head).toBe(DEFAULT_HEADROOM + 50);
    }
  });

  it("trims trailing bytes past the UDP length", () => {
    const p = Packet.from(Uint8Array.of(...VX_ARP, 0, 0, 0, 0));
    expect(vxlanDecap(p)).toBe(100);
    expect(bytes(p)).toEqual(VX_ARP.subarray(50));
  });

  it("refuses what it cannot decapsulate, leaving the packet alone", () => {
    const bad = (patch: (b: Uint8Array) => void, len = VX_PING.length): number => {
      const b = VX_PING.slice(0, len);
      patch(b);
      const p = Packet.from(b);
      const r = vxlanDecap(p);
      expect(p.head).toBe(DEFAULT_HEADROOM);
      expect(p.length).toBe(len);
      return r;
    };
    expect(bad(() => {}, 63)).toBe(VxlanDecapError.TooShort);
    expect(bad((b) => (b[12] = 0x86))).toBe(VxlanDecapError.NotIpv4);
    expect(bad((b) => (b[14] = 0x46))).toBe(VxlanDecapError.IpHeader);
    expect(bad((b) => (b[14] = 0x65))).toBe(VxlanDecapError.IpHeader);
    expect(bad((b) => (b[20] |= 0x20))).toBe(VxlanDecapError.IpHeader);
    expect(bad((b) => (b[23] = 6))).toBe(VxlanDecapError.NotUdp);
    expect(bad((b) => (b[17] += 1))).toBe(VxlanDecapError.BadLength);
    expect(bad((b) => (b[39] += 1))).toBe(VxlanDecapError.BadLength);
    expect(bad((b) => (b[39] = 29))).toBe(VxlanDecapError.BadLength);
    expect(bad((b) => (b[42] = 0))).toBe(VxlanDecapError.InvalidHeader);
    expect(bad((b) => (b[42] = 0x0c))).toBe(VxlanDecapError.InvalidHeader);
    expect(bad((b) => (b[49] = 1))).toBe(VxlanDecapError.InvalidHeader);
  });

  it("encap then decap restores the inner frame exactly", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 14, maxLength: 1500 }),
        fc.integer({ min: 0, max: vxlan.VXLAN_VNI_MAX }),
        u32,
        u32,
        u16,
        fc.integer({ min: 50, max: 140 }),
        (inner, vni, local, remote, id, headroom) => {
          const t = vxlanTemplate({ srcMac: 1, dstMac: 2, local, remote, vni, ipId: id });
          const p = Packet.from(inner, headroom);
          vxlanEncap(p, t);
          expect(p.length).toBe(inner.length + vxlan.VXLAN_ENCAP_LEN);
          expect(ipv4.verifyChecksum(p.buf, p.head + 14)).toBe(true);
          expect(ipv4.parse(p.buf, p.head + 14, p.tail).ok).toBe(true);
          expect(udp.check(p.buf, p.head + 34, p.tail)).toBeUndefined();
          expect(udp.dstPort(p.buf, p.head + 34)).toBe(vxlan.VXLAN_PORT_LINUX);
          expect(vxlanDecap(p)).toBe(vni);
          expect(p.head).toBe(headroom);
          expect(bytes(p)).toEqual(inner);
        },
      ),
    );
  });

  it("random frames never throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (frame) => {
        const p = Packet.from(frame);
        const r = vxlanDecap(p);
        if (r < 0) expect(p.length).toBe(frame.length);
      }),
    );
  });
});

/** A classic pcap of the frames, for tshark. */
function pcap(frames: Uint8Array[]): Buffer {
  const parts = [Buffer.from("d4c3b2a1020004000000000000000000ffff000001000000", "hex")];
  for (const f of frames) {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(f.length, 8);
    rec.writeUInt32LE(f.length, 12);
    parts.push(rec, Buffer.from(f));
  }
  return Buffer.concat(parts);
}

const hasTshark = spawnSync("tshark", ["--version"], { timeout: 10_000 }).status === 0;

describe.skipIf(!hasTshark)("tshark reads the built frames", () => {
  it("with good checksums and no warnings", () => {
    const t = vxlanTemplate({ srcMac: VTEP_A.mac, dstMac: VTEP_B.mac, local: VTEP_A.ip, remote: VTEP_B.ip, vni: 1, port: 8472 });
    const ping = pingFrame();
    const reply = pingFrame();
    icmp.echoRequestToReply(reply.buf, reply.head + 34);
    vxlanEncap(reply, t);
    const syn = buildTcp(pool, {
      eth: { src: 1, dst: 2 },
      ip: { src: ip("10.0.0.1"), dst: ip("10.0.0.2") },
      tcp: { srcPort: 40000, dstPort: 80, flags: tcp.TcpFlags.SYN, options: { mss: 1460, sackPermitted: true, timestamp: { val: 1, ecr: 0 }, wscale: 7 } },
    });
    const dns = buildUdp(pool, { eth: { src: 1, dst: 2 }, ip: { src: 1, dst: 2 }, udp: { srcPort: 40000, dstPort: 9 }, payload: Uint8Array.of(1, 2, 3) });
    const dir = mkdtempSync(join(tmpdir(), "kw-builder-"));
    try {
      const file = join(dir, "built.pcap");
      writeFileSync(file, pcap([ping, reply, syn, dns].map(bytes)));
      const prefs = ["ip.check_checksum:TRUE", "udp.check_checksum:TRUE", "tcp.check_checksum:TRUE"].flatMap((o) => ["-o", o]);
      const run = (...args: string[]) =>
        spawnSync("tshark", ["-r", file, ...prefs, "-d", "udp.port==8472,vxlan", ...args], { encoding: "utf8", timeout: 30_000 });
      const all = run("-T", "fields", "-e", "frame.protocols");
      expect(all.stdout.trim().split("\n")).toEqual([
        "eth:ethertype:ip:icmp:data",
        "eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:icmp:data",
        "eth:ethertype:ip:tcp",
        "eth:ethertype:ip:udp:data",
      ]);
      const flagged = run("-Y", "_ws.malformed || _ws.expert.severity >= 6291456 || ip.checksum.status == 0 || udp.checksum.status == 0 || tcp.checksum.status == 0");
      expect(flagged.stdout).toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { asMac, ethernet, mustParseMac } from "../../src/wire/index.js";

type EthernetRepr = ethernet.EthernetRepr;
const { EtherType } = ethernet;

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));

/** Frame n (1-based) of a classic pcap in ../shared/captures (provenance in its SOURCES.md). */
function captureFrame(file: string, n: number): Uint8Array {
  const f = readFileSync(new URL(`../../../shared/captures/${file}`, import.meta.url));
  let at = 24;
  for (let i = 1; i < n; i++) at += 16 + f.readUInt32LE(at + 8);
  return new Uint8Array(f.subarray(at + 16, at + 16 + f.readUInt32LE(at + 8)));
}

// tcpdump_mptcp-fclose.pcap frame 1 (`tcpdump -XX`): ARP request, broadcast.
//   0x0000:  ffff ffff ffff 1651 5304 3f55 0806 ....
const ARP_BROADCAST_HDR = hex("ffffffffffff 165153043f55 0806");

// tcpdump_vxlan.pcap frame 1: the outer header, 36:dc:85:1e:b3:40 > 00:16:3e:08:71:cf, IPv4.
//   0x0000:  0016 3e08 71cf 36dc 851e b340 0800 4500
const VXLAN_OUTER_HDR = hex("00163e0871cf 36dc851eb340 0800");

// tcpdump_ipv4_tcp_http_xml.pcap frame 1: 00:50:56:9f:36:9f > 00:03:b2:78:04:17, 802.1Q vlan 165,
// p 0, ethertype IPv4.
//   0x0000:  0003 b278 0417 0050 569f 369f 8100 00a5
//   0x0010:  0800 4500 ...
const VLAN_HDR = hex("0003b2780417 0050569f369f 8100 00a5 0800");

const vlanRepr: EthernetRepr = {
  dstAddr: mustParseMac("00:03:b2:78:04:17"),
  srcAddr: mustParseMac("00:50:56:9f:36:9f"),
  etherType: EtherType.IPv4,
  vlan: { pcp: 0, dei: false, vid: 165 },
};

describe("ethernet", () => {
  it("the golden headers are the capture files' bytes", () => {
    expect(captureFrame("tcpdump_mptcp-fclose.pcap", 1).subarray(0, 14)).toEqual(ARP_BROADCAST_HDR);
    expect(captureFrame("tcpdump_vxlan.pcap", 1).subarray(0, 14)).toEqual(VXLAN_OUTER_HDR);
    expect(captureFrame("tcpdump_ipv4_tcp_http_xml.pcap", 1).subarray(0, 18)).toEqual(VLAN_HDR);
  });

  it("deconstructs an untagged header", () => {
    const b = VXLAN_OUTER_HDR;
    expect(ethernet.check(b, 0, b.length)).toBeUndefined();
    expect(ethernet.dstAddr(b, 0)).toBe(mustParseMac("00:16:3e:08:71:cf"));
    expect(ethernet.srcAddr(b, 0)).toBe(mustParseMac("36:dc:85:1e:b3:40"));
    expect(ethernet.etherType(b, 0)).toBe(EtherType.IPv4);
    expect(ethernet.hasVlanTag(b, 0)).toBe(false);
    expect(ethernet.payloadEtherType(b, 0)).toBe(EtherType.IPv4);
    expect(ethernet.payloadOffset(b, 0)).toBe(14);
    const a = ARP_BROADCAST_HDR;
    expect(ethernet.dstAddr(a, 0)).toBe(0xffffffffffff);
    expect(ethernet.etherType(a, 0)).toBe(EtherType.ARP);
  });

  it("deconstructs an 802.1Q-tagged header", () => {
    const b = VLAN_HDR;
    expect(ethernet.check(b, 0, b.length)).toBeUndefined();
    expect(ethernet.etherType(b, 0)).toBe(EtherType.VLAN);
    expect(ethernet.hasVlanTag(b, 0)).toBe(true);
    expect(ethernet.vlanTci(b, 0)).toBe(0x00a5);
    expect(ethernet.vlanPcp(b, 0)).toBe(0);
    expect(ethernet.vlanDei(b, 0)).toBe(false);
    expect(ethernet.vlanId(b, 0)).toBe(165);
    expect(ethernet.innerEtherType(b, 0)).toBe(EtherType.IPv4);
    expect(ethernet.payloadEtherType(b, 0)).toBe(EtherType.IPv4);
    expect(ethernet.payloadOffset(b, 0)).toBe(18);
    expect(ethernet.parse(b, 0, b.length)).toEqual({ ok: true, value: vlanRepr });
  });

  it("reads PCP and DEI from the TCI bits", () => {
    const b = hex("ffffffffffff 020000000001 8100 bfff 0806");
    expect(ethernet.vlanPcp(b, 0)).toBe(5);
    expect(ethernet.vlanDei(b, 0)).toBe(true);
    expect(ethernet.vlanId(b, 0)).toBe(0xfff);
  });

  it("constructs the golden bytes into a 0xa5-filled buffer", () => {
    const repr: EthernetRepr = {
      dstAddr: mustParseMac("00:16:3e:08:71:cf"),
      srcAddr: mustParseMac("36:dc:85:1e:b3:40"),
      etherType: EtherType.IPv4,
    };
    const b = new Uint8Array(20).fill(0xa5);
    expect(ethernet.emit(repr, b, 0)).toBe(14);
    expect(b.subarray(0, 14)).toEqual(VXLAN_OUTER_HDR);
    expect(b.subarray(14).every((x) => x === 0xa5)).toBe(true);

    const v = new Uint8Array(24).fill(0xa5);
    expect(ethernet.emit(vlanRepr, v, 0)).toBe(18);
    expect(v.subarray(0, 18)).toEqual(VLAN_HDR);
    expect(v.subarray(18).every((x) => x === 0xa5)).toBe(true);
  });

  it("setters write single fields", () => {
    const b = new Uint8Array(18).fill(0xa5);
    ethernet.setDstAddr(b, 0, mustParseMac("00:03:b2:78:04:17"));
    ethernet.setSrcAddr(b, 0, mustParseMac("00:50:56:9f:36:9f"));
    ethernet.setEtherType(b, 0, EtherType.VLAN);
    ethernet.setVlanTci(b, 0, 0, false, 165);
    b[16] = 0x08;
    b[17] = 0x00;
    expect(b).toEqual(VLAN_HDR);
  });

  it("emit length equals headerLen, and emit works at a non-zero offset", () => {
    const untagged: EthernetRepr = { dstAddr: vlanRepr.dstAddr, srcAddr: vlanRepr.srcAddr, etherType: EtherType.ARP };
    for (const repr of [untagged, vlanRepr]) {
      const b = new Uint8Array(64).fill(0xa5);
      const n = ethernet.emit(repr, b, 37);
      expect(n).toBe(ethernet.headerLen(repr));
      expect(b[36]).toBe(0xa5);
      expect(b[37 + n]).toBe(0xa5);
      expect(ethernet.parse(b, 37, 37 + n)).toEqual({ ok: true, value: repr });
    }
  });

  it("passes unknown EtherTypes through (LLDP 0x88cc, an 802.3 length 0x002e)", () => {
    for (const t of [0x88cc, 0x002e, 0x88a8]) {
      const repr: EthernetRepr = { dstAddr: asMac(0x0180c200000e), srcAddr: asMac(0x020000000001), etherType: t };
      const b = new Uint8Array(14);
      ethernet.emit(repr, b, 0);
      expect(ethernet.parse(b, 0, 14)).toEqual({ ok: true, value: repr });
    }
    expect(ethernet.etherTypeName(0x88cc)).toBe("0x88cc");
    expect(ethernet.etherTypeName(EtherType.ARP)).toBe("ARP");
  });

  it("every truncation is an error value", () => {
    for (const golden of [VXLAN_OUTER_HDR, VLAN_HDR]) {
      for (let len = 0; len < golden.length; len++) {
        const r = ethernet.parse(golden, 0, len);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error).toMatchObject({ kind: "truncated", layer: "ethernet", have: len });
        expect(ethernet.check(golden, 0, len)?.kind).toBe("truncated");
      }
    }
    expect(ethernet.check(VLAN_HDR, 0, 15)).toEqual({ kind: "truncated", layer: "ethernet", need: 18, have: 15 });
    expect(ethernet.check(VXLAN_OUTER_HDR, 10, 4)?.kind).toBe("truncated");
  });

  const macArb = fc.integer({ min: 0, max: 2 ** 48 - 1 }).map(asMac);
  const reprArb: fc.Arbitrary<EthernetRepr> = fc.record(
    {
      dstAddr: macArb,
      srcAddr: macArb,
      etherType: fc.integer({ min: 0, max: 0xffff }).filter((t) => t !== EtherType.VLAN),
      vlan: fc.record({ pcp: fc.integer({ min: 0, max: 7 }), dei: fc.boolean(), vid: fc.integer({ min: 0, max: 4095 }) }),
    },
    { requiredKeys: ["dstAddr", "srcAddr", "etherType"] },
  );

  it("property: emit → parse is the identity", () => {
    fc.assert(
      fc.property(reprArb, fc.nat(32), (repr, off) => {
        const b = new Uint8Array(off + 18).fill(0xa5);
        const n = ethernet.emit(repr, b, off);
        expect(n).toBe(ethernet.headerLen(repr));
        expect(ethernet.parse(b, off, off + n)).toEqual({ ok: true, value: repr });
      }),
    );
  });

  it("property: random bytes never throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(40), (b, off) => {
        const end = b.length;
        const err = ethernet.check(b, off, end);
        const r = ethernet.parse(b, off, end);
        expect(r.ok).toBe(err === undefined);
        if (!err) expect(ethernet.payloadOffset(b, off)).toBeLessThanOrEqual(end);
      }),
    );
  });
});

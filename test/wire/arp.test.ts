import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arp, asIpv4, asMac, mustParseIpv4, mustParseMac } from "../../src/wire/index.js";

type ArpRepr = arp.ArpRepr;
const { ArpOp } = arp;

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));

/** Frame n (1-based) of a classic pcap in ../shared/captures (provenance in its SOURCES.md). */
function captureFrame(file: string, n: number): Uint8Array {
  const f = readFileSync(new URL(`../../../shared/captures/${file}`, import.meta.url));
  let at = 24;
  for (let i = 1; i < n; i++) at += 16 + f.readUInt32LE(at + 8);
  return new Uint8Array(f.subarray(at + 16, at + 16 + f.readUInt32LE(at + 8)));
}

// tcpdump_mptcp-fclose.pcap frame 1, after the 14-octet Ethernet header:
// "ARP, Request who-has 10.2.1.2 tell 10.2.1.1, length 28"
//   0x0000:  ffff ffff ffff 1651 5304 3f55 0806 0001
//   0x0010:  0800 0604 0001 1651 5304 3f55 0a02 0101
//   0x0020:  0000 0000 0000 0a02 0102
const REQUEST = hex("0001 0800 06 04 0001 165153043f55 0a020101 000000000000 0a020102");
// frame 2: "ARP, Reply 10.2.1.2 is-at d6:06:3c:4a:35:7a, length 28"
//   0x0000:  1651 5304 3f55 d606 3c4a 357a 0806 0001
//   0x0010:  0800 0604 0002 d606 3c4a 357a 0a02 0102
//   0x0020:  1651 5304 3f55 0a02 0101
const REPLY = hex("0001 0800 06 04 0002 d6063c4a357a 0a020102 165153043f55 0a020101");
// tcpdump_vxlan.pcap frame 2, the inner frame after 50 octets of encapsulation and 14 of Ethernet:
// "ARP, Request who-has 192.168.203.3 tell 192.168.203.5"
//   0x0040:  0001 0800 0604 0001 0030 8801 0002 c0a8
//   0x0050:  cb05 0000 0000 0000 c0a8 cb03
const VXLAN_REQUEST = hex("0001 0800 0604 0001 003088010002 c0a8cb05 000000000000 c0a8cb03");

const requestRepr: ArpRepr = {
  op: ArpOp.Request,
  sha: mustParseMac("16:51:53:04:3f:55"),
  spa: mustParseIpv4("10.2.1.1"),
  tha: asMac(0),
  tpa: mustParseIpv4("10.2.1.2"),
};
const replyRepr: ArpRepr = {
  op: ArpOp.Reply,
  sha: mustParseMac("d6:06:3c:4a:35:7a"),
  spa: mustParseIpv4("10.2.1.2"),
  tha: mustParseMac("16:51:53:04:3f:55"),
  tpa: mustParseIpv4("10.2.1.1"),
};

describe("arp", () => {
  it("the golden packets are the capture files' bytes", () => {
    expect(captureFrame("tcpdump_mptcp-fclose.pcap", 1).subarray(14)).toEqual(REQUEST);
    expect(captureFrame("tcpdump_mptcp-fclose.pcap", 2).subarray(14)).toEqual(REPLY);
    expect(captureFrame("tcpdump_vxlan.pcap", 2).subarray(64)).toEqual(VXLAN_REQUEST);
  });

  it("deconstructs a request and a reply", () => {
    const b = REQUEST;
    expect(arp.check(b, 0, b.length)).toBeUndefined();
    expect(arp.htype(b, 0)).toBe(arp.HTYPE_ETHERNET);
    expect(arp.ptype(b, 0)).toBe(arp.PTYPE_IPV4);
    expect(arp.hlen(b, 0)).toBe(6);
    expect(arp.plen(b, 0)).toBe(4);
    expect(arp.op(b, 0)).toBe(ArpOp.Request);
    expect(arp.sha(b, 0)).toBe(mustParseMac("16:51:53:04:3f:55"));
    expect(arp.spa(b, 0)).toBe(mustParseIpv4("10.2.1.1"));
    expect(arp.tha(b, 0)).toBe(0);
    expect(arp.tpa(b, 0)).toBe(mustParseIpv4("10.2.1.2"));
    expect(arp.parse(REQUEST, 0, REQUEST.length)).toEqual({ ok: true, value: requestRepr });
    expect(arp.parse(REPLY, 0, REPLY.length)).toEqual({ ok: true, value: replyRepr });
    expect(arp.parse(VXLAN_REQUEST, 0, 28)).toEqual({
      ok: true,
      value: {
        op: ArpOp.Request,
        sha: mustParseMac("00:30:88:01:00:02"),
        spa: mustParseIpv4("192.168.203.5"),
        tha: 0,
        tpa: mustParseIpv4("192.168.203.3"),
      },
    });
  });

  it("constructs the golden bytes into a 0xa5-filled buffer", () => {
    for (const [repr, golden] of [
      [requestRepr, REQUEST],
      [replyRepr, REPLY],
    ] as const) {
      const b = new Uint8Array(32).fill(0xa5);
      expect(arp.emit(repr, b, 0)).toBe(28);
      expect(b.subarray(0, 28)).toEqual(golden);
      expect(b.subarray(28).every((x) => x === 0xa5)).toBe(true);
    }
  });

  it("makeReply turns the captured request into the captured reply", () => {
    const b = REQUEST.slice();
    arp.makeReply(b, 0, mustParseMac("d6:06:3c:4a:35:7a"));
    expect(b).toEqual(REPLY);
  });

  it("emit length equals headerLen, at a non-zero offset, and trailing padding is allowed", () => {
    const b = new Uint8Array(14 + 60).fill(0xa5);
    const n = arp.emit(replyRepr, b, 14);
    expect(n).toBe(arp.headerLen(replyRepr));
    expect(b[13]).toBe(0xa5);
    expect(b[14 + n]).toBe(0xa5);
    // An Ethernet frame padded to 60 octets: the 18 octets after the packet are ignored.
    expect(arp.parse(b, 14, b.length)).toEqual({ ok: true, value: replyRepr });
  });

  it("passes unknown opcodes through (RARP 3)", () => {
    const b = new Uint8Array(28);
    arp.emit({ ...requestRepr, op: 3 }, b, 0);
    expect(arp.parse(b, 0, 28)).toEqual({ ok: true, value: { ...requestRepr, op: 3 } });
  });

  it("rejects what is not Ethernet/IPv4 as unsupported", () => {
    const cases: [number, number, string][] = [
      [1, 6, "hardware type 6"], // IEEE 802
      [2, 0x86, "protocol type 0x86dd"],
      [4, 8, "hardware address length 8"],
      [5, 16, "protocol address length 16"],
    ];
    for (const [at, value, what] of cases) {
      const b = REQUEST.slice();
      b[at] = value;
      if (at === 2) b[3] = 0xdd;
      expect(arp.check(b, 0, 28)).toEqual({ kind: "unsupported", layer: "arp", what });
      expect(arp.parse(b, 0, 28)).toEqual({ ok: false, error: { kind: "unsupported", layer: "arp", what } });
    }
  });

  it("every truncation is an error value", () => {
    for (let len = 0; len < 28; len++) {
      expect(arp.parse(REQUEST, 0, len)).toEqual({
        ok: false,
        error: { kind: "truncated", layer: "arp", need: 28, have: len },
      });
    }
  });

  const reprArb: fc.Arbitrary<ArpRepr> = fc.record({
    op: fc.integer({ min: 0, max: 0xffff }),
    sha: fc.integer({ min: 0, max: 2 ** 48 - 1 }).map(asMac),
    spa: fc.integer({ min: 0, max: 0xffffffff }).map(asIpv4),
    tha: fc.integer({ min: 0, max: 2 ** 48 - 1 }).map(asMac),
    tpa: fc.integer({ min: 0, max: 0xffffffff }).map(asIpv4),
  });

  it("property: emit → parse is the identity", () => {
    fc.assert(
      fc.property(reprArb, fc.nat(32), (repr, off) => {
        const b = new Uint8Array(off + 28).fill(0xa5);
        expect(arp.emit(repr, b, off)).toBe(28);
        expect(arp.parse(b, off, off + 28)).toEqual({ ok: true, value: repr });
      }),
    );
  });

  it("property: random bytes never throw", () => {
    const ethIpv4Prefix = fc.constant(hex("0001 0800 0604"));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }), ethIpv4Prefix), fc.uint8Array({ maxLength: 30 }), (head, tail) => {
        const b = new Uint8Array([...head, ...tail]);
        const r = arp.parse(b, 0, b.length);
        expect(r.ok).toBe(arp.check(b, 0, b.length) === undefined);
      }),
    );
  });
});

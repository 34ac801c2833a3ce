import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { asIpv4, ipv4, mustParseIpv4 } from "../../src/wire/index.js";

type Ipv4Repr = ipv4.Ipv4Repr;
const { IpProtocol } = ipv4;

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));

/** Frame n (1-based) of a classic pcap in ../shared/captures (provenance in its SOURCES.md). */
function captureFrame(file: string, n: number): Uint8Array {
  const f = readFileSync(new URL(`../../../shared/captures/${file}`, import.meta.url));
  let at = 24;
  for (let i = 1; i < n; i++) at += 16 + f.readUInt32LE(at + 8);
  return new Uint8Array(f.subarray(at + 16, at + 16 + f.readUInt32LE(at + 8)));
}

// tcpdump_vxlan.pcap frame 1, outer header at offset 14:
// "IP 192.168.203.1.45149 > 192.168.202.1.4789: VXLAN" (tos 0, ttl 64, id 53952, DF, length 134)
//   0x0000:  .... .... .... .... .... .... 0800 4500
//   0x0010:  0086 d2c0 4000 4011 5152 c0a8 cb01 c0a8
//   0x0020:  ca01 ...
const OUTER = hex("4500 0086 d2c0 4000 4011 5152 c0a8cb01 c0a8ca01");
// tcpdump_vxlan.pcap frame 1, the inner datagram at offset 64 (84 octets):
// "IP 192.168.203.3 > 192.168.203.5: ICMP echo request, id 1292, seq 1, length 64"
const INNER_ECHO = hex(`
  4500 0054 0000 4000 4001 234f c0a8 cb03 c0a8 cb05
  0800 f6f2 050c 0001 fce2 9751 0000 0000 a6f8 0200 0000 0000
  1011 1213 1415 1617 1819 1a1b 1c1d 1e1f 2021 2223 2425 2627 2829 2a2b 2c2d 2e2f 3031 3233 3435 3637`);
// tcpdump_vxlan.pcap frame 4, the inner reply's header (no DF, id 47283):
//   0x0040:  4500 0054 b8b3 0000 4001 aa9b c0a8 cb05 c0a8 cb03
const INNER_REPLY_HDR = hex("4500 0054 b8b3 0000 4001 aa9b c0a8cb05 c0a8cb03");
// Constructed by hand (a Python struct script, not a capture): 10.244.1.5:40000 > 10.244.1.1:9,
// UDP "kube", DF, TTL 1, with the Router Alert option (RFC 2113: 94 04 00 00). TShark 4.0.17 reads
// "Header Length: 24 bytes (6)", "Header Checksum: 0xbaa3 [correct]", "IP Option - Router Alert",
// UDP checksum 0x7dc4 [correct]; its only expert info is the note "Time To Live only 1".
const WITH_OPTIONS = hex("4600 0024 1234 4000 0111 baa3 0af40105 0af40101 94040000 9c40 0009 000c 7dc4 6b756265");
// Captured on this machine's loopback with tcpdump 4.99.3 (Linux 6.18), an ICMP port unreachable
// from the kernel: "IP (tos 0xc0, ttl 64, id 37119, offset 0, flags [none], proto ICMP (1), length 64)".
const LINUX_ICMP_HDR = hex("45c0 0040 90ff 0000 4001 eafb 7f000001 7f000001");

const outerRepr: Ipv4Repr = {
  srcAddr: mustParseIpv4("192.168.203.1"),
  dstAddr: mustParseIpv4("192.168.202.1"),
  protocol: IpProtocol.UDP,
  ttl: 64,
  ident: 0xd2c0,
  dontFrag: true,
  moreFrags: false,
  fragOffset: 0,
  dscp: 0,
  ecn: 0,
  payloadLen: 114,
};

describe("ipv4", () => {
  it("the golden datagrams are the capture files' bytes", () => {
    expect(captureFrame("tcpdump_vxlan.pcap", 1).subarray(14, 34)).toEqual(OUTER);
    expect(captureFrame("tcpdump_vxlan.pcap", 1).subarray(64)).toEqual(INNER_ECHO);
    expect(captureFrame("tcpdump_vxlan.pcap", 4).subarray(64, 84)).toEqual(INNER_REPLY_HDR);
  });

  it("deconstructs every field", () => {
    const b = INNER_ECHO;
    expect(ipv4.check(b, 0, b.length)).toBeUndefined();
    expect(ipv4.verifyChecksum(b, 0)).toBe(true);
    expect(ipv4.version(b, 0)).toBe(4);
    expect(ipv4.ihl(b, 0)).toBe(5);
    expect(ipv4.headerLength(b, 0)).toBe(20);
    expect(ipv4.dscp(b, 0)).toBe(0);
    expect(ipv4.ecn(b, 0)).toBe(0);
    expect(ipv4.totalLen(b, 0)).toBe(84);
    expect(ipv4.ident(b, 0)).toBe(0);
    expect(ipv4.dontFrag(b, 0)).toBe(true);
    expect(ipv4.moreFrags(b, 0)).toBe(false);
    expect(ipv4.fragOffset(b, 0)).toBe(0);
    expect(ipv4.isFragment(b, 0)).toBe(false);
    expect(ipv4.ttl(b, 0)).toBe(64);
    expect(ipv4.protocol(b, 0)).toBe(IpProtocol.ICMP);
    expect(ipv4.checksum(b, 0)).toBe(0x234f);
    expect(ipv4.srcAddr(b, 0)).toBe(mustParseIpv4("192.168.203.3"));
    expect(ipv4.dstAddr(b, 0)).toBe(mustParseIpv4("192.168.203.5"));

    const outer = captureFrame("tcpdump_vxlan.pcap", 1);
    expect(ipv4.parse(outer, 14, outer.length)).toEqual({ ok: true, value: outerRepr });

    const r = INNER_REPLY_HDR;
    expect(ipv4.dontFrag(r, 0)).toBe(false);
    expect(ipv4.ident(r, 0)).toBe(47283);
    expect(ipv4.verifyChecksum(r, 0)).toBe(true);

    const l = LINUX_ICMP_HDR; // tos 0xc0 = DSCP CS6 (48), not ECN-capable
    expect(ipv4.dscp(l, 0)).toBe(48);
    expect(ipv4.ecn(l, 0)).toBe(0);
    expect(ipv4.verifyChecksum(l, 0)).toBe(true);
  });

  it("deconstructs a header with options", () => {
    const b = WITH_OPTIONS;
    expect(ipv4.ihl(b, 0)).toBe(6);
    expect(ipv4.headerLength(b, 0)).toBe(24);
    expect(ipv4.optionsLen(b, 0)).toBe(4);
    expect(ipv4.verifyChecksum(b, 0)).toBe(true);
    const r = ipv4.parse(b, 0, b.length);
    expect(r).toEqual({
      ok: true,
      value: {
        srcAddr: mustParseIpv4("10.244.1.5"),
        dstAddr: mustParseIpv4("10.244.1.1"),
        protocol: IpProtocol.UDP,
        ttl: 1,
        ident: 0x1234,
        dontFrag: true,
        moreFrags: false,
        fragOffset: 0,
        dscp: 0,
        ecn: 0,
        payloadLen: 12,
        options: hex("94040000"),
      },
    });
  });

  it("reads fragment fields in 8-octet units and in octets", () => {
    const b = INNER_ECHO.slice(0, 20);
    ipv4.setFrag(b, 0, false, true, 1480);
    expect(b.subarray(6, 8)).toEqual(hex("20b9")); // MF, offset 185 units
    expect(ipv4.fragOffsetUnits(b, 0)).toBe(185);
    expect(ipv4.fragOffset(b, 0)).toBe(1480);
    expect(ipv4.moreFrags(b, 0)).toBe(true);
    expect(ipv4.isFragment(b, 0)).toBe(true);
    ipv4.setFrag(b, 0, false, false, 1480); // the last fragment
    expect(ipv4.isFragment(b, 0)).toBe(true);
  });

  it("constructs the golden bytes into a 0xa5-filled buffer", () => {
    const b = new Uint8Array(24).fill(0xa5);
    expect(ipv4.emit(outerRepr, b, 0)).toBe(20);
    expect(b.subarray(0, 20)).toEqual(OUTER);
    expect(b.subarray(20).every((x) => x === 0xa5)).toBe(true);

    const parsed = ipv4.parse(WITH_OPTIONS, 0, WITH_OPTIONS.length);
    if (!parsed.ok) throw new Error("golden does not parse");
    const o = new Uint8Array(28).fill(0xa5);
    expect(ipv4.emit(parsed.value, o, 0)).toBe(24);
    expect(o.subarray(0, 24)).toEqual(WITH_OPTIONS.subarray(0, 24));
    expect(o.subarray(24).every((x) => x === 0xa5)).toBe(true);
  });

  it("emit pads options with zeros (EOL) and rejects impossible values", () => {
    const b = new Uint8Array(60).fill(0xa5);
    const repr = { ...outerRepr, options: hex("0101 07") }; // NOP NOP + a stray octet
    expect(ipv4.headerLen(repr)).toBe(24);
    expect(ipv4.emit(repr, b, 0)).toBe(24);
    expect(b.subarray(20, 24)).toEqual(hex("01010700"));
    expect(ipv4.verifyChecksum(b, 0)).toBe(true);
    expect(() => ipv4.emit({ ...outerRepr, options: new Uint8Array(41) }, b, 0)).toThrow(RangeError);
    expect(() => ipv4.emit({ ...outerRepr, fragOffset: 12 }, b, 0)).toThrow(RangeError);
    expect(() => ipv4.emit({ ...outerRepr, payloadLen: 65516 }, b, 0)).toThrow(RangeError);
  });

  it("emit length equals headerLen, and emit works at a non-zero offset", () => {
    const b = new Uint8Array(200).fill(0xa5);
    const n = ipv4.emit(outerRepr, b, 51);
    expect(n).toBe(ipv4.headerLen(outerRepr));
    expect(b[50]).toBe(0xa5);
    expect(b[51 + n]).toBe(0xa5);
    expect(ipv4.parse(b, 51, 51 + n + outerRepr.payloadLen)).toEqual({ ok: true, value: outerRepr });
  });

  it("every truncation of a valid datagram is an error value", () => {
    for (const golden of [INNER_ECHO, WITH_OPTIONS]) {
      for (let len = 0; len < golden.length; len++) {
        const r = ipv4.parse(golden, 0, len);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error).toMatchObject({ kind: "truncated", layer: "ipv4", have: len });
      }
    }
    expect(ipv4.check(WITH_OPTIONS, 0, 22)).toEqual({ kind: "truncated", layer: "ipv4", need: 24, have: 22 });
    expect(ipv4.check(INNER_ECHO, 0, 83)).toEqual({ kind: "truncated", layer: "ipv4", need: 84, have: 83 });
    // Ethernet padding after the total length is fine.
    const padded = new Uint8Array(100);
    padded.set(WITH_OPTIONS);
    expect(ipv4.check(padded, 0, 100)).toBeUndefined();
  });

  it("rejects a bad version, a bad IHL and a total length shorter than the header", () => {
    const v6 = INNER_ECHO.slice();
    v6[0] = 0x65;
    expect(ipv4.check(v6, 0, v6.length)).toEqual({ kind: "bad-version", layer: "ipv4", value: 6 });
    const ihl4 = INNER_ECHO.slice();
    ihl4[0] = 0x44;
    expect(ipv4.check(ihl4, 0, ihl4.length)).toEqual({ kind: "bad-length", layer: "ipv4", field: "ihl", value: 4 });
    const short = INNER_ECHO.slice();
    ipv4.setTotalLen(short, 0, 19);
    expect(ipv4.check(short, 0, short.length)).toEqual({
      kind: "bad-length",
      layer: "ipv4",
      field: "total length",
      value: 19,
    });
    const withOpts = WITH_OPTIONS.slice();
    ipv4.setTotalLen(withOpts, 0, 22); // ≥ 20 but < IHL × 4
    expect(ipv4.check(withOpts, 0, withOpts.length)?.kind).toBe("bad-length");
  });

  it("verifies the checksum only when asked", () => {
    const b = INNER_ECHO.slice();
    b[11] ^= 0x01;
    expect(ipv4.check(b, 0, b.length)).toBeUndefined();
    expect(ipv4.verifyChecksum(b, 0)).toBe(false);
    expect(ipv4.parse(b, 0, b.length)).toEqual({ ok: false, error: { kind: "bad-checksum", layer: "ipv4", value: 0x234e } });
    expect(ipv4.parse(b, 0, b.length, false).ok).toBe(true);
    ipv4.fillChecksum(b, 0);
    expect(b).toEqual(INNER_ECHO);
  });

  it("decrementTtl updates the checksum as ip_decrease_ttl does", () => {
    const b = OUTER.slice();
    expect(ipv4.decrementTtl(b, 0)).toBe(63);
    expect(ipv4.ttl(b, 0)).toBe(63);
    expect(ipv4.checksum(b, 0)).toBe(0x5252);
    expect(ipv4.verifyChecksum(b, 0)).toBe(true);
    // The end-around carry of ip_decrease_ttl: 0xfeff + 0x0100 = 0xffff becomes 0x0000.
    const c = OUTER.slice();
    ipv4.setChecksum(c, 0, 0xfeff);
    ipv4.decrementTtl(c, 0);
    expect(ipv4.checksum(c, 0)).toBe(0x0000);
  });

  it("rewriteSrcAddr / rewriteDstAddr keep the checksum and return the old address (SNAT, DNAT)", () => {
    const b = INNER_ECHO.slice();
    const before = ipv4.rewriteSrcAddr(b, 0, mustParseIpv4("10.244.1.5"));
    expect(before).toBe(mustParseIpv4("192.168.203.3"));
    expect(ipv4.rewriteDstAddr(b, 0, mustParseIpv4("10.96.0.10"))).toBe(mustParseIpv4("192.168.203.5"));
    expect(ipv4.srcAddr(b, 0)).toBe(mustParseIpv4("10.244.1.5"));
    expect(ipv4.dstAddr(b, 0)).toBe(mustParseIpv4("10.96.0.10"));
    expect(ipv4.verifyChecksum(b, 0)).toBe(true);
    expect(b.subarray(20)).toEqual(INNER_ECHO.subarray(20)); // the L4 checksum is the caller's
  });

  const optionsArb = fc
    .integer({ min: 1, max: 10 })
    .chain((words) => fc.uint8Array({ minLength: words * 4, maxLength: words * 4 }));
  const reprArb: fc.Arbitrary<Ipv4Repr> = fc
    .record(
      {
        srcAddr: fc.integer({ min: 0, max: 0xffffffff }).map(asIpv4),
        dstAddr: fc.integer({ min: 0, max: 0xffffffff }).map(asIpv4),
        protocol: fc.integer({ min: 0, max: 255 }),
        ttl: fc.integer({ min: 0, max: 255 }),
        ident: fc.integer({ min: 0, max: 0xffff }),
        dontFrag: fc.boolean(),
        moreFrags: fc.boolean(),
        fragOffset: fc.integer({ min: 0, max: 0x1fff }).map((u) => u * 8),
        dscp: fc.integer({ min: 0, max: 63 }),
        ecn: fc.integer({ min: 0, max: 3 }),
        payloadLen: fc.integer({ min: 0, max: 65535 - 60 }),
        options: optionsArb,
      },
      { requiredKeys: ["srcAddr", "dstAddr", "protocol", "ttl", "ident", "dontFrag", "moreFrags", "fragOffset", "dscp", "ecn", "payloadLen"] },
    );

  it("property: emit → parse is the identity", () => {
    fc.assert(
      fc.property(reprArb, fc.nat(64), (repr, off) => {
        const hlen = ipv4.headerLen(repr);
        const b = new Uint8Array(off + hlen + repr.payloadLen).fill(0xa5);
        expect(ipv4.emit(repr, b, off)).toBe(hlen);
        expect(ipv4.parse(b, off, b.length)).toEqual({ ok: true, value: repr });
      }),
      { numRuns: 300 },
    );
  });

  it("property: incremental updates equal a full recomputation", () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant("src" as const), v: fc.integer({ min: 0, max: 0xffffffff }) }),
      fc.record({ k: fc.constant("dst" as const), v: fc.integer({ min: 0, max: 0xffffffff }) }),
      fc.record({ k: fc.constant("ttl" as const), v: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ k: fc.constant("dec" as const), v: fc.constant(0) }),
      fc.record({ k: fc.constant("tos" as const), v: fc.integer({ min: 0, max: 255 }) }),
    );
    fc.assert(
      fc.property(reprArb, fc.array(op, { minLength: 1, maxLength: 8 }), (repr, ops) => {
        const b = new Uint8Array(ipv4.headerLen(repr));
        ipv4.emit({ ...repr, payloadLen: 0 }, b, 0);
        for (const { k, v } of ops) {
          if (k === "src") ipv4.rewriteSrcAddr(b, 0, v);
          else if (k === "dst") ipv4.rewriteDstAddr(b, 0, v);
          else if (k === "ttl") ipv4.rewriteTtl(b, 0, v);
          else if (k === "dec" && ipv4.ttl(b, 0) > 0) ipv4.decrementTtl(b, 0); // TTL 0: caller's error
          else ipv4.rewriteDscpEcn(b, 0, v >>> 2, v & 3);
        }
        const full = b.slice();
        ipv4.fillChecksum(full, 0);
        expect(ipv4.checksum(b, 0)).toBe(ipv4.checksum(full, 0));
        expect(ipv4.verifyChecksum(b, 0)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it("property: random bytes never throw", () => {
    const v4ish = fc.tuple(fc.integer({ min: 0x40, max: 0x4f }), fc.uint8Array({ maxLength: 80 })).map(([first, rest]) => new Uint8Array([first, ...rest]));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 80 }), v4ish), fc.nat(8), (b, off) => {
        const err = ipv4.check(b, off, b.length);
        const r = ipv4.parse(b, off, b.length, false);
        expect(r.ok).toBe(err === undefined);
        ipv4.parse(b, off, b.length, true);
        ipv4.verifyChecksum(b, off);
        if (!err) expect(off + ipv4.totalLen(b, off)).toBeLessThanOrEqual(b.length);
      }),
      { numRuns: 500 },
    );
  });
});

import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { icmp, ipv4, mustParseIpv4 } from "../../src/wire/index.js";

type IcmpRepr = icmp.IcmpRepr;
const { IcmpType, UnreachCode, TimeExceededCode } = icmp;

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));

/** Frame n (1-based) of a classic pcap in ../shared/captures (provenance in its SOURCES.md). */
function captureFrame(file: string, n: number): Uint8Array {
  const f = readFileSync(new URL(`../../../shared/captures/${file}`, import.meta.url));
  let at = 24;
  for (let i = 1; i < n; i++) at += 16 + f.readUInt32LE(at + 8);
  return new Uint8Array(f.subarray(at + 16, at + 16 + f.readUInt32LE(at + 8)));
}

// 56 octets of Linux ping data (a timeval, then 0x10, 0x11 … 0x37).
const PING_DATA = hex(`fce2 9751 0000 0000 a6f8 0200 0000 0000
  1011 1213 1415 1617 1819 1a1b 1c1d 1e1f 2021 2223 2425 2627 2829 2a2b 2c2d 2e2f 3031 3233 3435 3637`);
// tcpdump_vxlan.pcap frame 1, inner ICMP at offset 84:
// "IP 192.168.203.3 > 192.168.203.5: ICMP echo request, id 1292, seq 1, length 64"
//   0x0050:  .... .... 0800 f6f2 050c 0001 fce2 9751
const ECHO_REQUEST = hex(`0800 f6f2 050c 0001 ${Buffer.from(PING_DATA).toString("hex")}`);
// tcpdump_vxlan.pcap frame 4, inner ICMP at offset 84: "ICMP echo reply, id 1292, seq 1, length 64"
//   0x0050:  .... .... 0000 fef2 050c 0001 fce2 9751
const ECHO_REPLY = hex(`0000 fef2 050c 0001 ${Buffer.from(PING_DATA).toString("hex")}`);

// Captured on this machine's loopback with tcpdump 4.99.3 (Linux 6.18): a UDP datagram "kubewire"
// to 127.0.0.1:33434 with no listener. Linux quotes the whole 36-octet datagram (it fits in 576).
// "ICMP 127.0.0.1 udp port 33434 unreachable, length 44"; IP header 45c0 0040 90ff 0000 4001 eafb …
const QUOTED_UDP = hex("4500 0024 c729 4000 4011 759d 7f000001 7f000001 a8d0 829a 0010 fe23 6b75 6265 7769 7265");
const PORT_UNREACH = hex(`0303 1bb4 0000 0000 ${Buffer.from(QUOTED_UDP).toString("hex")}`);
const PORT_UNREACH_IP = hex("45c0 0040 90ff 0000 4001 eafb 7f000001 7f000001");

// Constructed by hand (a Python struct script, not a capture): flannel.1 (10.244.1.0, MTU 1450)
// answers a 1500-octet DF TCP segment 10.244.1.5:41800 > 10.244.2.8:8080 with Fragmentation
// Needed, quoting RFC 792's IP header + 8 octets. TShark 4.0.17 reads "Type: 3 (Destination
// unreachable)", "Code: 4 (Fragmentation needed)", "Checksum: 0x2edd [correct]", "MTU of next
// hop: 1450", quoted header checksum 0xffe1 [correct].
const QUOTED_TCP = hex("4500 05dc 1c46 4000 4006 ffe1 0af40105 0af40208 a348 1f90 3b9a ca01");
const FRAG_NEEDED = hex(`0304 2edd 0000 05aa ${Buffer.from(QUOTED_TCP).toString("hex")}`);

// Constructed by hand likewise: router 192.168.203.1 drops tcpdump_vxlan.pcap frame 1's inner
// echo request arriving with TTL 1 (TTL and header checksum changed to 01 / 624f) and quotes all
// 84 octets, as Linux does. TShark 4.0.17: "Type: 11 (Time-to-live exceeded)", "Checksum: 0xf4ff
// [correct]".
const QUOTED_ECHO = hex(`4500 0054 0000 4000 0101 624f c0a8cb03 c0a8cb05 ${Buffer.from(ECHO_REQUEST).toString("hex")}`);
const TIME_EXCEEDED = hex(`0b00 f4ff 0000 0000 ${Buffer.from(QUOTED_ECHO).toString("hex")}`);
// Its IPv4 header: tos 0xc0, id 0x2c3e, TTL 64, 192.168.203.1 > 192.168.203.3, checksum 0x3639 [correct].
const TIME_EXCEEDED_IP = hex("45c0 0070 2c3e 0000 4001 3639 c0a8cb01 c0a8cb03");

describe("icmp", () => {
  it("the golden messages are the capture files' bytes", () => {
    expect(captureFrame("tcpdump_vxlan.pcap", 1).subarray(84)).toEqual(ECHO_REQUEST);
    expect(captureFrame("tcpdump_vxlan.pcap", 4).subarray(84)).toEqual(ECHO_REPLY);
  });

  it("deconstructs an echo request", () => {
    const b = ECHO_REQUEST;
    expect(icmp.check(b, 0, b.length)).toBeUndefined();
    expect(icmp.verifyChecksum(b, 0, b.length)).toBe(true);
    expect(icmp.msgType(b, 0)).toBe(IcmpType.EchoRequest);
    expect(icmp.code(b, 0)).toBe(0);
    expect(icmp.checksum(b, 0)).toBe(0xf6f2);
    expect(icmp.echoIdent(b, 0)).toBe(1292);
    expect(icmp.echoSeq(b, 0)).toBe(1);
    expect(icmp.quotedIpv4Offset(b, 0)).toBe(-1);
    expect(icmp.parse(b, 0, b.length)).toEqual({
      ok: true,
      value: { type: IcmpType.EchoRequest, ident: 1292, seq: 1, data: PING_DATA },
    });
    expect(icmp.parse(ECHO_REPLY, 0, ECHO_REPLY.length)).toEqual({
      ok: true,
      value: { type: IcmpType.EchoReply, ident: 1292, seq: 1, data: PING_DATA },
    });
  });

  it("deconstructs Linux's port unreachable and its quote", () => {
    const dgram = new Uint8Array([...PORT_UNREACH_IP, ...PORT_UNREACH]);
    expect(ipv4.parse(dgram, 0, dgram.length)).toMatchObject({ ok: true, value: { protocol: 1, dscp: 48, payloadLen: 44 } });
    const b = PORT_UNREACH;
    expect(icmp.verifyChecksum(b, 0, b.length)).toBe(true);
    expect(icmp.msgType(b, 0)).toBe(IcmpType.DestUnreachable);
    expect(icmp.code(b, 0)).toBe(UnreachCode.PortUnreachable);
    expect(icmp.isError(icmp.msgType(b, 0))).toBe(true);
    expect(icmp.checkQuote(b, 0, b.length)).toBeUndefined();
    const q = icmp.quotedIpv4Offset(b, 0);
    expect(q).toBe(8);
    expect(ipv4.srcAddr(b, q)).toBe(mustParseIpv4("127.0.0.1"));
    expect(ipv4.protocol(b, q)).toBe(ipv4.IpProtocol.UDP);
    expect((b[q + 22] << 8) | b[q + 23]).toBe(33434); // the quoted UDP destination port
    expect(icmp.quoteLen(36)).toBe(36);
    expect(icmp.parse(b, 0, b.length)).toEqual({
      ok: true,
      value: { type: IcmpType.DestUnreachable, code: 3, nextHopMtu: 0, data: QUOTED_UDP },
    });
  });

  it("deconstructs Fragmentation Needed with the RFC 1191 next-hop MTU", () => {
    const b = FRAG_NEEDED;
    expect(icmp.verifyChecksum(b, 0, b.length)).toBe(true);
    expect(icmp.code(b, 0)).toBe(UnreachCode.FragmentationNeeded);
    expect(icmp.nextHopMtu(b, 0)).toBe(1450);
    expect(icmp.checkQuote(b, 0, b.length)).toBeUndefined();
    expect(ipv4.totalLen(b, 8)).toBe(1500); // more than the quote holds: fine for a quote
    expect(icmp.parse(b, 0, b.length)).toEqual({
      ok: true,
      value: { type: IcmpType.DestUnreachable, code: 4, nextHopMtu: 1450, data: QUOTED_TCP },
    });
  });

  it("deconstructs Time Exceeded", () => {
    const b = TIME_EXCEEDED;
    expect(icmp.verifyChecksum(b, 0, b.length)).toBe(true);
    expect(icmp.parse(b, 0, b.length)).toEqual({
      ok: true,
      value: { type: IcmpType.TimeExceeded, code: TimeExceededCode.TtlExceeded, data: QUOTED_ECHO },
    });
    expect(ipv4.ttl(b, icmp.quotedIpv4Offset(b, 0))).toBe(1);
  });

  it("constructs each golden message into a 0xa5-filled buffer", () => {
    const cases: [IcmpRepr, Uint8Array][] = [
      [{ type: IcmpType.EchoRequest, ident: 1292, seq: 1, data: PING_DATA }, ECHO_REQUEST],
      [{ type: IcmpType.EchoReply, ident: 1292, seq: 1, data: PING_DATA }, ECHO_REPLY],
      [{ type: IcmpType.DestUnreachable, code: 3, nextHopMtu: 0, data: QUOTED_UDP }, PORT_UNREACH],
      [{ type: IcmpType.DestUnreachable, code: 4, nextHopMtu: 1450, data: QUOTED_TCP }, FRAG_NEEDED],
      [{ type: IcmpType.TimeExceeded, code: 0, data: QUOTED_ECHO }, TIME_EXCEEDED],
    ];
    for (const [repr, golden] of cases) {
      const b = new Uint8Array(golden.length + 4).fill(0xa5);
      expect(icmp.emit(repr, b, 0)).toBe(golden.length);
      expect(b.subarray(0, golden.length)).toEqual(golden);
      expect(b.subarray(golden.length).every((x) => x === 0xa5)).toBe(true);
      expect(icmp.headerLen(repr)).toBe(golden.length);
    }
  });

  it("emitError builds the goldens from the offending datagram, also in place", () => {
    const b = new Uint8Array(64).fill(0xa5);
    const n = icmp.emitError(b, 3, IcmpType.DestUnreachable, UnreachCode.FragmentationNeeded, 1450, QUOTED_TCP, 0, icmp.rfc792QuoteLen(1500, 20));
    expect(b.subarray(3, 3 + n)).toEqual(FRAG_NEEDED);
    expect(b[2]).toBe(0xa5);
    expect(b[3 + n]).toBe(0xa5);

    // The datagram at offset 10 of the same buffer, the error written over it at offset 14.
    const s = new Uint8Array(100).fill(0xa5);
    s.set(QUOTED_UDP, 10);
    const m = icmp.emitError(s, 14, IcmpType.DestUnreachable, UnreachCode.PortUnreachable, 0, s, 10, icmp.quoteLen(36));
    expect(s.subarray(14, 14 + m)).toEqual(PORT_UNREACH);
  });

  it("quoteLen follows Linux icmp_send (576-octet cap), rfc792QuoteLen the RFC minimum", () => {
    expect(icmp.quoteLen(1500)).toBe(548);
    expect(icmp.quoteLen(1500, 576, 4)).toBe(544);
    expect(icmp.quoteLen(84)).toBe(84);
    expect(icmp.quoteLen(1500, 1500)).toBe(1472);
    expect(icmp.rfc792QuoteLen(1500, 24)).toBe(32);
    expect(icmp.rfc792QuoteLen(24, 20)).toBe(24);
  });

  it("echoRequestToReply and rewriteEchoIdent update the checksum incrementally", () => {
    const b = ECHO_REQUEST.slice();
    icmp.echoRequestToReply(b, 0);
    expect(b).toEqual(ECHO_REPLY);
    icmp.rewriteEchoIdent(b, 0, 0xbeef);
    expect(icmp.echoIdent(b, 0)).toBe(0xbeef);
    expect(icmp.verifyChecksum(b, 0, b.length)).toBe(true);
  });

  it("checkQuote rejects what conntrack could not read", () => {
    expect(icmp.checkQuote(ECHO_REQUEST, 0, ECHO_REQUEST.length)?.kind).toBe("malformed");
    for (let len = 8; len < 8 + 28; len++) expect(icmp.checkQuote(FRAG_NEEDED, 0, len)?.kind).toBe("truncated");
    const v6 = FRAG_NEEDED.slice();
    v6[8] = 0x60;
    expect(icmp.checkQuote(v6, 0, v6.length)).toEqual({ kind: "bad-version", layer: "icmp", value: 6 });
    const ihl3 = FRAG_NEEDED.slice();
    ihl3[8] = 0x43;
    expect(icmp.checkQuote(ihl3, 0, ihl3.length)?.kind).toBe("bad-length");
  });

  it("rejects unmodelled types and echo codes other than 0", () => {
    const redirect = PORT_UNREACH.slice();
    redirect[0] = IcmpType.Redirect;
    icmp.fillChecksum(redirect, 0, redirect.length);
    expect(icmp.parse(redirect, 0, redirect.length)).toEqual({ ok: false, error: { kind: "unsupported", layer: "icmp", what: "type 5" } });
    const code1 = ECHO_REQUEST.slice();
    code1[1] = 1;
    icmp.fillChecksum(code1, 0, code1.length);
    expect(icmp.parse(code1, 0, code1.length).ok).toBe(false);
  });

  it("every truncation of a valid message is an error value", () => {
    for (const golden of [ECHO_REQUEST, PORT_UNREACH, FRAG_NEEDED]) {
      for (let len = 0; len < golden.length; len++) {
        const r = icmp.parse(golden, 0, len);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error.kind).toBe(len < 8 ? "truncated" : "bad-checksum");
      }
    }
    // A quote of whole checksummed headers sums to zero, so cutting TIME_EXCEEDED right before or
    // after the quoted IPv4 header (at 8 or 28 octets) leaves the ICMP checksum valid: the ICMP
    // checksum cannot see it, the IPv4 total length can, and the stack bounds ICMP by it.
    for (let len = 0; len < TIME_EXCEEDED.length; len++) {
      expect(icmp.parse(TIME_EXCEEDED, 0, len).ok).toBe(len === 8 || len === 28);
    }
    const dgram = new Uint8Array([...TIME_EXCEEDED_IP, ...TIME_EXCEEDED]);
    expect(ipv4.parse(dgram, 0, dgram.length).ok).toBe(true);
    for (let len = 0; len < dgram.length; len++) expect(ipv4.check(dgram, 0, len)?.kind).toBe("truncated");
  });

  it("verifies the checksum only when asked", () => {
    const b = ECHO_REQUEST.slice();
    b[20] ^= 0xff;
    expect(icmp.parse(b, 0, b.length)).toEqual({ ok: false, error: { kind: "bad-checksum", layer: "icmp", value: 0xf6f2 } });
    expect(icmp.parse(b, 0, b.length, false).ok).toBe(true);
    icmp.fillChecksum(b, 0, b.length);
    expect(icmp.verifyChecksum(b, 0, b.length)).toBe(true);
  });

  const u16 = fc.integer({ min: 0, max: 0xffff });
  const data = fc.uint8Array({ maxLength: 64 });
  const reprArb: fc.Arbitrary<IcmpRepr> = fc.oneof(
    fc.record({ type: fc.constantFrom(IcmpType.EchoRequest, IcmpType.EchoReply), ident: u16, seq: u16, data }),
    fc.record({ type: fc.constant(IcmpType.DestUnreachable), code: fc.integer({ min: 0, max: 255 }), nextHopMtu: u16, data }),
    fc.record({ type: fc.constant(IcmpType.TimeExceeded), code: fc.integer({ min: 0, max: 255 }), data }),
  );

  it("property: emit → parse is the identity, at any offset", () => {
    fc.assert(
      fc.property(reprArb, fc.nat(32), (repr, off) => {
        const b = new Uint8Array(off + icmp.headerLen(repr) + 3).fill(0xa5);
        const n = icmp.emit(repr, b, off);
        expect(n).toBe(icmp.headerLen(repr));
        expect(icmp.parse(b, off, off + n)).toEqual({ ok: true, value: repr });
      }),
      { numRuns: 300 },
    );
  });

  it("property: rewriteEchoIdent equals a full recomputation", () => {
    fc.assert(
      fc.property(u16, u16, u16, data, (ident, seq, newIdent, d) => {
        const b = new Uint8Array(8 + d.length);
        icmp.emit({ type: IcmpType.EchoRequest, ident, seq, data: d }, b, 0);
        icmp.rewriteEchoIdent(b, 0, newIdent);
        const full = b.slice();
        icmp.fillChecksum(full, 0, full.length);
        expect(icmp.checksum(b, 0)).toBe(icmp.checksum(full, 0));
      }),
      { numRuns: 500 },
    );
  });

  it("property: random bytes never throw", () => {
    const errorish = fc
      .tuple(fc.constantFrom(3, 5, 11, 12), fc.uint8Array({ maxLength: 7 }), fc.integer({ min: 0x40, max: 0x4f }), fc.uint8Array({ maxLength: 40 }))
      .map(([t, mid, v, rest]) => new Uint8Array([t, ...mid, v, ...rest]));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), errorish), fc.nat(8), (b, off) => {
        const r = icmp.parse(b, off, b.length, false);
        if (icmp.check(b, off, b.length)) expect(r.ok).toBe(false);
        icmp.parse(b, off, b.length);
        icmp.checkQuote(b, off, b.length);
        icmp.quotedIpv4Offset(b, off);
      }),
      { numRuns: 500 },
    );
  });
});

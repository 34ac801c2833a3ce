import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mustParseIpv4, readU16, udp } from "../../src/wire/index.js";
import { captureFrame, hexDump } from "../helpers/captures.js";

// tcpdump_dns_udp.pcap frame 1: DNS A? www.tcpdump.org, 192.168.1.11:43966 -> 209.87.249.18:53.
// Ethernet 0..14, IPv4 14..34, UDP 34..42 (ab be | 00 35 | 00 40 | 78 24), DNS 42..98.
const DNS_FRAME = hexDump(`
0000  00 11 22 33 44 66 00 11 22 33 44 55 08 00 45 00   .."3Df.."3DU..E.
0010  00 54 59 cd 00 00 40 11 94 ae c0 a8 01 0b d1 57   .TY...@........W
0020  f9 12 ab be 00 35 00 40 78 24 59 34 01 20 00 01   .....5.@x$Y4. ..
0030  00 00 00 00 00 01 03 77 77 77 07 74 63 70 64 75   .......www.tcpdu
0040  6d 70 03 6f 72 67 00 00 01 00 01 00 00 29 10 00   mp.org.......)..
0050  00 00 00 00 00 0c 00 0a 00 08 42 f5 d0 09 96 f9   ..........B.....
0060  0b 13                                             ..
`);
const DNS_SRC = mustParseIpv4("192.168.1.11");
const DNS_DST = mustParseIpv4("209.87.249.18");
const U = 34;

// tcpdump_ntp.pcap frame 1: NTP client 192.168.100.2:58054 -> .1:123, captured before checksum
// offload, so the checksum 0x49b6 is wrong (tshark: "should be 0xfd0f").
const NTP_FRAME = hexDump(`
0000  00 12 13 14 15 16 00 12 13 14 15 17 08 00 45 00   ..............E.
0010  00 64 e2 b5 40 00 40 11 0e 7f c0 a8 64 02 c0 a8   .d..@.@.....d...
0020  64 01 e2 c6 00 7b 00 50 49 b6 23 00 00 20 00 00   d....{.PI.#.. ..
0030  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00   ................
0040  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00   ................
0050  00 00 a4 b3 9c d1 01 fb 24 bf 00 00 00 08 57 ea   ........$.....W.
0060  53 0f 6d 74 35 0c c5 28 6b fe c1 ab 8c a7 47 c7   S.mt5..(k.....G.
0070  35 84                                             5.
`);
const NTP_SRC = mustParseIpv4("192.168.100.2");
const NTP_DST = mustParseIpv4("192.168.100.1");

const filled = (n: number) => new Uint8Array(n).fill(0xa5);

describe("udp golden", () => {
  it("hex equals the frames in the reference captures", () => {
    const dns = captureFrame("tcpdump_dns_udp.pcap", 1);
    if (dns) expect(dns).toEqual(DNS_FRAME);
    const ntp = captureFrame("tcpdump_ntp.pcap", 1);
    if (ntp) expect(ntp).toEqual(NTP_FRAME);
  });

  it("deconstructs the DNS query's header", () => {
    const b = DNS_FRAME;
    expect(udp.check(b, U, b.length)).toBeUndefined();
    expect(udp.srcPort(b, U)).toBe(43966);
    expect(udp.dstPort(b, U)).toBe(53);
    expect(udp.length(b, U)).toBe(64);
    expect(udp.checksum(b, U)).toBe(0x7824);
    expect(udp.verifyChecksum(b, U, DNS_SRC, DNS_DST, 64)).toBe(true);
    expect(udp.parse(b, U, b.length)).toEqual({ ok: true, value: { srcPort: 43966, dstPort: 53, payloadLen: 56 } });
  });

  it("constructs the DNS query's header into a 0xa5-filled buffer", () => {
    const b = filled(64);
    b.set(DNS_FRAME.subarray(U + 8), 8);
    expect(udp.emit({ srcPort: 43966, dstPort: 53, payloadLen: 56 }, b, 0)).toBe(8);
    expect(udp.checksum(b, 0)).toBe(0);
    udp.fillChecksum(b, 0, DNS_SRC, DNS_DST, 64);
    expect(b).toEqual(DNS_FRAME.subarray(U));
  });

  it("emits at a non-zero offset and headerLen matches", () => {
    const b = filled(20);
    const repr = { srcPort: 1, dstPort: 65535, payloadLen: 4 };
    expect(udp.emit(repr, b, 7)).toBe(udp.headerLen(repr));
    expect([...b.subarray(5, 17)]).toEqual([0xa5, 0xa5, 0, 1, 0xff, 0xff, 0, 12, 0, 0, 0xa5, 0xa5]);
  });

  it("detects the NTP frame's offloaded checksum and computes the right one", () => {
    const b = NTP_FRAME.slice();
    expect(udp.verifyChecksum(b, U, NTP_SRC, NTP_DST, 0x50)).toBe(false);
    udp.fillChecksum(b, U, NTP_SRC, NTP_DST, 0x50);
    expect(udp.checksum(b, U)).toBe(0xfd0f);
    expect(udp.verifyChecksum(b, U, NTP_SRC, NTP_DST, 0x50)).toBe(true);
  });

  it("checksum 0 means none and verifies", () => {
    const b = NTP_FRAME.slice();
    udp.setChecksum(b, U, 0);
    expect(udp.verifyChecksum(b, U, NTP_SRC, NTP_DST, 0x50)).toBe(true);
  });

  it("sends a computed 0 as 0xffff (RFC 768)", () => {
    const b = new Uint8Array(10);
    udp.emit({ srcPort: 1000, dstPort: 2000, payloadLen: 2 }, b, 0);
    udp.fillChecksum(b, 0, 0x0a000001, 0x0a000002, 10);
    // Choose the data word that makes the sum 0xffff, i.e. the checksum 0.
    const c = udp.checksum(b, 0);
    b[8] = c >>> 8;
    b[9] = c & 0xff;
    udp.fillChecksum(b, 0, 0x0a000001, 0x0a000002, 10);
    expect(udp.checksum(b, 0)).toBe(0xffff);
    expect(udp.verifyChecksum(b, 0, 0x0a000001, 0x0a000002, 10)).toBe(true);
  });
});

describe("udp check", () => {
  it("every truncation is an error, never an exception", () => {
    for (let end = U; end < U + 8; end++)
      expect(udp.check(DNS_FRAME, U, end)).toEqual({ kind: "truncated", layer: "udp", need: 8, have: end - U });
    for (let end = U + 8; end < DNS_FRAME.length; end++)
      expect(udp.check(DNS_FRAME, U, end)).toEqual({ kind: "truncated", layer: "udp", need: 64, have: end - U });
    expect(udp.parse(DNS_FRAME, U, U + 3).ok).toBe(false);
  });

  it("a length below 8 is bad-length", () => {
    const b = DNS_FRAME.slice();
    udp.setLength(b, U, 7);
    expect(udp.check(b, U, b.length)).toEqual({ kind: "bad-length", layer: "udp", field: "length", value: 7 });
  });

  it("random bytes never throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(8), (bytes, o) => {
        const r = udp.parse(bytes, Math.min(o, bytes.length), bytes.length);
        if (r.ok) expect(r.value.payloadLen).toBeGreaterThanOrEqual(0);
      }),
    );
  });
});

describe("udp properties", () => {
  const port = fc.integer({ min: 0, max: 0xffff });
  const addr = fc.integer({ min: 0, max: 0xffffffff });

  it("emit then parse is the identity", () => {
    fc.assert(
      fc.property(port, port, fc.integer({ min: 0, max: 200 }), fc.nat(16), (srcPort, dstPort, payloadLen, o) => {
        const repr = { srcPort, dstPort, payloadLen };
        const b = filled(o + 8 + payloadLen);
        udp.emit(repr, b, o);
        expect(udp.parse(b, o, b.length)).toEqual({ ok: true, value: repr });
      }),
    );
  });

  it("incremental port and address rewrites equal full recomputation; 0 stays 0", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 64 }),
        port,
        port,
        port,
        port,
        addr,
        addr,
        addr,
        fc.boolean(),
        (data, sp, dp, sp2, dp2, saddr, daddr, saddr2, csumOn) => {
          const len = 8 + data.length;
          const b = new Uint8Array(len);
          b.set(data, 8);
          udp.emit({ srcPort: sp, dstPort: dp, payloadLen: data.length }, b, 0);
          if (csumOn) udp.fillChecksum(b, 0, saddr, daddr, len);
          udp.rewriteSrcPort(b, 0, sp2);
          udp.rewriteDstPort(b, 0, dp2);
          udp.rewritePseudoAddr(b, 0, saddr, saddr2);
          expect(udp.srcPort(b, 0)).toBe(sp2);
          expect(udp.dstPort(b, 0)).toBe(dp2);
          if (!csumOn) {
            expect(udp.checksum(b, 0)).toBe(0);
            return;
          }
          const incremental = udp.checksum(b, 0);
          udp.fillChecksum(b, 0, saddr2, daddr, len);
          expect(incremental).toBe(udp.checksum(b, 0));
          expect(udp.verifyChecksum(b, 0, saddr2, daddr, len)).toBe(true);
        },
      ),
    );
  });

  it("a rewrite whose result is 0 sends 0xffff (CSUM_MANGLED_0)", () => {
    const b = new Uint8Array(8);
    udp.emit({ srcPort: 0x1234, dstPort: 0, payloadLen: 0 }, b, 0);
    // Pick a pseudo-header so that the full checksum is 0xffff (computed 0).
    udp.fillChecksum(b, 0, 0, 0, 8);
    const c = udp.checksum(b, 0);
    const saddr = (c === 0xffff ? 0 : c) >>> 0;
    udp.fillChecksum(b, 0, saddr, 0, 8);
    expect(udp.checksum(b, 0)).toBe(0xffff);
    // Rewriting a port to the same value must not turn it into 0 ("none").
    udp.rewriteSrcPort(b, 0, 0x1234);
    expect(readU16(b, 6)).toBe(0xffff);
    expect(udp.verifyChecksum(b, 0, saddr, 0, 8)).toBe(true);
  });
});

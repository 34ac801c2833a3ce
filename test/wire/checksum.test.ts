import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  csumReplace16,
  csumReplace32,
  internetChecksum,
  onesSum,
  pseudoHeaderSum,
  readU16,
  readU32,
  writeU16,
  writeU32,
} from "../../src/wire/index.js";

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));

/** Frame n (1-based) of a classic pcap in ../shared/captures (provenance in its SOURCES.md). */
function captureFrame(file: string, n: number): Uint8Array {
  const f = readFileSync(new URL(`../../../shared/captures/${file}`, import.meta.url));
  let at = 24;
  for (let i = 1; i < n; i++) at += 16 + f.readUInt32LE(at + 8);
  return new Uint8Array(f.subarray(at + 16, at + 16 + f.readUInt32LE(at + 8)));
}

/** Reference one's-complement sum: plain addition, folded once at the end (RFC 1071 §2 (C)). */
function naiveSum(b: Uint8Array, start = 0, end = b.length): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += (b[i] << 8) | (i + 1 < end ? b[i + 1] : 0);
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

describe("checksum", () => {
  it("RFC 1071 §3 numerical example", () => {
    // "Byte-by-byte 'Normal' Order": 00 01 f2 03 f4 f5 f6 f7 sums to 2ddf0, folded ddf2.
    const b = hex("0001 f203 f4f5 f6f7");
    expect(onesSum(b, 0, b.length)).toBe(0xddf2);
    expect(internetChecksum(b, 0, b.length)).toBe(0x220d);
    // §2 (B): swapping the bytes of every word swaps the bytes of the sum.
    const swapped = hex("0100 03f2 f5f4 f7f6");
    expect(onesSum(swapped, 0, swapped.length)).toBe(0xf2dd);
  });

  it("pads an odd length with a zero octet", () => {
    expect(onesSum(hex("01"), 0, 1)).toBe(0x0100);
    expect(onesSum(hex("0001 f2"), 0, 3)).toBe(0xf201);
    expect(onesSum(hex("0001 f2"), 0, 0)).toBe(0);
  });

  it("adds the initial partial sum and works on sub-ranges", () => {
    const b = hex("ffff 0001 f203 f4f5 f6f7 ffff");
    expect(onesSum(b, 2, 10)).toBe(0xddf2);
    expect(onesSum(b, 2, 10, 0x2000)).toBe(0xfdf2);
    expect(onesSum(b, 2, 10, 0x3000)).toBe(0x0df3); // end-around carry
  });

  it("verifies real IPv4 headers: the sum over a header with its checksum is 0xffff", () => {
    // tcpdump_vxlan.pcap frame 1, outer IPv4 header (checksum 0x5152).
    const h = hex("4500 0086 d2c0 4000 4011 5152 c0a8cb01 c0a8ca01");
    expect(onesSum(h, 0, 20)).toBe(0xffff);
    const z = h.slice();
    z[10] = z[11] = 0;
    expect(internetChecksum(z, 0, 20)).toBe(0x5152);
  });

  it("pseudoHeaderSum + onesSum reproduce captured UDP and TCP checksums", () => {
    // [file, frame, protocol]: checksums TShark 4.0.17 reports as [correct].
    const cases: [string, number, number][] = [
      ["tcpdump_dns_udp.pcap", 1, 17],
      ["tcpdump_dns_udp.pcap", 2, 17],
      ["gopacket_test_ethernet.pcap", 1, 6],
      ["gopacket_test_ethernet.pcap", 4, 6],
    ];
    for (const [file, n, proto] of cases) {
      const f = captureFrame(file, n);
      const ip = 14;
      const ihl = (f[ip] & 0x0f) * 4;
      const l4 = ip + ihl;
      const l4Len = readU16(f, ip + 2) - ihl;
      const saddr = readU32(f, ip + 12);
      const daddr = readU32(f, ip + 16);
      const csumAt = l4 + (proto === 17 ? 6 : 16);
      const stored = readU16(f, csumAt);
      const seed = pseudoHeaderSum(saddr, daddr, proto, l4Len);
      expect(onesSum(f, l4, l4 + l4Len, seed)).toBe(0xffff);
      writeU16(f, csumAt, 0);
      expect(internetChecksum(f, l4, l4 + l4Len, seed)).toBe(stored);
    }
  });

  it("folds correctly over long buffers (past the 32K-octet inner loop)", () => {
    const ones = new Uint8Array(70000).fill(0xff);
    expect(onesSum(ones, 0, ones.length)).toBe(0xffff);
    const b = new Uint8Array(100_000);
    for (let i = 0; i < b.length; i++) b[i] = (i * 7919) & 0xff;
    expect(onesSum(b, 0, b.length)).toBe(naiveSum(b));
    expect(onesSum(b, 1, 99_999)).toBe(naiveSum(b, 1, 99_999));
  });

  it("property: onesSum equals the reference sum", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(onesSum(b, 0, b.length)).toBe(naiveSum(b));
      }),
    );
  });

  it("property: pseudoHeaderSum equals the sum over the 12-octet pseudo-header", () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(u32, u32, fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffff }), (s, d, p, len) => {
        const ph = new Uint8Array(12);
        writeU32(ph, 0, s);
        writeU32(ph, 4, d);
        ph[9] = p;
        writeU16(ph, 10, len);
        // Compared as one's-complement values: 0x0000 and 0xffff are both zero.
        expect(pseudoHeaderSum(s, d, p, len) % 0xffff).toBe(naiveSum(ph) % 0xffff);
      }),
    );
  });

  /** A buffer of `words` 16-bit words whose word 0 holds a valid checksum over the rest. */
  const checksummed = fc
    .integer({ min: 2, max: 40 })
    .chain((words) => fc.uint8Array({ minLength: words * 2, maxLength: words * 2 }))
    .filter((b) => b.subarray(2).some((x) => x !== 0)) // all-zero data has no valid +0 checksum
    .map((b) => {
      b[0] = b[1] = 0;
      writeU16(b, 0, internetChecksum(b, 0, b.length));
      return b;
    });

  it("property: csumReplace16 (RFC 1624 eqn. 3) equals a full recomputation", () => {
    fc.assert(
      fc.property(checksummed, fc.nat(), fc.integer({ min: 0, max: 0xffff }), (b, at, to) => {
        const i = 2 + 2 * (at % ((b.length - 2) / 2));
        const from = readU16(b, i);
        writeU16(b, i, to);
        const incremental = csumReplace16(readU16(b, 0), from, to);
        if (b.subarray(2).every((x) => x === 0)) return; // rewritten to all zeros: no valid checksum
        b[0] = b[1] = 0;
        expect(incremental).toBe(internetChecksum(b, 0, b.length));
      }),
      { numRuns: 2000 },
    );
  });

  it("property: csumReplace32 equals a full recomputation (an IPv4 address rewrite)", () => {
    fc.assert(
      fc.property(
        checksummed.filter((b) => b.length >= 6),
        fc.nat(),
        fc.integer({ min: 0, max: 0xffffffff }),
        (b, at, to) => {
          const i = 2 + 2 * (at % ((b.length - 4) / 2));
          const from = readU32(b, i);
          writeU32(b, i, to);
          const incremental = csumReplace32(readU16(b, 0), from, to);
          if (b.subarray(2).every((x) => x === 0)) return;
          b[0] = b[1] = 0;
          expect(incremental).toBe(internetChecksum(b, 0, b.length));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("the RFC 1624 §4 example: eqn. 3 avoids the -0 of eqn. 2", () => {
    // "HC = 0xDD2F, m = 0x5555, m' = 0x3285 → HC' = 0x0000" (eqn. 2 would give 0xFFFF).
    expect(csumReplace16(0xdd2f, 0x5555, 0x3285)).toBe(0x0000);
  });

  it("readU16/writeU16/readU32/writeU32 are big-endian", () => {
    const b = new Uint8Array(8).fill(0xa5);
    writeU16(b, 1, 0xbeef);
    expect(b).toEqual(hex("a5beefa5a5a5a5a5"));
    expect(readU16(b, 1)).toBe(0xbeef);
    writeU32(b, 3, 0xdeadbeef);
    expect(b).toEqual(hex("a5beefdeadbeefa5"));
    expect(readU32(b, 3)).toBe(0xdeadbeef); // unsigned, not -559038737
  });
});

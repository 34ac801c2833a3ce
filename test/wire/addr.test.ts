import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  asIpv4,
  asMac,
  cidrContains,
  formatCidr,
  formatIpv4,
  formatMac,
  IPV4_BROADCAST,
  isMulticastMac,
  MAC_BROADCAST,
  mustParseCidr,
  mustParseIpv4,
  mustParseMac,
  parseCidr,
  parseIpv4,
  parseMac,
  prefixMask,
  readIpv4,
  readMac,
  writeIpv4,
  writeMac,
} from "../../src/wire/index.js";

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));

describe("addr: IPv4", () => {
  it("reads and writes big-endian at an offset", () => {
    // tcpdump_vxlan.pcap frame 1, outer source address c0a8 cb01 at offset 26.
    const b = hex("a5a5 c0a8cb01 a5a5");
    expect(readIpv4(b, 2)).toBe(0xc0a8cb01);
    expect(formatIpv4(readIpv4(b, 2))).toBe("192.168.203.1");
    const w = new Uint8Array(8).fill(0xa5);
    writeIpv4(w, 2, mustParseIpv4("255.0.128.1"));
    expect(w).toEqual(hex("a5a5 ff008001 a5a5"));
    expect(readIpv4(w, 2)).toBe(0xff008001); // unsigned, not negative
  });

  it("asIpv4 makes any number an unsigned 32-bit address", () => {
    expect(asIpv4(-1)).toBe(IPV4_BROADCAST);
    expect(asIpv4(0x0a000001)).toBe(mustParseIpv4("10.0.0.1"));
  });

  it("parses dotted quads strictly, with errors that say what is wrong", () => {
    expect(parseIpv4("10.244.1.2")).toEqual({ ok: true, value: 0x0af40102 });
    expect(parseIpv4("0.0.0.0")).toEqual({ ok: true, value: 0 });
    expect(parseIpv4("255.255.255.255")).toEqual({ ok: true, value: 0xffffffff });
    for (const bad of ["10.0.0", "10.0.0.1.2", "10.0.0.256", "10.0.0.01", "10.0.0.-1", "10.0.0.", "a.b.c.d", "", " 10.0.0.1", "10.0.0.1/24"]) {
      const r = parseIpv4(bad);
      expect(r.ok, bad).toBe(false);
      if (!r.ok) expect(r.error).toContain(`"${bad}"`);
    }
    expect(() => mustParseIpv4("10.0.0.256")).toThrow(/octet "256"/);
  });

  it("property: format → parse is the identity", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        expect(parseIpv4(formatIpv4(n))).toEqual({ ok: true, value: n });
        const b = new Uint8Array(4);
        writeIpv4(b, 0, n);
        expect(readIpv4(b, 0)).toBe(n);
      }),
    );
  });

  it("property: accepts exactly four dotted octets 0-255 without leading zeros (net/netip's rule, written as a regular expression here)", () => {
    const octet = "(0|[1-9][0-9]?|1[0-9][0-9]|2[0-4][0-9]|25[0-5])";
    const valid = new RegExp(`^${octet}\\.${octet}\\.${octet}\\.${octet}$`);
    const nearMiss = fc.oneof(
      fc.stringMatching(/^[0-9.]{0,17}$/),
      fc.array(fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom("00", "01", "007", "", "-1", "1a", " 1")), { minLength: 3, maxLength: 5 }).map((p) => p.join(".")),
    );
    fc.assert(
      fc.property(nearMiss, (s) => {
        const r = parseIpv4(s);
        expect(r.ok, s).toBe(valid.test(s));
        if (r.ok) expect(r.value).toBe(s.split(".").reduce((a, o) => a * 256 + Number(o), 0));
        else expect(r.error).toContain(`"${s}"`);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("addr: CIDR", () => {
  it("prefixMask covers 0 and 32", () => {
    expect(prefixMask(0)).toBe(0);
    expect(prefixMask(8)).toBe(0xff000000);
    expect(prefixMask(24)).toBe(0xffffff00);
    expect(prefixMask(32)).toBe(0xffffffff);
  });

  it("parses, checks host bits, formats and matches", () => {
    const podCidr = mustParseCidr("10.244.0.0/16");
    expect(podCidr).toEqual({ addr: 0x0af40000, len: 16 });
    expect(formatCidr(podCidr)).toBe("10.244.0.0/16");
    expect(cidrContains(podCidr, mustParseIpv4("10.244.255.7"))).toBe(true);
    expect(cidrContains(podCidr, mustParseIpv4("10.245.0.1"))).toBe(false);
    expect(cidrContains(mustParseCidr("0.0.0.0/0"), IPV4_BROADCAST)).toBe(true);
    expect(cidrContains(mustParseCidr("10.96.0.10/32"), mustParseIpv4("10.96.0.10"))).toBe(true);

    const hostBits = parseCidr("10.0.0.1/24");
    expect(hostBits.ok).toBe(false);
    if (!hostBits.ok) expect(hostBits.error).toContain("did you mean 10.0.0.0/24?");
    expect(parseCidr("10.0.0.1/24", false)).toEqual({ ok: true, value: { addr: 0x0a000000, len: 24 } });
    for (const bad of ["10.0.0.0", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "10.0.0/8", "10.0.0.0/-1"])
      expect(parseCidr(bad).ok, bad).toBe(false);
    expect(() => mustParseCidr("10.0.0.0/33")).toThrow(/expected 0-32/);
  });

  it("property: an address is in its own prefix of any length", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), (a, len) => {
        const c = mustParseCidr(`${formatIpv4(a)}/${len}`, false);
        expect(cidrContains(c, a)).toBe(true);
        expect(parseCidr(formatCidr(c))).toEqual({ ok: true, value: c });
      }),
    );
  });
});

describe("addr: MAC", () => {
  it("reads and writes 48 bits at an offset", () => {
    // tcpdump_vxlan.pcap frame 1, outer source 36:dc:85:1e:b3:40 at offset 6.
    const b = hex("0016 3e08 71cf 36dc 851e b340");
    expect(readMac(b, 6)).toBe(0x36dc851eb340);
    expect(formatMac(readMac(b, 6))).toBe("36:dc:85:1e:b3:40");
    const w = new Uint8Array(10).fill(0xa5);
    writeMac(w, 2, MAC_BROADCAST);
    expect(w).toEqual(hex("a5a5 ffffffffffff a5a5"));
    expect(readMac(w, 2)).toBe(0xffffffffffff);
  });

  it("parses and formats, with errors", () => {
    expect(parseMac("02:42:AC:11:00:02")).toEqual({ ok: true, value: 0x0242ac110002 });
    expect(formatMac(asMac(0x0242ac110002))).toBe("02:42:ac:11:00:02");
    expect(formatMac(asMac(0))).toBe("00:00:00:00:00:00");
    for (const bad of ["02:42:ac:11:00", "02-42-ac-11-00-02", "0242.ac11.0002", "02:42:ac:11:00:0g", ""])
      expect(parseMac(bad).ok, bad).toBe(false);
    expect(() => mustParseMac("nope")).toThrow(/not a MAC address/);
  });

  it("isMulticastMac reads the I/G bit of the first octet", () => {
    expect(isMulticastMac(MAC_BROADCAST)).toBe(true);
    expect(isMulticastMac(mustParseMac("01:00:5e:00:00:fb"))).toBe(true);
    expect(isMulticastMac(mustParseMac("33:33:00:00:00:01"))).toBe(true);
    expect(isMulticastMac(mustParseMac("02:42:ac:11:00:02"))).toBe(false);
    expect(isMulticastMac(mustParseMac("fe:ff:ff:ff:ff:ff"))).toBe(false);
  });

  it("property: write → read and format → parse are the identity", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), fc.nat(8), (m, off) => {
        const b = new Uint8Array(off + 6);
        writeMac(b, off, m);
        expect(readMac(b, off)).toBe(m);
        expect(parseMac(formatMac(m))).toEqual({ ok: true, value: m });
        expect(isMulticastMac(m)).toBe((b[off] & 1) === 1);
      }),
    );
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mustParseIpv4, tcp } from "../../src/wire/index.js";
import { captureFrame, hex, hexDump } from "../helpers/captures.js";

const { TcpFlags } = tcp;
const T = 34;
const CLIENT = mustParseIpv4("10.1.1.2");
const SERVER = mustParseIpv4("10.1.1.1");

// gopacket_test_ethernet.pcap frame 1: Linux SYN 10.1.1.2:44644 -> 10.1.1.1:80, Win=29200,
// options (20 octets, Linux layout): 02 04 05 b4 (MSS 1460) | 04 02 (SACK_PERM) 08 0a TSval TSecr |
// 01 (NOP) 03 03 07 (WS 7).
const SYN = hexDump(`
0000  c4 39 3a 02 a9 2a 58 6d 8f 99 ec a8 08 00 45 00   .9:..*Xm......E.
0010  00 3c 5b 9f 40 00 40 06 c9 18 0a 01 01 02 0a 01   .<[.@.@.........
0020  01 01 ae 64 00 50 93 49 c8 30 00 00 00 00 a0 02   ...d.P.I.0......
0030  72 10 e4 7d 00 00 02 04 05 b4 04 02 08 0a 3d 8f   r..}..........=.
0040  93 af 00 00 00 00 01 03 03 07                     ..........
`);
// Frame 3: the handshake's ACK, a data-segment layout: 01 01 08 0a TSval TSecr.
const ACK = hexDump(`
0000  c4 39 3a 02 a9 2a 58 6d 8f 99 ec a8 08 00 45 00   .9:..*Xm......E.
0010  00 34 5b a0 40 00 40 06 c9 1f 0a 01 01 02 0a 01   .4[.@.@.........
0020  01 01 ae 64 00 50 93 49 c8 31 f9 a8 17 db 80 10   ...d.P.I.1......
0030  00 e5 66 69 00 00 01 01 08 0a 3d 8f 93 b0 03 74   ..fi......=....t
0040  09 03                                             ..
`);
// Frame 4: PSH|ACK carrying "GET / HTTP/1.1" (72 octets of data).
const GET = hexDump(`
0000  c4 39 3a 02 a9 2a 58 6d 8f 99 ec a8 08 00 45 00   .9:..*Xm......E.
0010  00 7c 5b a1 40 00 40 06 c8 d6 0a 01 01 02 0a 01   .|[.@.@.........
0020  01 01 ae 64 00 50 93 49 c8 31 f9 a8 17 db 80 18   ...d.P.I.1......
0030  00 e5 92 4f 00 00 01 01 08 0a 3d 8f 93 b0 03 74   ...O......=....t
0040  09 03 47 45 54 20 2f 20 48 54 54 50 2f 31 2e 31   ..GET / HTTP/1.1
0050  0d 0a 48 6f 73 74 3a 20 31 30 2e 31 2e 31 2e 31   ..Host: 10.1.1.1
0060  0d 0a 55 73 65 72 2d 41 67 65 6e 74 3a 20 63 75   ..User-Agent: cu
0070  72 6c 2f 37 2e 34 37 2e 30 0d 0a 41 63 63 65 70   rl/7.47.0..Accep
0080  74 3a 20 2a 2f 2a 0d 0a 0d 0a                     t: */*....
`);

const SYN_REPR: tcp.TcpRepr = {
  srcPort: 44644,
  dstPort: 80,
  seq: 0x9349c830,
  ack: 0,
  flags: TcpFlags.SYN,
  window: 29200,
  urgent: 0,
  options: { mss: 1460, sackPermitted: true, timestamp: { val: 0x3d8f93af, ecr: 0 }, wscale: 7 },
};
const ACK_REPR: tcp.TcpRepr = {
  srcPort: 44644,
  dstPort: 80,
  seq: 0x9349c831,
  ack: 0xf9a817db,
  flags: TcpFlags.ACK,
  window: 229,
  urgent: 0,
  options: { timestamp: { val: 0x3d8f93b0, ecr: 0x03740903 } },
};

const filled = (n: number) => new Uint8Array(n).fill(0xa5);

/** Emits `repr` alone and returns the option bytes. */
function optionBytes(repr: Partial<tcp.TcpRepr>): number[] {
  const full = { ...ACK_REPR, ...repr };
  const b = filled(60);
  const n = tcp.emit(full, b, 0);
  expect(n).toBe(tcp.headerLen(full));
  return [...b.subarray(20, n)];
}

describe("tcp golden", () => {
  it("hex equals the frames in gopacket_test_ethernet.pcap", () => {
    for (const [n, frame] of [
      [1, SYN],
      [3, ACK],
      [4, GET],
    ] as const) {
      const f = captureFrame("gopacket_test_ethernet.pcap", n);
      if (f) expect(f).toEqual(frame);
    }
  });

  it("deconstructs the SYN", () => {
    const b = SYN;
    expect(tcp.check(b, T, b.length)).toBeUndefined();
    expect(tcp.srcPort(b, T)).toBe(44644);
    expect(tcp.dstPort(b, T)).toBe(80);
    expect(tcp.seqNumber(b, T)).toBe(0x9349c830);
    expect(tcp.ackNumber(b, T)).toBe(0);
    expect(tcp.headerLength(b, T)).toBe(40);
    expect(tcp.flags(b, T)).toBe(TcpFlags.SYN);
    expect(tcp.window(b, T)).toBe(29200);
    expect(tcp.checksum(b, T)).toBe(0xe47d);
    expect(tcp.urgentPointer(b, T)).toBe(0);
    expect(tcp.verifyChecksum(b, T, CLIENT, SERVER, 40)).toBe(true);
    expect(tcp.parse(b, T, b.length)).toEqual({ ok: true, value: SYN_REPR });
    expect(tcp.findOption(b, T, tcp.TcpOption.MSS)).toBe(T + 20);
    expect(tcp.findOption(b, T, tcp.TcpOption.TIMESTAMP)).toBe(T + 26);
    expect(tcp.findOption(b, T, tcp.TcpOption.WSCALE)).toBe(T + 37);
    expect(tcp.findOption(b, T, tcp.TcpOption.SACK)).toBe(-1);
  });

  it("deconstructs a data segment and verifies its checksum", () => {
    expect(tcp.parse(ACK, T, ACK.length)).toEqual({ ok: true, value: ACK_REPR });
    expect(tcp.verifyChecksum(ACK, T, CLIENT, SERVER, 32)).toBe(true);
    const r = tcp.parse(GET, T, GET.length);
    expect(r.ok && r.value.flags).toBe(TcpFlags.PSH | TcpFlags.ACK);
    expect(tcp.verifyChecksum(GET, T, CLIENT, SERVER, GET.length - T)).toBe(true);
    const bad = GET.slice();
    bad[bad.length - 1] ^= 1;
    expect(tcp.verifyChecksum(bad, T, CLIENT, SERVER, bad.length - T)).toBe(false);
  });

  it("constructs the SYN exactly as Linux lays it out", () => {
    const b = filled(40);
    expect(tcp.emit(SYN_REPR, b, 0)).toBe(40);
    tcp.fillChecksum(b, 0, CLIENT, SERVER, 40);
    expect(b).toEqual(SYN.subarray(T));
  });

  it("constructs the data segment with its payload", () => {
    const len = GET.length - T;
    const b = filled(len);
    b.set(GET.subarray(T + 32), 32);
    expect(tcp.emit({ ...ACK_REPR, flags: TcpFlags.PSH | TcpFlags.ACK }, b, 0)).toBe(32);
    tcp.fillChecksum(b, 0, CLIENT, SERVER, len);
    expect(b).toEqual(GET.subarray(T));
  });

  it("emits at a non-zero offset", () => {
    const b = filled(80);
    tcp.emit(SYN_REPR, b, 13);
    expect(b[12]).toBe(0xa5);
    expect(b[53]).toBe(0xa5);
    expect(tcp.parse(b, 13, 53)).toEqual({ ok: true, value: SYN_REPR });
  });
});

describe("tcp option layout", () => {
  it("SACK-permitted without timestamps: NOP NOP SACK_PERM, NOP WS (tcp_options_write)", () => {
    expect(optionBytes({ options: { mss: 1460, sackPermitted: true, wscale: 7 } })).toEqual(
      [...hex("020405b4 01010402 01030307")],
    );
  });

  it("timestamps without SACK-permitted: NOP NOP TS", () => {
    expect(optionBytes({ options: { mss: 536, timestamp: { val: 1, ecr: 2 } } })).toEqual(
      [...hex("02040218 0101080a 00000001 00000002")],
    );
  });

  it("SACK blocks after timestamps: NOP NOP SACK len", () => {
    const sack = [{ left: 0x10, right: 0x20 }];
    expect(optionBytes({ options: { timestamp: { val: 1, ecr: 2 }, sack } })).toEqual(
      [...hex("0101080a 00000001 00000002 0101050a 00000010 00000020")],
    );
  });

  it("keeps a caller's order (Windows SYN: MSS, NOP WS, NOP NOP SACK_PERM) and parse reports it", () => {
    const repr = { ...SYN_REPR, options: { mss: 1460, wscale: 8, sackPermitted: true }, optionOrder: [2, 3, 4] as const };
    expect(optionBytes(repr)).toEqual([...hex("020405b4 01030308 01010402")]);
    const b = filled(32);
    tcp.emit(repr, b, 0);
    expect(tcp.parse(b, 0, 32)).toEqual({ ok: true, value: repr });
  });

  it("more than 40 octets of options is a programmer error", () => {
    const sack = [1, 2, 3, 4].map((i) => ({ left: i, right: i + 1 }));
    expect(() => tcp.emit({ ...ACK_REPR, options: { timestamp: { val: 1, ecr: 2 }, sack } }, filled(80), 0)).toThrow(RangeError);
  });
});

describe("tcp check and malformed options", () => {
  it("every truncation is an error, never an exception", () => {
    for (let end = T; end < T + 20; end++)
      expect(tcp.check(SYN, T, end)).toEqual({ kind: "truncated", layer: "tcp", need: 20, have: end - T });
    for (let end = T + 20; end < T + 40; end++) {
      expect(tcp.check(SYN, T, end)).toEqual({ kind: "truncated", layer: "tcp", need: 40, have: end - T });
      expect(tcp.parse(SYN, T, end).ok).toBe(false);
    }
  });

  it("a data offset below 5 is bad-length", () => {
    const b = SYN.slice();
    b[T + 12] = 0x40;
    expect(tcp.check(b, T, b.length)).toEqual({ kind: "bad-length", layer: "tcp", field: "data offset", value: 4 });
  });

  const withOptions = (opts: string): Uint8Array => {
    const o = hex(opts);
    const b = new Uint8Array(20 + o.length);
    tcp.emit({ ...ACK_REPR, options: {} }, b, 0);
    tcp.setHeaderLength(b, 0, 20 + o.length);
    b.set(o, 20);
    return b;
  };
  const parseErr = (opts: string) => {
    const b = withOptions(opts);
    const r = tcp.parse(b, 0, b.length);
    return r.ok ? undefined : r.error.kind;
  };

  it("an option running past the header, shorter than 2 or without a length is malformed", () => {
    expect(parseErr("0204 05b4 080a 0000")).toBe("malformed");
    expect(parseErr("0201 0000")).toBe("malformed");
    expect(parseErr("0100 0000")).toBeUndefined(); // NOP then EOL
    expect(parseErr("0101 0102")).toBe("malformed"); // kind 2 is the header's last octet
    expect(tcp.findOption(withOptions("0204 05b4 080a 0000"), 0, 8)).toBe(-1);
  });

  it("skips unknown options and known ones of the wrong length; stops at EOL", () => {
    const b = withOptions("fe04 abcd 0203 0001 0204 0218 0003 0307");
    expect(tcp.parse(b, 0, b.length)).toEqual({ ok: true, value: { ...ACK_REPR, options: { mss: 536 } } });
  });

  it("random bytes never throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        tcp.parse(bytes, 0, bytes.length);
        if (tcp.check(bytes, 0, bytes.length) === undefined) tcp.findOption(bytes, 0, 8);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), fc.integer({ min: 5, max: 15 }), (opts, doff) => {
        const b = new Uint8Array(doff * 4);
        b[12] = doff << 4;
        b.set(opts.subarray(0, doff * 4 - 20), 20);
        tcp.parse(b, 0, b.length);
      }),
    );
  });
});

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const optionsArb = (maxSack: number) =>
  fc.record(
  {
    mss: u16,
    wscale: fc.integer({ min: 0, max: 14 }),
    sackPermitted: fc.constant(true),
    timestamp: fc.record({ val: u32, ecr: u32 }),
    sack: fc.array(fc.record({ left: u32, right: u32 }), { minLength: 1, maxLength: maxSack }),
  },
  { requiredKeys: [] },
);
// Linux's order fits two SACK blocks with everything else in 40 octets; any order fits one.
const reprArb = (maxSack = 2) => fc.record({
  srcPort: u16,
  dstPort: u16,
  seq: u32,
  ack: u32,
  flags: fc.integer({ min: 0, max: 0xff }),
  window: u16,
  urgent: u16,
  options: optionsArb(maxSack),
});

describe("tcp properties", () => {
  it("emit then parse is the identity (Linux order)", () => {
    fc.assert(
      fc.property(reprArb(), fc.nat(12), (repr, o) => {
        const b = filled(o + 60);
        const n = tcp.emit(repr, b, o);
        expect(n % 4).toBe(0);
        expect(tcp.parse(b, o, o + n)).toEqual({ ok: true, value: repr });
      }),
    );
  });

  it("any option order round-trips byte for byte", () => {
    const kinds = fc.shuffledSubarray([2, 3, 4, 5, 8] as tcp.TcpOptionKind[]);
    fc.assert(
      fc.property(reprArb(1), kinds, (repr, order) => {
        const b = filled(60);
        const n = tcp.emit({ ...repr, optionOrder: order }, b, 0);
        const r = tcp.parse(b, 0, n);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.value.options).toEqual(repr.options);
        const again = filled(60);
        expect(tcp.emit(r.value, again, 0)).toBe(n);
        expect(again).toEqual(b);
      }),
    );
  });

  it("incremental port and address rewrites equal full recomputation", () => {
    fc.assert(
      fc.property(reprArb(), fc.uint8Array({ maxLength: 50 }), u16, u16, u32, u32, u32, u32, (repr, data, sp, dp, s, d, s2, d2) => {
        const hl = tcp.headerLen(repr);
        const b = new Uint8Array(hl + data.length);
        tcp.emit(repr, b, 0);
        b.set(data, hl);
        tcp.fillChecksum(b, 0, s, d, b.length);
        tcp.rewriteSrcPort(b, 0, sp);
        tcp.rewriteDstPort(b, 0, dp);
        tcp.rewritePseudoAddr(b, 0, s, s2);
        tcp.rewritePseudoAddr(b, 0, d, d2);
        const incremental = tcp.checksum(b, 0);
        expect(tcp.verifyChecksum(b, 0, s2, d2, b.length)).toBe(true);
        tcp.fillChecksum(b, 0, s2, d2, b.length);
        expect(incremental).toBe(tcp.checksum(b, 0));
      }),
    );
  });
});

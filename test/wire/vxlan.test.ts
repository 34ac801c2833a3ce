import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { udp, vxlan } from "../../src/wire/index.js";
import { captureFrame, hexDump } from "../helpers/captures.js";

// tcpdump_vxlan.pcap frame 1: outer 192.168.203.1 -> 192.168.202.1, UDP 45149 -> 4789 (checksum
// 0), VXLAN at 42: 08 (I) 00 00 00 | 00 00 64 (VNI 100) 00; inner ICMP echo request from 50.
const VXLAN_4789 = hexDump(`
0000  00 16 3e 08 71 cf 36 dc 85 1e b3 40 08 00 45 00   ..>.q.6....@..E.
0010  00 86 d2 c0 40 00 40 11 51 52 c0 a8 cb 01 c0 a8   ....@.@.QR......
0020  ca 01 b0 5d 12 b5 00 72 00 00 08 00 00 00 00 00   ...]...r........
0030  64 00 00 30 88 01 00 02 00 16 3e 37 f6 04 08 00   d..0......>7....
0040  45 00 00 54 00 00 40 00 40 01 23 4f c0 a8 cb 03   E..T..@.@.#O....
0050  c0 a8 cb 05 08 00 f6 f2 05 0c 00 01 fc e2 97 51   ...............Q
0060  00 00 00 00 a6 f8 02 00 00 00 00 00 10 11 12 13   ................
0070  14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20 21 22 23   ............ !"#
0080  24 25 26 27 28 29 2a 2b 2c 2d 2e 2f 30 31 32 33   $%&'()*+,-./0123
0090  34 35 36 37                                       4567
`);
// tcpdump_vxlan_port_8472.pcap frame 2: the inner ARP request, outer UDP 42710 -> 8472, 92 bytes.
const VXLAN_8472_ARP = hexDump(`
0000  36 dc 85 1e b3 40 00 16 3e 08 71 cf 08 00 45 00   6....@..>.q...E.
0010  00 4e b8 02 40 00 3e 11 6e 48 c0 a8 ca 01 c0 a8   .N..@.>.nH......
0020  cb 01 a6 d6 21 18 00 3a 00 00 08 00 00 00 00 00   ....!..:........
0030  64 00 ff ff ff ff ff ff 00 30 88 01 00 02 08 06   d........0......
0040  00 01 08 00 06 04 00 01 00 30 88 01 00 02 c0 a8   .........0......
0050  cb 05 00 00 00 00 00 00 c0 a8 cb 03               ............
`);
const V = 42;

describe("vxlan golden", () => {
  it("hex equals the frames in the reference captures", () => {
    const a = captureFrame("tcpdump_vxlan.pcap", 1);
    if (a) expect(a).toEqual(VXLAN_4789);
    const b = captureFrame("tcpdump_vxlan_port_8472.pcap", 2);
    if (b) expect(b).toEqual(VXLAN_8472_ARP);
  });

  it("deconstructs both frames", () => {
    for (const [frame, port] of [
      [VXLAN_4789, vxlan.VXLAN_PORT_IANA],
      [VXLAN_8472_ARP, vxlan.VXLAN_PORT_LINUX],
    ] as const) {
      expect(udp.dstPort(frame, 34)).toBe(port);
      expect(udp.checksum(frame, 34)).toBe(0);
      expect(udp.length(frame, 34)).toBe(frame.length - 34);
      expect(vxlan.check(frame, V, frame.length)).toBeUndefined();
      expect(vxlan.flags(frame, V)).toBe(vxlan.VXLAN_FLAG_I);
      expect(vxlan.vni(frame, V)).toBe(100);
      expect(vxlan.parse(frame, V, frame.length)).toEqual({ ok: true, value: { vni: 100 } });
    }
    expect(VXLAN_8472_ARP.length).toBe(42 + vxlan.VXLAN_ENCAP_LEN);
  });

  it("constructs the header into a 0xa5-filled buffer", () => {
    const b = new Uint8Array(12).fill(0xa5);
    expect(vxlan.emit({ vni: 100 }, b, 2)).toBe(vxlan.headerLen());
    expect([...b]).toEqual([0xa5, 0xa5, ...VXLAN_4789.subarray(V, V + 8), 0xa5, 0xa5]);
  });

  it("the constants say what they are", () => {
    expect(vxlan.VXLAN_OVERHEAD).toBe(20 + 8 + 8 + 14);
    expect(vxlan.VXLAN_ENCAP_LEN).toBe(14 + 20 + 8 + 8);
    expect(1500 - vxlan.VXLAN_OVERHEAD).toBe(1450);
  });
});

describe("vxlan check", () => {
  it("every truncation is an error, never an exception", () => {
    for (let end = V; end < V + 8; end++)
      expect(vxlan.check(VXLAN_4789, V, end)).toEqual({ kind: "truncated", layer: "vxlan", need: 8, have: end - V });
  });

  it("the I flag must be set", () => {
    const b = VXLAN_4789.slice();
    b[V] = 0x00;
    expect(vxlan.check(b, V, b.length)).toEqual({ kind: "malformed", layer: "vxlan", reason: "I flag not set" });
    b[V] = 0xf7;
    expect(vxlan.parse(b, V, b.length).ok).toBe(false);
  });

  it("reserved bits are ignored (RFC 7348 §5)", () => {
    const b = VXLAN_4789.slice();
    b[V] = 0xff;
    b[V + 7] = 0x55;
    expect(vxlan.parse(b, V, b.length)).toEqual({ ok: true, value: { vni: 100 } });
  });

  it("random bytes never throw", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => void vxlan.parse(bytes, 0, bytes.length)));
  });
});

describe("vxlan properties", () => {
  it("emit then parse is the identity at any offset", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: vxlan.VXLAN_VNI_MAX }), fc.nat(16), (vni, o) => {
        const b = new Uint8Array(o + 8).fill(0xa5);
        vxlan.emit({ vni }, b, o);
        expect(vxlan.parse(b, o, b.length)).toEqual({ ok: true, value: { vni } });
      }),
    );
  });

  it("setVni leaves the reserved octets alone", () => {
    const b = VXLAN_4789.slice();
    vxlan.setVni(b, V, 0xabcdef);
    expect([...b.subarray(V, V + 8)]).toEqual([8, 0, 0, 0, 0xab, 0xcd, 0xef, 0]);
  });
});

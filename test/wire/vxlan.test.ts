import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { udp, vxlan } from "../../src/wire/index.js";
import { captureFrame, } from "../helpers/captures.js";
import { VXLAN_4789_PING as VXLAN_4789, VXLAN_8472_ARP } from "../helpers/golden.js";

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

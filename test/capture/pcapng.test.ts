import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemorySink, PcapngWriter, parseCapture, readCapture, SECRETS_TYPE } from "../../src/capture/index.js";
import { Packet } from "../../src/packet/index.js";
import { capinfos, tsharkFieldLists, tsharkFields, tsharkJson, tsharkProblems } from "../helpers/tshark.js";
import { udpFrame } from "./frames.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kubewire-pcapng-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_700_000_000_123_456_789n;
const DNAT = "DNAT 10.96.0.10:53 → 10.244.2.5:53";

/** Walks the blocks of a little-endian pcapng: [type, total length, offset]. */
function blocks(b: Buffer): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (let p = 0; p < b.length; p += b.readUInt32LE(p + 4)) out.push([b.readUInt32LE(p), b.readUInt32LE(p + 4), p]);
  return out;
}

describe("PcapngWriter: bytes", () => {
  it("starts with a Section Header Block: byte-order magic, v1.0, section length -1, shb_userappl", () => {
    const sink = new MemorySink();
    new PcapngWriter(sink).close();
    const b = sink.bytes();
    expect(b.readUInt32LE(0)).toBe(0x0a0d0d0a);
    expect(b.readUInt32LE(8)).toBe(0x1a2b3c4d);
    expect([b.readUInt16LE(12), b.readUInt16LE(14)]).toEqual([1, 0]);
    expect(b.readBigInt64LE(16)).toBe(-1n);
    // shb_userappl (4) = "kubewire", padded; opt_endofopt; the trailing length.
    expect(b.subarray(24).toString("hex")).toBe(
      "0400" + "0800" + Buffer.from("kubewire").toString("hex") + "00000000" + b.subarray(4, 8).toString("hex"),
    );
    expect(b.readUInt32LE(4)).toBe(b.length);
    expect(parseCapture(b).sections).toEqual([
      { offset: 0, byteOrder: "le", versionMajor: 1, versionMinor: 0, hardware: undefined, os: undefined, userappl: "kubewire", comments: [] },
    ]);
  });

  it("writes an IDB per interface: Ethernet, snaplen, if_name, if_description, if_tsresol 9", () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    expect(w.addInterface({ name: "node-1/cni0", description: "bridge cni0 on node-1" })).toBe(0);
    expect(w.addInterface({ name: "node-1/eth0" })).toBe(1);
    w.close();
    const b = sink.bytes();
    const idbs = blocks(b).filter(([t]) => t === 1);
    expect(idbs.length).toBe(2);
    const [, , p] = idbs[0];
    expect(b.readUInt16LE(p + 8)).toBe(1); // LINKTYPE_ETHERNET
    expect(b.readUInt32LE(p + 12)).toBe(262144);
    const c = parseCapture(b);
    expect(c.interfaces.map((i) => [i.name, i.description, i.linktype, i.unitsPerSecond])).toEqual([
      ["node-1/cni0", "bridge cni0 on node-1", 1, 1_000_000_000n],
      ["node-1/eth0", undefined, 1, 1_000_000_000n],
    ]);
    expect(w.interfaces.map((i) => i.name)).toEqual(["node-1/cni0", "node-1/eth0"]);
  });

  it("writes an EPB: interface, 64-bit ns timestamp, lengths, data padded with zeros, no options", () => {
    for (const len of [61, 62, 63, 64]) {
      const sink = new MemorySink();
      const w = new PcapngWriter(sink, { bufferSize: 256 });
      w.addInterface({ name: "a" });
      w.addInterface({ name: "b" });
      // Dirty the staging buffer so forgotten padding would show.
      w.writePacket(0, 0, new Uint8Array(200).fill(0xa5));
      w.writePacket(1, T0, udpFrame(len));
      w.close();
      const b = sink.bytes();
      const [type, total, p] = blocks(b).at(-1)!;
      expect(type).toBe(6);
      expect(total).toBe(32 + 64);
      expect(b.readUInt32LE(p + 8)).toBe(1);
      expect((BigInt(b.readUInt32LE(p + 12)) << 32n) | BigInt(b.readUInt32LE(p + 16))).toBe(T0);
      expect([b.readUInt32LE(p + 20), b.readUInt32LE(p + 24)]).toEqual([len, len]);
      expect([...b.subarray(p + 28 + len, p + 28 + 64)].every((x) => x === 0)).toBe(true);
      expect(b.readUInt32LE(p + total - 4)).toBe(total);
    }
  });

  it("writes comments as opt_comment options followed by opt_endofopt", () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    w.addInterface({ name: "a" });
    w.writePacket(0, 1, udpFrame(42), 0, 42, "abcde");
    w.close();
    const b = sink.bytes();
    const [, total, p] = blocks(b).at(-1)!;
    const opts = b.subarray(p + 28 + 44, p + total - 4).toString("hex");
    expect(opts).toBe("0100" + "0500" + Buffer.from("abcde").toString("hex") + "000000" + "00000000");
  });

  it("takes timestamps as a number or a bigint, and data[start, end) of a bigger buffer", () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    w.addInterface({ name: "a" });
    const f = udpFrame(60);
    const buf = new Uint8Array(300).fill(0xa5);
    buf.set(f, 100);
    w.writePacket(0, 2 ** 40 + 7, buf, 100, 160);
    w.writeFrame(0, { buf, head: 100, tail: 160, tstamp: 2n ** 40n + 8n, notes: ["SNAT", DNAT] });
    w.close();
    const c = parseCapture(sink.bytes());
    expect(c.errors).toEqual([]);
    expect(c.records.map((r) => [r.timestampNs, Buffer.from(r.data).equals(Buffer.from(f)), r.comments])).toEqual([
      [2n ** 40n + 7n, true, []],
      [2n ** 40n + 8n, true, ["SNAT", DNAT]],
    ]);
  });

  it("writes a Packet (buf[head, tail), tstamp, notes as comments) with writeFrame()", () => {
    const f = udpFrame(64);
    const pkt = new Packet(Buffer.alloc(256)).reset();
    pkt.buf.set(f, pkt.put(f.length));
    pkt.tstamp = 5_000;
    pkt.notes = [DNAT];
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    w.writeFrame(w.addInterface({ name: "pod-a/eth0" }), pkt);
    pkt.notes = null;
    w.writeFrame(0, pkt);
    w.close();
    const c = parseCapture(sink.bytes());
    expect(c.records.map((r) => [r.timestampNs, Buffer.from(r.data).equals(Buffer.from(f)), r.comments])).toEqual([
      [5_000n, true, [DNAT]],
      [5_000n, true, []],
    ]);
  });

  it("cuts a comment longer than an option can hold on a character boundary", () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    w.addInterface({ name: "a" });
    w.writePacket(0, 0, udpFrame(42), 0, 42, "→".repeat(30_000)); // 90000 bytes of UTF-8
    w.close();
    const [r] = parseCapture(sink.bytes()).records;
    expect(Buffer.byteLength(r.comments[0])).toBeLessThanOrEqual(65535);
    expect(r.comments[0]).toMatch(/^→+$/);
  });

  it("refuses a packet on an interface it was not told about", () => {
    const w = new PcapngWriter(new MemorySink());
    w.addInterface({ name: "a" });
    expect(() => w.writePacket(1, 0, udpFrame(42))).toThrow(RangeError);
    w.close();
    w.close();
  });
});

describe("PcapngWriter: read back by tshark", () => {
  it("interfaces added between packets, names, descriptions, comments, ns timestamps", () => {
    const file = join(dir, "ifaces.pcapng");
    const w = new PcapngWriter(file);
    const cni0 = w.addInterface({ name: "node-1/cni0", description: "bridge cni0 on node-1" });
    w.writePacket(cni0, T0, udpFrame(64), 0, 64, DNAT);
    const eth0 = w.addInterface({ name: "node-1/eth0", description: "uplink of node-1" });
    w.writePacket(eth0, T0 + 1000n, udpFrame(98));
    w.writePacket(cni0, T0 + 2000n, udpFrame(60), 0, 60, ["first note", "second, with a comma"]);
    w.close();
    expect(tsharkFieldLists(file, ["frame.interface_name", "frame.interface_description", "frame.comment"])).toEqual([
      { "frame.interface_name": ["node-1/cni0"], "frame.interface_description": ["bridge cni0 on node-1"], "frame.comment": [DNAT] },
      { "frame.interface_name": ["node-1/eth0"], "frame.interface_description": ["uplink of node-1"], "frame.comment": [] },
      {
        "frame.interface_name": ["node-1/cni0"],
        "frame.interface_description": ["bridge cni0 on node-1"],
        "frame.comment": ["first note", "second, with a comma"],
      },
    ]);
    expect(tsharkFields(file, ["frame.time_epoch", "frame.len", "frame.cap_len", "frame.interface_id"])).toEqual([
      { "frame.time_epoch": "1700000000.123456789", "frame.len": "64", "frame.cap_len": "64", "frame.interface_id": "0" },
      { "frame.time_epoch": "1700000000.123457789", "frame.len": "98", "frame.cap_len": "98", "frame.interface_id": "1" },
      { "frame.time_epoch": "1700000000.123458789", "frame.len": "60", "frame.cap_len": "60", "frame.interface_id": "0" },
    ]);
    expect(tsharkProblems(file)).toEqual([]);
    const c = readCapture(file);
    expect(c.records.map((r) => [r.interfaceId, r.interfaceName, r.timestampNs, r.data.length, r.origLen, r.comments])).toEqual([
      [0, "node-1/cni0", T0, 64, 64, [DNAT]],
      [1, "node-1/eth0", T0 + 1000n, 98, 98, []],
      [0, "node-1/cni0", T0 + 2000n, 60, 60, ["first note", "second, with a comma"]],
    ]);
  });

  it("per-interface snaplen: tshark sees the original and the captured length", () => {
    const file = join(dir, "snap.pcapng");
    const w = new PcapngWriter(file);
    w.addInterface({ name: "vxlan.1", snaplen: 96 });
    w.writePacket(0, 0, udpFrame(1514));
    w.close();
    expect(tsharkFields(file, ["frame.len", "frame.cap_len"])).toEqual([{ "frame.len": "1514", "frame.cap_len": "96" }]);
  });

  it("a frame bigger than the staging buffer is staged whole", () => {
    const file = join(dir, "big.pcapng");
    const w = new PcapngWriter(file, { bufferSize: 1024 });
    w.addInterface({ name: "a" });
    for (let i = 0; i < 5; i++) w.writePacket(0, i, udpFrame(i === 2 ? 9000 : 1514), 0, undefined, `frame ${i}`);
    w.close();
    expect(tsharkFields(file, ["frame.len", "frame.comment"]).map((r) => [r["frame.len"], r["frame.comment"]])).toEqual([
      ["1514", "frame 0"],
      ["1514", "frame 1"],
      ["9000", "frame 2"],
      ["1514", "frame 3"],
      ["1514", "frame 4"],
    ]);
    expect(tsharkProblems(file)).toEqual([]);
  });

  it("section options show in Wireshark's capture file properties (capinfos)", () => {
    const file = join(dir, "shb.pcapng");
    const w = new PcapngWriter(file, { hardware: "emulated", os: "kubewire", comment: "scenario: dns" });
    w.addInterface({ name: "a" });
    w.writePacket(0, 0, udpFrame(42));
    w.close();
    const c = readCapture(file);
    expect(c.sections[0]).toMatchObject({ hardware: "emulated", os: "kubewire", userappl: "kubewire", comments: ["scenario: dns"] });
    expect(capinfos(file).info).toMatchObject({
      "File type": "pcapng",
      "File timestamp precision": "nanoseconds (9)",
      "Capture hardware": "emulated",
      "Capture oper-sys": "kubewire",
      "Capture application": "kubewire",
      "Capture comment": "scenario: dns",
      "Number of interfaces in file": "1",
    });
    expect(tsharkProblems(file)).toEqual([]);
  });
});

describe("Decryption Secrets Block", () => {
  const KEYLOG =
    "# SSL/TLS secrets log file, generated by kubewire\n" +
    `CLIENT_RANDOM ${"a1".repeat(32)} ${"b2".repeat(48)}\n`;

  it("writes a TLS key log DSB that tshark opens without complaint and our reader returns", () => {
    const file = join(dir, "dsb.pcapng");
    const w = new PcapngWriter(file);
    w.addInterface({ name: "node-1/eth0" });
    w.writeDecryptionSecrets(KEYLOG);
    w.writePacket(0, T0, udpFrame(64));
    w.writeDecryptionSecrets(Uint8Array.of(1, 2, 3), SECRETS_TYPE.WIREGUARD_KEY_LOG);
    w.close();
    const b = readFileSync(file);
    const dsb = blocks(b).find(([t]) => t === 0x0a)!;
    expect(b.readUInt32LE(dsb[2] + 8)).toBe(0x544c534b);
    expect(b.readUInt32LE(dsb[2] + 12)).toBe(Buffer.byteLength(KEYLOG));
    expect(tsharkJson(file).length).toBe(1);
    expect(capinfos(file).info["Number of decryption secrets in file"]).toBe("2");
    expect(tsharkProblems(file, { minSeverity: "warning" })).toEqual([]);
    const c = readCapture(file);
    expect(c.errors).toEqual([]);
    expect(c.secrets.map((s) => [s.secretsType, Buffer.from(s.data).toString()])).toEqual([
      [SECRETS_TYPE.TLS_KEY_LOG, KEYLOG],
      [SECRETS_TYPE.WIREGUARD_KEY_LOG, "\x01\x02\x03"],
    ]);
  });
});

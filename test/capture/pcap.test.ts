import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemorySink, PcapWriter, parseCapture, readCapture } from "../../src/capture/index.js";
import { tsharkFields, tsharkProblems } from "../helpers/tshark.js";
import { udpFrame } from "./frames.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kubewire-pcap-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_700_000_000_123_456_789n;

describe("PcapWriter: bytes", () => {
  it("writes the nanosecond file header: magic a1b23c4d, v2.4, snaplen 262144, Ethernet", () => {
    const sink = new MemorySink();
    new PcapWriter(sink).close();
    // draft-ietf-opsawg-pcap §4, little-endian.
    expect(sink.bytes().toString("hex")).toBe("4d3cb2a1" + "0200" + "0400" + "00000000" + "00000000" + "00000400" + "01000000");
    expect(sink.ended).toBe(true);
  });

  it("writes the microsecond file header when asked (magic a1b2c3d4)", () => {
    const sink = new MemorySink();
    new PcapWriter(sink, { resolution: "us", snaplen: 65535 }).close();
    expect(sink.bytes().subarray(0, 4).toString("hex")).toBe("d4c3b2a1");
    expect(sink.bytes().readUInt32LE(16)).toBe(65535);
  });

  it("writes a record header: seconds, nanoseconds, captured and original length", () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink);
    const f = udpFrame(64);
    w.writePacket(T0, f);
    w.close();
    const b = sink.bytes();
    expect(b.length).toBe(24 + 16 + 64);
    expect(b.readUInt32LE(24)).toBe(1_700_000_000);
    expect(b.readUInt32LE(28)).toBe(123_456_789);
    expect(b.readUInt32LE(32)).toBe(64);
    expect(b.readUInt32LE(36)).toBe(64);
    expect(Buffer.from(b.subarray(40)).equals(Buffer.from(f))).toBe(true);
  });

  it("writes microseconds in the µs variant (truncating the nanoseconds)", () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { resolution: "us" });
    w.writePacket(1_500_000_999, udpFrame(42)); // a number works as well as a bigint
    w.close();
    expect(sink.bytes().readUInt32LE(24)).toBe(1);
    expect(sink.bytes().readUInt32LE(28)).toBe(500_000);
  });

  it("cuts a frame to the snaplen and keeps the original length", () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { snaplen: 50 });
    w.writePacket(0, udpFrame(100));
    w.close();
    const c = parseCapture(sink.bytes());
    expect(c.records[0].data.length).toBe(50);
    expect(c.records[0].origLen).toBe(100);
  });

  it("writes buf[head, tail) of a packet buffer with writeFrame()", () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink);
    const f = udpFrame(60);
    const buf = new Uint8Array(128 + 60 + 16).fill(0xa5);
    buf.set(f, 128);
    w.writeFrame({ buf, head: 128, tail: 188, tstamp: 42 });
    w.close();
    const r = parseCapture(sink.bytes()).records[0];
    expect(Buffer.from(r.data).equals(Buffer.from(f))).toBe(true);
    expect(r.timestampNs).toBe(42n);
  });

  it("hands a sink whole records, in chunks it never reuses", () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { bufferSize: 256 });
    const frames = Array.from({ length: 50 }, (_, i) => udpFrame(42 + i, { ident: i }));
    frames.forEach((f, i) => {
      w.writePacket(i, f);
    });
    expect(sink.chunks.length).toBeGreaterThan(5);
    const before = sink.chunks.map((c) => Buffer.from(c).toString("hex"));
    w.writePacket(99, udpFrame(1514)); // bigger than the buffer: staged whole on its own
    w.close();
    expect(sink.chunks.slice(0, before.length).map((c) => Buffer.from(c).toString("hex"))).toEqual(before);
    const c = parseCapture(sink.bytes());
    expect(c.errors).toEqual([]);
    expect(c.records.map((r) => r.data.length)).toEqual([...frames.map((f) => f.length), 1514]);
    expect(w.bytesWritten).toBe(sink.bytes().length);
  });

  it("close() is idempotent; a write after close() is a programmer error", () => {
    const w = new PcapWriter(new MemorySink());
    w.close();
    w.close();
    expect(w.isClosed).toBe(true);
    expect(() => w.writePacket(0, udpFrame(42))).toThrow(/after close/);
  });

  it("leaves a caller's file descriptor open unless closeFd is set", () => {
    const file = join(dir, "fd.pcap");
    const fd = openSync(file, "w");
    const w = new PcapWriter(fd);
    w.writePacket(0, udpFrame(42));
    w.close();
    writeSync(fd, Buffer.alloc(0)); // still open
    closeSync(fd);
    expect(readCapture(file).records.length).toBe(1);
  });
});

describe("PcapWriter: read back by tshark", () => {
  it("nanosecond pcap: timestamps to the nanosecond, lengths, no problems", () => {
    const file = join(dir, "ns.pcap");
    const w = new PcapWriter(file);
    const lens = [42, 60, 64, 1514];
    for (const [i, n] of lens.entries()) w.writePacket(T0 + BigInt(i), udpFrame(n));
    w.close();
    expect(readFileSync(file).subarray(0, 4).toString("hex")).toBe("4d3cb2a1");
    const rows = tsharkFields(file, ["frame.time_epoch", "frame.len", "frame.cap_len"]);
    expect(rows).toEqual(
      lens.map((n, i) => ({ "frame.time_epoch": `1700000000.${123_456_789 + i}`, "frame.len": `${n}`, "frame.cap_len": `${n}` })),
    );
    expect(tsharkProblems(file)).toEqual([]);
    const c = readCapture(file);
    expect(c.pcap?.resolution).toBe("ns");
    expect(c.records.map((r) => r.timestampNs)).toEqual(lens.map((_, i) => T0 + BigInt(i)));
  });

  it("microsecond pcap: tshark reads microseconds", () => {
    const file = join(dir, "us.pcap");
    const w = new PcapWriter(file, { resolution: "us" });
    w.writePacket(T0, udpFrame(64));
    w.close();
    expect(tsharkFields(file, ["frame.time_epoch", "frame.len"])).toEqual([
      { "frame.time_epoch": "1700000000.123456000", "frame.len": "64" },
    ]);
    expect(tsharkProblems(file)).toEqual([]);
    expect(readCapture(file).records[0].timestampNs).toBe(1_700_000_000_123_456_000n);
  });

  it("cut frames: tshark sees the original length and the captured length", () => {
    const file = join(dir, "snap.pcap");
    const w = new PcapWriter(file, { snaplen: 64 });
    w.writePacket(0, udpFrame(200));
    w.close();
    expect(tsharkFields(file, ["frame.len", "frame.cap_len"])).toEqual([{ "frame.len": "200", "frame.cap_len": "64" }]);
  });
});

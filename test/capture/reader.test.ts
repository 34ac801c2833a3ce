import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Capture, formatCaptureError, MemorySink, PcapngWriter, PcapWriter, parseCapture, readCapture } from "../../src/capture/index.js";
import { CAPTURES_DIR } from "../helpers/captures.js";
import { tsharkFields, tsharkProblems } from "../helpers/tshark.js";
import { udpFrame } from "./frames.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kubewire-reader-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A timestamp as tshark prints frame.time_epoch: seconds, a dot, nine digits. */
const epoch = (ns: bigint) => `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, "0")}`;
const asTshark = (c: Capture) =>
  c.records.map((r) => ({ "frame.time_epoch": epoch(r.timestampNs), "frame.len": `${r.origLen}`, "frame.cap_len": `${r.data.length}` }));
const FIELDS = ["frame.time_epoch", "frame.len", "frame.cap_len"];

describe("the reference captures in ../shared/captures", () => {
  const files = readdirSync(CAPTURES_DIR).filter((f) => f.endsWith(".pcap"));

  it("are there", () => expect(files.length).toBeGreaterThanOrEqual(10));

  it.each(files)("%s: same frames, lengths and timestamps as tshark", (name) => {
    const file = CAPTURES_DIR + name;
    const c = readCapture(file);
    expect(c.errors).toEqual([]);
    expect(c).toMatchObject({ format: "pcap", byteOrder: "le", pcap: { versionMajor: 2, versionMinor: 4, linktype: 1, resolution: "us" } });
    expect(asTshark(c)).toEqual(tsharkFields(file, FIELDS, { checksums: false }));
  });
});

/** A classic pcap written by hand in big-endian order, as a SPARC or a PowerPC host writes it. */
function bigEndianPcap(nanos: boolean, frames: Uint8Array[], sec: number, frac: number): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32BE(nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  h.writeUInt16BE(2, 4);
  h.writeUInt16BE(4, 6);
  h.writeUInt32BE(65535, 16);
  h.writeUInt32BE(1, 20);
  const recs = frames.map((f, i) => {
    const r = Buffer.alloc(16 + f.length);
    r.writeUInt32BE(sec + i, 0);
    r.writeUInt32BE(frac, 4);
    r.writeUInt32BE(f.length, 8);
    r.writeUInt32BE(f.length + 4, 12); // as if cut 4 bytes short of the wire
    r.set(f, 16);
    return r;
  });
  return Buffer.concat([h, ...recs]);
}

/** pcapng blocks assembled by hand, in either byte order. */
class BlockBuilder {
  readonly parts: Buffer[] = [];
  constructor(private readonly le: boolean) {}
  u16(v: number): Buffer {
    const b = Buffer.alloc(2);
    this.le ? b.writeUInt16LE(v) : b.writeUInt16BE(v);
    return b;
  }
  u32(v: number): Buffer {
    const b = Buffer.alloc(4);
    this.le ? b.writeUInt32LE(v) : b.writeUInt32BE(v);
    return b;
  }
  pad(b: Uint8Array): Buffer {
    return Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  }
  option(code: number, v: Uint8Array | string): Buffer {
    const value = typeof v === "string" ? Buffer.from(v) : Buffer.from(v);
    return Buffer.concat([this.u16(code), this.u16(value.length), this.pad(value)]);
  }
  block(type: number, ...body: Buffer[]): this {
    const inner = Buffer.concat(body);
    const total = 12 + inner.length;
    this.parts.push(Buffer.concat([this.u32(type), this.u32(total), inner, this.u32(total)]));
    return this;
  }
  shb(): this {
    return this.block(0x0a0d0d0a, this.u32(0x1a2b3c4d), this.u16(1), this.u16(0), Buffer.alloc(8, 0xff));
  }
  idb(snaplen: number, ...options: Buffer[]): this {
    return this.block(1, this.u16(1), this.u16(0), this.u32(snaplen), ...options, ...(options.length ? [Buffer.alloc(4)] : []));
  }
  epb(iface: number, ticks: bigint, data: Uint8Array, ...options: Buffer[]): this {
    const ts = [this.u32(Number(ticks >> 32n)), this.u32(Number(ticks & 0xffffffffn))];
    const lens = [this.u32(data.length), this.u32(data.length)];
    return this.block(6, this.u32(iface), ...ts, ...lens, this.pad(data), ...options, ...(options.length ? [Buffer.alloc(4)] : []));
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

describe("byte orders and resolutions", () => {
  it.each([false, true])("big-endian classic pcap (nanoseconds: %s)", (nanos) => {
    const file = join(dir, `be-${nanos}.pcap`);
    writeFileSync(file, bigEndianPcap(nanos, [udpFrame(42), udpFrame(64)], 1_600_000_000, 123_456));
    const c = readCapture(file);
    expect(c.errors).toEqual([]);
    expect(c.byteOrder).toBe("be");
    expect(c.pcap?.resolution).toBe(nanos ? "ns" : "us");
    expect(c.records[0].timestampNs).toBe(1_600_000_000_000_000_000n + (nanos ? 123_456n : 123_456_000n));
    expect(c.records.map((r) => [r.data.length, r.origLen])).toEqual([
      [42, 46],
      [64, 68],
    ]);
    expect(asTshark(c)).toEqual(tsharkFields(file, FIELDS));
  });

  it("big-endian pcapng: µs default, binary and offset resolutions, EPB, SPB, obsolete Packet Block", () => {
    const b = new BlockBuilder(false);
    const f = udpFrame(60);
    b.shb()
      .idb(0, b.option(2, "be0")) // no if_tsresol: microseconds
      .idb(0, b.option(2, "be1"), b.option(9, Uint8Array.of(0x80 | 10)), b.option(14, Buffer.from("0000000000000064", "hex")))
      .epb(0, 1_600_000_000_654_321n, f, b.option(1, "µs tick"))
      .epb(1, 3n * 1024n + 512n, f)
      .block(3, b.u32(f.length), b.pad(f)) // SPB: interface 0, no timestamp
      .block(2, b.u16(1), b.u16(0), b.u32(0), b.u32(1024), b.u32(f.length), b.u32(f.length), b.pad(f), Buffer.alloc(4));
    const file = join(dir, "be.pcapng");
    writeFileSync(file, b.bytes());
    const c = readCapture(file);
    expect(c.errors).toEqual([]);
    expect(c.byteOrder).toBe("be");
    expect(c.interfaces.map((i) => [i.name, i.unitsPerSecond, i.tsOffsetSeconds])).toEqual([
      ["be0", 1_000_000n, 0n],
      ["be1", 1024n, 100n],
    ]);
    expect(c.records.map((r) => [r.interfaceName, r.timestampNs, r.data.length, r.comments])).toEqual([
      ["be0", 1_600_000_000_654_321_000n, 60, ["µs tick"]],
      ["be1", 103_500_000_000n, 60, []],
      ["be0", 0n, 60, []],
      ["be1", 101_000_000_000n, 60, []],
    ]);
    const t = tsharkFields(file, ["frame.interface_name", "frame.len", "frame.comment"]);
    expect(t.map((r) => r["frame.interface_name"])).toEqual(["be0", "be1", "be0", "be1"]);
    expect(t[0]["frame.comment"]).toBe("µs tick");
    const times = tsharkFields(file, ["frame.time_epoch"]).map((r) => r["frame.time_epoch"]);
    expect([times[0], times[1], times[3]]).toEqual(["1600000000.654321000", "103.500000000", "101.000000000"]);
    expect(tsharkProblems(file)).toEqual([]);
  });
});

describe("bad input is reported, never thrown", () => {
  const validPcapng = (): Buffer => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    w.addInterface({ name: "a" });
    for (let i = 0; i < 4; i++) w.writePacket(0, i, udpFrame(60 + i), 0, undefined, i % 2 ? "note" : null);
    w.close();
    return sink.bytes();
  };
  const validPcap = (): Buffer => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink);
    for (let i = 0; i < 4; i++) w.writePacket(i, udpFrame(60 + i));
    w.close();
    return sink.bytes();
  };
  const kinds = (c: Capture) => c.errors.map((e) => `${e.kind}@${e.offset}`);

  it("a missing file", () => {
    const c = readCapture(join(dir, "nope.pcap"));
    expect(c.errors).toMatchObject([{ kind: "io", offset: 0 }]);
    expect(formatCaptureError(c.errors[0])).toMatch(/nope\.pcap@0: io: ENOENT/);
  });

  it("an empty file, a bad magic", () => {
    expect(kinds(parseCapture(new Uint8Array(0)))).toEqual(["truncated@0"]);
    const c = parseCapture(Buffer.from("GIF89a..........................."), "x.gif");
    expect(c.errors).toEqual([{ file: "x.gif", offset: 0, kind: "bad-magic", what: expect.stringContaining("47494638") }]);
  });

  it("classic pcap: a header, a record header and record data cut short", () => {
    const b = validPcap();
    expect(kinds(parseCapture(b.subarray(0, 20)))).toEqual(["truncated@0"]);
    const rec2 = 24 + 16 + 60 + 16 + 61;
    const cut = parseCapture(b.subarray(0, rec2 + 10));
    expect(cut.records.length).toBe(2);
    expect(kinds(cut)).toEqual([`truncated@${rec2}`]);
    const cutData = parseCapture(b.subarray(0, rec2 + 20));
    expect(cutData.records.length).toBe(2);
    expect(cutData.errors[0].what).toBe("record of 62 captured bytes, 4 remain");
  });

  it("classic pcap: an impossible captured length", () => {
    const b = Buffer.from(validPcap());
    b.writeUInt32LE(0x7fffffff, 24 + 8);
    expect(kinds(parseCapture(b))).toEqual(["malformed@24"]);
  });

  it("pcapng: a block cut short, a bad length, a trailer that disagrees", () => {
    const b = validPcapng();
    const last = b.length - b.readUInt32LE(b.length - 4);
    const cut = parseCapture(b.subarray(0, b.length - 5), "cut.pcapng");
    expect(cut.records.length).toBe(3);
    expect(cut.errors).toEqual([
      { file: "cut.pcapng", offset: last, kind: "truncated", what: expect.stringMatching(/^EPB claims \d+ bytes, \d+ remain/) },
    ]);
    const odd = Buffer.from(b);
    odd.writeUInt32LE(odd.readUInt32LE(last + 4) + 2, last + 4);
    expect(kinds(parseCapture(odd))).toEqual([`malformed@${last}`]);
    const trailer = Buffer.from(b);
    trailer.writeUInt32LE(12, b.length - 4);
    expect(kinds(parseCapture(trailer))).toEqual([`malformed@${b.length - 4}`]);
    expect(parseCapture(trailer).records.length).toBe(3);
  });

  it("pcapng: an EPB on an undeclared interface, an option running past its block, a wrong version", () => {
    const b = new BlockBuilder(true);
    const f = udpFrame(42);
    b.shb().idb(0).epb(3, 1n, f);
    const unknown = parseCapture(b.bytes());
    expect(unknown.records.length).toBe(1);
    expect(unknown.errors[0].what).toMatch(/interface 3, which has no IDB/);

    const o = new BlockBuilder(true);
    o.shb().idb(0).epb(0, 1n, f, Buffer.from([1, 0, 200, 0]));
    const opt = parseCapture(o.bytes());
    expect(opt.records.length).toBe(1);
    expect(opt.errors[0]).toMatchObject({ kind: "malformed", what: expect.stringMatching(/option 1 of 200 bytes runs past/) });

    const v = Buffer.from(o.bytes());
    v.writeUInt16LE(2, 12);
    expect(parseCapture(v).errors).toMatchObject([{ kind: "unsupported", offset: 0 }]);
  });

  it("any cut of a capture: no exception, the whole records before the cut, a truncation error unless cut between blocks", () => {
    const files = [validPcapng(), validPcap()];
    const full = files.map((b) => parseCapture(b).records);
    // Where a block (pcapng) or record (pcap) ends: a cut there leaves a valid, shorter file.
    const boundaries = files.map((b, i) => {
      const ends = new Set<number>();
      if (i === 0) for (let p = 0; p < b.length; ) ends.add((p += b.readUInt32LE(p + 4)));
      else for (let p = 24; p <= b.length; p += p < b.length ? 16 + b.readUInt32LE(p + 8) : 1) ends.add(p);
      return ends;
    });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 }), fc.nat(), (which, n) => {
        const b = files[which];
        const at = n % (b.length + 1);
        const c = parseCapture(b.subarray(0, at));
        const prefix = c.records.every((r, i) => r.offset === full[which][i].offset && r.offset + 16 + r.data.length <= at);
        if (boundaries[which].has(at)) return c.errors.length === 0 && prefix;
        return c.errors.length === 1 && c.errors[0].kind === "truncated" && prefix;
      }),
    );
  });

  it("any corruption of a capture: no exception", () => {
    const files = [validPcapng(), validPcap()];
    const edit = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 }), fc.array(edit, { minLength: 1, maxLength: 8 }), (which, edits) => {
        const x = Buffer.from(files[which]);
        for (const [at, v] of edits) x[at % x.length] = v;
        const c = parseCapture(x);
        return Array.isArray(c.records) && c.errors.every((e) => e.what.length > 0);
      }),
      { numRuns: 3000 },
    );
  });
});

// Capture file reader: classic pcap (draft-ietf-opsawg-pcap; either byte order, µs or ns) and
// pcapng (draft-ietf-opsawg-pcapng), detected by magic. Bad input is reported, never thrown.
import { readFileSync } from "node:fs";
import {
  BE,
  BT_SHB,
  LE,
  PCAP_FILE_HEADER_LEN,
  PCAP_MAGIC_NS,
  PCAP_MAGIC_US,
  PCAP_REC_CAPLEN,
  PCAP_REC_ORIGLEN,
  PCAP_REC_TS_FRAC,
  PCAP_REC_TS_SEC,
  PCAP_RECORD_HEADER_LEN,
} from "./layouts.js";
import { readPcapng } from "./reader-pcapng.js";
import { type Capture, type CaptureErrorKind, emptyCapture } from "./records.js";

/** Reads a pcap or pcapng file. Never throws: an unreadable file is an "io" error. */
export function readCapture(file: string): Capture {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const c = emptyCapture(file);
    c.errors.push({ file, offset: 0, kind: "io", what: (e as Error).message });
    return c;
  }
  return parseCapture(bytes, file);
}

/** Parses a capture held in memory; `file` names it in errors. */
export function parseCapture(bytes: Uint8Array, file = "<memory>"): Capture {
  const c = emptyCapture(file);
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 4) {
    c.errors.push({ file, offset: 0, kind: "truncated", what: `${b.length} bytes: too short for a capture file header` });
    return c;
  }
  const le = b.readUInt32LE(0);
  const be = b.readUInt32BE(0);
  if (le === BT_SHB) {
    c.format = "pcapng";
    readPcapng(b, c);
  } else if (le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS) {
    readPcap(b, c, true, le === PCAP_MAGIC_NS);
  } else if (be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS) {
    readPcap(b, c, false, be === PCAP_MAGIC_NS);
  } else {
    c.errors.push({
      file,
      offset: 0,
      kind: "bad-magic",
      what: `magic 0x${be.toString(16).padStart(8, "0")} is neither pcap (a1b2c3d4, a1b23c4d) nor pcapng (0a0d0d0a)`,
    });
  }
  return c;
}

/** Classic pcap: a 24-byte file header, then 16-byte record headers each followed by its data. */
function readPcap(b: Buffer, c: Capture, littleEndian: boolean, nanos: boolean): void {
  c.format = "pcap";
  c.byteOrder = littleEndian ? "le" : "be";
  const fail = (offset: number, kind: CaptureErrorKind, what: string) => c.errors.push({ file: c.file, offset, kind, what });
  if (b.length < PCAP_FILE_HEADER_LEN) {
    fail(0, "truncated", `file header needs ${PCAP_FILE_HEADER_LEN} bytes, file has ${b.length}`);
    return;
  }
  const h = (littleEndian ? LE : BE).pcapFileHeader.decode(b, 0);
  // libpcap's LT_LINKTYPE: the top bits carry FCS information.
  const linktype = h.linktype & 0x03ffffff;
  c.pcap = { versionMajor: h.versionMajor, versionMinor: h.versionMinor, snaplen: h.snaplen, linktype, resolution: nanos ? "ns" : "us" };
  const unitsPerSecond = nanos ? 1_000_000_000n : 1_000_000n;
  c.interfaces.push({ id: 0, section: 0, linktype, snaplen: h.snaplen, unitsPerSecond, tsOffsetSeconds: 0n, comments: [] });
  if (h.versionMajor !== 2) {
    fail(4, "unsupported", `pcap version ${h.versionMajor}.${h.versionMinor} (only 2.x is defined)`);
    return;
  }
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const fracToNs = nanos ? 1n : 1000n;
  // A record longer than this is corruption, not a packet (libpcap uses 256 KiB for most links).
  const maxCapLen = Math.max(h.snaplen, 262144) * 4;
  let off = PCAP_FILE_HEADER_LEN;
  while (off < b.length) {
    if (b.length - off < PCAP_RECORD_HEADER_LEN) {
      fail(off, "truncated", `record header needs ${PCAP_RECORD_HEADER_LEN} bytes, ${b.length - off} remain`);
      return;
    }
    const sec = v.getUint32(off + PCAP_REC_TS_SEC, littleEndian);
    const frac = v.getUint32(off + PCAP_REC_TS_FRAC, littleEndian);
    const capLen = v.getUint32(off + PCAP_REC_CAPLEN, littleEndian);
    const origLen = v.getUint32(off + PCAP_REC_ORIGLEN, littleEndian);
    if (capLen > maxCapLen) {
      fail(off, "malformed", `record captured length ${capLen} is beyond any snaplen (file snaplen ${h.snaplen})`);
      return;
    }
    const data = off + PCAP_RECORD_HEADER_LEN;
    if (data + capLen > b.length) {
      fail(off, "truncated", `record of ${capLen} captured bytes, ${b.length - data} remain`);
      return;
    }
    c.records.push({
      interfaceId: 0,
      timestampNs: BigInt(sec) * 1_000_000_000n + BigInt(frac) * fracToNs,
      data: b.subarray(data, data + capLen),
      origLen,
      comments: [],
      offset: off,
      section: 0,
    });
    off = data + capLen;
  }
}

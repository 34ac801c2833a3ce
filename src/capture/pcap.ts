// Streaming classic pcap writer (draft-ietf-opsawg-pcap): a file header, then one record per
// packet; nanosecond timestamps (magic 0xa1b23c4d) by default, microseconds as an option.
import {
  DEFAULT_SNAPLEN,
  LE,
  LINKTYPE_ETHERNET,
  PCAP_FILE_HEADER_LEN,
  PCAP_MAGIC_NS,
  PCAP_MAGIC_US,
  PCAP_REC_CAPLEN,
  PCAP_REC_ORIGLEN,
  PCAP_REC_TS_FRAC,
  PCAP_REC_TS_SEC,
  PCAP_RECORD_HEADER_LEN,
  PCAP_VERSION_MAJOR,
  PCAP_VERSION_MINOR,
} from "./layouts.js";
import { type CapturableFrame, type CaptureTarget, StagedWriter, type WriterOptions } from "./sink.js";

export type TimestampResolution = "ns" | "us";

export interface PcapWriterOptions extends WriterOptions {
  /** Timestamp resolution: "ns" (magic 0xa1b23c4d, the default) or "us" (0xa1b2c3d4). */
  resolution?: TimestampResolution;
  /** Longer frames are cut to this many bytes (orig_len keeps the real length). */
  snaplen?: number;
  linktype?: number;
}

const NS_PER_SEC = 1_000_000_000;
const NS_PER_SEC_N = 1_000_000_000n;

/** Encodes the 24-byte file header (always little-endian: readers accept either order). */
export function encodePcapFileHeader(resolution: TimestampResolution, snaplen: number, linktype: number): Buffer {
  const b = Buffer.alloc(PCAP_FILE_HEADER_LEN);
  LE.pcapFileHeader.encode(
    {
      magic: resolution === "ns" ? PCAP_MAGIC_NS : PCAP_MAGIC_US,
      versionMajor: PCAP_VERSION_MAJOR,
      versionMinor: PCAP_VERSION_MINOR,
      thiszone: 0,
      sigfigs: 0,
      snaplen,
      linktype,
    },
    b,
    0,
  );
  return b;
}

export class PcapWriter extends StagedWriter {
  readonly resolution: TimestampResolution;
  readonly snaplen: number;
  private readonly nsTicks: boolean;

  constructor(target: CaptureTarget, opts: PcapWriterOptions = {}) {
    super(target, opts);
    this.resolution = opts.resolution ?? "ns";
    this.nsTicks = this.resolution === "ns";
    this.snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    this.stageBlock(encodePcapFileHeader(this.resolution, this.snaplen, opts.linktype ?? LINKTYPE_ETHERNET));
  }

  /**
   * Writes data[start, end) as one record at virtual time `timestampNs`. `origLen` is the length
   * on the wire when the caller already cut the frame (default: end - start).
   */
  writePacket(
    timestampNs: number | bigint,
    data: Uint8Array,
    start = 0,
    end = data.length,
    origLen = end - start,
  ): void {
    let capLen = end - start;
    if (capLen > this.snaplen) capLen = this.snaplen;
    if (this.pos + PCAP_RECORD_HEADER_LEN + capLen > this.buf.length) this.reserve(PCAP_RECORD_HEADER_LEN + capLen);
    const v = this.view;
    const p = this.pos;
    let sec: number;
    let frac: number;
    if (typeof timestampNs === "number") {
      sec = Math.floor(timestampNs / NS_PER_SEC);
      frac = timestampNs - sec * NS_PER_SEC;
    } else {
      sec = Number(timestampNs / NS_PER_SEC_N);
      frac = Number(timestampNs % NS_PER_SEC_N);
    }
    if (!this.nsTicks) frac = Math.floor(frac / 1000);
    v.setUint32(p + PCAP_REC_TS_SEC, sec, true);
    v.setUint32(p + PCAP_REC_TS_FRAC, frac, true);
    v.setUint32(p + PCAP_REC_CAPLEN, capLen, true);
    v.setUint32(p + PCAP_REC_ORIGLEN, origLen, true);
    const d = p + PCAP_RECORD_HEADER_LEN;
    if (start === 0 && capLen === data.length) this.buf.set(data, d);
    else this.buf.set(data.subarray(start, start + capLen), d);
    this.pos = d + capLen;
  }

  /** Writes a frame held in a packet buffer: buf[head, tail) at its tstamp. */
  writeFrame(frame: CapturableFrame): void {
    this.writePacket(frame.tstamp, frame.buf, frame.head, frame.tail);
  }
}

// pcapng reader (IETF draft-ietf-opsawg-pcapng): SHB (either byte order), IDB (if_tsresol,
// if_tsoffset), EPB, SPB, the obsolete Packet Block, DSB and their options. Other blocks are skipped.
import {
  BE,
  BLOCK_HEADER_LEN,
  BLOCK_TOTAL_LENGTH,
  BLOCK_TRAILER_LEN,
  BT_DSB,
  BT_EPB,
  BT_IDB,
  BT_OPB,
  BT_SHB,
  BT_SPB,
  BYTE_ORDER_MAGIC,
  EPB_CAPTURED_LEN,
  EPB_DATA,
  EPB_INTERFACE_ID,
  EPB_ORIGINAL_LEN,
  EPB_TS_HIGH,
  EPB_TS_LOW,
  IF_DESCRIPTION,
  IF_HARDWARE,
  IF_NAME,
  IF_OS,
  IF_TSOFFSET,
  IF_TSRESOL,
  LE,
  OPB_CAPTURED_LEN,
  OPB_DATA,
  OPB_INTERFACE_ID,
  OPB_ORIGINAL_LEN,
  OPB_TS_HIGH,
  OPB_TS_LOW,
  OPT_COMMENT,
  OPT_ENDOFOPT,
  OPTION_HEADER_LEN,
  pad4,
  SHB_HARDWARE,
  SHB_OS,
  SHB_USERAPPL,
  SPB_DATA,
  SPB_ORIGINAL_LEN,
} from "./layouts.js";
import type { Capture, CaptureErrorKind, CaptureInterface, CaptureSection } from "./records.js";

const BLOCK_NAMES: Record<number, string> = {
  [BT_SHB]: "SHB",
  [BT_IDB]: "IDB",
  [BT_OPB]: "Packet Block",
  [BT_SPB]: "SPB",
  [BT_EPB]: "EPB",
  [BT_DSB]: "DSB",
};
const blockName = (t: number) => BLOCK_NAMES[t] ?? `block type 0x${t.toString(16).padStart(8, "0")}`;

/** Smallest block: type, total length, total length. */
const MIN_BLOCK_LEN = BLOCK_HEADER_LEN + BLOCK_TRAILER_LEN;
/** Offset of the byte-order magic in the SHB, and that magic as read in the other byte order. */
const SHB_BYTE_ORDER_MAGIC = 8;
const BYTE_ORDER_MAGIC_SWAPPED = 0x4d3c2b1a;
/** A block claiming more than this is corruption, not a cut (Wireshark's own limit is 16 MiB). */
const MAX_PLAUSIBLE_BLOCK = 256 * 1024 * 1024;

const utf8 = new TextDecoder("utf-8");
/** Option strings are UTF-8 without a terminator, but some writers add NULs. */
const decodeString = (v: Uint8Array): string => utf8.decode(v).replace(/\0+$/, "");

type Options = Array<{ code: number; value: Uint8Array }>;

interface Section {
  index: number;
  interfaces: CaptureInterface[];
}

export function readPcapng(b: Buffer, c: Capture): void {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const fail = (offset: number, kind: CaptureErrorKind, what: string) => c.errors.push({ file: c.file, offset, kind, what });
  let section: Section | null = null;
  let sectionLe: boolean = true;
  let off = 0;

  /** Options from `start` to `end` (the block's trailing length); a bad one is reported, the rest kept. */
  const readOptions = (block: number, start: number, end: number, le: boolean): Options => {
    const out: Options = [];
    let p = start;
    while (end - p >= OPTION_HEADER_LEN) {
      const code = v.getUint16(p, le);
      const len = v.getUint16(p + 2, le);
      if (code === OPT_ENDOFOPT) break;
      if (p + OPTION_HEADER_LEN + len > end) {
        fail(p, "malformed", `option ${code} of ${len} bytes runs past the end of its ${blockName(v.getUint32(block, le))}`);
        break;
      }
      out.push({ code, value: b.subarray(p + OPTION_HEADER_LEN, p + OPTION_HEADER_LEN + len) });
      p += OPTION_HEADER_LEN + pad4(len);
    }
    return out;
  };
  const comments = (o: Options) => o.filter((x) => x.code === OPT_COMMENT).map((x) => decodeString(x.value));
  const str = (o: Options, code: number) => {
    const x = o.find((y) => y.code === code);
    return x ? decodeString(x.value) : undefined;
  };

  while (off < b.length) {
    const remaining = b.length - off;
    if (remaining < BLOCK_HEADER_LEN) {
      fail(off, "truncated", `${remaining} bytes after the last block: less than a block header`);
      return;
    }
    const leType = v.getUint32(off, true);
    let le: boolean = sectionLe;
    if (leType === BT_SHB) {
      if (remaining < SHB_BYTE_ORDER_MAGIC + 4) {
        fail(off, "truncated", `SHB cut short after ${remaining} bytes`);
        return;
      }
      const bom = v.getUint32(off + SHB_BYTE_ORDER_MAGIC, true);
      if (bom === BYTE_ORDER_MAGIC) le = true;
      else if (bom === BYTE_ORDER_MAGIC_SWAPPED) le = false;
      else {
        fail(off + SHB_BYTE_ORDER_MAGIC, "malformed", `SHB byte-order magic 0x${bom.toString(16)} is not 1a2b3c4d in either order`);
        return;
      }
    } else if (section === null) {
      fail(off, "malformed", `the file starts with ${blockName(leType)}, not a Section Header Block`);
      return;
    }
    const type = v.getUint32(off, le);
    const total = v.getUint32(off + BLOCK_TOTAL_LENGTH, le);
    if (total < MIN_BLOCK_LEN || total % 4 !== 0 || total > MAX_PLAUSIBLE_BLOCK) {
      fail(off, "malformed", `${blockName(type)} total length ${total} (must be a multiple of 4, at least ${MIN_BLOCK_LEN}, at most 256 MiB)`);
      return;
    }
    if (total > remaining) {
      fail(off, "truncated", `${blockName(type)} claims ${total} bytes, ${remaining} remain: the file was cut short`);
      return;
    }
    const end = off + total - BLOCK_TRAILER_LEN;
    const trailer = v.getUint32(end, le);
    if (trailer !== total) {
      fail(end, "malformed", `${blockName(type)} trailing length ${trailer} differs from its leading length ${total}`);
      return;
    }
    const short = (need: number) => {
      if (total >= need) return false;
      fail(off, "malformed", `${blockName(type)} of ${total} bytes is shorter than its fixed part (${need})`);
      return true;
    };

    if (type === BT_SHB) {
      const layout = le ? LE.shb : BE.shb;
      if (short(layout.span + BLOCK_TRAILER_LEN)) return;
      const h = layout.decode(b, off);
      if (h.versionMajor !== 1) {
        fail(off, "unsupported", `pcapng version ${h.versionMajor}.${h.versionMinor} (only 1.x is defined)`);
        return;
      }
      const o = readOptions(off, off + layout.span, end, le);
      const s: CaptureSection = {
        offset: off,
        byteOrder: le ? "le" : "be",
        versionMajor: h.versionMajor,
        versionMinor: h.versionMinor,
        hardware: str(o, SHB_HARDWARE),
        os: str(o, SHB_OS),
        userappl: str(o, SHB_USERAPPL),
        comments: comments(o),
      };
      section = { index: c.sections.length, interfaces: [] };
      sectionLe = le;
      c.sections.push(s);
      c.byteOrder ??= s.byteOrder;
    } else if (section === null) {
      return; // unreachable: checked above
    } else if (type === BT_IDB) {
      const layout = le ? LE.idb : BE.idb;
      if (!short(layout.span + BLOCK_TRAILER_LEN)) {
        const h = layout.decode(b, off);
        const o = readOptions(off, off + layout.span, end, le);
        const iface: CaptureInterface = {
          id: section.interfaces.length,
          section: section.index,
          name: str(o, IF_NAME),
          description: str(o, IF_DESCRIPTION),
          linktype: h.linkType,
          snaplen: h.snapLen,
          unitsPerSecond: 1_000_000n,
          tsOffsetSeconds: 0n,
          os: str(o, IF_OS),
          hardware: str(o, IF_HARDWARE),
          comments: comments(o),
        };
        const res = o.find((x) => x.code === IF_TSRESOL);
        if (res && res.value.length >= 1) {
          const r = res.value[0];
          // Bit 7 clear: 10^-r seconds; set: 2^-(r & 0x7f) (§4.2, if_tsresol).
          iface.unitsPerSecond = r & 0x80 ? 1n << BigInt(r & 0x7f) : 10n ** BigInt(r);
        }
        const tso = o.find((x) => x.code === IF_TSOFFSET);
        if (tso && tso.value.length >= 8) {
          const tv = new DataView(tso.value.buffer, tso.value.byteOffset, 8);
          iface.tsOffsetSeconds = tv.getBigInt64(0, le);
        }
        section.interfaces.push(iface);
        c.interfaces.push(iface);
      }
    } else if (type === BT_EPB || type === BT_OPB) {
      const epb = type === BT_EPB;
      const dataAt = epb ? EPB_DATA : OPB_DATA;
      if (!short(dataAt + BLOCK_TRAILER_LEN)) {
        const id = epb ? v.getUint32(off + EPB_INTERFACE_ID, le) : v.getUint16(off + OPB_INTERFACE_ID, le);
        const hi = v.getUint32(off + (epb ? EPB_TS_HIGH : OPB_TS_HIGH), le);
        const lo = v.getUint32(off + (epb ? EPB_TS_LOW : OPB_TS_LOW), le);
        const capLen = v.getUint32(off + (epb ? EPB_CAPTURED_LEN : OPB_CAPTURED_LEN), le);
        const origLen = v.getUint32(off + (epb ? EPB_ORIGINAL_LEN : OPB_ORIGINAL_LEN), le);
        const d = off + dataAt;
        if (d + pad4(capLen) > end) {
          fail(off, "malformed", `${blockName(type)} captured length ${capLen} runs past the end of its ${total}-byte block`);
        } else {
          const iface = section.interfaces[id];
          if (!iface) fail(off, "malformed", `${blockName(type)} refers to interface ${id}, which has no IDB before it`);
          c.records.push({
            interfaceId: id,
            interfaceName: iface?.name,
            timestampNs: iface ? ticksToNs(hi, lo, iface) : 0n,
            data: b.subarray(d, d + capLen),
            origLen,
            comments: comments(readOptions(off, d + pad4(capLen), end, le)),
            offset: off,
            section: section.index,
          });
        }
      }
    } else if (type === BT_SPB) {
      if (!short(SPB_DATA + BLOCK_TRAILER_LEN)) {
        const iface = section.interfaces[0];
        if (!iface) fail(off, "malformed", "SPB before any IDB (an SPB belongs to interface 0)");
        else {
          const origLen = v.getUint32(off + SPB_ORIGINAL_LEN, le);
          // Captured length: the original length cut to the snaplen and to the block (§4.4).
          let capLen = Math.min(origLen, end - (off + SPB_DATA));
          if (iface.snaplen > 0) capLen = Math.min(capLen, iface.snaplen);
          const d = off + SPB_DATA;
          c.records.push({
            interfaceId: 0,
            interfaceName: iface.name,
            timestampNs: 0n,
            data: b.subarray(d, d + capLen),
            origLen,
            comments: [],
            offset: off,
            section: section.index,
          });
        }
      }
    } else if (type === BT_DSB) {
      const layout = le ? LE.dsb : BE.dsb;
      if (!short(layout.span + BLOCK_TRAILER_LEN)) {
        const h = layout.decode(b, off);
        const d = off + layout.span;
        if (d + pad4(h.secretsLength) > end) {
          fail(off, "malformed", `DSB secrets length ${h.secretsLength} runs past the end of its ${total}-byte block`);
        } else {
          const o = readOptions(off, d + pad4(h.secretsLength), end, le);
          c.secrets.push({ secretsType: h.secretsType, data: b.subarray(d, d + h.secretsLength), comments: comments(o), offset: off });
        }
      }
    }
    off += total;
  }
}

/** Timestamp ticks (high and low 32 bits) in the interface's resolution → nanoseconds. */
function ticksToNs(hi: number, lo: number, iface: CaptureInterface): bigint {
  const ticks = (BigInt(hi) << 32n) | BigInt(lo);
  const ns =
    iface.unitsPerSecond === 1_000_000_000n
      ? ticks
      : iface.unitsPerSecond < 1_000_000_000n && 1_000_000_000n % iface.unitsPerSecond === 0n
        ? ticks * (1_000_000_000n / iface.unitsPerSecond)
        : (ticks * 1_000_000_000n) / iface.unitsPerSecond;
  return ns + iface.tsOffsetSeconds * 1_000_000_000n;
}

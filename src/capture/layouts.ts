// Capture file constants and the fixed parts of the cold structures, declared with buffer-layout:
// the classic pcap file header (draft-ietf-opsawg-pcap §4) and the pcapng SHB, IDB and DSB
// (draft-ietf-opsawg-pcapng §4.1, §4.2, §4.7). Per-packet records are read and written by hand.
import { type Layout, ns64, ns64be, s32, s32be, struct, u16, u16be, u32, u32be } from "buffer-layout";

/** LINKTYPE_ETHERNET (draft-ietf-opsawg-pcaplinktype). */
export const LINKTYPE_ETHERNET = 1;
/** The snapshot length tcpdump uses by default since 4.99 (MAXIMUM_SNAPLEN). */
export const DEFAULT_SNAPLEN = 262144;

// Classic pcap (draft-ietf-opsawg-pcap §4: "Magic Number").
export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
export const PCAP_FILE_HEADER_LEN = 24;
/** Record header: ts seconds, ts fraction, captured length, original length (§5). */
export const PCAP_RECORD_HEADER_LEN = 16;
export const PCAP_REC_TS_SEC = 0;
export const PCAP_REC_TS_FRAC = 4;
export const PCAP_REC_CAPLEN = 8;
export const PCAP_REC_ORIGLEN = 12;

// pcapng block types (§11.1).
export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 0x00000001;
/** Obsolete Packet Block (Appendix A), read only. */
export const BT_OPB = 0x00000002;
export const BT_SPB = 0x00000003;
export const BT_EPB = 0x00000006;
export const BT_DSB = 0x0000000a;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Every block: type, total length, body, total length again (§3.1). */
export const BLOCK_HEADER_LEN = 8;
export const BLOCK_TRAILER_LEN = 4;
export const BLOCK_TYPE = 0;
export const BLOCK_TOTAL_LENGTH = 4;

// Enhanced Packet Block fields, from the start of the block (§4.3).
export const EPB_INTERFACE_ID = 8;
export const EPB_TS_HIGH = 12;
export const EPB_TS_LOW = 16;
export const EPB_CAPTURED_LEN = 20;
export const EPB_ORIGINAL_LEN = 24;
export const EPB_DATA = 28;
/** Header plus trailer: the size of an EPB with no data and no options. */
export const EPB_OVERHEAD = EPB_DATA + BLOCK_TRAILER_LEN;

// Simple Packet Block (§4.4) and Obsolete Packet Block (Appendix A) fields.
export const SPB_ORIGINAL_LEN = 8;
export const SPB_DATA = 12;
export const OPB_INTERFACE_ID = 8;
export const OPB_DROPS_COUNT = 10;
export const OPB_TS_HIGH = 12;
export const OPB_TS_LOW = 16;
export const OPB_CAPTURED_LEN = 20;
export const OPB_ORIGINAL_LEN = 24;
export const OPB_DATA = 28;

/** An option: code (16 bits), length (16 bits), value padded to 32 bits (§3.5). */
export const OPTION_HEADER_LEN = 4;
export const OPTION_MAX_LEN = 0xffff;
export const OPT_ENDOFOPT = 0;
export const OPT_COMMENT = 1;
export const SHB_HARDWARE = 2;
export const SHB_OS = 3;
export const SHB_USERAPPL = 4;
export const IF_NAME = 2;
export const IF_DESCRIPTION = 3;
export const IF_TSRESOL = 9;
export const IF_FILTER = 11;
export const IF_OS = 12;
export const IF_TSOFFSET = 14;
export const IF_HARDWARE = 15;

/** Decryption Secrets Block secrets types (§4.7). */
export const SECRETS_TYPE = {
  TLS_KEY_LOG: 0x544c534b,
  WIREGUARD_KEY_LOG: 0x57474b4c,
  ZIGBEE_NWK_KEY: 0x5a4e574b,
  ZIGBEE_APS_KEY: 0x5a415053,
  SSH_KEY_LOG: 0x5353484b,
} as const;

/** Rounds a length up to the 32-bit boundary pcapng pads every field to (exact for any uint32). */
export const pad4 = (n: number): number => n + ((4 - (n & 3)) & 3);

export interface PcapFileHeader {
  magic: number;
  versionMajor: number;
  versionMinor: number;
  thiszone: number;
  sigfigs: number;
  snaplen: number;
  /** LinkType in the low 16 bits; FCS information in the top 4 (§4). */
  linktype: number;
}

export interface ShbFixed {
  blockType: number;
  blockTotalLength: number;
  byteOrderMagic: number;
  versionMajor: number;
  versionMinor: number;
  /** -1: not specified (we never know the length of a section we are still writing). */
  sectionLength: number;
}

export interface IdbFixed {
  blockType: number;
  blockTotalLength: number;
  linkType: number;
  reserved: number;
  snapLen: number;
}

export interface DsbFixed {
  blockType: number;
  blockTotalLength: number;
  secretsType: number;
  secretsLength: number;
}

/** A fixed-size structure (a buffer-layout Structure, without its types leaking into ours). */
export interface FixedLayout<T> {
  readonly span: number;
  decode(b: Buffer, offset?: number): T;
  encode(src: T, b: Buffer, offset?: number): number;
}

/** The fixed structures in one byte order; pcap and pcapng files may be written in either. */
export interface Layouts {
  pcapFileHeader: FixedLayout<PcapFileHeader>;
  shb: FixedLayout<ShbFixed>;
  idb: FixedLayout<IdbFixed>;
  dsb: FixedLayout<DsbFixed>;
}

function layouts(littleEndian: boolean): Layouts {
  const u16x = littleEndian ? u16 : u16be;
  const u32x = littleEndian ? u32 : u32be;
  const s32x = littleEndian ? s32 : s32be;
  const s64x = littleEndian ? ns64 : ns64be;
  const fields = (...f: Layout<number>[]) => f;
  return {
    pcapFileHeader: struct<PcapFileHeader>(
      fields(
        u32x("magic"),
        u16x("versionMajor"),
        u16x("versionMinor"),
        s32x("thiszone"),
        u32x("sigfigs"),
        u32x("snaplen"),
        u32x("linktype"),
      ),
    ),
    shb: struct<ShbFixed>(
      fields(
        u32x("blockType"),
        u32x("blockTotalLength"),
        u32x("byteOrderMagic"),
        u16x("versionMajor"),
        u16x("versionMinor"),
        s64x("sectionLength"),
      ),
    ),
    idb: struct<IdbFixed>(
      fields(u32x("blockType"), u32x("blockTotalLength"), u16x("linkType"), u16x("reserved"), u32x("snapLen")),
    ),
    dsb: struct<DsbFixed>(
      fields(u32x("blockType"), u32x("blockTotalLength"), u32x("secretsType"), u32x("secretsLength")),
    ),
  };
}

export const LE: Layouts = layouts(true);
export const BE: Layouts = layouts(false);

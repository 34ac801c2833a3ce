// What the capture reader returns: records, interfaces, sections, decryption secrets, and the
// problems found, each with its file offset (draft-ietf-opsawg-pcap, draft-ietf-opsawg-pcapng).

export type CaptureFormat = "pcap" | "pcapng";
export type ByteOrder = "le" | "be";

export interface CaptureInterface {
  /** The id packets refer to it by: its index within its pcapng section (0 in classic pcap). */
  id: number;
  /** Index of its pcapng section (0 in classic pcap). */
  section: number;
  name?: string;
  description?: string;
  linktype: number;
  /** 0 means no limit (pcapng). */
  snaplen: number;
  /** Timestamp units per second: 10^6 for µs, 10^9 for ns, 2^n for a binary if_tsresol. */
  unitsPerSecond: bigint;
  /** if_tsoffset: seconds added to every timestamp. */
  tsOffsetSeconds: bigint;
  os?: string;
  hardware?: string;
  comments: string[];
}

export interface CaptureRecord {
  /** The interface id as written in the block (0 in classic pcap and for a Simple Packet Block). */
  interfaceId: number;
  interfaceName?: string;
  /** Nanoseconds since the epoch, exact. A Simple Packet Block has no timestamp: 0n. */
  timestampNs: bigint;
  /** The captured bytes: a view into the file's bytes, not a copy. */
  data: Uint8Array;
  /** Length of the packet on the wire (≥ data.length when the capture was cut to a snaplen). */
  origLen: number;
  /** opt_comment values, in order (pcapng only). */
  comments: string[];
  /** Offset of the record header (pcap) or block (pcapng) in the file. */
  offset: number;
  section: number;
}

export interface DecryptionSecrets {
  /** E.g. SECRETS_TYPE.TLS_KEY_LOG (0x544c534b). */
  secretsType: number;
  data: Uint8Array;
  comments: string[];
  offset: number;
}

export interface CaptureSection {
  offset: number;
  byteOrder: ByteOrder;
  versionMajor: number;
  versionMinor: number;
  hardware?: string;
  os?: string;
  userappl?: string;
  comments: string[];
}

export type CaptureErrorKind = "io" | "bad-magic" | "truncated" | "malformed" | "unsupported";

/** What is wrong and where: "capture.pcapng@1234: truncated: EPB claims 96 bytes, 40 remain". */
export interface CaptureError {
  file: string;
  offset: number;
  kind: CaptureErrorKind;
  what: string;
}

export interface Capture {
  file: string;
  /** Undefined when the file is neither (errors says why). */
  format?: CaptureFormat;
  byteOrder?: ByteOrder;
  /** Classic pcap: the file header. */
  pcap?: { versionMajor: number; versionMinor: number; snaplen: number; linktype: number; resolution: "us" | "ns" };
  sections: CaptureSection[];
  interfaces: CaptureInterface[];
  records: CaptureRecord[];
  secrets: DecryptionSecrets[];
  /** Problems found, in file order. Reading stops at a truncated or corrupt block: records holds what came before it. */
  errors: CaptureError[];
}

/** One line: file, offset, kind and what. */
export const formatCaptureError = (e: CaptureError): string => `${e.file}@${e.offset}: ${e.kind}: ${e.what}`;

export function emptyCapture(file: string): Capture {
  return { file, sections: [], interfaces: [], records: [], secrets: [], errors: [] };
}

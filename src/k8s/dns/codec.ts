// DNS messages (RFC 1035 §4.1) through dns-packet, made safe for the data path: the header is read
// here at fixed offsets (so a reply can be built even when the rest does not decode), and decoding
// and encoding never throw: a failure is a value.

import * as dnsPacket from "dns-packet";

/*
 *                                 1  1  1  1  1  1
 *   0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * |                      ID                       |
 * |QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
 * |                    QDCOUNT                    |
 * |                    ANCOUNT                    |
 * |                    NSCOUNT                    |
 * |                    ARCOUNT                    |
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 */
export const DNS_HEADER_LEN = 12;
const ID = 0;
const FLAGS = 2;
const QDCOUNT = 4;
const ANCOUNT = 6;
const NSCOUNT = 8;
const ARCOUNT = 10;

/** Header flag bits (RFC 1035 §4.1.1, RFC 4035 §3.2 for AD and CD). */
export const DnsFlag = { QR: 0x8000, AA: 0x0400, TC: 0x0200, RD: 0x0100, RA: 0x0080, AD: 0x0020, CD: 0x0010 } as const;
export const OPCODE_QUERY = 0;
/** The DO bit in the OPT record's flags (RFC 3225). */
export const EDNS_DO = 0x8000;

export interface DnsHeader {
  id: number;
  /** The 16-bit flags word: QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE. */
  flags: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

const u16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];

/** The header, or undefined when the message is shorter than one. */
export function readHeader(b: Uint8Array): DnsHeader | undefined {
  if (b.length < DNS_HEADER_LEN) return undefined;
  return { id: u16(b, ID), flags: u16(b, FLAGS), qdcount: u16(b, QDCOUNT), ancount: u16(b, ANCOUNT), nscount: u16(b, NSCOUNT), arcount: u16(b, ARCOUNT) };
}

export const opcodeOf = (flags: number): number => (flags >> 11) & 0xf;
export const rcodeOf = (flags: number): number => flags & 0xf;

/** A reply with no sections (FORMERR, NOTIMP): as miekg/dns's server builds them, RD and CD kept. */
export function headerOnlyReply(h: DnsHeader, opcode: number, rcode: number): Buffer {
  const b = Buffer.alloc(DNS_HEADER_LEN);
  b.writeUInt16BE(h.id, ID);
  b.writeUInt16BE(DnsFlag.QR | (opcode << 11) | (h.flags & (DnsFlag.RD | DnsFlag.CD)) | (rcode & 0xf), FLAGS);
  return b;
}

export type DecodeResult = { ok: true; msg: dnsPacket.DecodedPacket } | { ok: false; error: string };

/** dns-packet's decode, with its exceptions (truncation, bad pointers, long names) turned into a value. */
export function decodeMessage(b: Buffer): DecodeResult {
  try {
    return { ok: true, msg: dnsPacket.decode(b) };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

/** dns-packet's encode; undefined when the message cannot be written. */
export function encodeMessage(p: dnsPacket.Packet): Buffer | undefined {
  try {
    return dnsPacket.encode(p);
  } catch {
    return undefined;
  }
}

export const encodingLength = (p: dnsPacket.Packet): number => dnsPacket.encodingLength(p);

/**
 * Whether the question's name is plain labels of printable ASCII without dots (what dns-packet
 * decodes to a string and writes back byte for byte). Other names would not be echoed faithfully.
 */
export function plainQuestionName(b: Uint8Array): boolean {
  let o = DNS_HEADER_LEN;
  while (o < b.length) {
    const len = b[o++];
    if (len === 0) return true;
    if (len > 63 || o + len > b.length) return false;
    for (let i = o; i < o + len; i++) if (b[i] < 0x21 || b[i] > 0x7e || b[i] === 0x2e) return false;
    o += len;
  }
  return false;
}

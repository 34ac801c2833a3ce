// Hand-built Ethernet/IPv4/UDP frames for the capture tests (bytes at RFC offsets, real
// checksums), independent of the wire codecs so the capture layer is tested on its own.
import { internetChecksum, pseudoHeaderSum, writeU16, writeU32 } from "../../src/wire/checksum.js";

const ETH_LEN = 14;
const IP_LEN = 20;
const UDP_LEN = 8;
/** The smallest frame built here: Ethernet + IPv4 + UDP with an empty payload. */
export const MIN_UDP_FRAME = ETH_LEN + IP_LEN + UDP_LEN;

export interface UdpFrameOptions {
  src?: number;
  dst?: number;
  sport?: number;
  dport?: number;
  ident?: number;
  /** Fill byte of the payload (default: the payload counts up from 0). */
  fill?: number;
}

/**
 * An Ethernet II / IPv4 / UDP frame of `frameLen` bytes (≥ 42) from 02:00:00:00:00:01 to
 * 02:00:00:00:00:02, 10.244.1.2:40000 → 10.244.2.5:40001 by default (ports no dissector claims), with valid checksums.
 */
export function udpFrame(frameLen: number, o: UdpFrameOptions = {}): Uint8Array {
  if (frameLen < MIN_UDP_FRAME) throw new RangeError(`a UDP frame needs at least ${MIN_UDP_FRAME} bytes`);
  const f = new Uint8Array(frameLen);
  f.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00], 0);
  const ip = ETH_LEN;
  const src = o.src ?? 0x0af40102;
  const dst = o.dst ?? 0x0af40205;
  f[ip] = 0x45;
  writeU16(f, ip + 2, frameLen - ETH_LEN);
  writeU16(f, ip + 4, o.ident ?? 1);
  f[ip + 6] = 0x40; // DF
  f[ip + 8] = 64;
  f[ip + 9] = 17;
  writeU32(f, ip + 12, src);
  writeU32(f, ip + 16, dst);
  writeU16(f, ip + 10, internetChecksum(f, ip, ip + IP_LEN));
  const u = ip + IP_LEN;
  const udpLen = frameLen - u;
  writeU16(f, u, o.sport ?? 40000);
  writeU16(f, u + 2, o.dport ?? 40001);
  writeU16(f, u + 4, udpLen);
  for (let i = u + UDP_LEN; i < frameLen; i++) f[i] = o.fill ?? (i - u - UDP_LEN) & 0xff;
  const sum = internetChecksum(f, u, frameLen, pseudoHeaderSum(src, dst, 17, udpLen));
  writeU16(f, u + 6, sum === 0 ? 0xffff : sum);
  return f;
}

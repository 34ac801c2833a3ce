// The Internet checksum: full computation (RFC 1071) and incremental update (RFC 1624, eqn. 3)
// for NAT rewrites of addresses and ports.

/**
 * One's-complement sum of 16-bit big-endian words over b[start, end), folded to 16 bits and added
 * to `initial` (a previous partial sum, e.g. the pseudo-header). Not complemented.
 */
export function onesSum(b: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  const even = end - ((end - start) & 1);
  // 32-bit accumulation with a fold every 16K words keeps us in small-integer range.
  while (i < even) {
    const stop = Math.min(even, i + 0x8000);
    for (; i < stop; i += 2) sum += (b[i] << 8) | b[i + 1];
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (i < end) sum += b[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The checksum field value for b[start, end): ~sum. */
export const internetChecksum = (b: Uint8Array, start: number, end: number, initial = 0): number =>
  ~onesSum(b, start, end, initial) & 0xffff;

/** Partial sum of the IPv4 pseudo-header (RFC 768 / RFC 9293 §3.1): saddr, daddr, zero, proto, length. */
export function pseudoHeaderSum(saddr: number, daddr: number, proto: number, length: number): number {
  let sum = (saddr >>> 16) + (saddr & 0xffff) + (daddr >>> 16) + (daddr & 0xffff) + proto + length;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/**
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit word changed from `from` to `to`.
 * Returns the new checksum field value.
 */
export function csumReplace16(check: number, from: number, to: number): number {
  let sum = (~check & 0xffff) + (~from & 0xffff) + (to & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** RFC 1624 for a 32-bit field (an IPv4 address) changed from `from` to `to`. */
export function csumReplace32(check: number, from: number, to: number): number {
  let sum =
    (~check & 0xffff) +
    (~(from >>> 16) & 0xffff) +
    (~from & 0xffff) +
    ((to >>> 16) & 0xffff) +
    (to & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Reads / writes the 16-bit big-endian checksum field at an offset. */
export const readU16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
export function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}
export const readU32 = (b: Uint8Array, o: number): number =>
  ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

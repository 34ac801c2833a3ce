// SHA-256 (FIPS 180-4) of short strings, for chain names: a sync hashes one name per endpoint, and
// node:crypto's per-call cost (~5 µs through the C++ boundary; ~1.7 µs for crypto.hash) dominated a
// 100k-endpoint sync, where this loop takes ~0.5 µs.

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
  0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
  0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
  0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const H0 = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

/** 32-bit words per 64-byte block. */
const BLOCK_WORDS = 16;
const W = new Int32Array(64);
const H = new Int32Array(8);
const OUT = new Uint8Array(32);
/** The padded message as big-endian 32-bit words (grown for long inputs). */
let msg = new Int32Array(64);
const encoder = new TextEncoder();

const isAscii = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
};

/** Puts the ASCII string `s` into the message from byte `at` on; the next byte's offset. */
function putAscii(m: Int32Array, s: string, at: number): number {
  for (let i = 0, j = at; i < s.length; i++, j++) m[j >> 2] |= s.charCodeAt(i) << (24 - ((j & 3) << 3));
  return at + s.length;
}

/**
 * The digest of `s + t + u` (UTF-8) as eight big-endian 32-bit words, in a reused array
 * (overwritten by the next call). The parts are hashed as one string without being joined into
 * one. Signed 32-bit words throughout: V8 keeps them in registers, where uint32 values above 2^31
 * would become doubles.
 */
export function sha256Words(s: string, t = "", u = ""): Int32Array {
  const ascii = isAscii(s) && isAscii(t) && isAscii(u);
  const bytes = ascii ? null : encoder.encode(s + t + u);
  const n = bytes === null ? s.length + t.length + u.length : bytes.length;
  const words = (((n + 8) >> 6) + 1) * BLOCK_WORDS;
  if (msg.length < words) msg = new Int32Array(words * 2);
  const m = msg;
  m.fill(0, 0, words);
  if (bytes === null) putAscii(m, u, putAscii(m, t, putAscii(m, s, 0)));
  else for (let i = 0; i < n; i++) m[i >> 2] |= bytes[i] << (24 - ((i & 3) << 3));
  m[n >> 2] |= 0x80 << (24 - ((n & 3) << 3));
  // The length in bits, a 64-bit big-endian integer.
  m[words - 1] = n << 3;
  m[words - 2] = Math.floor(n / 0x20000000);
  let h0 = H0[0];
  let h1 = H0[1];
  let h2 = H0[2];
  let h3 = H0[3];
  let h4 = H0[4];
  let h5 = H0[5];
  let h6 = H0[6];
  let h7 = H0[7];
  for (let off = 0; off < words; off += BLOCK_WORDS) {
    for (let i = 0; i < BLOCK_WORDS; i++) W[i] = m[off + i];
    for (let i = 16; i < 64; i++) {
      const a = W[i - 15];
      const b = W[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
    }
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    let f = h5;
    let g = h6;
    let h = h7;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (h + S1 + ch + K[i] + W[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  H[0] = h0;
  H[1] = h1;
  H[2] = h2;
  H[3] = h3;
  H[4] = h4;
  H[5] = h5;
  H[6] = h6;
  H[7] = h7;
  return H;
}

/** The 32-byte digest of `s` (UTF-8); the returned array is reused by the next call. */
export function sha256(s: string): Uint8Array {
  const h = sha256Words(s);
  for (let i = 0; i < 8; i++) {
    OUT[i * 4] = h[i] >>> 24;
    OUT[i * 4 + 1] = (h[i] >>> 16) & 0xff;
    OUT[i * 4 + 2] = (h[i] >>> 8) & 0xff;
    OUT[i * 4 + 3] = h[i] & 0xff;
  }
  return OUT;
}

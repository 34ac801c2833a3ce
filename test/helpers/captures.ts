// Golden bytes for codec tests: hex as printed by `tshark -x`, and the same frame read from the
// reference captures in ../shared/captures (never copied into the repository) to prove the hex.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The reference captures' folder (see its README.md for provenance). */
export const CAPTURES_DIR = fileURLToPath(new URL("../../../shared/captures/", import.meta.url));

/** Bytes from hex, ignoring whitespace: hex("45 00 00 54"). */
export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));

/** Bytes of a `tshark -x` dump: the offset column and the ASCII column are dropped. */
export function hexDump(dump: string): Uint8Array {
  const bytes: string[] = [];
  for (const line of dump.split("\n")) {
    const m = /^\s*[0-9a-f]{4}\s+((?:[0-9a-f]{2} ){1,16})/.exec(`${line} `);
    if (m) bytes.push(...m[1].trim().split(" "));
  }
  return hex(bytes.join(""));
}

/** Frame `n` (1-based, as tshark numbers them) of a classic little-endian pcap, or null if absent. */
export function captureFrame(file: string, n: number): Uint8Array | null {
  const path = CAPTURES_DIR + file;
  if (!existsSync(path)) return null;
  const f = readFileSync(path);
  let p = 24;
  for (let i = 1; p + 16 <= f.length; i++) {
    const incl = f.readUInt32LE(p + 8);
    if (i === n) return new Uint8Array(f.subarray(p + 16, p + 16 + incl));
    p += 16 + incl;
  }
  return null;
}

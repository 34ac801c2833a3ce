// The TCP options of a received segment (tcp_parse_options in net/ipv4/tcp_input.c), decoded
// into one reused record: no object per segment.

import { readU16, readU32 } from "../../wire/index.js";

/** Options of the segment being processed (tcp_options_received), reused: no object per segment. */
export const opt = { tstamp: false, tsval: 0, tsecr: 0, mss: 0, wscale: -1, sackOk: false };

/** tcp_parse_options, with tcp_fast_parse_options' shortcut for the aligned timestamp. */
export function parseOptions(b: Uint8Array, th: number, hl: number): void {
  opt.tstamp = opt.sackOk = false;
  opt.tsval = opt.tsecr = opt.mss = 0;
  opt.wscale = -1;
  if (hl === 32 && b[th + 20] === 1 && b[th + 21] === 1 && b[th + 22] === 8 && b[th + 23] === 10) {
    opt.tstamp = true;
    opt.tsval = readU32(b, th + 24);
    opt.tsecr = readU32(b, th + 28);
    return;
  }
  const end = th + hl;
  let p = th + 20;
  while (p < end) {
    const kind = b[p];
    if (kind === 0) break;
    if (kind === 1) {
      p++;
      continue;
    }
    if (p + 1 >= end) break;
    const len = b[p + 1];
    if (len < 2 || p + len > end) break;
    if (kind === 2 && len === 4) opt.mss = readU16(b, p + 2);
    else if (kind === 3 && len === 3) opt.wscale = Math.min(b[p + 2], 14);
    else if (kind === 4 && len === 2) opt.sackOk = true;
    else if (kind === 8 && len === 10) {
      opt.tstamp = true;
      opt.tsval = readU32(b, p + 2);
      opt.tsecr = readU32(b, p + 6);
    }
    p += len;
  }
}

// Splitting an iptables-restore line into arguments as iptables-restore's add_param_to_argv does:
// whitespace separates, double quotes group (and are removed), a backslash inside quotes escapes
// the next character (iptables-save writes \" \' \\ there). Single quotes are ordinary characters.
// Unquoted words are slices of the input (no per-character string building): the restore loop
// cuts hundreds of thousands of lines per sync.

import { fail } from "./fail.js";

export function tokenizeRestoreLine(line: string): string[] {
  return tokenizeInto(line, 0, line.length, []);
}

const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;

/** Appends the arguments of text[start, end) to `out` and returns it. */
export function tokenizeInto(text: string, start: number, end: number, out: string[]): string[] {
  let i = start;
  while (i < end) {
    let c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const from = i;
    while (i < end) {
      c = text.charCodeAt(i);
      if (isSpace(c) || c === 34) break;
      i++;
    }
    if (i >= end || c !== 34) {
      out.push(text.slice(from, i));
      continue;
    }
    // A word with quotes in it: built from slices between the quotes and escapes (kube-proxy
    // quotes every "ns/svc:port -> ip:port" comment, so this runs for 100k lines of a sync).
    let cur = text.slice(from, i);
    let quoted = false;
    let piece = i;
    for (; i < end; i++) {
      c = text.charCodeAt(i);
      if (quoted) {
        if (c === 92 && i + 1 < end) {
          cur += text.slice(piece, i);
          piece = ++i;
        } else if (c === 34) {
          cur += text.slice(piece, i);
          piece = i + 1;
          quoted = false;
        }
        continue;
      }
      if (c === 34) {
        cur += text.slice(piece, i);
        piece = i + 1;
        quoted = true;
      } else if (isSpace(c)) break;
    }
    if (quoted) {
      const line = text.slice(start, end);
      fail("unterminated quote", line.slice(line.lastIndexOf('"')), 'a closing "');
    }
    cur += text.slice(piece, i);
    out.push(cur);
  }
  return out;
}

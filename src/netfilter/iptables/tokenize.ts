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
    // A word with quotes in it: built piece by piece.
    let cur = text.slice(from, i);
    let quoted = false;
    let escaped = false;
    for (; i < end; i++) {
      c = text.charCodeAt(i);
      if (quoted) {
        if (escaped) {
          cur += text[i];
          escaped = false;
        } else if (c === 92) escaped = true;
        else if (c === 34) quoted = false;
        else cur += text[i];
        continue;
      }
      if (c === 34) quoted = true;
      else if (isSpace(c)) break;
      else cur += text[i];
    }
    if (quoted) {
      const line = text.slice(start, end);
      fail("unterminated quote", line.slice(line.lastIndexOf('"')), 'a closing "');
    }
    out.push(cur);
  }
  return out;
}

// Splitting an iptables-restore line into arguments as iptables-restore's add_param_to_argv does:
// whitespace separates, double quotes group (and are removed), a backslash inside quotes escapes
// the next character (iptables-save writes \" \' \\ there). Single quotes are ordinary characters.

import { fail } from "./fail.js";

export function tokenizeRestoreLine(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let have = false;
  let quoted = false;
  let escaped = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (escaped) {
        cur += c;
        escaped = false;
      } else if (c === "\\") escaped = true;
      else if (c === '"') quoted = false;
      else cur += c;
      continue;
    }
    if (c === '"') {
      quoted = true;
      have = true;
    } else if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      if (have) out.push(cur);
      cur = "";
      have = false;
    } else {
      cur += c;
      have = true;
    }
  }
  if (quoted) fail("unterminated quote", line.slice(line.lastIndexOf('"')), 'a closing "');
  if (have) out.push(cur);
  return out;
}

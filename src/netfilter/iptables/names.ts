// The names a rule or command gives: chains (iptables -N's checks, XT_EXTENSION_MAXNAMELEN) and
// interfaces (-i/-o, IFNAMSIZ).

import { STANDARD_VERDICTS, TARGETS } from "./extensions.js";
import { fail } from "./fail.js";

/** XT_EXTENSION_MAXNAMELEN - 1: the longest chain name. */
export const MAX_CHAIN_NAME = 28;
const IFNAMSIZ = 16;

/** Checks an -i/-o interface name as iptables does (xtables_parse_interface). */
export function checkInterface(name: string, option: string): string {
  if (name.length === 0 || name.length >= IFNAMSIZ) fail(`interface name "${name}" must be shorter than IFNAMSIZ (${IFNAMSIZ - 1})`, name, `${option} NAME (1-15 characters, "+" as a trailing wildcard)`);
  if (/[\s/:]/.test(name)) fail(`invalid interface name "${name}"`, name, "a device name");
  return name;
}

/** Whether `s` has white space (what /\s/ finds), read without a regular expression for ASCII names. */
function hasSpace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || (c >= 9 && c <= 13) || (c > 127 && /\s/.test(s[i]))) return true;
  }
  return false;
}

/** Checks a chain name as iptables -N does. */
export function checkChainName(name: string): void {
  if (name.length === 0 || name.length > MAX_CHAIN_NAME) fail(`chain name "${name}" must be 1-${MAX_CHAIN_NAME} characters`, name);
  if (name.startsWith("-") || name.startsWith("!") || hasSpace(name)) fail(`invalid chain name "${name}"`, name, "a name not starting with - or ! and without spaces");
  if ((STANDARD_VERDICTS as readonly string[]).includes(name) || TARGETS.has(name)) fail(`chain name "${name}" clashes with a target name`, name, "a different chain name");
}

// The parsers' way to stop at a bad value: throws an IptablesError naming the token and what was
// expected; the restore loop adds the file and line. Internal to the iptables layer.

import { IptablesError } from "./errors.js";

/** Throws an IptablesError (parsers call this; the restore loop adds the file and line). */
export function fail(reason: string, token?: string, expected?: string): never {
  throw new IptablesError(reason, { token, expected });
}

// Readers for the small value types that recur across kinds: ports, protocols, IPs, enums.

import { parseCidr, parseIpv4 } from "../../../wire/index.js";
import type { Protocol } from "../../model.js";
import type { Cursor } from "../cursor.js";
import { checkPortName } from "../names.js";
import { didYouMean, oneOf } from "../suggest.js";

export const PROTOCOLS: readonly Protocol[] = ["TCP", "UDP", "SCTP"];

/** A TCP/UDP port number, 1-65535. */
export const readPort = (c: Cursor, what = "a port number"): number | undefined =>
  c.int(what, 1, 65535, "invalid-port");

/** One of a fixed set of strings; `what` names the set ("a Service type"). */
export function readEnum<T extends string>(c: Cursor, values: readonly T[], what: string): T | undefined {
  const s = c.str();
  if (s === undefined) return undefined;
  if ((values as readonly string[]).includes(s)) return s as T;
  c.error("invalid-value", `"${s}" is not ${what} (expected ${oneOf(values)})${didYouMean(s, values)}`);
  return undefined;
}

/** protocol: TCP (the default), UDP or SCTP. */
export const readProtocol = (c: Cursor): Protocol => readEnum(c, PROTOCOLS, "a protocol") ?? "TCP";

/** A dotted-quad IPv4 address, kept as a string (the form the API uses). */
export function readIpv4(c: Cursor): string | undefined {
  const s = c.str();
  if (s === undefined) return undefined;
  const r = parseIpv4(s);
  if (r.ok) return s;
  const hint = s.includes(":") ? "kubewire models IPv4 only" : undefined;
  c.error("invalid-ip", r.error, { hint });
  return undefined;
}

/** A CIDR; `strict` rejects host bits (a podCIDR), non-strict accepts them (source ranges). */
export function readCidr(c: Cursor, strict = true): string | undefined {
  const s = c.str();
  if (s === undefined) return undefined;
  const r = parseCidr(s, strict);
  if (r.ok) return s;
  c.error("invalid-cidr", r.error);
  return undefined;
}

/** A list of IPv4 addresses. */
export function readIpv4List(c: Cursor): string[] {
  if (!c.isSeq()) return [];
  const out: string[] = [];
  for (const item of c.items()) {
    const ip = readIpv4(item);
    if (ip !== undefined) out.push(ip);
  }
  return out;
}

/** A named port: an IANA service name (container port names, targetPort by name). */
export function readPortName(c: Cursor): string | undefined {
  const s = c.str();
  if (s === undefined) return undefined;
  const problem = checkPortName(s);
  if (problem) c.error("invalid-name", problem);
  return problem ? undefined : s;
}

// -m addrtype --src-type/--dst-type (net/netfilter/xt_addrtype.c revision 1, libxt_addrtype.c):
// the address's route type as inet_dev_addr_type gives it, optionally looked up for the incoming
// or outgoing device only (--limit-iface-in / --limit-iface-out).

import { Hook, type NetDevice, type NetNamespace } from "../../../net/index.js";
import { fail } from "../fail.js";
import { defineMatch } from "../xt.js";

/** RTN_* route types, in the order libxt_addrtype prints them (bit = 1 << RTN_*). */
export const ADDRTYPE_NAMES = [
  "UNSPEC",
  "UNICAST",
  "LOCAL",
  "BROADCAST",
  "ANYCAST",
  "MULTICAST",
  "BLACKHOLE",
  "UNREACHABLE",
  "PROHIBIT",
  "THROW",
  "NAT",
  "XRESOLVE",
] as const;

const RTN_UNICAST = 1;
const RTN_LOCAL = 2;
const RTN_BROADCAST = 3;
const RTN_MULTICAST = 5;

export interface AddrtypeSpec {
  source: number;
  dest: number;
  invSource: boolean;
  invDest: boolean;
  limitIn: boolean;
  limitOut: boolean;
}

function parseTypes(s: string): number {
  let mask = 0;
  for (const name of s.split(",")) {
    const i = ADDRTYPE_NAMES.indexOf(name.toUpperCase() as (typeof ADDRTYPE_NAMES)[number]);
    if (i < 0) fail(`addrtype: bad type "${name}"`, s, `a comma-separated list of ${ADDRTYPE_NAMES.join(", ")}`);
    mask |= 1 << i;
  }
  return mask;
}

const formatTypes = (mask: number): string => ADDRTYPE_NAMES.filter((_, i) => (mask & (1 << i)) !== 0).join(",");

/**
 * inet_dev_addr_type: 0.0.0.0/8 and 255.255.255.255 are BROADCAST, 224/4 MULTICAST; then the
 * local table: the namespace's own addresses (all of 127/8 through lo) are LOCAL and directed
 * broadcasts BROADCAST, counted only when the route's device is `dev` if one is given; anything
 * else UNICAST.
 */
export function inetDevAddrType(ns: NetNamespace, dev: NetDevice | null, addr: number): number {
  if (addr >>> 24 === 0 || addr === 0xffffffff) return RTN_BROADCAST;
  if (addr >>> 28 === 0xe) return RTN_MULTICAST;
  const owner = ns.localAddrs.get(addr) ?? (addr >>> 24 === 127 ? ns.lo : undefined);
  if (owner !== undefined) return dev === null || dev === owner ? RTN_LOCAL : RTN_UNICAST;
  for (const d of ns.devices.values()) {
    const addrs = d.addrs;
    for (let i = 0; i < addrs.length; i++)
      if (addrs[i].broadcast === addr && addr !== 0) return dev === null || dev === d ? RTN_BROADCAST : RTN_UNICAST;
  }
  return RTN_UNICAST;
}

export const addrtypeMatch = defineMatch<AddrtypeSpec>({
  name: "addrtype",
  options: {
    "--src-type": { args: 1, invert: true },
    "--dst-type": { args: 1, invert: true },
    "--limit-iface-in": { args: 0 },
    "--limit-iface-out": { args: 0 },
  },
  init: () => ({ source: 0, dest: 0, invSource: false, invDest: false, limitIn: false, limitOut: false }),
  parse(spec, option, args, invert) {
    if (option === "--src-type") {
      spec.source = parseTypes(args[0]);
      spec.invSource = invert;
    } else if (option === "--dst-type") {
      spec.dest = parseTypes(args[0]);
      spec.invDest = invert;
    } else if (option === "--limit-iface-in") spec.limitIn = true;
    else spec.limitOut = true;
  },
  final(spec) {
    if (spec.limitIn && spec.limitOut) fail("addrtype: you can't specify both --limit-iface-in and --limit-iface-out", "--limit-iface-out");
    if (spec.source === 0 && spec.dest === 0) fail("addrtype: you must specify --src-type or --dst-type", "-m addrtype", "--src-type TYPE or --dst-type TYPE");
  },
  save(spec) {
    let s = "";
    if (spec.source) s += `${spec.invSource ? " !" : ""} --src-type ${formatTypes(spec.source)}`;
    if (spec.dest) s += `${spec.invDest ? " !" : ""} --dst-type ${formatTypes(spec.dest)}`;
    if (spec.limitIn) s += " --limit-iface-in";
    if (spec.limitOut) s += " --limit-iface-out";
    return s;
  },
  // addrtype_mt_checkentry_v1: no input device after routing, no output device before it.
  hooks: (spec) =>
    spec.limitIn
      ? (1 << Hook.PreRouting) | (1 << Hook.LocalIn) | (1 << Hook.Forward)
      : spec.limitOut
        ? (1 << Hook.Forward) | (1 << Hook.LocalOut) | (1 << Hook.PostRouting)
        : undefined,
  compile(spec) {
    const { source, dest, invSource, invDest, limitIn, limitOut } = spec;
    return (p) => {
      const ctx = p.ctx;
      const dev = limitIn ? ctx.indev : limitOut ? ctx.outdev : null;
      if (source !== 0 && ((source & (1 << inetDevAddrType(ctx.ns, dev, p.saddr))) !== 0) === invSource) return false;
      if (dest !== 0 && ((dest & (1 << inetDevAddrType(ctx.ns, dev, p.daddr))) !== 0) === invDest) return false;
      return true;
    };
  },
});

export { RTN_LOCAL, RTN_UNICAST };

// `conntrack -L` and `conntrack -D` (conntrack-tools over ctnetlink; the line format is
// libnetfilter_conntrack's default output): a dump of the confirmed entries with their remaining
// timeout on the virtual clock, and deletion by filter, as kube-proxy flushes the UDP entries of
// a Service IP or of a removed endpoint.

import { formatIpv4, parseIpv4 } from "../../wire/index.js";
import type { Conntrack } from "./core.js";
import { TCP_STATE_NAMES, tcpState } from "./proto_tcp.js";
import { IPS } from "./table.js";
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, protoName, Tuple } from "./tuple.js";

/** A filter as conntrack's options give it; every field given must match. */
export interface CtFilter {
  /** -p: a protocol number or name. */
  proto?: number | "tcp" | "udp" | "icmp";
  /** -s / --orig-src, -d / --orig-dst, -r / --reply-src, -q / --reply-dst. */
  origSrc?: string | number;
  origDst?: string | number;
  replySrc?: string | number;
  replyDst?: string | number;
  /** --sport / --dport (of the original direction), --reply-port-src / --reply-port-dst. */
  origSport?: number;
  origDport?: number;
  replySport?: number;
  replyDport?: number;
  /** -m: ct mark. */
  mark?: number;
  /** --state (TCP). */
  state?: string;
  /** --dst-nat [IP]: destination-NATed entries (to IP, if given: the reply's source). */
  dstNat?: boolean | string | number;
  /** --src-nat [IP]: source-NATed entries (to IP, if given: the reply's destination). */
  srcNat?: boolean | string | number;
}

/** One entry, decoded (cold path: tests, the CLI, other layers' dumps). */
export interface CtEntry {
  slot: number;
  proto: number;
  protoName: string;
  /** Seconds left before the entry expires. */
  timeout: number;
  /** TCP state name; undefined for other protocols. */
  state?: string;
  orig: CtTupleRepr;
  reply: CtTupleRepr;
  seenReply: boolean;
  assured: boolean;
  snat: boolean;
  dnat: boolean;
  mark: number;
}

export interface CtTupleRepr {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  type?: number;
  code?: number;
  id?: number;
}

const A = new Tuple();

const addr = (v: string | number): number => {
  if (typeof v === "number") return v >>> 0;
  const r = parseIpv4(v);
  if (!r.ok) throw new Error(`conntrack filter: ${r.error}`);
  return r.value;
};
const protoNum = (p: CtFilter["proto"]): number | undefined =>
  p === undefined ? undefined : typeof p === "number" ? p : ({ tcp: IPPROTO_TCP, udp: IPPROTO_UDP, icmp: IPPROTO_ICMP } as const)[p];

function repr(t: Tuple): CtTupleRepr {
  const r: CtTupleRepr = { src: formatIpv4(t.saddr), dst: formatIpv4(t.daddr) };
  if (t.proto === IPPROTO_TCP || t.proto === IPPROTO_UDP) {
    r.sport = t.sport;
    r.dport = t.dport;
  } else if (t.proto === IPPROTO_ICMP) {
    r.type = t.dport >>> 8;
    r.code = t.dport & 0xff;
    r.id = t.sport;
  }
  return r;
}

/** The decoded entry in a slot. */
export function ctEntry(ct: Conntrack, s: number): CtEntry {
  const t = ct.table;
  const st = t.status[s];
  const orig = repr(t.getTuple(s, 0, A));
  const reply = repr(t.getTuple(s, 1, A));
  const proto = A.proto;
  const e: CtEntry = {
    slot: s,
    proto,
    protoName: protoName(proto),
    timeout: Math.max(0, Math.floor((t.expires[s] - ct.ns.sim.sched.now) / 1e9)),
    orig,
    reply,
    seenReply: (st & IPS.SEEN_REPLY) !== 0,
    assured: (st & IPS.ASSURED) !== 0,
    snat: (st & IPS.SRC_NAT) !== 0,
    dnat: (st & IPS.DST_NAT) !== 0,
    mark: t.mark[s] >>> 0,
  };
  if (proto === IPPROTO_TCP) e.state = TCP_STATE_NAMES[tcpState(t, s)];
  return e;
}

function matches(ct: Conntrack, s: number, f: CtFilter): boolean {
  const t = ct.table;
  const o = s * 8;
  const tup = t.tup;
  const p = protoNum(f.proto);
  if (p !== undefined && tup[o + 3] !== p) return false;
  if (f.origSrc !== undefined && tup[o] >>> 0 !== addr(f.origSrc)) return false;
  if (f.origDst !== undefined && tup[o + 1] >>> 0 !== addr(f.origDst)) return false;
  if (f.replySrc !== undefined && tup[o + 4] >>> 0 !== addr(f.replySrc)) return false;
  if (f.replyDst !== undefined && tup[o + 5] >>> 0 !== addr(f.replyDst)) return false;
  if (f.origSport !== undefined && (tup[o + 2] >>> 16) !== f.origSport) return false;
  if (f.origDport !== undefined && (tup[o + 2] & 0xffff) !== f.origDport) return false;
  if (f.replySport !== undefined && (tup[o + 6] >>> 16) !== f.replySport) return false;
  if (f.replyDport !== undefined && (tup[o + 6] & 0xffff) !== f.replyDport) return false;
  if (f.mark !== undefined && t.mark[s] >>> 0 !== f.mark >>> 0) return false;
  if (f.state !== undefined && (tup[o + 3] !== IPPROTO_TCP || TCP_STATE_NAMES[tcpState(t, s)] !== f.state.toUpperCase())) return false;
  const st = t.status[s];
  if (f.dstNat !== undefined && f.dstNat !== false) {
    if ((st & IPS.DST_NAT) === 0) return false;
    if (f.dstNat !== true && tup[o + 4] >>> 0 !== addr(f.dstNat)) return false;
  }
  if (f.srcNat !== undefined && f.srcNat !== false) {
    if ((st & IPS.SRC_NAT) === 0) return false;
    if (f.srcNat !== true && tup[o + 5] >>> 0 !== addr(f.srcNat)) return false;
  }
  return true;
}

/** Confirmed, live entries matching the filter, oldest first. */
export function ctSlots(ct: Conntrack, filter: CtFilter = {}): number[] {
  ct.gc();
  const t = ct.table;
  return t.slots().filter((s) => (t.status[s] & IPS.CONFIRMED) !== 0 && matches(ct, s, filter));
}

function formatTupleText(r: CtTupleRepr): string {
  if (r.sport !== undefined) return `src=${r.src} dst=${r.dst} sport=${r.sport} dport=${r.dport}`;
  if (r.type !== undefined) return `src=${r.src} dst=${r.dst} type=${r.type} code=${r.code} id=${r.id}`;
  return `src=${r.src} dst=${r.dst}`;
}

/** One `conntrack -L` line. */
export function formatCtEntry(e: CtEntry): string {
  const parts = [`${e.protoName.padEnd(8)} ${e.proto} ${e.timeout}`];
  if (e.state !== undefined) parts.push(e.state);
  parts.push(formatTupleText(e.orig));
  if (!e.seenReply) parts.push("[UNREPLIED]");
  parts.push(formatTupleText(e.reply));
  if (e.assured) parts.push("[ASSURED]");
  parts.push(`mark=${e.mark}`, "use=1");
  return parts.join(" ");
}

/** `conntrack -L [filter]`: the entries as text lines. */
export function conntrackList(ct: Conntrack, filter: CtFilter = {}): string[] {
  return ctSlots(ct, filter).map((s) => formatCtEntry(ctEntry(ct, s)));
}

/** The entries, decoded. */
export function conntrackEntries(ct: Conntrack, filter: CtFilter = {}): CtEntry[] {
  return ctSlots(ct, filter).map((s) => ctEntry(ct, s));
}

/** `conntrack -D [filter]`: deletes the matching entries; returns how many ("N flow entries have been deleted"). */
export function conntrackDelete(ct: Conntrack, filter: CtFilter = {}): number {
  const slots = ctSlots(ct, filter);
  for (const s of slots) ct.kill(s, null);
  const sim = ct.ns.sim;
  if (sim.trace.on) sim.trace.emit({ t: sim.sched.now, ns: ct.ns.name, kind: "log", text: `conntrack v1.4.7 (conntrack-tools): ${slots.length} flow entries have been deleted.` });
  return slots.length;
}

/** `conntrack -F`: every entry. */
export const conntrackFlush = (ct: Conntrack): number => conntrackDelete(ct, {});

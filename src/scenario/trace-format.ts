// A packet trace as text, at three levels. `detailed`: every frame and decision in the window,
// with times, the packet's own marked `*`. `summary`: the packet's hops, one line per namespace
// visit. `minimal`: the packet's frames and decisions without times, lengths or MACs: stable text
// for regression tests.

import { dropReasonName, formatTime, formatTraceEvent, type TraceEvent } from "../sim/index.js";
import type { PacketTrace, Phase, TraceEntry } from "./packet-trace.js";

export const TRACE_LEVELS = ["detailed", "summary", "minimal"] as const;
export type TraceLevel = (typeof TRACE_LEVELS)[number];

/** Decisions worth a line at the minimal level (rx/tx come from the frames; fdb, neigh and forward repeat them). */
const MINIMAL_KINDS = new Set<TraceEvent["kind"]>(["route", "nf", "ct", "nat", "encap", "decap", "local", "drop", "icmp"]);

export function formatPacketTrace(t: PacketTrace, level: TraceLevel): string {
  const out: string[] = [`trace udp ${t.from} -> ${t.to} payload ${JSON.stringify(t.payload)}`];
  if (level === "detailed") {
    for (const e of t.entries) out.push(`${e.phase === "other" ? " " : "*"} ${formatTime(e.t)} ${line(e, false)}`);
  } else {
    for (const phase of ["request", "reply"] as Phase[]) {
      const mine = t.entries.filter((e) => e.phase === phase && (e.frame || (MINIMAL_KINDS.has(e.event!.kind) && decisive(e.event!))));
      if (mine.length === 0) continue;
      out.push(`${phase}:`);
      if (level === "minimal") for (const e of mine) out.push(`  ${line(e, true)}`);
      else out.push(...summarise(mine));
    }
  }
  out.push(`result: ${result(t)}`);
  return `${out.join("\n")}\n`;
}

/**
 * A netfilter event that decided something: a rule whose target is not a jump to another chain
 * (DNAT, MASQUERADE, MARK, ACCEPT, DROP, REJECT …). Chain policies, jumps and returns are left to
 * the detailed level, which walks every rule.
 */
function decisive(e: TraceEvent): boolean {
  if (e.kind !== "nf") return true;
  const v = e.verdict ?? "";
  return /^[A-Z]+$/.test(v) && v !== "RETURN" && !e.text.startsWith(":");
}

/** One entry: `node-1/eth0 tx 192.168.50.11 > …` or `node-1 route 10.244.1.2 via … dev flannel.1`. */
function line(e: TraceEntry, minimal: boolean): string {
  if (e.frame) return `${e.ns}/${e.dev} ${e.frame.dir} ${e.frame.info.text}`;
  const ev = e.event!;
  if (!minimal) return formatTraceEvent(ev).replace(/^\S+ /, "");
  return `${ev.ns}${ev.dev ? `/${ev.dev}` : ""} ${decision(ev)}`;
}

/** A decision without the time and place formatTraceEvent puts first. */
function decision(e: TraceEvent): string {
  switch (e.kind) {
    case "drop":
      return `drop ${dropReasonName(e.reason)}${e.detail ? `: ${e.detail}` : ""}`;
    case "nf":
      return `${e.hook} ${e.table}/${e.chain} rule ${e.rule} -> ${e.verdict}`;
    case "route":
      return `route ${e.daddr}${e.via ? ` via ${e.via}` : ""} dev ${e.out}${e.type && e.type !== "unicast" ? ` (${e.type})` : ""}`;
    default: {
      const full = formatTraceEvent(e);
      const prefix = `${formatTime(e.t)} ${e.ns}${e.dev ? ` ${e.dev}` : ""} `;
      return full.startsWith(prefix) ? full.slice(prefix.length) : full;
    }
  }
}

/** Consecutive entries in one namespace become one line: `node-1: veth… rx > route … > flannel.1 tx`. */
function summarise(entries: TraceEntry[]): string[] {
  const out: string[] = [];
  let ns = "";
  let parts: string[] = [];
  const flush = () => {
    if (parts.length) out.push(`  ${ns}: ${parts.join(" > ")}`);
    parts = [];
  };
  for (const e of entries) {
    if (e.ns !== ns) {
      flush();
      ns = e.ns;
    }
    if (e.frame) {
      const last = parts[parts.length - 1];
      const here = `${e.dev} ${e.frame.dir}`;
      if (last !== here) parts.push(here);
    } else parts.push(decision(e.event!));
  }
  flush();
  return out;
}

function result(t: PacketTrace): string {
  const parts: string[] = [];
  if (t.delivery) parts.push(`delivered to pod ${t.delivery.pod.key} (${t.delivery.container}, udp/${t.delivery.port}) from ${t.delivery.from.address}:${t.delivery.from.port}`);
  else {
    const drop = t.entries.find((e) => e.phase === "request" && e.event?.kind === "drop");
    parts.push(drop?.event?.kind === "drop" ? `dropped at ${drop.ns}${drop.dev ? `/${drop.dev}` : ""}: ${dropReasonName(drop.event.reason)}` : "not delivered");
  }
  if (t.reply) parts.push(`reply from ${t.reply.addr}:${t.reply.port}`);
  if (t.error) parts.push(`error ${t.error}`);
  return parts.join("; ");
}

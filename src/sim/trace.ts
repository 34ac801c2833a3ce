// Trace events: one structured event per decision on the data path. Emitters guard with
// `if (trace.on)` so that with tracing off the cost is one property read and a branch.

import { formatTime } from "./clock.js";
import { dropReasonName } from "./drop.js";

interface Base {
  /** Virtual time, ns. */
  t: number;
  /** Namespace name ("node-1", "default/web-0"). */
  ns: string;
  /** Device name, where the decision belongs to one. */
  dev?: string;
}

export type TraceEvent = Base &
  (
    | { kind: "rx" | "tx"; len: number; summary?: string }
    | { kind: "fdb"; action: "learn" | "hit" | "flood" | "local" | "age"; mac: string; port?: string }
    | {
        kind: "neigh";
        action: "lookup" | "resolve" | "request" | "reply" | "queue" | "failed" | "state";
        addr: string;
        mac?: string;
        state?: string;
      }
    | { kind: "route"; daddr: string; via?: string; out: string; src?: string; type?: string }
    | { kind: "local"; proto: string; daddr: string; dport?: number; socket?: string }
    | { kind: "forward"; in: string; out: string; ttl: number }
    | { kind: "drop"; reason: number; detail?: string }
    | { kind: "icmp"; action: "send" | "recv"; type: number; code: number; detail?: string }
    | { kind: "nf"; hook: string; table: string; chain: string; rule: number; text: string; verdict?: string }
    | { kind: "ct"; state: string; tuple: string; detail?: string }
    | { kind: "nat"; type: "dnat" | "snat"; from: string; to: string; by?: string }
    | { kind: "encap" | "decap"; vni: number; remote: string; detail?: string }
    | { kind: "socket"; action: string; detail: string }
    | { kind: "log"; text: string }
  );

export type TraceSink = (e: TraceEvent) => void;

export class Tracer {
  /** Hot-path guard: build an event only when this is true. */
  on = false;
  private sinks: TraceSink[] = [];

  /** Adds a sink and turns tracing on. Returns a function that removes it. */
  subscribe(sink: TraceSink): () => void {
    this.sinks.push(sink);
    this.on = true;
    return () => {
      this.sinks = this.sinks.filter((s) => s !== sink);
      this.on = this.sinks.length > 0;
    };
  }

  /** Collects every event into an array (tests, the trace command). */
  record(): { events: TraceEvent[]; stop: () => void } {
    const events: TraceEvent[] = [];
    const stop = this.subscribe((e) => events.push(e));
    return { events, stop };
  }

  emit(e: TraceEvent): void {
    for (const s of this.sinks) s(e);
  }
}

/** One human line per event: "0.000001000 node-1 cni0 fdb learn 0a:58:0a:f4:01:02 port veth1234". */
export function formatTraceEvent(e: TraceEvent): string {
  const where = `${formatTime(e.t)} ${e.ns}${e.dev ? ` ${e.dev}` : ""}`;
  switch (e.kind) {
    case "rx":
    case "tx":
      return `${where} ${e.kind} ${e.len} bytes${e.summary ? ` ${e.summary}` : ""}`;
    case "fdb":
      return `${where} fdb ${e.action} ${e.mac}${e.port ? ` port ${e.port}` : ""}`;
    case "neigh":
      return `${where} neigh ${e.action} ${e.addr}${e.mac ? ` lladdr ${e.mac}` : ""}${e.state ? ` ${e.state}` : ""}`;
    case "route":
      return `${where} route ${e.daddr}${e.via ? ` via ${e.via}` : ""} dev ${e.out}${e.src ? ` src ${e.src}` : ""}${e.type && e.type !== "unicast" ? ` (${e.type})` : ""}`;
    case "local":
      return `${where} deliver ${e.proto} ${e.daddr}${e.dport !== undefined ? `:${e.dport}` : ""}${e.socket ? ` to ${e.socket}` : ""}`;
    case "forward":
      return `${where} forward ${e.in} -> ${e.out} ttl ${e.ttl}`;
    case "drop":
      return `${where} drop ${dropReasonName(e.reason)}${e.detail ? `: ${e.detail}` : ""}`;
    case "icmp":
      return `${where} icmp ${e.action} type ${e.type} code ${e.code}${e.detail ? ` ${e.detail}` : ""}`;
    case "nf":
      return `${where} ${e.hook} ${e.table}/${e.chain} rule ${e.rule}: ${e.text}${e.verdict ? ` -> ${e.verdict}` : ""}`;
    case "ct":
      return `${where} conntrack ${e.state} ${e.tuple}${e.detail ? ` ${e.detail}` : ""}`;
    case "nat":
      return `${where} ${e.type.toUpperCase()} ${e.from} -> ${e.to}${e.by ? ` (${e.by})` : ""}`;
    case "encap":
    case "decap":
      return `${where} vxlan ${e.kind} vni ${e.vni} remote ${e.remote}${e.detail ? ` ${e.detail}` : ""}`;
    case "socket":
      return `${where} socket ${e.action} ${e.detail}`;
    case "log":
      return `${where} ${e.text}`;
  }
}

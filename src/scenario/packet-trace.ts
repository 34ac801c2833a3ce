// Following one packet through the cluster, as ovn-trace does for OVN: a UDP datagram with a
// recognisable payload is sent after the scenario's set-up (or its traffic), and every frame that
// carries it (on every interface, NATed, encapsulated or quoted in an ICMP error) and every
// decision taken in a namespace while it was there (route, netfilter rule, conntrack, NAT,
// encap/decap, delivery, drop) is collected, for the request and for the echo's reply.

import type { NetDevice, UdpSocket } from "../net/index.js";
import { createUdpSocket } from "../net/index.js";
import type { Packet } from "../packet/index.js";
import type { TraceEvent } from "../sim/index.js";
import type { Delivery } from "./apps.js";
import { describeFrame, type FrameInfo, frameCarries } from "./frames.js";
import { type HostRef, resolveHost, resolveTarget, type TargetRef } from "./refs.js";
import type { ScenarioRun } from "./runtime.js";

export type Phase = "request" | "reply" | "other";

export interface TraceEntry {
  readonly t: number;
  readonly ns: string;
  readonly dev?: string;
  readonly phase: Phase;
  /** A frame seen on an interface (as tcpdump there would see it), or a decision. */
  readonly frame?: { dir: "rx" | "tx"; info: FrameInfo };
  readonly event?: TraceEvent;
}

export interface PacketTrace {
  readonly from: string;
  readonly to: string;
  readonly payload: string;
  readonly entries: TraceEntry[];
  readonly delivery?: Delivery;
  readonly reply?: { addr: string; port: number };
  /** send(2)'s error, or the socket error an ICMP error raised. */
  readonly error?: string;
}

export interface TracePacketOptions {
  payload?: string;
  timeout?: number;
  container?: string;
}

export type TraceResult = { ok: true; trace: PacketTrace } | { ok: false; message: string; hint?: string };

export const TRACE_PAYLOAD = "kubewire-trace";

/** Sends one datagram `from` → `to` in the run's current state and records its path. */
export function tracePacket(run: ScenarioRun, from: HostRef, to: TargetRef, opts: TracePacketOptions = {}): TraceResult {
  const c = run.cluster;
  const src = resolveHost(c, from, true);
  if (!src.ok) return src;
  const dst = resolveTarget(c, to);
  if (!dst.ok) return dst;
  const payload = opts.payload ?? TRACE_PAYLOAD;
  const needle = Buffer.from(payload);
  const srcNs = src.value.ns!;
  const entries: TraceEntry[] = [];
  let phase: Phase = "request";
  const nsPhase = new Map<string, Phase>([[srcNs.name, "request"]]);
  let delivery: Delivery | undefined;

  const onEvent = (e: TraceEvent) => {
    if (e.kind === "rx" || e.kind === "tx") return; // the taps give the frame itself
    entries.push({ t: e.t, ns: e.ns, dev: e.dev, phase: nsPhase.get(e.ns) ?? "other", event: e });
  };
  const onFrame = (dev: NetDevice, pkt: Packet, dir: 0 | 1) => {
    const info = describeFrame(pkt.buf, pkt.head, pkt.tail);
    const ours = info.cls !== "arp" && frameCarries(pkt.buf, pkt.head, pkt.tail, needle);
    const p: Phase = ours ? phase : "other";
    nsPhase.set(dev.ns.name, p);
    entries.push({ t: dev.ns.sim.now, ns: dev.ns.name, dev: dev.name, phase: p, frame: { dir: dir === 0 ? "rx" : "tx", info } });
  };
  const stopEvents = run.sim.trace.subscribe(onEvent);
  const untaps: (() => void)[] = [];
  for (const ns of c.namespaces()) for (const d of ns.devices.values()) untaps.push(d.addTap(onFrame));
  const stopDelivery = run.apps.onDelivery((d) => {
    if (d.payload !== payload || delivery) return;
    delivery = d;
    phase = "reply";
    nsPhase.set(d.pod.ns.name, "reply");
  });

  let sock: UdpSocket | undefined;
  let error: string | undefined;
  let reply: { addr: string; port: number } | undefined;
  try {
    sock = src.value.pod ? src.value.pod.container(opts.container).udpSocket() : createUdpSocket(srcNs);
    sock.connect(dst.value.port, dst.value.addr);
    sock.on("message", (_m, r) => {
      reply ??= { addr: r.address, port: r.port };
    });
    sock.on("error", (e) => {
      error ??= e.code;
    });
    error = sock.send(payload) ?? undefined;
    const start = run.sim.now;
    run.runUntil(start + (opts.timeout ?? run.scenario.timeout), () => reply !== undefined || error !== undefined);
  } catch (e) {
    error = (e as Error).message;
  } finally {
    sock?.close();
    stopDelivery();
    for (const u of untaps) u();
    stopEvents();
  }
  const trace: PacketTrace = {
    from: `${src.value.label} (${src.value.kind === "pod" ? src.value.pod!.ipString : srcNs.name})`,
    to: `${dst.value.addr}:${dst.value.port}/udp${dst.value.host.kind === "ip" ? "" : ` (${dst.value.host.label})`}`,
    payload,
    entries,
    delivery,
    reply,
    error,
  };
  return { ok: true, trace };
}

/** The interfaces the request crossed, in order (for drawing its path). */
export function requestPath(t: PacketTrace): { ns: string; dev: string; dir: "rx" | "tx" }[] {
  return t.entries.filter((e) => e.phase === "request" && e.frame).map((e) => ({ ns: e.ns, dev: e.dev!, dir: e.frame!.dir }));
}

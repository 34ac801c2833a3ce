// `udp: {from, to, payload, srcPort?, container?}`: one datagram from a connected socket (as
// `nc -u` sends it, so ICMP errors come back as ECONNREFUSED …), then what became of it: which app
// received it and from which source, the reply, drops on the way, ICMP errors, socket errors.

import { createUdpSocket, type UdpSocket } from "../../net/index.js";
import type { Delivery } from "../apps.js";
import { formatDuration } from "../duration.js";
import type { Located } from "../model.js";
import { formatHost, formatTarget, resolveHost, resolveTarget } from "../refs.js";
import type { Cursor } from "../yaml.js";
import {
  checkFlow,
  type FlowFields,
  formatAddr,
  matchAddr,
  readAddrPort,
  readDropped,
  readDuration,
  readErrno,
  readFlow,
  readIcmp,
  readPayload,
  readPodRef,
} from "./fields.js";
import { dropsIn, formatDrop, ICMP_NAMES, icmpErrorsIn, icmpName } from "./observe.js";
import { defineStep } from "./registry.js";

const ERRNOS = ["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EMSGSIZE", "EPERM", "EACCES", "ENOPROTOOPT"] as const;

export interface UdpExpect {
  /** The reply's payload; true: any reply; false: none. */
  reply?: string | boolean;
  delivered?: boolean;
  /** A drop reason (Linux's SKB_DROP_REASON_* name), or true for any. */
  dropped?: string | true;
  icmp?: string;
  error?: string;
  /** The pod whose app received the datagram. */
  at?: Located<string>;
  /** The source address (and port) the receiving app saw. */
  seenFrom?: { addr: string; port?: number };
  /** The source of the reply. */
  replyFrom?: { addr: string; port?: number };
}

export interface UdpSpec extends FlowFields {
  payload: string;
  timeout: number;
  expect: UdpExpect;
}

export const udpStep = defineStep<UdpSpec>({
  type: "udp",
  synopsis: "udp: {from, to: HOST:PORT, payload?, srcPort?, container?}; expect: {reply, delivered, dropped, icmp, error, at, seenFrom, replyFrom}",
  expects: true,
  timed: true,
  read(body, expect, timeout, rc) {
    if (!body.isMap()) return undefined;
    body.known(["from", "to", "payload", "srcPort", "container"]);
    const flow = readFlow(body, "udp");
    const payload = readPayload(body.get("payload"), "hello");
    const exp = readExpect(expect);
    const t = readDuration(timeout, "a timeout") ?? rc.timeout;
    if (!flow || !exp) return undefined;
    return { ...flow, payload, timeout: t, expect: exp };
  },
  check(s, cx) {
    checkFlow(cx, s, s.expect.at);
  },
  title: (s) => `udp ${formatHost(s.from.value)} → ${formatTarget(s.to.value)} ${JSON.stringify(s.payload)}`,
  run(s, rt) {
    const c = rt.cluster;
    const from = resolveHost(c, s.from.value, true);
    if (!from.ok) return { pass: false, observed: "not sent", why: from.message };
    const to = resolveTarget(c, s.to.value);
    if (!to.ok) return { pass: false, observed: "not sent", why: to.message };
    const pod = from.value.pod;
    let sock: UdpSocket;
    try {
      sock = pod ? pod.container(s.container?.value).udpSocket() : createUdpSocket(from.value.ns!);
      if (s.srcPort !== undefined) sock.bind(s.srcPort);
      sock.connect(to.value.port, to.value.addr);
    } catch (e) {
      return { pass: false, observed: "not sent", why: (e as Error).message };
    }
    const start = rt.sim.now;
    const firstEvent = rt.events.length;
    let delivery: Delivery | undefined;
    const stopWatching = rt.apps.onDelivery((d) => {
      if (delivery === undefined && d.payload === s.payload) delivery = d;
    });
    let reply: { payload: string; addr: string; port: number; t: number } | undefined;
    let error: string | undefined;
    sock.on("message", (m, r) => {
      reply ??= { payload: m.toString("utf8"), addr: r.address, port: r.port, t: rt.sim.now };
    });
    sock.on("error", (e) => {
      error ??= e.code;
    });
    const local = `${sock.address().port}`;
    error = sock.send(s.payload) ?? undefined;
    rt.runUntil(start + s.timeout, () => reply !== undefined || error !== undefined);
    stopWatching();
    sock.close();
    const drops = dropsIn(rt.events, firstEvent).filter((d) => d.reason !== "NO_SOCKET" || !(delivery || reply));
    const icmps = icmpErrorsIn(rt.events, firstEvent, from.value.ns!.name);
    const seen: string[] = [];
    if (delivery) seen.push(`delivered to pod ${delivery.pod.key} (${delivery.container}, udp/${delivery.port}) from ${delivery.from.address}:${delivery.from.port}`);
    else seen.push(`sent from port ${local}, not delivered to an app`);
    if (reply) seen.push(`reply ${JSON.stringify(reply.payload)} from ${reply.addr}:${reply.port}${reply.t > start ? ` after ${formatDuration(reply.t - start)}` : ""}`);
    else seen.push("no reply");
    for (const d of drops.slice(0, 3)) seen.push(`dropped at ${formatDrop(d)}`);
    for (const i of icmps.slice(0, 2)) seen.push(`icmp ${icmpName(i.type, i.code)} from ${i.from}`);
    if (error) seen.push(`error ${error}`);
    const observed = seen.join("; ");

    const why: string[] = [];
    const e = s.expect;
    if (e.reply !== undefined) {
      if (e.reply === false && reply) why.push(`expected no reply, got ${JSON.stringify(reply.payload)}`);
      else if (e.reply !== false && !reply) why.push(`expected a reply${typeof e.reply === "string" ? ` ${JSON.stringify(e.reply)}` : ""}, got none`);
      else if (typeof e.reply === "string" && reply && reply.payload !== e.reply) why.push(`expected reply ${JSON.stringify(e.reply)}, got ${JSON.stringify(reply.payload)}`);
    }
    if (e.delivered !== undefined && e.delivered !== (delivery !== undefined))
      why.push(e.delivered ? "expected the datagram to reach an app, it did not" : `expected no delivery, but pod ${delivery!.pod.key} received it`);
    if (e.dropped !== undefined) {
      const hit = e.dropped === true ? drops[0] : drops.find((d) => d.reason === e.dropped);
      if (!hit) why.push(`expected a drop${e.dropped === true ? "" : ` (${e.dropped})`}, ${drops.length ? `saw ${drops.map((d) => d.reason).join(", ")}` : "nothing was dropped"}`);
      if (delivery) why.push(`expected a drop, but pod ${delivery.pod.key} received it`);
    }
    if (e.icmp !== undefined) {
      const [type, code] = ICMP_NAMES[e.icmp];
      if (!icmps.some((i) => i.type === type && i.code === code))
        why.push(`expected icmp ${e.icmp}, ${icmps.length ? `got ${icmps.map((i) => icmpName(i.type, i.code)).join(", ")}` : "got none"}`);
    }
    if (e.error !== undefined && e.error !== error) why.push(`expected error ${e.error}, ${error ? `got ${error}` : "got none"}`);
    if (e.at !== undefined && delivery?.pod.key !== e.at.value) why.push(`expected pod ${e.at.value} to receive it, ${delivery ? `pod ${delivery.pod.key} did` : "no pod did"}`);
    if (e.seenFrom && !(delivery && matchAddr(e.seenFrom, delivery.from.address, delivery.from.port)))
      why.push(`expected the app to see it from ${formatAddr(e.seenFrom)}, ${delivery ? `it saw ${delivery.from.address}:${delivery.from.port}` : "it was not delivered"}`);
    if (e.replyFrom && !(reply && matchAddr(e.replyFrom, reply.addr, reply.port)))
      why.push(`expected the reply from ${formatAddr(e.replyFrom)}, ${reply ? `it came from ${reply.addr}:${reply.port}` : "there was none"}`);
    return { pass: why.length === 0, observed, why: why.join("; ") };
  },
});

function readExpect(c: Cursor): UdpExpect | undefined {
  const e: UdpExpect = {};
  if (!c.present) return e;
  if (!c.isMap()) return undefined;
  c.known(["reply", "delivered", "dropped", "icmp", "error", "at", "seenFrom", "replyFrom"]);
  const errors = c.ctx.errors;
  const reply = c.get("reply");
  if (reply.kind === "boolean") e.reply = reply.bool();
  else if (reply.present) e.reply = readPayload(reply, "");
  e.delivered = c.get("delivered").bool();
  e.dropped = readDropped(c.get("dropped"));
  e.icmp = readIcmp(c.get("icmp"));
  e.error = readErrno(c.get("error"), ERRNOS, "a UDP socket");
  if (c.get("at").present) e.at = readPodRef(c.get("at"));
  e.seenFrom = readAddrPort(c.get("seenFrom"));
  e.replyFrom = readAddrPort(c.get("replyFrom"));
  return c.ctx.errors === errors ? e : undefined;
}

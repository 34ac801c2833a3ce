// `tcp: {from, to, send?, srcPort?, container?}`: a connection as a client program makes it
// (connect, write the bytes, read the echo, close), on the virtual clock, then what became of it:
// connected, refused (RST, or an ICMP error) or unanswered; which pod's app accepted it and the
// source it saw (masquerade shows here), the bytes that came back, drops on the way.

import { type NetNamespace, TcpEvent, type TcpSock, TcpState, type TcpUser, tcpClose, tcpConnect, tcpRecvmsg, tcpSendmsg } from "../../net/index.js";
import { formatIpv4, parseIpv4 } from "../../wire/index.js";
import type { TcpAccept } from "../apps.js";
import { formatDuration } from "../duration.js";
import type { Located } from "../model.js";
import { formatHost, formatTarget, resolveHost, resolveTarget } from "../refs.js";
import type { Cursor } from "../yaml.js";
import {
  type AddrPort,
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
import { defineStep, type RunContext, type StepResult } from "./registry.js";

const ERRNOS = ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "EPERM", "EACCES", "EADDRINUSE", "EADDRNOTAVAIL"] as const;

export interface TcpExpect {
  /** The handshake completed. */
  connected?: boolean;
  /** The connection was refused (a RST, or an ICMP error, answered the SYN: ECONNREFUSED). */
  refused?: boolean;
  /** Nothing answered the SYN before the step's timeout. */
  timeout?: boolean;
  /** The bytes that came back; true: any; false: none. */
  reply?: string | boolean;
  dropped?: string | true;
  icmp?: string;
  error?: string;
  /** The pod whose app accepted the connection. */
  at?: Located<string>;
  /** The peer address (and port) the accepting app saw. */
  seenFrom?: AddrPort;
  /** The source of what came back (the SYN-ACK and the echo, or the ICMP error). */
  replyFrom?: AddrPort;
}

export interface TcpSpec extends FlowFields {
  /** Bytes to write once connected ("" : connect and close). */
  send: string;
  timeout: number;
  expect: TcpExpect;
}

export const tcpStep = defineStep<TcpSpec>({
  type: "tcp",
  synopsis: "tcp: {from, to: HOST:PORT, send?, srcPort?, container?}; expect: {connected, refused, timeout, reply, at, seenFrom, replyFrom, dropped, icmp, error}",
  expects: true,
  timed: true,
  read(body, expect, timeout, rc) {
    if (!body.isMap()) return undefined;
    body.known(["from", "to", "send", "srcPort", "container"]);
    const flow = readFlow(body, "tcp");
    const send = readPayload(body.get("send"), "");
    const exp = readExpect(expect);
    const t = readDuration(timeout, "a timeout") ?? rc.timeout;
    if (!flow || !exp) return undefined;
    return { ...flow, send, timeout: t, expect: exp };
  },
  check(s, cx) {
    checkFlow(cx, s, s.expect.at);
  },
  title: (s) => `tcp ${formatHost(s.from.value)} → ${formatTarget(s.to.value)}${s.send ? ` ${JSON.stringify(s.send)}` : ""}`,
  run(s, rt) {
    const c = open(s, rt);
    if ("pass" in c) return c;
    if (c.running) rt.runUntil(c.start + s.timeout, c.done);
    return c.finish();
  },
  // Under the asynchronous runner Node's queues run at every instant, so the app on the other end
  // may be a node:http server (an HTTP app on a port named http*): `send` a request, read the response.
  async runAsync(s, rt) {
    const c = open(s, rt);
    if ("pass" in c) return c;
    if (c.running) await rt.settle(c.start + s.timeout, c.done);
    return c.finish();
  },
});

/** Starts the connection: what the runner waits on (`done`, until the timeout) and what judges it then. */
function open(s: TcpSpec, rt: RunContext): StepResult | { start: number; running: boolean; done: () => boolean; finish: () => StepResult } {
  const from = resolveHost(rt.cluster, s.from.value, true);
  if (!from.ok) return { pass: false, observed: "not sent", why: from.message };
  const to = resolveTarget(rt.cluster, s.to.value);
  if (!to.ok) return { pass: false, observed: "not sent", why: to.message };
  const ns = from.value.ns!;
  const start = rt.sim.now;
  const firstEvent = rt.events.length;
  let accept: TcpAccept | undefined;
  const stopWatching = rt.apps.onTcpAccept((a) => {
    accept ??= a;
  });
  const client = new TcpClient(Buffer.from(s.send, "utf8"));
  const daddr = parseIpv4(to.value.addr);
  const sk = daddr.ok ? tcpConnect(ns, { daddr: daddr.value, dport: to.value.port, sport: s.srcPort }, client) : "EINVAL";
  if (typeof sk !== "string") client.sk = sk;
  else client.error = sk;
  return {
    start,
    running: typeof sk !== "string",
    done: () => client.done(accept),
    finish: () => {
      client.giveUp();
      stopWatching();
      return judge(s, rt, client, sk, ns, accept, start, firstEvent);
    },
  };
}

/** The client program: connect, write, read until the echo is complete or the peer closes, close. */
class TcpClient implements TcpUser {
  sk: TcpSock | null = null;
  connectedAt: number | undefined;
  error: string | undefined;
  readonly received: Buffer[] = [];
  receivedBytes = 0;
  closed = false;
  peerClosed = false;

  constructor(readonly send: Buffer) {}

  tcpEvent(ev: number): void {
    const sk = this.sk;
    if (sk === null || this.closed) return;
    if (ev & TcpEvent.CONNECT) {
      this.connectedAt = sk.ns.sim.sched.now;
      sk.readerWaiting = true;
      if (this.send.length > 0) tcpSendmsg(sk, this.send);
    }
    while (sk.rcvBytes > 0) {
      const d = tcpRecvmsg(sk, 65536);
      this.received.push(d);
      this.receivedBytes += d.length;
    }
    if (sk.fin_rcvd) this.peerClosed = true;
    if (ev & TcpEvent.ERROR && sk.err !== null) this.error ??= sk.err;
    if (this.error === undefined && this.connectedAt !== undefined && (this.receivedBytes >= this.send.length || this.peerClosed)) this.close();
  }

  private close(): void {
    if (this.closed || this.sk === null) return;
    this.closed = true;
    tcpClose(this.sk);
  }

  /** Finished: an error, or both ends closed (ours in TIME_WAIT or CLOSE, the accepted end, if any, in CLOSE). */
  done(accept: TcpAccept | undefined): boolean {
    if (this.error !== undefined) return true;
    const st = this.sk?.state;
    if (!this.closed || (st !== TcpState.TIME_WAIT && st !== TcpState.CLOSE)) return false;
    return accept === undefined || accept.sk.state === TcpState.CLOSE || accept.sk.state === TcpState.TIME_WAIT;
  }

  /** At the step's end: a connection still open is closed, an unanswered SYN abandoned. */
  giveUp(): void {
    if (this.sk !== null && !this.closed && this.error === undefined) {
      this.closed = true;
      tcpClose(this.sk);
    }
  }

  get reply(): string {
    return Buffer.concat(this.received).toString("utf8");
  }
}

function judge(s: TcpSpec, rt: RunContext, cl: TcpClient, sk: TcpSock | string, ns: NetNamespace, accept: TcpAccept | undefined, start: number, firstEvent: number): StepResult {
  const connected = cl.connectedAt !== undefined;
  const icmps = icmpErrorsIn(rt.events, firstEvent, ns.name);
  const refused = !connected && cl.error === "ECONNREFUSED";
  const timedOut = !connected && cl.error === undefined;
  const drops = dropsIn(rt.events, firstEvent).filter((d) => d.reason !== "NO_SOCKET" || !connected);
  const peer = typeof sk === "string" ? undefined : { addr: formatIpv4(sk.daddr), port: sk.dport };
  const replyFrom: AddrPort | undefined = connected ? peer : icmps.length > 0 ? { addr: icmps[0].from } : refused ? peer : undefined;
  const reply = cl.receivedBytes > 0 ? cl.reply : undefined;
  const seen: string[] = [];
  if (typeof sk === "string") seen.push(`connect failed at once: ${sk}`);
  else {
    const local = `${formatIpv4(sk.saddr)}:${sk.sport}`;
    if (connected) seen.push(`connected from ${local}${cl.connectedAt! > start ? ` after ${formatDuration(cl.connectedAt! - start)}` : ""}`);
    else if (refused) seen.push(`refused (${icmps.length > 0 ? `icmp ${icmpName(icmps[0].type, icmps[0].code)} from ${icmps[0].from}` : `RST from ${peer!.addr}:${peer!.port}`}), from ${local}`);
    else if (timedOut) seen.push(`no answer to the SYN from ${local} within ${formatDuration(s.timeout)}`);
    else seen.push(`not connected from ${local}`);
  }
  if (accept) seen.push(`accepted by pod ${accept.pod.key} (${accept.container}, tcp/${accept.port}) from ${accept.from.address}:${accept.from.port}`);
  if (reply !== undefined) seen.push(`reply ${JSON.stringify(reply)} from ${peer!.addr}:${peer!.port}`);
  else if (connected && s.send) seen.push("no reply");
  if (connected) seen.push(cl.done(accept) ? "closed" : cl.peerClosed ? "closed by the peer" : "still open at the timeout");
  for (const d of drops.slice(0, 3)) seen.push(`dropped at ${formatDrop(d)}`);
  for (const i of icmps.slice(0, 2)) if (!refused) seen.push(`icmp ${icmpName(i.type, i.code)} from ${i.from}`);
  if (cl.error !== undefined && !refused) seen.push(`error ${cl.error}`);
  else if (refused) seen.push("error ECONNREFUSED");
  const observed = seen.join("; ");

  const why: string[] = [];
  const e = s.expect;
  if (e.connected !== undefined && e.connected !== connected) why.push(e.connected ? `expected a connection, ${refused ? "it was refused" : timedOut ? "the SYN went unanswered" : `got ${cl.error ?? "none"}`}` : "expected no connection, it was established");
  if (e.refused !== undefined && e.refused !== refused) why.push(e.refused ? `expected the connection to be refused, ${connected ? "it was established" : timedOut ? "the SYN went unanswered" : `got ${cl.error}`}` : "expected no refusal, the connection was refused");
  if (e.timeout !== undefined && e.timeout !== timedOut) why.push(e.timeout ? `expected the SYN to go unanswered, ${connected ? "it connected" : refused ? "it was refused" : `got ${cl.error}`}` : "expected an answer to the SYN, there was none");
  if (e.reply !== undefined) {
    if (e.reply === false && reply !== undefined) why.push(`expected no reply, got ${JSON.stringify(reply)}`);
    else if (e.reply !== false && reply === undefined) why.push(`expected a reply${typeof e.reply === "string" ? ` ${JSON.stringify(e.reply)}` : ""}, got none`);
    else if (typeof e.reply === "string" && reply !== undefined && reply !== e.reply) why.push(`expected reply ${JSON.stringify(e.reply)}, got ${JSON.stringify(reply)}`);
  }
  if (e.dropped !== undefined) {
    const hit = e.dropped === true ? drops[0] : drops.find((d) => d.reason === e.dropped);
    if (!hit) why.push(`expected a drop${e.dropped === true ? "" : ` (${e.dropped})`}, ${drops.length ? `saw ${drops.map((d) => d.reason).join(", ")}` : "nothing was dropped"}`);
  }
  if (e.icmp !== undefined) {
    const [type, code] = ICMP_NAMES[e.icmp];
    if (!icmps.some((i) => i.type === type && i.code === code)) why.push(`expected icmp ${e.icmp}, ${icmps.length ? `got ${icmps.map((i) => icmpName(i.type, i.code)).join(", ")}` : "got none"}`);
  }
  if (e.error !== undefined && e.error !== cl.error) why.push(`expected error ${e.error}, ${cl.error ? `got ${cl.error}` : "got none"}`);
  if (e.at !== undefined && accept?.pod.key !== e.at.value) why.push(`expected pod ${e.at.value} to accept it, ${accept ? `pod ${accept.pod.key} did` : "no pod did"}`);
  if (e.seenFrom && !(accept && matchAddr(e.seenFrom, accept.from.address, accept.from.port)))
    why.push(`expected the app to see it from ${formatAddr(e.seenFrom)}, ${accept ? `it saw ${accept.from.address}:${accept.from.port}` : "no app accepted it"}`);
  if (e.replyFrom && !(replyFrom && matchAddr(e.replyFrom, replyFrom.addr, replyFrom.port ?? -1)))
    why.push(`expected the answer from ${formatAddr(e.replyFrom)}, ${replyFrom ? `it came from ${formatAddr(replyFrom)}` : "there was none"}`);
  return { pass: why.length === 0, observed, why: why.join("; ") };
}

function readExpect(c: Cursor): TcpExpect | undefined {
  const e: TcpExpect = {};
  if (!c.present) return e;
  if (!c.isMap()) return undefined;
  c.known(["connected", "refused", "timeout", "reply", "dropped", "icmp", "error", "at", "seenFrom", "replyFrom"]);
  const errors = c.ctx.errors;
  e.connected = c.get("connected").bool();
  e.refused = c.get("refused").bool();
  e.timeout = c.get("timeout").bool();
  const reply = c.get("reply");
  if (reply.kind === "boolean") e.reply = reply.bool();
  else if (reply.present) e.reply = readPayload(reply, "");
  e.dropped = readDropped(c.get("dropped"));
  e.icmp = readIcmp(c.get("icmp"));
  e.error = readErrno(c.get("error"), ERRNOS, "a TCP socket");
  if (c.get("at").present) e.at = readPodRef(c.get("at"));
  e.seenFrom = readAddrPort(c.get("seenFrom"));
  e.replyFrom = readAddrPort(c.get("replyFrom"));
  return c.ctx.errors === errors ? e : undefined;
}

// Traffic in real time: one ping, one UDP request or one TCP request from a namespace, awaited on
// the real-time driver (the deterministic equivalents run the scheduler instead), and a TCP echo
// server. Used by `kubewire node`'s control channel and by the split-cluster tests.

import { formatIpv4 } from "../../wire/index.js";
import type { NetNamespace } from "../core/netns.js";
import { ping } from "../ipv4/ping.js";
import { createTcpServer, type TcpServer } from "../ipv4/tcp-server.js";
import { type TcpSock, TcpState } from "../ipv4/tcp-sock.js";
import { createTcpConnection } from "../ipv4/tcp-socket.js";
import { tcpTable } from "../ipv4/tcp-table.js";
import { createUdpSocket, type RemoteInfo, type SocketError } from "../ipv4/udp.js";
import type { RealtimeDriver } from "./realtime.js";

export interface RealtimePingResult {
  reply: boolean;
  /** Send error (ENETUNREACH …), if the request could not leave. */
  error?: string;
  from?: string;
  ttl?: number;
  /** Round trip in virtual (= wall) ms. */
  ms?: number;
}

/** Sends one echo request from `ns` to `to` and waits up to `timeoutMs` for the reply. */
export async function pingRealtime(rt: RealtimeDriver, ns: NetNamespace, to: string, o: { timeoutMs?: number; ident?: number; seq?: number } = {}): Promise<RealtimePingResult> {
  let got: { from: number; ttl: number; at: number } | undefined;
  let start = 0;
  const error = rt.step(() => {
    start = rt.sched.now;
    return ping(ns, to, { ident: o.ident, seq: o.seq }, (r) => {
      got ??= { from: r.from, ttl: r.ttl, at: r.at };
    });
  });
  if (error) return { reply: false, error };
  await rt.waitFor(() => got !== undefined, o.timeoutMs ?? 2000);
  if (!got) return { reply: false };
  return { reply: true, from: formatIpv4(got.from), ttl: got.ttl, ms: (got.at - start) / 1e6 };
}

export interface RealtimeUdpResult {
  reply?: string;
  from?: string;
  /** Send error, or an ICMP error reported on the connected socket (ECONNREFUSED …). */
  error?: string;
  ms?: number;
}

/** Sends one datagram from `ns` (on a connected socket) and waits for the first reply. */
export async function udpRequestRealtime(
  rt: RealtimeDriver,
  ns: NetNamespace,
  to: string,
  port: number,
  payload: string | Uint8Array,
  o: { srcPort?: number; timeoutMs?: number } = {},
): Promise<RealtimeUdpResult> {
  const sock = createUdpSocket(ns);
  let reply: { msg: Buffer; rinfo: RemoteInfo; at: number } | undefined;
  let err: SocketError | undefined;
  sock.on("message", (msg, rinfo) => {
    reply ??= { msg, rinfo, at: rt.sched.now };
  });
  sock.on("error", (e) => {
    err ??= e;
  });
  let start = 0;
  try {
    const sendErr = rt.step(() => {
      start = rt.sched.now;
      sock.bind(o.srcPort ?? 0).connect(port, to);
      return sock.send(payload);
    });
    if (sendErr) return { error: sendErr };
    await rt.waitFor(() => reply !== undefined || err !== undefined, o.timeoutMs ?? 2000);
    if (reply) return { reply: reply.msg.toString("utf8"), from: `${reply.rinfo.address}:${reply.rinfo.port}`, ms: (reply.at - start) / 1e6 };
    return err ? { error: err.code } : {};
  } finally {
    sock.close();
  }
}

export interface RealtimeTcpResult {
  /** The handshake completed. */
  connected: boolean;
  /** The peer connected to (address:port), once connected. */
  from?: string;
  /** What the server sent back before it closed (utf8). */
  reply?: string;
  /** Bytes received from the server. */
  received: number;
  /** A socket error (ECONNREFUSED, ETIMEDOUT, ECONNRESET …). */
  error?: string;
  /** The connection was closed both ways (our FIN sent, the server's received). */
  closed: boolean;
  /** Connect to close, in virtual (= wall) ms. */
  ms?: number;
}

/**
 * One TCP request as a client program makes it: connect from `ns`, write `payload`, read until as
 * many bytes came back (an echo), then close (FIN) and wait for the server's FIN (an empty
 * payload: connect and close). A server that closes first ends it too. Waits up to `timeoutMs`
 * for the whole exchange; then the socket is destroyed and the error is "timeout".
 */
export async function tcpRequestRealtime(
  rt: RealtimeDriver,
  ns: NetNamespace,
  to: string,
  port: number,
  payload: string | Uint8Array,
  o: { srcPort?: number; timeoutMs?: number; expect?: number } = {},
): Promise<RealtimeTcpResult> {
  const data = typeof payload === "string" ? Buffer.from(payload, "utf8") : Buffer.from(payload);
  const want = o.expect ?? data.length;
  const chunks: Buffer[] = [];
  let received = 0;
  let error: string | undefined;
  let closed = false;
  let finished = false;
  let connected = false;
  let peer: string | undefined;
  let start = 0;
  let end = 0;
  const sock = rt.step(() => {
    start = rt.sched.now;
    const s = createTcpConnection(ns, { host: to, port, localPort: o.srcPort }, () => {
      connected = true;
      peer = `${s.remoteAddress}:${s.remotePort}`;
      // Nothing to send and nothing to wait for: connect, then close.
      if (want === 0) s.end();
      else s.write(data);
    });
    s.on("data", (d: Buffer) => {
      chunks.push(d);
      received += d.length;
      if (received >= want) s.end();
    });
    s.on("error", (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message;
    });
    s.on("close", () => {
      closed = error === undefined;
      finished = true;
      end = rt.sched.now;
    });
    return s;
  });
  const done = await rt.waitFor(() => finished, o.timeoutMs ?? 5000);
  if (!done) rt.step(() => sock.destroy());
  const r: RealtimeTcpResult = { connected, received, closed: done && closed };
  if (peer !== undefined) r.from = peer;
  if (received > 0) r.reply = Buffer.concat(chunks).toString("utf8");
  if (error !== undefined) r.error = error;
  else if (!done) r.error = "timeout";
  if (done) r.ms = (end - start) / 1e6;
  return r;
}

/**
 * A TCP echo server on `port` in `ns`: what a client sends comes back, and the server closes when
 * the client does. With `batch`, the first `batch` bytes come back in one write once they are all
 * in (a request/response exchange, whose segments do not depend on when each one arrived); the
 * bytes after them are echoed as they arrive.
 */
export function tcpEchoServer(ns: NetNamespace, port: number, o: { batch?: number } = {}): TcpServer {
  const batch = o.batch ?? 0;
  return createTcpServer(ns, {}, (s) => {
    let held: Buffer[] = [];
    let have = 0;
    s.on("data", (d: Buffer) => {
      if (have >= batch) return void s.write(d);
      held.push(d);
      have += d.length;
      if (have >= batch) {
        s.write(Buffer.concat(held));
        held = [];
      }
    });
    s.on("error", () => s.destroy());
  }).listen(port);
}

/**
 * True when no TCP connection of `ns` waits for a segment: every socket is listening or in
 * TIME_WAIT (a passive close is over once LAST_ACK has its ACK). Real-time traffic code waits for
 * it before it stops, so the last ACK of an exchange reaches the pods' captures.
 */
export function tcpIdle(ns: NetNamespace): boolean {
  for (const head of tcpTable(ns).ehash.values())
    for (let sk: TcpSock | null = head; sk !== null; sk = sk.hashNext) if (sk.state !== TcpState.TIME_WAIT) return false;
  return true;
}

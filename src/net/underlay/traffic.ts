// Traffic in real time: one ping or one UDP request from a namespace, awaited on the real-time
// driver (the deterministic equivalents run the scheduler instead). Used by `kubewire node`'s
// control channel and by the split-cluster tests.

import { formatIpv4 } from "../../wire/index.js";
import type { NetNamespace } from "../core/netns.js";
import { ping } from "../ipv4/ping.js";
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

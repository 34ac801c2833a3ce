// TCP in a namespace (RFC 9293; net/ipv4/tcp.c, tcp_ipv4.c): registration with the namespace
// (a closed port answers RST, as in every Linux namespace) and the socket calls the Duplex in
// tcp-socket.ts is built on: connect, listen, send, receive, shutdown, close, abort.

import { formatIpv4 } from "../../wire/index.js";
import type { NetNamespace } from "../core/netns.js";
import { pathMtu, registerIcmpErrHandler } from "./icmp.js";
import { routeOutput } from "./output.js";
import { tcpCleanupRbuf } from "./tcp-data.js";
import { tcpV4Err, tcpV4Rcv } from "./tcp-input.js";
import { tcpInitSock } from "./tcp-minisocks.js";
import { tcpSendActiveReset, tcpSendSyn, tcpSyncMss, tcpWriteXmit } from "./tcp-output.js";
import { TCP_INIT_CWND, TcpSock, TcpState, type TcpUser, tcpStateName } from "./tcp-sock.js";
import { bindConflict, bindPort, ehashInsert, ephemeralPort, lookupEstablished, TcpListener, tcpTable, unbindPort } from "./tcp-table.js";
import { tcpDone } from "./tcp-timers.js";
import { tcpFullSpace, tcpSelectInitialWindow } from "./tcp-window.js";

/** Enables TCP in a namespace: the protocol handler and the ICMP error handler for protocol 6. */
export function tcpInit(ns: NetNamespace): void {
  tcpTable(ns);
  ns.protocols[6] = tcpV4Rcv;
  registerIcmpErrHandler(ns, 6, tcpV4Err);
}

export interface TcpConnectSpec {
  daddr: number;
  dport: number;
  /** Local address (bind before connect); 0 or omitted: the route's source. */
  saddr?: number;
  /** Local port; 0 or omitted: an ephemeral port. */
  sport?: number;
  /** SO_REUSEADDR for an explicit local port. */
  reuseAddr?: boolean;
}

/**
 * tcp_v4_connect + tcp_connect: route, source address and port, the initial window and scale
 * from the receive buffer, then the SYN. Returns the socket in SYN_SENT, or an errno name.
 */
export function tcpConnect(ns: NetNamespace, spec: TcpConnectSpec, user: TcpUser | null): TcpSock | string {
  const t = tcpTable(ns);
  const rt = routeOutput(ns, spec.daddr, spec.saddr ?? 0);
  if (typeof rt === "string") return rt;
  const sk = new TcpSock(ns);
  sk.saddr = rt.src;
  sk.daddr = spec.daddr;
  sk.dport = spec.dport;
  if (spec.sport) {
    if (bindConflict(t, sk.saddr, spec.sport, spec.reuseAddr ?? false)) return "EADDRINUSE";
    const old = lookupEstablished(t, sk.daddr, sk.dport, sk.saddr, spec.sport);
    if (old !== null) {
      if (old.state !== TcpState.TIME_WAIT) return "EADDRNOTAVAIL";
      tcpDone(old);
    }
    sk.sport = spec.sport;
  } else {
    sk.sport = ephemeralPort(ns, t);
    if (sk.sport === 0) return "EADDRNOTAVAIL";
  }
  sk.rt = rt;
  sk.user = user;
  tcpInitSock(sk, t);
  sk.state = TcpState.SYN_SENT;
  // tcp_connect_init
  const sys = t.sysctl;
  sk.tstamp_ok = sys.timestamps;
  sk.sack_ok = sys.sack;
  sk.wscale_ok = sys.windowScaling;
  sk.advmss = Math.min(rt.dev.mtu, 65535) - 40;
  sk.tcp_header_len = 20;
  tcpSyncMss(sk, Math.min(rt.dev.mtu, pathMtu(ns, sk.daddr) ?? rt.dev.mtu));
  tcpSelectInitialWindow(sk, tcpFullSpace(sk), sk.advmss, sk.wscale_ok, sys.rmemMax, sys.rmem[2]);
  sk.rcv_ssthresh = sk.rcv_wnd;
  sk.snd_cwnd = TCP_INIT_CWND;
  ehashInsert(t, sk);
  bindPort(t, sk.sport, sk);
  tcpSendSyn(sk);
  return sk;
}

/** inet_csk_listen_start: a listener on (addr, port) with an accept queue of `backlog`. */
export function tcpListen(ns: NetNamespace, addr: number, port: number, backlog: number, reuseAddr: boolean, user: TcpUser | null): TcpListener | string {
  const t = tcpTable(ns);
  if (addr !== 0 && !ns.isLocal(addr)) return "EADDRNOTAVAIL";
  if (port === 0) {
    port = ephemeralPort(ns, t);
    if (port === 0) return "EADDRINUSE";
  } else if (bindConflict(t, addr, port, reuseAddr)) return "EADDRINUSE";
  const l = new TcpListener(ns, addr, port, Math.max(0, Math.min(backlog, 4096)));
  l.user = user;
  const list = t.listeners.get(port);
  if (list) list.push(l);
  else t.listeners.set(port, [l]);
  bindPort(t, port, l);
  return l;
}

/** inet_csk_listen_stop: connections never accepted are reset; the port is released. */
export function tcpUnlisten(l: TcpListener): void {
  if (l.closed) return;
  l.closed = true;
  const t = tcpTable(l.ns);
  const list = t.listeners.get(l.port);
  if (list) {
    const rest = list.filter((x) => x !== l);
    if (rest.length) t.listeners.set(l.port, rest);
    else t.listeners.delete(l.port);
  }
  unbindPort(t, l);
  for (const sk of l.acceptQueue.splice(0)) {
    sk.parent = null;
    sk.orphan = true;
    tcpAbort(sk);
  }
}

/** Takes the next established connection off a listener's accept queue (inet_csk_accept). */
export function tcpAccept(l: TcpListener, user: TcpUser): TcpSock | null {
  const sk = l.acceptQueue.shift();
  if (sk === undefined) return null;
  sk.parent = null;
  sk.user = user;
  return sk;
}

/** The send buffer's payload limit (sk_sndbuf as tcp_sndbuf_expand sizes it: two windows' worth). */
export const tcpSndbuf = (sk: TcpSock): number => Math.min(tcpTable(sk.ns).sysctl.wmem[2], 4 * Math.max(TCP_INIT_CWND, sk.snd_cwnd) * sk.mss_cache);

/**
 * tcp_sendmsg: queues `chunk` (kept, not copied) and sends what the windows allow. Returns true
 * while the send buffer has room (sk_stream_memory_free).
 */
export function tcpSendmsg(sk: TcpSock, chunk: Buffer): boolean {
  if (chunk.length > 0) {
    sk.sndAppend(chunk);
    tcpWriteXmit(sk);
  }
  return sk.sndBytes < tcpSndbuf(sk);
}

/** tcp_recvmsg: up to `max` bytes the application reads now, and the window update it may earn. */
export function tcpRecvmsg(sk: TcpSock, max: number): Buffer {
  const data = sk.rcvRead(max);
  tcpCleanupRbuf(sk, data.length);
  return data;
}

/** tcp_recvmsg into the caller's buffer (no allocation): returns the bytes copied. */
export function tcpRecvmsgInto(sk: TcpSock, dst: Uint8Array, off: number, max: number): number {
  const n = sk.rcvCopy(dst, off, max);
  tcpCleanupRbuf(sk, n);
  return n;
}

/** tcp_shutdown(SHUT_WR) via tcp_close_state: our FIN follows the queued data. */
export function tcpShutdown(sk: TcpSock): void {
  switch (sk.state) {
    case TcpState.ESTABLISHED:
    case TcpState.SYN_RECV:
      sk.state = TcpState.FIN_WAIT1;
      break;
    case TcpState.CLOSE_WAIT:
      sk.state = TcpState.LAST_ACK;
      break;
    case TcpState.SYN_SENT:
      return tcpDone(sk);
    default:
      return;
  }
  sk.fin_queued = true;
  sk.fin_seq = sk.write_seq;
  tcpWriteXmit(sk);
}

/**
 * tcp_close: the application lets go. Unread data means the peer is reset (RFC 2525); otherwise
 * a FIN, and the kernel finishes the close on its own (orphaned; FIN_WAIT2 for tcp_fin_timeout).
 */
export function tcpClose(sk: TcpSock): void {
  sk.orphan = true;
  sk.user = null;
  sk.userTimer.stop();
  switch (sk.state) {
    case TcpState.CLOSE:
      return sk.purgeQueues();
    case TcpState.SYN_SENT:
      return tcpDone(sk);
  }
  if (sk.rcvBytes > 0) return tcpAbort(sk);
  if (sk.state === TcpState.ESTABLISHED || sk.state === TcpState.CLOSE_WAIT || sk.state === TcpState.SYN_RECV) tcpShutdown(sk);
  else if (sk.state === TcpState.FIN_WAIT2) sk.skTimer.arm(sk.ns.sim.sched.now + tcpTable(sk.ns).sysctl.finTimeout);
}

/** An abortive close (SO_LINGER 0, net.Socket.resetAndDestroy): RST, then CLOSE. */
export function tcpAbort(sk: TcpSock): void {
  const s = sk.state;
  if (s === TcpState.ESTABLISHED || s === TcpState.CLOSE_WAIT || s === TcpState.FIN_WAIT1 || s === TcpState.FIN_WAIT2 || s === TcpState.SYN_RECV || s === TcpState.CLOSING || s === TcpState.LAST_ACK)
    tcpSendActiveReset(sk);
  if (s !== TcpState.CLOSE) tcpDone(sk);
  if (sk.orphan) sk.purgeQueues();
}

/**
 * The socket goes away with its namespace (a deleted pod, whose veth is already gone): freed at
 * once, nothing sent to the peer, no timer left running.
 */
export function tcpDestroy(sk: TcpSock | TcpListener): void {
  if (sk instanceof TcpListener) {
    for (const child of sk.acceptQueue.slice()) tcpDestroy(child);
    return tcpUnlisten(sk);
  }
  sk.orphan = true;
  sk.user = null;
  sk.userTimer.stop();
  if (sk.state !== TcpState.CLOSE) tcpDone(sk);
  sk.purgeQueues();
}

/** The namespace's connections and listeners, one line each, as `ss -tan` prints them. */
export function tcpDump(ns: NetNamespace): string[] {
  const t = tcpTable(ns);
  const out: string[] = [];
  const ep = (a: number, p: number) => `${a ? formatIpv4(a) : "0.0.0.0"}:${p}`;
  for (const list of t.listeners.values())
    for (const l of list) out.push(`LISTEN ${l.acceptQueue.length} ${l.backlog} ${ep(l.addr, l.port)} 0.0.0.0:*`);
  for (const head of t.ehash.values())
    for (let sk: TcpSock | null = head; sk !== null; sk = sk.hashNext)
      out.push(`${tcpStateName(sk.state).replace("_", "-")} ${sk.rcvBytes} ${sk.sndBytes} ${ep(sk.saddr, sk.sport)} ${ep(sk.daddr, sk.dport)}`);
  return out;
}

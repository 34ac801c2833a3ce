// The TCP socket as a Node Duplex stream, shaped like net.Socket so node:http and node:tls take
// it as their transport (DESIGN.md decision 8): connect/'connect', remote/local address and
// port, half-close with end() (FIN), destroy() (FIN, or RST with unread data),
// resetAndDestroy() (RST), setTimeout on the virtual clock, setNoDelay (Nagle), setKeepAlive,
// bytesRead/bytesWritten, errors with net's codes.

import { Duplex } from "node:stream";
import { formatIpv4, parseIpv4 } from "../../wire/index.js";
import type { NetNamespace } from "../core/netns.js";
import { tcpAbort, tcpClose, tcpConnect, tcpRecvmsg, tcpSendmsg, tcpShutdown, tcpSndbuf, } from "./tcp.js";
import { tcpWriteXmit } from "./tcp-output.js";
import { TcpEvent, type TcpSock, TcpState, type TcpUser } from "./tcp-sock.js";

/** Calls from Node into TCP sockets so far: the settle driver watches it to see Node is quiet. */
let activity = 0;
export const tcpSocketActivity = (): number => activity;

const ERRNO: Record<string, number> = {
  EPIPE: -32,
  EADDRINUSE: -98,
  EADDRNOTAVAIL: -99,
  ENETUNREACH: -101,
  ECONNRESET: -104,
  ETIMEDOUT: -110,
  ECONNREFUSED: -111,
  EHOSTUNREACH: -113,
  EINVAL: -22,
};

/** An error as net reports it: `connect ECONNREFUSED 10.244.1.3:80`, with code, errno and syscall. */
export class TcpSocketError extends Error {
  readonly errno: number;
  constructor(
    readonly code: string,
    readonly syscall: string,
    readonly address?: string,
    readonly port?: number,
  ) {
    super(`${syscall} ${code}${address !== undefined ? ` ${address}${port !== undefined ? `:${port}` : ""}` : ""}`);
    this.errno = ERRNO[code] ?? -5;
  }
}

export interface TcpConnectOptions {
  port: number;
  /** An IPv4 address (no name resolution); default 127.0.0.1. */
  host?: string;
  localAddress?: string;
  localPort?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /** Idle timeout in ms of virtual time ('timeout' event). */
  timeout?: number;
  allowHalfOpen?: boolean;
}

const SENDABLE = [TcpState.ESTABLISHED, TcpState.CLOSE_WAIT, TcpState.SYN_SENT, TcpState.SYN_RECV] as number[];

export class TcpSocket extends Duplex implements TcpUser {
  sk: TcpSock | null = null;
  /** True between connect() and the handshake's end, as net.Socket. */
  connecting = false;
  private eofPushed = false;
  private wantRead = false;
  private written = 0;
  private timeoutMs = 0;
  /** A write whose callback waits for room in the send buffer. */
  private blockedWrite: (() => void) | null = null;
  /** Writes (and the end) issued before the connection was established. */
  private deferred: (() => void)[] = [];
  private noDelay = false;

  constructor(
    readonly ns: NetNamespace,
    opts: { allowHalfOpen?: boolean } = {},
  ) {
    super({ allowHalfOpen: opts.allowHalfOpen ?? false, emitClose: true, autoDestroy: true, decodeStrings: true });
  }

  /** net.Socket.connect: starts the handshake; 'connect' follows, or 'error'. */
  connect(opts: TcpConnectOptions, listener?: () => void): this {
    activity++;
    if (listener) this.once("connect", listener);
    const host = opts.host ?? "127.0.0.1";
    const d = parseIpv4(host);
    const local = opts.localAddress !== undefined ? parseIpv4(opts.localAddress) : null;
    if (!d.ok || (local !== null && !local.ok) || !(opts.port > 0 && opts.port < 65536)) {
      process.nextTick(() => this.destroy(new TcpSocketError("EINVAL", "connect", host, opts.port)));
      return this;
    }
    if (opts.noDelay) this.noDelay = true;
    if (opts.timeout) this.setTimeout(opts.timeout);
    this.connecting = true;
    const r = tcpConnect(this.ns, { daddr: d.value, dport: opts.port, saddr: local?.ok ? local.value : 0, sport: opts.localPort ?? 0 }, this);
    if (typeof r === "string") {
      process.nextTick(() => this.destroy(new TcpSocketError(r, "connect", host, opts.port)));
      return this;
    }
    this.attach(r);
    if (opts.keepAlive) this.setKeepAlive(true, opts.keepAliveInitialDelay);
    return this;
  }

  /** @internal Binds this stream to a kernel socket (connect, or accept from a server). */
  attach(sk: TcpSock): void {
    this.sk = sk;
    sk.user = this;
    sk.nodelay = this.noDelay;
    // net.Socket starts reading as soon as it has a handle (read(0)), listeners or not.
    this.wantRead = sk.readerWaiting = true;
    sk.userTimer.handler = onUserTimeout;
    if (this.timeoutMs) sk.userTimer.arm(this.ns.sim.sched.now + this.timeoutMs * 1e6);
    if (sk.state !== TcpState.SYN_SENT) sk.wake(TcpEvent.READ | (sk.err ? TcpEvent.ERROR : 0));
  }

  /** @internal Events from the stack (a scheduler task at the instant they happened). */
  tcpEvent(ev: number): void {
    const sk = this.sk;
    if (sk === null || this.destroyed) return;
    if (ev & TcpEvent.CONNECT) {
      this.connecting = false;
      this.emit("connect");
      this.emit("ready");
      for (const f of this.deferred.splice(0)) f();
    }
    if (ev & (TcpEvent.READ | TcpEvent.EOF)) this.pull();
    if (ev & TcpEvent.WRITE && this.blockedWrite !== null && sk.sndBytes < tcpSndbuf(sk)) {
      const cb = this.blockedWrite;
      this.blockedWrite = null;
      sk.sndWait = false;
      cb();
    }
    if (ev & TcpEvent.TIMEOUT) this.emit("timeout");
    if (ev & TcpEvent.ERROR && sk.err !== null) {
      const syscall = this.connecting ? "connect" : sk.err === "EPIPE" ? "write" : "read";
      const err = syscall === "connect" ? new TcpSocketError(sk.err, syscall, this.remoteAddress, this.remotePort) : new TcpSocketError(sk.err, syscall);
      this.connecting = false;
      this.destroy(err);
    }
  }

  /** Moves received data into the stream while it wants more (tcp_recvmsg as libuv reads). */
  private pull(): void {
    const sk = this.sk!;
    while (this.wantRead && sk.rcvBytes > 0) {
      const chunk = tcpRecvmsg(sk, 65536);
      this.touch();
      this.wantRead = this.push(chunk);
    }
    sk.readerWaiting = this.wantRead;
    if (sk.rcvBytes === 0 && sk.fin_rcvd && !this.eofPushed) {
      this.eofPushed = true;
      this.push(null);
    }
  }

  override _read(): void {
    activity++;
    this.wantRead = true;
    if (this.sk !== null) {
      this.sk.readerWaiting = true;
      if (!this.connecting) this.pull();
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    activity++;
    if (this.connecting) {
      this.deferred.push(() => this._write(chunk, _enc, cb));
      return;
    }
    const sk = this.sk;
    if (sk === null || !SENDABLE.includes(sk.state) || sk.fin_queued) return cb(new TcpSocketError("EPIPE", "write"));
    this.written += chunk.length;
    this.touch();
    if (tcpSendmsg(sk, chunk)) return cb();
    sk.sndWait = true;
    this.blockedWrite = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    activity++;
    if (this.connecting) {
      this.deferred.push(() => this._final(cb));
      return;
    }
    if (this.sk !== null) tcpShutdown(this.sk);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    activity++;
    const sk = this.sk;
    if (sk !== null) {
      sk.user = null;
      // Bytes still in the stream's buffer were never read by the application: to the peer that
      // is a close with unread data, which Linux answers with RST (Node 22+ buffers 64 KiB here).
      if (this.readableLength > 0 && !this.readableEnded) tcpAbort(sk);
      else tcpClose(sk);
    }
    this.connecting = false;
    cb(err);
  }

  /** net.Socket.resetAndDestroy: an abortive close (RST). */
  resetAndDestroy(): this {
    activity++;
    if (this.sk !== null) {
      this.sk.orphan = true;
      this.sk.user = null;
      tcpAbort(this.sk);
    }
    return this.destroy();
  }

  /** net.Socket.destroySoon: end, then destroy once everything is written. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once("finish", () => this.destroy());
  }

  /** Idle timeout in ms of virtual time; 0 disables it. */
  setTimeout(ms: number, cb?: () => void): this {
    // As net.Socket: a callback is a once-listener, and ms 0 takes it away again (node:http's agent
    // calls setTimeout(0, cb) each time it takes a kept-alive socket back).
    if (cb) {
      if (ms === 0) this.removeListener("timeout", cb);
      else this.once("timeout", cb);
    }
    this.timeoutMs = ms;
    const sk = this.sk;
    if (sk !== null) {
      if (ms > 0) sk.userTimer.arm(this.ns.sim.sched.now + ms * 1e6);
      else sk.userTimer.stop();
    }
    return this;
  }

  get timeout(): number {
    return this.timeoutMs;
  }

  private touch(): void {
    if (this.timeoutMs > 0 && this.sk !== null) this.sk.userTimer.arm(this.ns.sim.sched.now + this.timeoutMs * 1e6);
  }

  /** Disables (true) or enables Nagle's algorithm (TCP_NODELAY). */
  setNoDelay(noDelay = true): this {
    this.noDelay = noDelay;
    if (this.sk !== null) {
      this.sk.nodelay = noDelay;
      if (noDelay) tcpWriteXmit(this.sk);
    }
    return this;
  }

  /**
   * SO_KEEPALIVE with TCP_KEEPIDLE = initialDelay ms (Linux's 2 h when 0); probes then follow
   * Linux's defaults (every 75 s, 9 unanswered probes give ETIMEDOUT).
   */
  setKeepAlive(enable = false, initialDelay = 0): this {
    const sk = this.sk;
    if (sk !== null) {
      sk.keepalive = enable;
      sk.keepaliveTime = initialDelay > 0 ? initialDelay * 1e6 : 7200e9;
      if (enable && sk.state === TcpState.ESTABLISHED) sk.skTimer.arm(this.ns.sim.sched.now + sk.keepaliveTime);
    }
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  get remoteAddress(): string | undefined {
    return this.sk ? formatIpv4(this.sk.daddr) : undefined;
  }
  get remotePort(): number | undefined {
    return this.sk?.dport;
  }
  get remoteFamily(): string | undefined {
    return this.sk ? "IPv4" : undefined;
  }
  get localAddress(): string | undefined {
    return this.sk ? formatIpv4(this.sk.saddr) : undefined;
  }
  get localPort(): number | undefined {
    return this.sk?.sport;
  }
  get localFamily(): string | undefined {
    return this.sk ? "IPv4" : undefined;
  }
  address(): { address: string; family: string; port: number } | Record<string, never> {
    return this.sk ? { address: formatIpv4(this.sk.saddr), family: "IPv4", port: this.sk.sport } : {};
  }
  /** Bytes given to the socket by the application (net.Socket.bytesWritten). */
  get bytesWritten(): number {
    return this.written;
  }
  get bytesRead(): number {
    return this.sk?.bytesReceived ?? 0;
  }
  get pending(): boolean {
    return this.sk === null || this.connecting;
  }
  get readyState(): string {
    if (this.connecting) return "opening";
    if (this.readable && this.writable) return "open";
    if (this.readable) return "readOnly";
    if (this.writable) return "writeOnly";
    return "closed";
  }
}

function onUserTimeout(sk: TcpSock): void {
  sk.wake(TcpEvent.TIMEOUT);
}

/** net.createConnection in a namespace: a TcpSocket connecting to opts.host:opts.port. */
export function createTcpConnection(ns: NetNamespace, opts: TcpConnectOptions, listener?: () => void): TcpSocket {
  return new TcpSocket(ns, { allowHalfOpen: opts.allowHalfOpen }).connect(opts, listener);
}

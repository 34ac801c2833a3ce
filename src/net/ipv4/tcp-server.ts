// A TCP server shaped like net.Server ('listening', 'connection' with a TcpSocket, 'close',
// 'error', address(), close()), over a listener in a namespace; pause() leaves connections in
// the accept queue, so the listen backlog can be seen at work.

import { EventEmitter } from "node:events";
import { formatIpv4, parseIpv4 } from "../../wire/index.js";
import type { NetNamespace } from "../core/netns.js";
import { tcpListen, tcpUnlisten } from "./tcp.js";
import { TcpEvent, type TcpUser } from "./tcp-sock.js";
import { TcpSocket, TcpSocketError } from "./tcp-socket.js";
import type { TcpListener } from "./tcp-table.js";

export interface TcpServerOptions {
  allowHalfOpen?: boolean;
  /**
   * Start with accepting paused (not net's pauseOnConnect, which accepts and pauses reading):
   * established connections wait in the accept queue up to the backlog until resume().
   */
  acceptPaused?: boolean;
  noDelay?: boolean;
}

export interface TcpListenOptions {
  port?: number;
  host?: string;
  /** Accept-queue length (listen(2) backlog); Node's default 511. */
  backlog?: number;
  /** SO_REUSEADDR (default true, as Node sets it). */
  reuseAddr?: boolean;
}

/** net.Server in a namespace: 'listening', 'connection' (a TcpSocket), 'close', 'error'. */
export class TcpServer extends EventEmitter implements TcpUser {
  listener: TcpListener | null = null;
  private readonly connections = new Set<TcpSocket>();
  private closing = false;

  constructor(
    readonly ns: NetNamespace,
    readonly opts: TcpServerOptions = {},
    connectionListener?: (s: TcpSocket) => void,
  ) {
    super();
    if (connectionListener) this.on("connection", connectionListener);
  }

  listen(opts: TcpListenOptions | number, cb?: () => void): this {
    const o = typeof opts === "number" ? { port: opts } : opts;
    if (cb) this.once("listening", cb);
    let addr = 0;
    if (o.host !== undefined && o.host !== "0.0.0.0") {
      const r = parseIpv4(o.host);
      if (!r.ok) throw new TcpSocketError("EINVAL", "listen", o.host, o.port);
      addr = r.value;
    }
    const l = tcpListen(this.ns, addr, o.port ?? 0, o.backlog ?? 511, o.reuseAddr ?? true, this);
    if (typeof l === "string") {
      process.nextTick(() => this.emit("error", new TcpSocketError(l, "listen", o.host ?? "0.0.0.0", o.port)));
      return this;
    }
    this.listener = l;
    l.paused = this.opts.acceptPaused ?? false;
    process.nextTick(() => this.emit("listening"));
    return this;
  }

  get listening(): boolean {
    return this.listener !== null && !this.listener.closed;
  }

  address(): { address: string; family: string; port: number } | null {
    const l = this.listener;
    return l ? { address: formatIpv4(l.addr), family: "IPv4", port: l.port } : null;
  }

  /** Stops handing out connections; they wait in the accept queue, then SYNs are dropped. */
  pause(): this {
    if (this.listener) this.listener.paused = true;
    return this;
  }

  resume(): this {
    if (this.listener) {
      this.listener.paused = false;
      this.listener.wake(TcpEvent.ACCEPT);
    }
    return this;
  }

  /** @internal */
  tcpEvent(ev: number): void {
    const l = this.listener;
    if (!(ev & TcpEvent.ACCEPT) || l === null || l.closed) return;
    while (!l.paused && l.acceptQueue.length > 0) {
      const sk = l.acceptQueue.shift()!;
      sk.parent = null;
      const s = new TcpSocket(this.ns, { allowHalfOpen: this.opts.allowHalfOpen });
      s.attach(sk);
      if (this.opts.noDelay) s.setNoDelay(true);
      this.connections.add(s);
      s.once("close", () => {
        this.connections.delete(s);
        this.maybeClosed();
      });
      this.emit("connection", s);
    }
  }

  /** Stops listening; 'close' once every accepted connection has closed (net.Server.close). */
  close(cb?: (err?: Error) => void): this {
    if (cb) this.once("close", cb);
    if (this.listener) tcpUnlisten(this.listener);
    this.closing = true;
    process.nextTick(() => this.maybeClosed());
    return this;
  }

  getConnections(cb: (err: Error | null, n: number) => void): void {
    process.nextTick(() => cb(null, this.connections.size));
  }

  private maybeClosed(): void {
    if (this.closing && this.connections.size === 0) {
      this.closing = false;
      this.emit("close");
    }
  }
}

/** net.createServer in a namespace. */
export function createTcpServer(ns: NetNamespace, opts: TcpServerOptions = {}, connectionListener?: (s: TcpSocket) => void): TcpServer {
  return new TcpServer(ns, opts, connectionListener);
}

// The TCP programs a scenario's pods run, one per TCP containerPort: the first kind in the list
// that serves the port runs on it (apps.ts holds the list; the echo server serves any port). Each
// kind listens on 0.0.0.0 in the pod's namespace and reports the connections it accepts, so steps
// can say which pod answered and which source it saw. Kinds run on the virtual clock.

import type { Cluster, ContainerPort, PodRuntime } from "../k8s/index.js";
import {
  TcpEvent,
  type TcpListener,
  type TcpSock,
  TcpState,
  type TcpUser,
  tcpAccept,
  tcpClose,
  tcpDestroy,
  tcpListen,
  tcpRecvmsg,
  tcpSendmsg,
  tcpUnlisten,
} from "../net/index.js";
import { formatIpv4 } from "../wire/index.js";

/** A connection an app accepted. */
export interface TcpAccept {
  readonly pod: PodRuntime;
  readonly container: string;
  readonly port: number;
  /** The kind of app that accepted it ("echo", …). */
  readonly kind: string;
  /** The peer as the app sees it (getpeername): after any NAT on the way. */
  readonly from: { readonly address: string; readonly port: number };
  readonly t: number;
  /** The kernel socket, for steps that follow the connection to its close. */
  readonly sk: TcpSock;
}

/** What a kind of app is given to start on one port. */
export interface TcpAppContext {
  readonly cluster: Cluster;
  readonly pod: PodRuntime;
  readonly container: string;
  readonly port: ContainerPort;
  /** To be called with every connection the app accepts. */
  accepted(sk: TcpSock): void;
}

/** A running TCP app. */
export interface TcpApp {
  readonly kind: string;
  readonly port: number;
  /** The process exits: it stops listening and closes its connections (FIN, or RST with unread data, as close(2)). */
  close(): void;
  /** The pod is deleted: its sockets vanish with its namespace, nothing more is sent. */
  destroy(): void;
}

/** A kind of TCP app: which ports it serves and how it starts (undefined: the port could not be bound). */
export interface TcpAppKind {
  readonly name: string;
  serves(port: ContainerPort): boolean;
  start(cx: TcpAppContext): TcpApp | undefined;
}

/** Binds a listener on 0.0.0.0:port for `user`; undefined when the port is taken (a second container declaring it). */
export function listenOn(cx: TcpAppContext, user: TcpUser): TcpListener | undefined {
  const l = tcpListen(cx.pod.ns, 0, cx.port.containerPort, 511, true, user);
  return typeof l === "string" ? undefined : l;
}

/** The echo server: accepts, sends every byte back as it arrives, closes when the peer has closed. */
export const tcpEchoApp: TcpAppKind = {
  name: "echo",
  serves: () => true,
  start(cx) {
    const app = new TcpEchoServer(cx);
    return app.listener === undefined ? undefined : app;
  },
};

class TcpEchoServer implements TcpApp, TcpUser {
  readonly kind = "echo";
  readonly listener: TcpListener | undefined;
  private readonly conns = new Set<EchoConnection>();

  constructor(private readonly cx: TcpAppContext) {
    this.listener = listenOn(cx, this);
  }

  get port(): number {
    return this.cx.port.containerPort;
  }

  tcpEvent(ev: number): void {
    const l = this.listener;
    if (!(ev & TcpEvent.ACCEPT) || l === undefined || l.closed) return;
    for (;;) {
      const c = new EchoConnection(this.conns);
      const sk = tcpAccept(l, c);
      if (sk === null) return;
      c.attach(sk);
      this.cx.accepted(sk);
    }
  }

  close(): void {
    if (this.listener) tcpUnlisten(this.listener);
    for (const c of [...this.conns]) c.close();
  }

  destroy(): void {
    if (this.listener) tcpDestroy(this.listener);
    for (const c of [...this.conns]) c.destroy();
  }
}

/** One accepted connection of the echo server: reads what arrives and writes it back. */
class EchoConnection implements TcpUser {
  private sk: TcpSock | null = null;
  /** The send buffer is full: reading waits for room (so the peer's window closes, as a real echo's would). */
  private blocked = false;

  constructor(private readonly set: Set<EchoConnection>) {}

  attach(sk: TcpSock): void {
    this.set.add(this);
    this.sk = sk;
    sk.readerWaiting = true;
    // Data (and a FIN) may have arrived before the accept.
    sk.wake(TcpEvent.READ);
  }

  tcpEvent(ev: number): void {
    const sk = this.sk;
    if (sk === null) return;
    if (ev & (TcpEvent.ERROR | TcpEvent.CLOSE) || sk.state === TcpState.CLOSE) return this.close();
    if (ev & TcpEvent.WRITE) {
      this.blocked = false;
      sk.sndWait = false;
    }
    this.pump(sk);
  }

  private pump(sk: TcpSock): void {
    while (!this.blocked && sk.rcvBytes > 0) {
      const data = tcpRecvmsg(sk, 65536);
      if (sk.state !== TcpState.ESTABLISHED && sk.state !== TcpState.CLOSE_WAIT) continue;
      if (!tcpSendmsg(sk, data)) {
        this.blocked = true;
        sk.sndWait = true;
      }
    }
    sk.readerWaiting = !this.blocked;
    // The peer has closed and everything it sent is echoed (queued): close, our FIN follows the data.
    if (!this.blocked && sk.fin_rcvd && sk.rcvBytes === 0) this.close();
  }

  close(): void {
    const sk = this.sk;
    this.set.delete(this);
    if (sk === null) return;
    this.sk = null;
    tcpClose(sk);
  }

  destroy(): void {
    const sk = this.sk;
    this.set.delete(this);
    this.sk = null;
    if (sk !== null) tcpDestroy(sk);
  }
}

/** The peer of an accepted socket as getpeername(2) gives it. */
export const peerOf = (sk: TcpSock): { address: string; port: number } => ({ address: formatIpv4(sk.daddr), port: sk.dport });

// The L7 proxy of an ingress controller or Gateway pod, behaving as ingress-nginx's nginx: it
// listens on the router's listeners in the pod's namespace, terminates the client's TCP (and TLS,
// with the certificate the router picks for the SNI), enforces nginx's header limits and
// client_header_timeout / keepalive_timeout on the virtual clock, and hands each request to
// proxy-request.ts. TLS session keys go to `onKeylog` (for the capture's Decryption Secrets Block).

import http from "node:http";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { createTcpServer, type TcpServer, type TcpSocket } from "../../net/index.js";
import type { Rng, Timer } from "../../sim/index.js";
import type { Cluster } from "../cluster/cluster.js";
import type { PodRuntime } from "../cluster/pod.js";
import { NGINX_LIMITS, nginxPage, nginxReason } from "./proxy-nginx.js";
import { DecisionNotes } from "./proxy-notes.js";
import { handleRequest, UpstreamPool } from "./proxy-request.js";
import type { L7Certificate, L7Listener, L7Router } from "./types.js";

/** One line of the proxy's access log (what nginx's log_format upstreaminfo records). */
export interface AccessLogEntry {
  readonly t: number;
  readonly listener: L7Listener;
  /** The client's address:port as the proxy's socket sees it. */
  readonly client: string;
  readonly requestId: string;
  readonly method: string;
  readonly host: string | undefined;
  readonly uri: string;
  readonly status: number;
  /** The routing decision, or why the request got the status it got. */
  readonly decision: string;
  /** pod IP:port the request went to ($upstream_addr: "a, b" when the first was refused and the next tried). */
  readonly upstream?: string;
  readonly sni?: string;
  readonly certificate?: string;
}

export interface L7ProxyOptions {
  cluster: Cluster;
  /** The pod the proxy runs in. */
  pod: PodRuntime;
  /** The current route table (it changes as objects change). */
  router: () => L7Router;
  /** The proxy's random stream (upstream picks, request IDs). */
  rng: Rng;
  /** TLS key log lines of the sessions the proxy terminates. */
  onKeylog?: (line: Buffer) => void;
  onLog?: (e: AccessLogEntry) => void;
}

/** What the proxy keeps per client connection. */
export interface ClientConn {
  readonly raw: TcpSocket;
  readonly listener: L7Listener;
  readonly remote: string;
  sni?: string;
  certificate?: string;
  timer: Timer | null;
  active: number;
}

/** The first byte of a TLS handshake record (RFC 8446 §5.1: ContentType handshake). */
const TLS_HANDSHAKE = 0x16;

export class L7Proxy {
  readonly log: AccessLogEntry[] = [];
  readonly notes: DecisionNotes;
  readonly upstreams: UpstreamPool;
  private readonly servers: TcpServer[] = [];
  private readonly conns = new WeakMap<Duplex, ClientConn>();
  private readonly open = new Set<ClientConn>();

  constructor(readonly opts: L7ProxyOptions) {
    this.notes = new DecisionNotes(opts.pod.attachment.podVeth);
    this.upstreams = new UpstreamPool(opts.pod.ns);
  }

  get pod(): PodRuntime {
    return this.opts.pod;
  }

  /** Listens on every listener of the router. */
  start(): this {
    // Listeners sharing a port (a Gateway's per-hostname listeners) share one socket: the router picks among them by Host.
    const ports = new Set<number>();
    for (const l of this.opts.router().listeners) {
      if (ports.has(l.port)) continue;
      ports.add(l.port);
      this.listen(l);
    }
    return this;
  }

  close(): void {
    for (const s of this.servers) s.close();
    for (const c of this.open) c.raw.destroy();
    this.upstreams.close();
    this.notes.close();
  }

  /** The log, and the caller's subscriber. */
  record(e: AccessLogEntry): void {
    this.log.push(e);
    this.opts.onLog?.(e);
  }

  /** A 32-hex-digit request ID ($req_id: 16 random bytes), from the proxy's seeded stream. */
  requestId(): string {
    let s = "";
    for (let i = 0; i < 4; i++) s += this.opts.rng.u32().toString(16).padStart(8, "0");
    return s;
  }

  private listen(l: L7Listener): void {
    const server = http.createServer({ requestTimeout: 0, headersTimeout: 0, keepAliveTimeout: 0, requireHostHeader: false, maxHeaderSize: 65536 }, (req, res) => {
      const conn = this.conns.get(req.socket);
      if (!conn) return void res.destroy();
      this.requestStarted(conn, res);
      handleRequest(this, conn, req, res);
    });
    server.keepAliveTimeout = 0;
    server.on("clientError", (err: NodeJS.ErrnoException, sock: Duplex) => this.clientError(l, err, sock));
    const tlsAccept = l.protocol === "HTTPS" ? this.tlsTerminator(l) : null;
    const startTls = (raw: TcpSocket, conn: ClientConn) => {
      const s = tlsAccept!(raw);
      this.conns.set(s, conn);
      s.once("secure", () => {
        conn.sni = s.servername || undefined;
        conn.certificate = this.opts.router().certificate(l, conn.sni).origin;
        server.emit("connection", s);
      });
      // A failed handshake (an alert, a client that rejects the certificate) ends the connection.
      s.on("error", () => conn.raw.destroy());
    };
    const accept = (raw: TcpSocket, conn: ClientConn) => {
      if (tlsAccept === null) return void server.emit("connection", raw);
      // nginx looks at the first byte: not a TLS record (0x16 handshake) means plain HTTP on the HTTPS port.
      raw.once("data", (first: Buffer) => {
        raw.pause();
        raw.unshift(first);
        if (first[0] !== TLS_HANDSHAKE) return void this.plainOnHttps(l, conn);
        startTls(raw, conn);
        raw.resume();
      });
    };
    const tcpServer = createTcpServer(this.opts.pod.ns, {}, (raw: TcpSocket) => {
      const conn: ClientConn = { raw, listener: l, remote: `${raw.remoteAddress}:${raw.remotePort}`, timer: null, active: 0 };
      this.conns.set(raw, conn);
      this.open.add(conn);
      raw.once("close", () => {
        this.disarm(conn);
        this.open.delete(conn);
      });
      raw.on("error", () => {});
      // tcp_nodelay on (nginx sets it on keep-alive connections; Node's http.Server does it only for sockets it accepts itself).
      raw.setNoDelay(true);
      // nginx: the first request's header must arrive within client_header_timeout of the accept.
      this.arm(conn, NGINX_LIMITS.clientHeaderTimeoutMs, "client_header_timeout");
      accept(raw, conn);
    }).listen(l.port);
    tcpServer.on("error", () => {});
    this.servers.push(tcpServer);
  }

  /** A TLS server end per connection, with the certificate the router picks for the SNI. */
  private tlsTerminator(l: L7Listener): (raw: TcpSocket) => tls.TLSSocket {
    const contexts = new Map<string, tls.SecureContext>();
    const contextOf = (c: L7Certificate): tls.SecureContext => {
      let ctx = contexts.get(c.cert);
      if (!ctx) contexts.set(c.cert, (ctx = tls.createSecureContext({ key: c.key, cert: c.cert })));
      return ctx;
    };
    const SNICallback = (name: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => {
      try {
        cb(null, contextOf(this.opts.router().certificate(l, name)));
      } catch (e) {
        cb(e as Error);
      }
    };
    return (raw) => {
      // Without SNI the callback is not called: the default certificate (no handshake timeout on
      // Node's real timers: client_header_timeout covers the handshake on the virtual clock).
      const s = new tls.TLSSocket(raw, { isServer: true, secureContext: contextOf(this.opts.router().certificate(l, undefined)), SNICallback });
      if (this.opts.onKeylog) s.on("keylog", this.opts.onKeylog);
      return s;
    };
  }

  private requestStarted(conn: ClientConn, res: http.ServerResponse): void {
    this.disarm(conn);
    conn.active++;
    res.once("close", () => {
      conn.active--;
      if (conn.active === 0 && !conn.raw.destroyed) this.arm(conn, NGINX_LIMITS.keepaliveTimeoutMs, "keepalive_timeout");
    });
  }

  private arm(conn: ClientConn, ms: number, why: "client_header_timeout" | "keepalive_timeout"): void {
    this.disarm(conn);
    const sched = this.opts.pod.ns.sim.sched;
    conn.timer = sched.after(ms * 1e6, () => {
      conn.timer = null;
      if (why === "client_header_timeout")
        this.record({ t: sched.now, listener: conn.listener, client: conn.remote, requestId: "", method: "", host: undefined, uri: "", status: 408, decision: "client_header_timeout (60s): closed", sni: conn.sni });
      // nginx closes without a response (the 408 is only logged), with a FIN (reset_timedout_connection off).
      conn.raw.end();
    });
  }

  private disarm(conn: ClientConn): void {
    conn.timer?.cancel();
    conn.timer = null;
  }

  /** nginx's answer to plain HTTP on an HTTPS port: 400 with its own page, then close. */
  private plainOnHttps(l: L7Listener, conn: ClientConn): void {
    const body = nginxPage(400, "plain-http-on-https");
    this.record({ t: this.opts.pod.ns.sim.now, listener: l, client: conn.remote, requestId: "", method: "", host: undefined, uri: "", status: 400, decision: "the plain HTTP request was sent to HTTPS port" });
    // The rest of what the client sent is read and dropped, so its FIN is seen and the connection closes.
    this.disarm(conn);
    conn.raw.on("data", () => {});
    conn.raw.resume();
    conn.raw.end(`HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  }

  /** A request Node's parser refused: nginx's 400 (header block too large: its own 400 page), then close. */
  private clientError(l: L7Listener, err: NodeJS.ErrnoException, sock: Duplex): void {
    const conn = this.conns.get(sock);
    const tooLarge = err.code === "HPE_HEADER_OVERFLOW";
    const status = 400;
    const body = nginxPage(status, tooLarge ? "header-too-large" : undefined);
    this.record({ t: this.opts.pod.ns.sim.now, listener: l, client: conn?.remote ?? "", requestId: "", method: "", host: undefined, uri: "", status, decision: `bad request (${err.code ?? err.message})` });
    if (!sock.writable) return void sock.destroy();
    sock.end(`HTTP/1.1 ${status} ${nginxReason(status)}\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  }
}

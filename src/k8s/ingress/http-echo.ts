// An HTTP backend in a pod: node:http over an emulated TCP listener on a container port, answering
// every request with what it saw, as the Gateway API conformance suite's echo server (echo-basic)
// does: a JSON body with the path, host, method, protocol, every request header (Go's canonical
// names, values as lists), and the pod's namespace and name; kubewire adds the pod's IP and the
// peer address, so a reader sees which backend answered and what the proxy in between added.

import http from "node:http";
import { createTcpServer, type TcpServer, type TcpSock, type TcpSocket } from "../../net/index.js";
import type { PodRuntime } from "../cluster/pod.js";

/** The JSON an echo backend answers with (echo-basic's RequestAssertions, plus ip and remote). */
export interface EchoResponse {
  path: string;
  host: string;
  method: string;
  proto: string;
  headers: Record<string, string[]>;
  namespace: string;
  ingress: string;
  service: string;
  pod: string;
  /** kubewire: the pod's IP and the address:port the request came from. */
  ip: string;
  remote: string;
}

/** A request an echo backend served, for steps and tests. */
export interface EchoServed {
  readonly pod: PodRuntime;
  readonly port: number;
  readonly response: EchoResponse;
  readonly t: number;
}

/** Go's textproto.CanonicalMIMEHeaderKey: "x-forwarded-for" → "X-Forwarded-For". */
export function canonicalHeaderKey(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

/** The headers of a request as echo-basic reports them (Host is not among them: Go moves it to r.Host). */
export function echoHeaders(rawHeaders: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const k = canonicalHeaderKey(rawHeaders[i]);
    if (k === "Host") continue;
    (out[k] ??= []).push(rawHeaders[i + 1]);
  }
  return out;
}

export class HttpEchoServer {
  readonly tcp: TcpServer;
  readonly http: http.Server;
  readonly served: EchoServed[] = [];
  private readonly listeners: ((s: EchoServed) => void)[] = [];
  private readonly conns = new Set<TcpSocket>();

  constructor(
    readonly pod: PodRuntime,
    readonly port: number,
    /** Called with the kernel socket of every connection accepted. */
    onAccept?: (sk: TcpSock) => void,
  ) {
    // No header or request timeouts: those run on Node's real timers, not the virtual clock.
    this.http = http.createServer({ requestTimeout: 0, headersTimeout: 0, keepAliveTimeout: 0, requireHostHeader: false }, (req, res) => this.answer(req, res));
    this.http.keepAliveTimeout = 0;
    this.tcp = createTcpServer(pod.ns, {}, (s: TcpSocket) => {
      // Go's net package (echo-basic is a Go server) sets TCP_NODELAY on every connection.
      s.setNoDelay(true);
      this.conns.add(s);
      s.once("close", () => this.conns.delete(s));
      if (s.sk) onAccept?.(s.sk);
      this.http.emit("connection", s);
    }).listen(port);
    // The port taken (another app, two containers declaring it): this server does not run, as in a pod.
    this.tcp.on("error", (e: Error) => {
      this.error = e.message;
    });
  }

  /** Why the server could not listen, if it could not. */
  error: string | undefined;

  get listening(): boolean {
    return this.error === undefined && this.tcp.listener !== null;
  }

  /** Called with every request served. Returns the unsubscribe function. */
  onServed(l: (s: EchoServed) => void): () => void {
    this.listeners.push(l);
    return () => this.listeners.splice(this.listeners.indexOf(l), 1);
  }

  /** The process exits: no more listening, its connections closed. */
  close(): void {
    this.tcp.close();
    for (const s of [...this.conns]) s.destroy();
  }

  /** The pod is gone: as close (its namespace takes the sockets with it). */
  destroy(): void {
    this.close();
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    // The body is read (and dropped) so that a POST completes; the echo is about the headers.
    req.resume();
    req.on("end", () => {
      const sock = req.socket;
      const response: EchoResponse = {
        path: req.url ?? "",
        host: req.headers.host ?? "",
        method: req.method ?? "",
        proto: `HTTP/${req.httpVersion}`,
        headers: echoHeaders(req.rawHeaders),
        namespace: this.pod.pod.metadata.namespace,
        ingress: "",
        service: "",
        pod: this.pod.name,
        ip: this.pod.ipString,
        remote: `${sock.remoteAddress}:${sock.remotePort}`,
      };
      const served: EchoServed = { pod: this.pod, port: this.port, response, t: this.pod.ns.sim.now };
      this.served.push(served);
      for (const l of [...this.listeners]) l(served);
      // No Date header: the wall clock has no place in a deterministic capture.
      res.sendDate = false;
      res.setHeader("Content-Type", "application/json");
      res.setHeader("X-Content-Type-Options", "nosniff");
      res.end(`${JSON.stringify(response, null, 1)}\n`);
    });
  }
}

/** Starts an echo backend on `port` in the pod's namespace. */
export const serveHttpEcho = (pod: PodRuntime, port: number): HttpEchoServer => new HttpEchoServer(pod, port);

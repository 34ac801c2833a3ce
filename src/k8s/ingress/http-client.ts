// An HTTP client in any namespace (a pod, a node, a host outside the cluster): node:http's client
// over an emulated TCP connection, with node:tls on top for https:// (SNI = the URL's host, as
// curl sends it). The URL names what the request says (Host, SNI, path); `connect` names where
// the TCP connection goes when that is not the URL's host (curl's --connect-to: a load balancer's
// address for a name no DNS knows). Keys of TLS sessions go to `keylog` (NSS key log lines).

import http from "node:http";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { createTcpConnection, type NetNamespace, type TcpSocket } from "../../net/index.js";

export interface HttpRequestOptions {
  /** http://host[:port]/path?query or https://… */
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Where to connect (IPv4 address and port) when it is not the URL's host. */
  connect?: { addr: string; port: number };
  /** Accept any certificate (curl -k). Default false: the server's certificate must chain to `ca`. */
  insecure?: boolean;
  /** Trusted CA certificates (PEM). */
  ca?: string | string[];
}

export interface HttpTlsInfo {
  protocol: string | null;
  cipher: string;
  /** The subject CN of the certificate the server presented. */
  subject: string;
  authorized: boolean;
  authorizationError?: string;
}

export interface HttpResult {
  status: number;
  statusMessage: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The client's own address:port on the connection. */
  local: string;
  tls?: HttpTlsInfo;
}

/** A request in flight: settled once it completes or fails. */
export interface HttpExchange {
  readonly done: Promise<HttpResult>;
  readonly settled: boolean;
  readonly result?: HttpResult;
  readonly error?: Error;
}

export interface HttpClientOptions {
  /** Reuse connections between requests (HTTP keep-alive). Default false: one connection per request. */
  keepAlive?: boolean;
  /** Called with every TLS key log line of this client's sessions. */
  keylog?: (line: Buffer) => void;
}

interface Target {
  https: boolean;
  host: string;
  port: number;
  addr: string;
  connectPort: number;
  path: string;
}

function target(o: HttpRequestOptions): Target {
  const u = new URL(o.url);
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`${o.url}: only http:// and https:// URLs`);
  const https = u.protocol === "https:";
  const port = u.port === "" ? (https ? 443 : 80) : Number(u.port);
  const host = u.hostname;
  if (!o.connect && !/^\d+\.\d+\.\d+\.\d+$/.test(host)) throw new Error(`${o.url}: ${host} is a name and kubewire's client resolves none; say where to connect`);
  return { https, host, port, addr: o.connect?.addr ?? host, connectPort: o.connect?.port ?? port, path: `${u.pathname}${u.search}` };
}

export class HttpClient {
  private readonly agent: http.Agent;

  constructor(
    readonly ns: NetNamespace,
    private readonly opts: HttpClientOptions = {},
  ) {
    this.agent = new http.Agent({ keepAlive: opts.keepAlive ?? false, maxSockets: 1 });
    // Never Node's own net.createConnection: every connection goes over the emulated TCP.
    this.agent.createConnection = ((ro: { kwTarget: Target; kwRequest: HttpRequestOptions }, cb: (err: Error | null, s?: Duplex) => void) =>
      this.connect(ro.kwTarget, ro.kwRequest, cb)) as never;
  }

  /** Sends one request; the exchange settles as the simulation runs. */
  request(o: HttpRequestOptions): HttpExchange {
    const t = target(o);
    const ex: { settled: boolean; result?: HttpResult; error?: Error; done?: Promise<HttpResult> } = { settled: false };
    ex.done = new Promise<HttpResult>((resolve, reject) => {
      const fail = (e: Error) => {
        if (ex.settled) return;
        ex.settled = true;
        ex.error = e;
        reject(e);
      };
      const req = http.request(
        {
          host: t.host,
          port: t.port,
          defaultPort: t.https ? 443 : 80,
          method: o.method ?? (o.body === undefined ? "GET" : "POST"),
          path: t.path,
          headers: o.headers,
          agent: this.agent,
          kwTarget: t,
          kwRequest: o,
        } as http.RequestOptions,
        (res) => {
          let body = "";
          // The socket leaves the response once it ends (back to the agent, or closed): read it now.
          const sock = res.socket as Duplex | null;
          const local = localOf(sock);
          const tlsNow = sock instanceof tls.TLSSocket ? tlsInfo(sock) : undefined;
          res.setEncoding("utf8");
          res.on("data", (d: string) => (body += d));
          res.on("error", fail);
          res.on("end", () => {
            const result: HttpResult = { status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? "", headers: res.headers, body, local };
            if (tlsNow) result.tls = tlsNow;
            ex.settled = true;
            ex.result = result;
            resolve(result);
          });
        },
      );
      req.on("error", fail);
      req.end(o.body);
    });
    // The caller reads `settled`; an unobserved rejection must not end the process.
    ex.done.catch(() => {});
    return ex as HttpExchange;
  }

  /** Closes idle kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private connect(t: Target, o: HttpRequestOptions, cb: (err: Error | null, s?: Duplex) => void): undefined {
    // curl sets TCP_NODELAY (since 7.50.2).
    const raw: TcpSocket = createTcpConnection(this.ns, { host: t.addr, port: t.connectPort, noDelay: true }, () => {
      raw.off("error", onErr);
      if (!t.https) return cb(null, raw);
      const servername = /^\d+\.\d+\.\d+\.\d+$/.test(t.host) ? undefined : t.host;
      const s = tls.connect({ socket: raw, servername, rejectUnauthorized: !o.insecure, ca: o.ca });
      tcpUnder.set(s, raw);
      if (this.opts.keylog) s.on("keylog", this.opts.keylog);
      // The request goes out once the handshake is done (a failed handshake fails the request).
      s.once("secureConnect", () => cb(null, s));
      s.once("error", (e) => cb(e));
    });
    const onErr = (e: Error) => cb(e);
    raw.once("error", onErr);
    return undefined;
  }
}

/** The TCP socket under each TLS socket this module opened. */
const tcpUnder = new WeakMap<Duplex, TcpSocket>();

function localOf(sock: Duplex | null): string {
  if (sock === null) return "";
  const raw = tcpUnder.get(sock) ?? (sock as TcpSocket);
  const a = typeof raw.address === "function" ? raw.address() : {};
  return "address" in a ? `${a.address}:${a.port}` : "";
}

function tlsInfo(s: tls.TLSSocket): HttpTlsInfo {
  const cert = s.getPeerCertificate();
  const info: HttpTlsInfo = { protocol: s.getProtocol(), cipher: s.getCipher()?.name ?? "", subject: String(cert?.subject?.CN ?? ""), authorized: s.authorized };
  if (s.authorizationError) info.authorizationError = String(s.authorizationError);
  return info;
}

/** One request from `ns` with a client of its own (a new connection). */
export function httpRequest(ns: NetNamespace, o: HttpRequestOptions, copts: HttpClientOptions = {}): HttpExchange {
  return new HttpClient(ns, copts).request(o);
}

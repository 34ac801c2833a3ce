// One request through the proxy: nginx's checks (header limits, a Host on HTTP/1.1, a path that
// stays under the root), the router's decision, then a redirect, an answer of the proxy's own, or
// the request on its way to a backend pod over the proxy's own TCP connection (kept alive, as
// ingress-nginx's upstream keepalive), with ingress-nginx's headers added and the decision noted
// on the packet that carries it.

import http from "node:http";
import type { Duplex } from "node:stream";
import { createTcpConnection, type NetNamespace, type TcpSocket } from "../../net/index.js";
import type { ClientConn, L7Proxy } from "./proxy.js";
import { headerLimit, NGINX_LIMITS, nginxPage, nginxReason, RESPONSE_NOT_COPIED, upstreamHeaders } from "./proxy-nginx.js";
import { pickBackend, pickUpstream, resolveUpstreams, type Upstream } from "./proxy-upstream.js";
import type { L7Decision, L7Source } from "./types.js";

/** HSTS as ingress-nginx adds it on HTTPS (hsts: true, max-age 1 year, includeSubDomains). */
const HSTS = "max-age=31536000; includeSubDomains";

/** Keep-alive connections to upstream pods; no SO_KEEPALIVE probes (nginx sets none), idle ones close after 60 s. */
export class UpstreamPool {
  readonly agent: http.Agent;

  constructor(ns: NetNamespace) {
    // The idle timeout is set on free sockets only (keepSocketAlive); the agent destroys a free socket that times out.
    const agent = new http.Agent({ keepAlive: true });
    agent.keepSocketAlive = (socket: Duplex & { setTimeout?: (ms: number) => void }) => {
      socket.setTimeout?.(NGINX_LIMITS.upstreamKeepaliveTimeoutMs);
      return true;
    };
    // tcp_nodelay on (nginx's default for keep-alive connections).
    agent.createConnection = ((o: { host: string; port: number }) => createTcpConnection(ns, { host: o.host, port: o.port, noDelay: true })) as never;
    this.agent = agent;
  }

  close(): void {
    this.agent.destroy();
  }
}

export const describeSource = (s: L7Source | undefined): string => (s ? `${s.kind} ${s.namespace}/${s.name}: ${s.detail}` : "default backend");

/** Splits a request target into path and query. */
function splitUri(url: string): { path: string; query: string } {
  const q = url.indexOf("?");
  return q < 0 ? { path: url, query: "" } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

/** The Host header without the port, lower case. */
function hostOnly(h: string | undefined): string | undefined {
  if (h === undefined || h === "") return undefined;
  return h.replace(/:\d+$/, "").toLowerCase();
}

export function handleRequest(proxy: L7Proxy, conn: ClientConn, req: http.IncomingMessage, res: http.ServerResponse): void {
  const sim = proxy.pod.ns.sim;
  const l = conn.listener;
  const https = l.protocol === "HTTPS";
  const requestId = proxy.requestId();
  const uri = req.url ?? "";
  const method = req.method ?? "";
  const host = hostOnly(req.headers.host);
  const log = (status: number, decision: string, upstream?: string) =>
    proxy.record({ t: sim.now, listener: l, client: conn.remote, requestId, method, host, uri, status, decision, upstream, sni: conn.sni, certificate: conn.certificate });
  res.sendDate = false;
  const answer = (status: number, decision: string, o: { close?: boolean; location?: string; variant?: "header-too-large" } = {}) => {
    const body = nginxPage(status, o.variant);
    res.statusCode = status;
    res.statusMessage = nginxReason(status) ?? "";
    res.setHeader("Server", "nginx");
    res.setHeader("Content-Type", "text/html");
    res.setHeader("Content-Length", Buffer.byteLength(body));
    if (o.location) res.setHeader("Location", o.location);
    if (o.close) res.setHeader("Connection", "close");
    if (https && status !== 400 && status !== 414) res.setHeader("Strict-Transport-Security", HSTS);
    req.resume();
    res.end(body);
    log(status, decision);
  };

  const limit = headerLimit(`${method} ${uri} HTTP/${req.httpVersion}`, req.rawHeaders);
  if (limit) return answer(limit.status, `large_client_header_buffers: ${limit.why}`, { close: true, variant: limit.status === 400 ? "header-too-large" : undefined });
  // A missing Host on HTTP/1.1 and a path climbing above the root are the router's 400s (nginx's checks).
  const { path, query } = splitUri(uri);

  let d: L7Decision;
  try {
    d = proxy.opts.router().route({ listener: l, host, sni: conn.sni, method, path, query, headers: req.headers, httpVersion: req.httpVersion });
  } catch (e) {
    return answer(500, `router failed: ${(e as Error).message}`);
  }
  if (d.kind === "redirect") return answer(d.status, `${describeSource(d.source)}: redirect to ${d.location}`, { location: d.location });
  if (d.kind === "respond") return answer(d.status, `${describeSource(d.source)}: ${d.reason}`);

  const backend = pickBackend(d.backends, proxy.opts.rng);
  if (!backend) return answer(503, `${describeSource(d.source)}: no backend with a weight above 0`);
  if (backend.failure) return answer(backend.failure.status, `${describeSource(d.source)}: ${backend.failure.reason}`);
  const r = resolveUpstreams(proxy.opts.cluster, backend);
  if (!r.ok) return answer(503, `${describeSource(d.source)}: ${r.why}`);
  const source = describeSource(d.source);
  // proxy_request_buffering on: the body is read whole first, so a failed attempt can be tried again.
  const body: Buffer[] = [];
  req.on("data", (chunk: Buffer) => body.push(chunk));
  req.on("end", () => {
    const tried: Upstream[] = [];
    const attempt = (): void => {
      const left = r.upstreams.filter((u) => !tried.includes(u));
      const up = pickUpstream(left, proxy.opts.rng);
      tried.push(up);
      const note = `${source} → ${up.addr}:${up.port}`;
      forward(proxy, conn, req, res, Buffer.concat(body), {
        up,
        note,
        requestId,
        https,
        // $upstream_addr: every peer tried, as nginx logs it.
        onDone: (status) => log(status, source, tried.map((u) => `${u.addr}:${u.port}`).join(", ")),
        // proxy_next_upstream error timeout, proxy_next_upstream_tries 3 (ingress-nginx's defaults).
        // A timeout is answered 504, any other failure 502.
        onError: (why) =>
          tried.length < NEXT_UPSTREAM_TRIES && tried.length < r.upstreams.length ? attempt() : answer(why === "timeout" ? 504 : 502, `${note}: ${why} (${tried.length} tried)`),
      }, d);
    };
    attempt();
  });
}

/** ingress-nginx's proxy-next-upstream-tries. */
const NEXT_UPSTREAM_TRIES = 3;

interface Forward {
  up: Upstream;
  note: string;
  requestId: string;
  https: boolean;
  onDone: (status: number) => void;
  onError: (why: string) => void;
}

function forward(proxy: L7Proxy, conn: ClientConn, req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, f: Forward, d: L7Decision & { kind: "proxy" }): void {
  const sim = proxy.pod.ns.sim;
  const headers = upstreamHeaders(
    req.rawHeaders,
    { remoteAddr: conn.raw.remoteAddress ?? "", serverPort: conn.listener.port, scheme: f.https ? "https" : "http", host: req.headers.host ?? "", requestId: f.requestId },
    d,
  );
  const ureq = http.request({ host: f.up.addr, port: f.up.port, method: req.method, path: req.url, headers: headers.flat(), setHost: false, agent: proxy.upstreams.agent });
  ureq.on("socket", (s: Duplex) => {
    const sock = s as TcpSocket;
    const mark = () => {
      if (sock.localPort !== undefined) proxy.notes.add(sock.localPort, f.note);
    };
    if (sock.localPort !== undefined) mark();
    else sock.once("connect", mark);
    if (sim.trace.on) sim.trace.emit({ t: sim.now, ns: proxy.pod.ns.name, kind: "log", text: `l7 ${f.note}` });
  });
  ureq.on("response", (ures) => {
    res.statusCode = ures.statusCode ?? 502;
    res.statusMessage = ures.statusMessage ?? "";
    res.setHeader("Server", "nginx");
    const raw = ures.rawHeaders;
    const copied = new Map<string, string[]>();
    for (let i = 0; i + 1 < raw.length; i += 2) {
      if (RESPONSE_NOT_COPIED.has(raw[i].toLowerCase())) continue;
      const list = copied.get(raw[i]);
      if (list) list.push(raw[i + 1]);
      else copied.set(raw[i], [raw[i + 1]]);
    }
    for (const [k, v] of copied) res.setHeader(k, v.length === 1 ? v[0] : v);
    if (f.https) res.setHeader("Strict-Transport-Security", HSTS);
    ures.pipe(res);
    ures.on("end", () => f.onDone(res.statusCode));
  });
  // proxy_read_timeout on the virtual clock (the emulated socket's idle timer).
  let timedOut = false;
  ureq.setTimeout(NGINX_LIMITS.proxyReadTimeoutMs, () => {
    timedOut = true;
    ureq.destroy();
  });
  ureq.on("error", (e: NodeJS.ErrnoException) => {
    if (!res.headersSent) f.onError(timedOut ? "timeout" : (e.code ?? e.message));
    else res.destroy();
  });
  ureq.end(body.length > 0 ? body : undefined);
}

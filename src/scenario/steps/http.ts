// `http: {from, url, connect?, method?, headers?, body?, insecure?, ca?}`: one HTTP request (https://
// through node:tls, SNI = the URL's host) from a pod, a node or an external host, over the emulated
// TCP, as curl sends it: the URL says what the request asks for (Host, SNI, path), `connect` where
// the connection goes when the URL's host is a name (curl --connect-to: `lb/ingress-nginx/
// ingress-nginx-controller:443`). Then what came back: the status, the echo backend that answered
// and the headers it saw, a redirect's Location, the certificate presented. The session's TLS
// keys go into the capture. Needs the asynchronous runner (node:http and node:tls run on Node's
// queues): ScenarioRun.runAllAsync.

import { deployGateways, deployIngressNginx, type EchoResponse, HttpClient, type HttpResult, type K8sObject } from "../../k8s/index.js";
import { formatDuration } from "../duration.js";
import { code, type Located } from "../model.js";
import { formatHost, formatTarget, type HostRef, resolveHost, resolveTarget, type TargetRef } from "../refs.js";
import type { Cursor } from "../yaml.js";
import { checkResolved, locate, readDuration, readSender, readTarget } from "./fields.js";
import { defineStep } from "./registry.js";

export interface HttpExpect {
  status?: number;
  /** The pod that answered (NAME, NAMESPACE/NAME, or a Deployment's name: its pods' prefix). */
  backend?: string;
  /** Header values the backend saw (case-insensitive names). */
  headers?: Record<string, string>;
  location?: string;
  bodyContains?: string;
  /** The subject CN of the certificate the server presented. */
  certificate?: string;
}

export interface HttpSpec {
  from: Located<HostRef>;
  /** A Secret (NAMESPACE/NAME) whose ca.crt, else tls.crt, the client trusts. */
  ca?: Located<string>;
  url: Located<string>;
  connect?: Located<TargetRef>;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  insecure: boolean;
  timeout: number;
  expect: HttpExpect;
}

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

export const httpStep = defineStep<HttpSpec>({
  type: "http",
  synopsis: "http: {from, url, connect?: HOST:PORT, method?, headers?, body?, insecure?, ca?: SECRET}; expect: {status, backend, headers, location, bodyContains, certificate}",
  expects: true,
  timed: true,
  read(body, expect, timeout, rc) {
    if (!body.isMap()) return undefined;
    body.known(["from", "url", "connect", "method", "headers", "body", "insecure", "ca"]);
    const from = readSender(body.get("from"));
    const u = body.get("url");
    const url = u.requiredStr("an http:// or https:// URL");
    if (url !== undefined) {
      let ok = false;
      try {
        ok = /^https?:$/.test(new URL(url).protocol);
      } catch {}
      if (!ok) u.error(code("invalid-value"), `"${url}" is not an http:// or https:// URL`);
    }
    const c = body.get("connect");
    const connect = c.present ? readTarget(c, "tcp") : undefined;
    const m = body.get("method");
    const method = m.present ? m.str()?.toUpperCase() : undefined;
    if (method !== undefined && !METHODS.includes(method)) m.error(code("invalid-value"), `"${method}" is not an HTTP method kubewire sends (${METHODS.join(", ")})`);
    const h = body.get("headers");
    const headers = h.present ? h.stringMap("a map of header names to values") : undefined;
    const b = body.get("body");
    const text = b.present ? b.str() : undefined;
    const insecure = body.get("insecure").bool() ?? false;
    const caC = body.get("ca");
    const caName = caC.present ? caC.str() : undefined;
    const ca = caName === undefined ? undefined : locate(caC, caName.includes("/") ? caName : `default/${caName}`);
    const exp = readExpect(expect);
    const t = readDuration(timeout, "a timeout") ?? rc.timeout;
    if (!from || url === undefined || !exp) return undefined;
    return { from, url: locate(u, url), connect, method, headers, body: text, insecure, ca, timeout: t, expect: exp };
  },
  check(s, cx) {
    // The L7 controllers' Services (ingress-nginx-controller, <gateway>-gateway) exist once the run starts them.
    deployIngressNginx(cx.cluster, cx.objects);
    deployGateways(cx.cluster, cx.objects);
    checkResolved(cx, s.from, resolveHost(cx.cluster, s.from.value, true));
    if (s.connect) checkResolved(cx, s.connect, resolveTarget(cx.cluster, s.connect.value));
    else if (!/^https?:\/\/\d+\.\d+\.\d+\.\d+(:\d+)?(\/|$)/.test(s.url.value))
      cx.error(s.url, "invalid-value", `${new URL(s.url.value).hostname} is a name, and the http step resolves none`, "say where to connect: connect: HOST:PORT (e.g. lb/ingress-nginx/ingress-nginx-controller:443), as curl --connect-to");
    if (s.ca && caOf(cx.objects, s.ca.value) === undefined)
      cx.error(s.ca, "invalid-value", `no Secret ${s.ca.value} with a ca.crt or tls.crt`, "ca names the Secret whose certificate the client trusts (the Ingress's TLS Secret for a self-signed one)");
  },
  title: (s) => `http ${s.method ?? (s.body === undefined ? "GET" : "POST")} ${s.url.value} from ${formatHost(s.from.value)}${s.connect ? ` via ${formatTarget(s.connect.value)}` : ""}`,
  run() {
    return { pass: false, observed: "not sent", why: "the http step runs on Node's queues: run the scenario with ScenarioRun.runAllAsync (kubewire run)" };
  },
  async runAsync(s, rt) {
    const c = rt.cluster;
    const from = resolveHost(c, s.from.value, true);
    if (!from.ok) return { pass: false, observed: "not sent", why: from.message };
    let connect: { addr: string; port: number } | undefined;
    if (s.connect) {
      const to = resolveTarget(c, s.connect.value);
      if (!to.ok) return { pass: false, observed: "not sent", why: to.message };
      connect = { addr: to.value.addr, port: to.value.port };
    }
    const client = new HttpClient(from.value.ns!, { keylog: (l) => rt.keylog(l) });
    const start = rt.sim.now;
    let ex: ReturnType<HttpClient["request"]>;
    try {
      const ca = s.ca ? caOf(rt.objects, s.ca.value) : undefined;
      ex = client.request({ url: s.url.value, method: s.method, headers: s.headers, body: s.body, connect, insecure: s.insecure, ca });
    } catch (e) {
      return { pass: false, observed: "not sent", why: (e as Error).message };
    }
    await rt.settle(start + s.timeout, () => ex.settled);
    client.close();
    if (!ex.settled) return { pass: false, observed: `no response within ${formatDuration(s.timeout)}`, why: "the request timed out" };
    if (ex.error) return { pass: false, observed: `error ${(ex.error as NodeJS.ErrnoException).code ?? ex.error.message}`, why: ex.error.message };
    return judge(s.expect, ex.result!, rt.sim.now - start);
  },
});

/** The certificate a Secret offers as a CA: its ca.crt, else its tls.crt (a self-signed one is its own CA). */
function caOf(objects: readonly K8sObject[], ref: string): string | undefined {
  const [ns, name] = ref.split("/");
  const secret = objects.find((o) => o.kind === "Secret" && o.metadata.namespace === ns && o.metadata.name === name);
  if (secret?.kind !== "Secret") return undefined;
  return (secret.data["ca.crt"] ?? secret.data["tls.crt"])?.toString("utf8");
}

/** The echo backend's answer, when the body is one. */
function echoOf(r: HttpResult): EchoResponse | undefined {
  if (!String(r.headers["content-type"] ?? "").startsWith("application/json")) return undefined;
  try {
    const e = JSON.parse(r.body) as EchoResponse;
    return typeof e.pod === "string" && typeof e.headers === "object" ? e : undefined;
  } catch {
    return undefined;
  }
}

function judge(e: HttpExpect, r: HttpResult, took: number): { pass: boolean; observed: string; why: string } {
  const echo = echoOf(r);
  const seen = [`${r.status} ${r.statusMessage} after ${formatDuration(took)}`];
  if (echo) seen.push(`answered by pod ${echo.namespace}/${echo.pod} (${echo.ip})`);
  if (r.headers.location) seen.push(`location ${r.headers.location}`);
  if (r.tls) seen.push(`${r.tls.protocol} certificate ${JSON.stringify(r.tls.subject)}${r.tls.authorized ? "" : ` (${r.tls.authorizationError ?? "not verified"})`}`);
  const why: string[] = [];
  if (e.status !== undefined && e.status !== r.status) why.push(`expected status ${e.status}, got ${r.status}`);
  if (e.backend !== undefined) {
    const key = echo ? `${echo.namespace}/${echo.pod}` : undefined;
    const want = e.backend.includes("/") ? e.backend : `default/${e.backend}`;
    if (!key || !(key === want || key.startsWith(`${want}-`))) why.push(`expected pod ${e.backend} to answer, ${key ? `${key} did` : "no echo backend answered"}`);
  }
  for (const [k, v] of Object.entries(e.headers ?? {})) {
    const got = echo ? Object.entries(echo.headers).find(([n]) => n.toLowerCase() === k.toLowerCase())?.[1] : undefined;
    if (!got?.includes(v)) why.push(`expected the backend to see ${k}: ${v}, ${got ? `it saw ${got.join(", ")}` : "it saw none"}`);
  }
  if (e.location !== undefined && r.headers.location !== e.location) why.push(`expected Location ${e.location}, got ${r.headers.location ?? "none"}`);
  if (e.bodyContains !== undefined && !r.body.includes(e.bodyContains)) why.push(`expected the body to contain ${JSON.stringify(e.bodyContains)}`);
  if (e.certificate !== undefined && r.tls?.subject !== e.certificate) why.push(`expected certificate ${JSON.stringify(e.certificate)}, got ${r.tls ? JSON.stringify(r.tls.subject) : "no TLS"}`);
  return { pass: why.length === 0, observed: seen.join("; "), why: why.join("; ") };
}

function readExpect(c: Cursor): HttpExpect | undefined {
  const e: HttpExpect = {};
  if (!c.present) return e;
  if (!c.isMap()) return undefined;
  c.known(["status", "backend", "headers", "location", "bodyContains", "certificate"]);
  const errors = c.ctx.errors;
  e.status = c.get("status").int("an HTTP status", 100, 599);
  if (c.get("backend").present) e.backend = c.get("backend").str();
  if (c.get("headers").present) e.headers = c.get("headers").stringMap("a map of header names to values");
  if (c.get("location").present) e.location = c.get("location").str();
  if (c.get("bodyContains").present) e.bodyContains = c.get("bodyContains").str();
  if (c.get("certificate").present) e.certificate = c.get("certificate").str();
  return c.ctx.errors === errors ? e : undefined;
}

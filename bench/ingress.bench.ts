// HTTP through the ingress proxy: a client pod on node-1 → the proxy pod (node-1) → an echo
// backend on node-2 over VXLAN, on the virtual clock with Node's queues in the loop (node:http and
// node:tls over the emulated TCP). Each figure is timed beside the same client talking directly to
// the backend pod in the same run (its floor), so the ratio is the proxy's cost: requests per
// second with keep-alive, with a new connection per request, and TLS handshakes per second (a new
// HTTPS connection per request; the floor: HTTPS straight to a TLS server in the backend pod).
// Runnable alone: `npx tsx bench/ingress.bench.ts`.

import http from "node:http";
import tls from "node:tls";
import { pathToFileURL } from "node:url";
import { HttpClient, type HttpRequestOptions } from "../src/k8s/ingress/http-client.js";
import { createTcpServer, runUntilSettled } from "../src/net/index.js";
import type { Sim } from "../src/sim/index.js";
import { SHOP_CERT, SHOP_KEY, testbed } from "../test/k8s/ingress-proxy-helpers.js";
import { environment, type PairResult, printTable } from "./harness.js";

/** Requests per timed round; rounds alternate figure and floor, each keeps its best. */
const REQUESTS = 60;
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3) || 3);

/** Runs the clock (with Node's queues) until `done`. */
async function settle(sim: Sim, done: () => boolean): Promise<void> {
  await runUntilSettled(sim, { until: sim.now });
  while (!done()) {
    const next = sim.sched.nextTimerAt;
    if (next === Number.POSITIVE_INFINITY) throw new Error("stalled: no timer left and the request is not done");
    await runUntilSettled(sim, { until: next });
  }
}

interface Case {
  name: string;
  /** The target of the client's requests. */
  request: (bed: Bed) => HttpRequestOptions;
  keepAlive: boolean;
}

type Bed = ReturnType<typeof bed>;

/** The testbed, plus an HTTPS echo in backend web-a on 8443 for the TLS floor. */
function bed() {
  const b = testbed();
  const web = b.c.pod("shop/web-a");
  const server = http.createServer({ requestTimeout: 0, headersTimeout: 0, keepAliveTimeout: 0 }, (req, res) => {
    req.resume();
    req.on("end", () => {
      res.sendDate = false;
      res.end(JSON.stringify({ pod: web.name, path: req.url }));
    });
  });
  // The certificate the proxy presents for shop.example.com (P-256), so both sides sign alike.
  const ctx = tls.createSecureContext({ key: SHOP_KEY, cert: SHOP_CERT });
  createTcpServer(web.ns, {}, (raw) => {
    const s = new tls.TLSSocket(raw, { isServer: true, secureContext: ctx });
    s.once("secure", () => server.emit("connection", s));
    s.on("error", () => raw.destroy());
  }).listen(8443);
  return { ...b, ingress: b.c.pod("ingress-nginx/controller").ipString, web: web.ipString, client: b.c.pod("client").ns };
}

/** Wall-clock ns per request for REQUESTS requests of `c` on a fresh bed. */
async function time(c: Case): Promise<number> {
  const b = bed();
  const client = new HttpClient(b.client, { keepAlive: c.keepAlive });
  // One untimed request: ARP, and the proxy's upstream connection, are set up outside the timing.
  const warm = client.request(c.request(b));
  await settle(b.c.sim, () => warm.settled);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < REQUESTS; i++) {
    const ex = client.request(c.request(b));
    await settle(b.c.sim, () => ex.settled);
    if (ex.error || ex.result?.status !== 200) throw new Error(`${c.name}: ${ex.error?.message ?? ex.result?.status}`);
  }
  const ns = Number(process.hrtime.bigint() - t0) / REQUESTS;
  client.close();
  return ns;
}

const viaIngress = (scheme: "http" | "https") => (b: Bed) => ({ url: `${scheme}://shop.example.com/`, connect: { addr: b.ingress, port: scheme === "http" ? 80 : 443 }, insecure: true });
const direct = (scheme: "http" | "https") => (b: Bed) => ({ url: `${scheme}://shop.example.com/`, connect: { addr: b.web, port: scheme === "http" ? 8080 : 8443 }, insecure: true });

const pairs: { suite: string; figure: Case; floor: Case }[] = [
  { suite: "ingress http keep-alive", figure: { name: "via ingress", request: viaIngress("http"), keepAlive: true }, floor: { name: "direct", request: direct("http"), keepAlive: true } },
  { suite: "ingress http new connection", figure: { name: "via ingress", request: viaIngress("http"), keepAlive: false }, floor: { name: "direct", request: direct("http"), keepAlive: false } },
  { suite: "ingress tls handshake", figure: { name: "via ingress", request: viaIngress("https"), keepAlive: false }, floor: { name: "direct", request: direct("https"), keepAlive: false } },
];

export default async function run(filters: string[] = []): Promise<void> {
  const selected = pairs.filter((p) => filters.length === 0 || filters.some((f) => p.suite.includes(f)));
  if (selected.length === 0) return;
  const rows: PairResult[] = [];
  for (const p of selected) {
    let fig = Number.POSITIVE_INFINITY;
    let flo = Number.POSITIVE_INFINITY;
    for (let r = 0; r < ROUNDS; r++) {
      fig = Math.min(fig, await time(p.figure));
      flo = Math.min(flo, await time(p.floor));
    }
    rows.push({ suite: p.suite, figure: p.figure.name, floor: p.floor.name, figureNs: fig, floorNs: flo, ratio: fig / flo, figureRme: 0, floorRme: 0 });
  }
  printTable(rows);
  for (const r of rows) console.log(`${r.suite}: ${(1e9 / r.figureNs).toFixed(0)} req/s via the ingress, ${(1e9 / r.floorNs).toFixed(0)} req/s direct (ratio ${r.ratio.toFixed(2)})`);
  console.log(JSON.stringify({ ...environment(), requests: REQUESTS, rounds: ROUNDS }));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await run(process.argv.slice(2));

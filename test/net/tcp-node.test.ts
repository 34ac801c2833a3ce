// node:http and node:tls over kubewire's TCP between two pods (DESIGN.md decision 8): the
// emulated socket is their transport, unchanged; the driver interleaves Node's queues with
// virtual time, so the same scenario and seed give the same bytes in the capture.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { afterAll, describe, expect, it } from "vitest";
import { createTcpConnection, createTcpServer, NetCapture, runUntilSettled, type TcpSocket } from "../../src/net/index.js";
import { tsharkFields, tsharkProblems } from "../helpers/tshark.js";
import { tcpSegments } from "./tcp-helpers.js";
import { twoPodsOneBridge } from "./topologies.js";

const dir = mkdtempSync(join(tmpdir(), "kw-tcp-node-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A self-signed certificate for web.default.svc.cluster.local and 10.244.1.3, valid 2025–2125
// (test material only: `openssl ca -selfsign -startdate 20250101000000Z`, P-256).
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgHsgKerIUU/86x0qW
DknmYZMHfjH56m3oEcK6orJUKcChRANCAASyrzO6Dh/2aT+8lFwgwAWx37VDLEQH
rZkgftToQQrUp2vQvsn2ao8wKJE9uqqEX90OQheCQ1xL7aN4nU5MHIiG
-----END PRIVATE KEY-----
`;
const CERT = `-----BEGIN CERTIFICATE-----
MIIBozCCAUmgAwIBAgIBATAKBggqhkjOPQQDAjAoMSYwJAYDVQQDDB13ZWIuZGVm
YXVsdC5zdmMuY2x1c3Rlci5sb2NhbDAgFw0yNTAxMDEwMDAwMDBaGA8yMTI1MDEw
MTAwMDAwMFowKDEmMCQGA1UEAwwdd2ViLmRlZmF1bHQuc3ZjLmNsdXN0ZXIubG9j
YWwwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASyrzO6Dh/2aT+8lFwgwAWx37VD
LEQHrZkgftToQQrUp2vQvsn2ao8wKJE9uqqEX90OQheCQ1xL7aN4nU5MHIiGo2Iw
YDAuBgNVHREEJzAlgh13ZWIuZGVmYXVsdC5zdmMuY2x1c3Rlci5sb2NhbIcECvQB
AzAPBgNVHRMBAf8EBTADAQH/MB0GA1UdDgQWBBTpXLy6A+7sjqyAnkDMXtpxQ3a2
vjAKBggqhkjOPQQDAgNIADBFAiBw7svACeYxT3IKOEjQzRLFY1+Ojug67LGyr1ib
ONoePgIhAK4A/SuVPoz/8KpsN+jV6AF3+inPjxBHwrFbw5FgqSfH
-----END CERTIFICATE-----
`;

interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** pod-b serves HTTP on :80 with node:http; pod-a POSTs `body` to /echo through http.request. */
async function httpExchange(seed: number, file: string, body: string): Promise<HttpResult> {
  const k = twoPodsOneBridge(seed);
  const cap = new NetCapture(file).attach(k.ea);
  const server = http.createServer((req, res) => {
    // No Date header: the wall clock has no place in a deterministic capture.
    res.sendDate = false;
    let got = 0;
    req.on("data", (d: Buffer) => (got += d.length));
    req.on("end", () => {
      res.setHeader("content-type", "text/plain");
      res.end(`${req.method} ${req.url} ${got} bytes from ${req.socket.remoteAddress}:${req.socket.remotePort}`);
    });
  });
  createTcpServer(k.b, {}, (s) => server.emit("connection", s)).listen(80);
  const result = new Promise<HttpResult>((resolve, reject) => {
    const req = http.request(
      { host: "10.244.1.3", port: 80, method: "POST", path: "/echo", createConnection: () => createTcpConnection(k.a, { host: "10.244.1.3", port: 80 }) },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
  await runUntilSettled(k.sim);
  cap.close();
  return result;
}

describe("node:http over kubewire TCP", () => {
  it("http.createServer + emit('connection') and http.request({createConnection}) between two pods", async () => {
    const file = join(dir, "http.pcapng");
    const r = await httpExchange(1, file, "x".repeat(50_000));
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/^POST \/echo 50000 bytes from 10\.244\.1\.2:\d+$/);
    expect(r.headers["content-type"]).toBe("text/plain");
    // tshark sees a well-formed HTTP exchange over a clean TCP connection.
    const http1 = tsharkFields(file, ["http.request.method", "http.request.uri", "http.response.code"], { filter: "http" });
    expect(http1).toEqual([
      { "http.request.method": "POST", "http.request.uri": "/echo", "http.response.code": "" },
      { "http.request.method": "", "http.request.uri": "", "http.response.code": "200" },
    ]);
    expect(tsharkProblems(file, { minSeverity: "warning" })).toEqual([]);
    const segs = tcpSegments(file, 80);
    expect(segs.filter((s) => s.flags.includes("F")).length).toBe(2);
  });

  it("the same scenario and seed give the same capture, byte for byte", async () => {
    const a = join(dir, "det-a.pcapng");
    const b = join(dir, "det-b.pcapng");
    const c = join(dir, "det-c.pcapng");
    await httpExchange(42, a, "payload ".repeat(4000));
    await httpExchange(42, b, "payload ".repeat(4000));
    await httpExchange(43, c, "payload ".repeat(4000));
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    expect(readFileSync(a).equals(readFileSync(c))).toBe(false);
  });
});

describe("node:tls over kubewire TCP", () => {
  it("tls.connect({socket}) to a tls.Server fed with emit('connection'): handshake, echo, close", async () => {
    const k = twoPodsOneBridge();
    const file = join(dir, "tls.pcapng");
    const cap = new NetCapture(file).attach(k.ea);
    const tlsServer = tls.createServer({ key: KEY, cert: CERT }, (s) => s.pipe(s));
    createTcpServer(k.b, {}, (s) => tlsServer.emit("connection", s)).listen(443);
    const result = new Promise<{ authorized: boolean; protocol: string | null; echo: string }>((resolve, reject) => {
      const raw: TcpSocket = createTcpConnection(k.a, { host: "10.244.1.3", port: 443 }, () => {
        const t = tls.connect({ socket: raw, ca: CERT, servername: "web.default.svc.cluster.local" }, () => {
          t.end("hello over emulated TCP");
        });
        let echo = "";
        t.on("data", (d: Buffer) => (echo += d));
        t.on("error", reject);
        let protocol: string | null = null;
        t.on("secureConnect", () => (protocol = t.getProtocol()));
        t.on("close", () => resolve({ authorized: t.authorized, protocol, echo }));
      });
      raw.on("error", reject);
    });
    await runUntilSettled(k.sim);
    cap.close();
    expect(await result).toEqual({ authorized: true, protocol: "TLSv1.3", echo: "hello over emulated TCP" });
    const hs = tsharkFields(file, ["tls.handshake.type"], { filter: "tls.handshake.type" }).map((r) => r["tls.handshake.type"]);
    expect(hs[0]).toBe("1");
    expect(hs[1].split(",")[0]).toBe("2");
    expect(tsharkProblems(file, { minSeverity: "warning" })).toEqual([]);
  });
});

// Hostile and broken input through ingress-nginx end to end, answered as nginx answers it, with
// nothing crashing and the rest still routed: no Host, a header line over large_client_header_buffers,
// a request line over it, ".." above the root, an unknown SNI (the fallback certificate), a client
// that sends half a request and goes silent (closed by client_header_timeout on the virtual clock),
// an Ingress naming a missing Service (503 and a warning), a missing TLS Secret (the fallback
// certificate and a warning). Keep-alive: two requests on one client connection.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { INGRESS_NGINX_LB_IP } from "../../src/k8s/ingress/controller.js";
import { HttpClient, httpRequest } from "../../src/k8s/ingress/http-client.js";
import { createTcpConnection, type NetNamespace, runUntilSettled } from "../../src/net/index.js";
import { tsharkProblems } from "../helpers/tshark.js";
import { e2e, hopFile } from "./ingress-e2e-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "kw-ingress-hostile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const VXLAN = { decodeAs: ["udp.port==8472,vxlan"] };

// A second Ingress: plain HTTP for api.example.com, a path to a Service that does not exist, and
// a TLS section naming a Secret that does not exist.
const EXTRA = `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: api, namespace: shop}
spec:
  ingressClassName: nginx
  tls: [{hosts: [secure.example.com], secretName: no-such-secret}]
  rules:
  - host: api.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /gone, pathType: Prefix, backend: {service: {name: gone, port: {number: 80}}}}
`;

/** Raw bytes to port 80 of the load balancer; what came back and when the server closed (ns). */
function raw(ns: NetNamespace, data: string): { got: () => string; closedAt: () => number | undefined } {
  let got = "";
  let closedAt: number | undefined;
  const s = createTcpConnection(ns, { host: INGRESS_NGINX_LB_IP, port: 80 }, () => s.write(data));
  s.on("data", (d: Buffer) => (got += d.toString("latin1")));
  s.on("end", () => {
    closedAt ??= ns.sim.now;
    s.end();
  });
  s.on("error", () => {});
  return { got: () => got, closedAt: () => closedAt };
}

const statusLine = (text: string) => text.split("\r\n")[0];

describe("ingress-nginx and hostile input", () => {
  it("answers as nginx does and keeps routing the rest", async () => {
    const file = join(dir, "hostile.pcapng");
    const { c, ingress, laptop, cap, clientKeylog } = e2e(file, { extra: EXTRA });
    const lb = (port: number) => ({ addr: INGRESS_NGINX_LB_IP, port });
    const noHost = raw(laptop, "GET / HTTP/1.1\r\n\r\n");
    const bigHeader = raw(laptop, `GET / HTTP/1.1\r\nHost: api.example.com\r\nX-Big: ${"a".repeat(9000)}\r\n\r\n`);
    const bigLine = raw(laptop, `GET /${"b".repeat(9000)} HTTP/1.1\r\nHost: api.example.com\r\n\r\n`);
    const dotdot = raw(laptop, "GET /../etc/passwd HTTP/1.1\r\nHost: api.example.com\r\n\r\n");
    const half = raw(laptop, "GET / HTTP/1.1\r\nHost: api.exa");
    const start = c.sim.now;
    // Sent as is (curl --path-as-is): a URL parser would have removed the "..".
    const inside = raw(laptop, "GET /a/../cart HTTP/1.1\r\nHost: api.example.com\r\n\r\n");
    const gone = httpRequest(laptop, { url: "http://api.example.com/gone", connect: lb(80) });
    const unknownSni = httpRequest(laptop, { url: "https://unknown.example.com/", connect: lb(443), insecure: true }, { keylog: clientKeylog });
    const noSecret = httpRequest(laptop, { url: "https://secure.example.com/", connect: lb(443), insecure: true }, { keylog: clientKeylog });
    const keep = new HttpClient(laptop, { keepAlive: true });
    const k1 = keep.request({ url: "http://api.example.com/one", connect: lb(80) });
    await runUntilSettled(c.sim, { until: start + 1e9 });
    const k2 = keep.request({ url: "http://api.example.com/two", connect: lb(80) });
    await runUntilSettled(c.sim);
    cap.close();

    expect(statusLine(noHost.got())).toBe("HTTP/1.1 400 Bad Request");
    expect(statusLine(bigHeader.got())).toBe("HTTP/1.1 400 Bad Request");
    expect(bigHeader.got()).toContain("<title>400 Request Header Or Cookie Too Large</title>");
    expect(statusLine(bigLine.got())).toBe("HTTP/1.1 414 Request-URI Too Large");
    expect(statusLine(dotdot.got())).toBe("HTTP/1.1 400 Bad Request");
    // Half a request, then nothing: nginx closes it after client_header_timeout (60 s), without an answer.
    expect(half.got()).toBe("");
    expect(half.closedAt()! - start).toBeGreaterThanOrEqual(60e9);
    expect(half.closedAt()! - start).toBeLessThan(61e9);
    expect(ingress.log.find((l) => l.status === 408)?.decision).toMatch(/client_header_timeout/);
    // "/a/../cart" is "/cart" to nginx's locations; the backend gets the URI as sent.
    expect(statusLine(inside.got())).toBe("HTTP/1.1 200 OK");
    expect(inside.got()).toContain('"path": "/a/../cart"');
    // A path to a missing Service: 503, and the warning names the object and field.
    expect(gone.result?.status).toBe(503);
    expect(ingress.warnings.map((w) => `${w.object} ${w.field}`)).toEqual(expect.arrayContaining([expect.stringMatching(/^Ingress shop\/api spec\.rules\[0\]\.http\.paths\[1\]/)]));
    // Unknown SNI and a missing Secret: the fallback certificate; the missing Secret is a warning.
    expect(unknownSni.result?.tls?.subject).toBe("Kubernetes Ingress Controller Fake Certificate");
    expect(unknownSni.result?.status).toBe(404);
    expect(noSecret.result?.tls?.subject).toBe("Kubernetes Ingress Controller Fake Certificate");
    expect(ingress.warnings.some((w) => w.object === "Ingress shop/api" && /no-such-secret/.test(w.message))).toBe(true);
    // As diagnostics with the manifest's file and line, for check and run reports.
    expect(ingress.diagnostics().filter((d) => d.object === "Ingress shop/api").map((d) => [d.file, d.severity, d.path])).toEqual(
      expect.arrayContaining([
        ["shop.yaml", "warning", "spec.rules[0].http.paths[1].backend.service.name"],
        ["shop.yaml", "warning", expect.stringMatching(/^spec\.tls\[0\]/)],
      ]),
    );
    // Keep-alive: the second request on the first one's connection.
    expect([k1.result?.status, k2.result?.status]).toEqual([200, 200]);
    expect(k2.result?.local).toBe(k1.result?.local);
    const logged = ingress.log.filter((l) => l.uri === "/one" || l.uri === "/two");
    expect(new Set(logged.map((l) => l.client)).size).toBe(1);
    // Hop by hop (many connections cross several interfaces: in one file their copies look like retransmissions).
    const ctrl = [...ingress.proxies.values()][0].pod;
    for (const iface of ["laptop/eth0", "node-1/eth0", `${ctrl.ns.name}/eth0`, "shop.web-a/eth0", "shop.web-b/eth0"])
      expect({ iface, problems: tsharkProblems(hopFile(file, iface), VXLAN) }).toEqual({ iface, problems: [] });
  });
});

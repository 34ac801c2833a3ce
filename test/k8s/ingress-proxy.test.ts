// The L7 proxy with a hand-written route table: requests from a pod to the proxy pod, routed to
// echo backends on the other node; ingress-nginx's headers, default backend, limits and timeouts.

import { describe, expect, it } from "vitest";
import { type HttpResult, httpRequest } from "../../src/k8s/ingress/http-client.js";
import type { EchoResponse } from "../../src/k8s/ingress/http-echo.js";
import { createTcpServer, runUntilSettled } from "../../src/net/index.js";
import { SHOP_CERT, testbed } from "./ingress-proxy-helpers.js";

const json = (r: HttpResult) => JSON.parse(r.body) as EchoResponse;

describe("the L7 proxy (ingress-nginx's behaviour)", () => {
  it("routes by host to a backend pod and adds ingress-nginx's headers", async () => {
    const { c, proxy } = testbed();
    const ip = c.pod("ingress-nginx/controller").ipString;
    const ex = httpRequest(c.pod("client").ns, { url: `http://shop.example.com/cart?x=1`, connect: { addr: ip, port: 80 } });
    await runUntilSettled(c.sim);
    expect(ex.error).toBeUndefined();
    const r = ex.result!;
    expect(r.status).toBe(200);
    const e = json(r);
    expect(["web-a", "web-b"]).toContain(e.pod);
    expect(e.namespace).toBe("shop");
    expect(e.path).toBe("/cart?x=1");
    expect(e.host).toBe("shop.example.com");
    const client = c.pod("client").ipString;
    expect(e.headers["X-Real-Ip"]).toEqual([client]);
    expect(e.headers["X-Forwarded-For"]).toEqual([client]);
    expect(e.headers["X-Forwarded-Host"]).toEqual(["shop.example.com"]);
    expect(e.headers["X-Forwarded-Port"]).toEqual(["80"]);
    expect(e.headers["X-Forwarded-Proto"]).toEqual(["http"]);
    expect(e.headers["X-Scheme"]).toEqual(["http"]);
    expect(e.headers["X-Request-Id"]?.[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(e.headers["X-Original-Forwarded-For"]).toBeUndefined();
    // The backend saw the proxy pod's address, not the client's: the proxy opened its own connection.
    expect(e.remote.split(":")[0]).toBe(ip);
    expect(r.headers.server).toBe("nginx");
    expect(proxy.log.map((l) => [l.status, l.upstream?.split(":")[1]])).toEqual([[200, "8080"]]);
  });

  it("an unknown host gets the default backend's 404; a missing Service 503", async () => {
    const { c, proxy } = testbed();
    const ip = c.pod("ingress-nginx/controller").ipString;
    const ns = c.pod("client").ns;
    const a = httpRequest(ns, { url: "http://nowhere.example.com/", connect: { addr: ip, port: 80 } });
    const b = httpRequest(ns, { url: "http://shop.example.com/missing", connect: { addr: ip, port: 80 }, headers: { "X-Forwarded-For": "1.2.3.4" } });
    await runUntilSettled(c.sim);
    expect(a.result?.status).toBe(404);
    expect(a.result?.body).toContain("<center><h1>404 Not Found</h1></center>");
    expect(b.result?.status).toBe(503);
    expect(b.result?.body).toContain("503 Service Temporarily Unavailable");
    expect(proxy.log.find((l) => l.status === 503)?.decision).toMatch(/Service shop\/gone does not exist/);
  });

  it("a backend that refuses the connection: the next one is tried (proxy_next_upstream); none left: nginx's 502", async () => {
    const { c, proxy } = testbed({}, { only: "shop/web-b" });
    const ip = c.pod("ingress-nginx/controller").ipString;
    const ns = c.pod("client").ns;
    const results: HttpResult[] = [];
    // web-a has no server: a request drawn to it is refused (RST) and tried again on web-b.
    for (let i = 0; i < 6; i++) {
      const ex = httpRequest(ns, { url: "http://shop.example.com/", connect: { addr: ip, port: 80 }, headers: { "X-Forwarded-For": "1.2.3.4" } });
      await runUntilSettled(c.sim);
      results.push(ex.result!);
    }
    expect(results.map((r) => [r.status, json(r).pod])).toEqual(Array(6).fill([200, "web-b"]));
    const a = c.pod("shop/web-a").ipString;
    const b = c.pod("shop/web-b").ipString;
    expect(proxy.log.some((l) => l.upstream === `${a}:8080, ${b}:8080`)).toBe(true);
    const e = json(results[0]);
    expect(e.headers["X-Forwarded-For"]).toEqual([c.pod("client").ipString]);
    expect(e.headers["X-Original-Forwarded-For"]).toEqual(["1.2.3.4"]);

    const none = testbed({}, { only: "none" });
    const ex = httpRequest(none.c.pod("client").ns, { url: "http://shop.example.com/", connect: { addr: none.c.pod("ingress-nginx/controller").ipString, port: 80 } });
    await runUntilSettled(none.c.sim);
    expect(ex.result?.status).toBe(502);
    expect(ex.result?.body).toContain("<title>502 Bad Gateway</title>");
    expect(none.proxy.log.map((l) => l.decision)).toEqual([expect.stringMatching(/ECONNREFUSED \(2 tried\)$/)]);
  });

  it("a backend that accepts and never answers: proxy_read_timeout (60 s, virtual) on each, then nginx's 504", async () => {
    const { c, proxy } = testbed({}, { only: "none" });
    for (const p of ["shop/web-a", "shop/web-b"]) createTcpServer(c.pod(p).ns, {}, () => {}).listen(8080);
    const start = c.sim.now;
    const ex = httpRequest(c.pod("client").ns, { url: "http://shop.example.com/", connect: { addr: c.pod("ingress-nginx/controller").ipString, port: 80 } });
    let answeredAt = 0;
    ex.done.then(() => (answeredAt = c.sim.now)).catch(() => {});
    await runUntilSettled(c.sim);
    expect(ex.result?.status).toBe(504);
    expect(ex.result?.body).toContain("<title>504 Gateway Time-out</title>");
    // Both peers tried, 60 s each.
    expect(answeredAt - start).toBeGreaterThanOrEqual(120e9);
    expect(answeredAt - start).toBeLessThan(121e9);
    expect(proxy.log.map((l) => l.decision)).toEqual([expect.stringMatching(/timeout \(2 tried\)$/)]);
  });

  it("HTTPS still works after the first-byte check; plain HTTP on the HTTPS port gets nginx's own 400", async () => {
    const { c, proxy } = testbed();
    const ip = c.pod("ingress-nginx/controller").ipString;
    const ns = c.pod("client").ns;
    const tlsEx = httpRequest(ns, { url: "https://shop.example.com/x", connect: { addr: ip, port: 443 }, ca: SHOP_CERT });
    const plain = httpRequest(ns, { url: "http://shop.example.com/x", connect: { addr: ip, port: 443 } });
    await runUntilSettled(c.sim);
    expect(tlsEx.result?.status).toBe(200);
    expect(tlsEx.result?.tls).toMatchObject({ authorized: true, subject: "shop.example.com" });
    expect(plain.result?.status).toBe(400);
    expect(plain.result?.body).toContain("<center>The plain HTTP request was sent to HTTPS port</center>");
    expect(proxy.log.map((l) => l.status).sort()).toEqual([200, 400]);
  });
});

// nginx's own pieces of the proxy, one by one: its error pages byte for byte (CRLF, server_tokens
// off), large_client_header_buffers (a request line over a buffer: 414; a header line: 400 with
// its own title; the block over 4 buffers: 400), and the request headers ingress-nginx's template
// sets in its order (X-Original-Forwarded-For only when the client sent X-Forwarded-For; the
// client's own X-Forwarded-* replaced), with a Gateway's header modifiers after them.

import { describe, expect, it } from "vitest";
import { headerLimit, nginxPage, nginxReason, upstreamHeaders } from "../../src/k8s/ingress/proxy-nginx.js";

const CX = { remoteAddr: "192.168.50.100", serverPort: 443, scheme: "https" as const, host: "shop.example.com", requestId: "0123456789abcdef0123456789abcdef" };

describe("nginx's pages and limits", () => {
  it("the 404 and 503 pages as ngx_http_special_response.c writes them", () => {
    expect(nginxPage(404)).toBe("<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n");
    expect(nginxPage(503)).toContain("<title>503 Service Temporarily Unavailable</title>");
    expect(nginxPage(400, "header-too-large")).toBe(
      "<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header Or Cookie Too Large</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
    );
    expect([308, 414, 502].map(nginxReason)).toEqual(["Permanent Redirect", "Request-URI Too Large", "Bad Gateway"]);
  });

  it("large_client_header_buffers 4 8k", () => {
    expect(headerLimit("GET / HTTP/1.1", ["Host", "a"])).toBeUndefined();
    // The line with its CRLF must fit 8192 bytes: 8190 characters fit, 8191 do not.
    expect(headerLimit(`GET /${"a".repeat(8190 - 14)} HTTP/1.1`, [])).toBeUndefined();
    expect(headerLimit(`GET /${"a".repeat(8191 - 14)} HTTP/1.1`, [])?.status).toBe(414);
    expect(headerLimit("GET / HTTP/1.1", ["X-Big", "b".repeat(8200)])).toMatchObject({ status: 400, why: expect.stringMatching(/^header X-Big/) });
    const many = Array.from({ length: 5 }, (_, i) => [`X-${i}`, "c".repeat(7000)]).flat();
    expect(headerLimit("GET / HTTP/1.1", many)).toMatchObject({ status: 400, why: expect.stringMatching(/header block of \d+ bytes > 4 × 8192/) });
  });
});

describe("ingress-nginx's upstream headers", () => {
  it("its proxy_set_header lines first, in the template's order, then the client's others", () => {
    const h = upstreamHeaders(["Host", "shop.example.com", "User-Agent", "curl/8.5.0", "Connection", "keep-alive", "X-Real-IP", "6.6.6.6", "Accept", "*/*"], CX);
    expect(h).toEqual([
      ["Host", "shop.example.com"],
      ["X-Request-ID", CX.requestId],
      ["X-Real-IP", "192.168.50.100"],
      ["X-Forwarded-For", "192.168.50.100"],
      ["X-Forwarded-Host", "shop.example.com"],
      ["X-Forwarded-Port", "443"],
      ["X-Forwarded-Proto", "https"],
      ["X-Forwarded-Scheme", "https"],
      ["X-Scheme", "https"],
      ["User-Agent", "curl/8.5.0"],
      ["Accept", "*/*"],
    ]);
  });

  it("a client's X-Forwarded-For is replaced (compute-full-forwarded-for off) and kept as X-Original-Forwarded-For", () => {
    const h = upstreamHeaders(["Host", "x", "X-Forwarded-For", "1.2.3.4", "x-forwarded-for", "5.6.7.8"], CX);
    expect(h.filter(([k]) => /forwarded-for/i.test(k))).toEqual([
      ["X-Forwarded-For", "192.168.50.100"],
      ["X-Original-Forwarded-For", "1.2.3.4, 5.6.7.8"],
    ]);
  });

  it("a Gateway's RequestHeaderModifier: set replaces, add appends, remove drops", () => {
    const h = upstreamHeaders(["Host", "x", "X-Env", "prod", "X-Tag", "a", "X-Drop", "1"], CX, { setHeaders: { "x-env": "canary" }, addHeaders: { "x-tag": "b", "x-new": "n" }, removeHeaders: ["x-drop"] });
    const m = Object.fromEntries(h.map(([k, v]) => [k.toLowerCase(), v]));
    expect([m["x-env"], m["x-tag"], m["x-new"], m["x-drop"]]).toEqual(["canary", "a,b", "n", undefined]);
  });
});

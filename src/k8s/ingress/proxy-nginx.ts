// What the proxy answers and adds as ingress-nginx's nginx did: its error pages (nginx's built-in
// pages, ngx_http_special_response.c, with server_tokens off), the header limits of
// large_client_header_buffers, and the request headers ingress-nginx's nginx.tmpl sets on the way
// to an upstream (proxy_set_header, in the template's order).

/** ingress-nginx's defaults: large_client_header_buffers 4 8k; client_header_timeout 60s; keepalive_timeout 75s; upstream timeouts 60s. */
export const NGINX_LIMITS = {
  headerBufferSize: 8192,
  headerBuffers: 4,
  clientHeaderTimeoutMs: 60_000,
  keepaliveTimeoutMs: 75_000,
  upstreamKeepaliveTimeoutMs: 60_000,
  /** proxy-read-timeout / proxy-send-timeout (60 s): an upstream silent that long has timed out. */
  proxyReadTimeoutMs: 60_000,
} as const;

/** nginx's reason phrases for the statuses the proxy makes itself. */
const TITLES: Record<number, string> = {
  301: "301 Moved Permanently",
  302: "302 Found",
  303: "303 See Other",
  307: "307 Temporary Redirect",
  308: "308 Permanent Redirect",
  400: "400 Bad Request",
  403: "403 Forbidden",
  404: "404 Not Found",
  408: "408 Request Time-out",
  413: "413 Request Entity Too Large",
  414: "414 Request-URI Too Large",
  500: "500 Internal Server Error",
  502: "502 Bad Gateway",
  503: "503 Service Temporarily Unavailable",
  504: "504 Gateway Time-out",
};

/** The status line's reason phrase nginx sends ("Service Temporarily Unavailable"). */
export const nginxReason = (status: number): string | undefined => TITLES[status]?.replace(/^\d+ /, "");

/** nginx's own 400 pages: large_client_header_buffers, and plain HTTP on an HTTPS port. */
const VARIANTS = {
  "header-too-large": { title: "400 Request Header Or Cookie Too Large", line: "Request Header Or Cookie Too Large" },
  "plain-http-on-https": { title: "400 The plain HTTP request was sent to HTTPS port", line: "The plain HTTP request was sent to HTTPS port" },
} as const;

/** nginx's page for a status (CRLF line ends), or one of its own 400 variants. */
export function nginxPage(status: number, variant?: keyof typeof VARIANTS): string {
  const v = variant === undefined ? undefined : VARIANTS[variant];
  const title = v?.title ?? TITLES[status] ?? `${status}`;
  const h1 = v ? "400 Bad Request" : title;
  const extra = v ? `<center>${v.line}</center>\r\n` : "";
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${h1}</h1></center>\r\n${extra}<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

/** Why the header block breaks large_client_header_buffers, and nginx's answer; undefined when it fits. */
export function headerLimit(requestLine: string, rawHeaders: readonly string[]): { status: 414 | 400; why: string } | undefined {
  const { headerBufferSize: size, headerBuffers: n } = NGINX_LIMITS;
  // Each line with its CRLF must fit one buffer; all of them, the buffers together.
  if (requestLine.length + 2 > size) return { status: 414, why: `request line of ${requestLine.length + 2} bytes > ${size}` };
  let total = requestLine.length + 2;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const len = rawHeaders[i].length + 2 + rawHeaders[i + 1].length + 2;
    if (len > size) return { status: 400, why: `header ${rawHeaders[i]} of ${len} bytes > ${size}` };
    total += len;
  }
  if (total > size * n) return { status: 400, why: `header block of ${total} bytes > ${n} × ${size}` };
  return undefined;
}

/** Hop-by-hop headers and those ingress-nginx sets itself: not copied from the client. */
const NOT_COPIED = new Set([
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "proxy",
  "x-request-id",
  "x-real-ip",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-port",
  "x-forwarded-proto",
  "x-forwarded-scheme",
  "x-scheme",
  "x-original-forwarded-for",
]);

export interface ForwardContext {
  /** The client's address as the proxy's socket sees it ($remote_addr). */
  remoteAddr: string;
  /** The port the request came in on ($server_port). */
  serverPort: number;
  scheme: "http" | "https";
  /** The Host header as sent ($best_http_host: $http_host, else the server name). */
  host: string;
  requestId: string;
}

/**
 * The upstream request's headers, in the order nginx writes them: ingress-nginx's proxy_set_header
 * lines first (empty values left out, as nginx does), then the client's other headers as sent.
 */
export function upstreamHeaders(rawHeaders: readonly string[], cx: ForwardContext, mod: HeaderModifier = {}): [string, string][] {
  const out: [string, string][] = [["Host", cx.host]];
  const xff = rawHeaders.filter((_v, i) => i % 2 === 1 && rawHeaders[i - 1].toLowerCase() === "x-forwarded-for");
  out.push(
    ["X-Request-ID", cx.requestId],
    ["X-Real-IP", cx.remoteAddr],
    ["X-Forwarded-For", cx.remoteAddr],
    ["X-Forwarded-Host", cx.host],
    ["X-Forwarded-Port", String(cx.serverPort)],
    ["X-Forwarded-Proto", cx.scheme],
    ["X-Forwarded-Scheme", cx.scheme],
    ["X-Scheme", cx.scheme],
  );
  if (xff.length > 0) out.push(["X-Original-Forwarded-For", xff.join(", ")]);
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (!NOT_COPIED.has(rawHeaders[i].toLowerCase())) out.push([rawHeaders[i], rawHeaders[i + 1]]);
  // A Gateway's RequestHeaderModifier: set replaces every header of that name, add appends to the
  // value (comma-separated, as the spec's example shows), remove drops them.
  const without = (lower: string) => {
    for (let i = out.length - 1; i >= 0; i--) if (out[i][0].toLowerCase() === lower) out.splice(i, 1);
  };
  for (const [k, v] of Object.entries(mod.setHeaders ?? {})) {
    without(k.toLowerCase());
    out.push([k, v]);
  }
  for (const [k, v] of Object.entries(mod.addHeaders ?? {})) {
    const i = out.findIndex(([n]) => n.toLowerCase() === k.toLowerCase());
    if (i < 0) out.push([k, v]);
    else out[i] = [out[i][0], `${out[i][1]},${v}`];
  }
  for (const k of mod.removeHeaders ?? []) without(k.toLowerCase());
  return out;
}

export interface HeaderModifier {
  readonly setHeaders?: Readonly<Record<string, string>>;
  readonly addHeaders?: Readonly<Record<string, string>>;
  readonly removeHeaders?: readonly string[];
}

/** Response headers not passed back to the client: hop-by-hop, and those nginx replaces (proxy_hide_header's defaults). */
export const RESPONSE_NOT_COPIED = new Set(["connection", "keep-alive", "transfer-encoding", "date", "server", "x-pad", "x-accel-expires", "x-accel-redirect", "x-accel-limit-rate", "x-accel-buffering", "x-accel-charset"]);

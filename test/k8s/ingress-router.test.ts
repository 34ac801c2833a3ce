// The Ingress route table against the Kubernetes Ingress documentation (concepts/services-
// networking/ingress): every row of the path-matching "Examples" table and the "Hostname
// wildcards" table, then ingress-nginx's behaviour: default backends, ssl-redirect, missing
// Services and Secrets, TLS by SNI, the IngressClass, requests without Host and paths with `..`.

import { describe, expect, it } from "vitest";
import {
  compileIngress,
  type K8sObject,
  type L7Certificate,
  type L7Decision,
  type L7Listener,
  type L7Request,
  type L7Router,
  parseManifests,
} from "../../src/k8s/index.js";

const HTTP: L7Listener = { port: 80, protocol: "HTTP" };
const HTTPS: L7Listener = { port: 443, protocol: "HTTPS" };
const FALLBACK: L7Certificate = { cert: "FAKE CERT", key: "FAKE KEY", origin: "fallback (Kubernetes Ingress Controller Fake Certificate)" };

function load(yaml: string, file = "ingress.yaml"): K8sObject[] {
  const r = parseManifests(yaml, { file });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.objects;
}

const service = (name: string, ns = "default", port = 80, portName = "http") => `---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec:
  selector: {app: ${name}}
  ports: [{name: ${portName}, port: ${port}}]
`;

const NGINX_CLASS = `---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: nginx
  annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
spec: {controller: k8s.io/ingress-nginx}
`;

type PathSpec = readonly [pathType: string, path: string, service: string];

function ingressYaml(name: string, rules: ReadonlyArray<{ host?: string; paths: readonly PathSpec[] }>, extra = ""): string {
  const body = rules
    .map(
      (r) => `  - ${r.host ? `host: "${r.host}"\n    ` : ""}http:
      paths:
${r.paths.map(([t, p, s]) => `      - {path: "${p}", pathType: ${t}, backend: {service: {name: ${s}, port: {number: 80}}}}`).join("\n")}`,
    )
    .join("\n");
  return `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}}
spec:
${extra}  rules:
${body}
`;
}

function req(path: string, over: Partial<L7Request> = {}): L7Request {
  const q = path.indexOf("?");
  return {
    listener: HTTP,
    host: "example.com",
    method: "GET",
    path: q < 0 ? path : path.slice(0, q),
    query: q < 0 ? "" : path.slice(q + 1),
    headers: {},
    ...over,
  };
}

/** "svc" when proxied, or the status of the answer. */
function outcome(d: L7Decision): string {
  if (d.kind === "proxy") return d.backends.map((b) => b.service).join(",");
  return String(d.status);
}

/** A router with one host-less rule holding the given paths, each to its own Service p0, p1, … */
function pathsRouter(paths: ReadonlyArray<readonly [string, string]>): L7Router {
  const specs = paths.map(([t, p], i) => [t, p, `p${i}`] as const);
  return compileIngress(load(NGINX_CLASS + specs.map(([, , s]) => service(s)).join("") + ingressYaml("table", [{ paths: specs }])), { fallback: FALLBACK });
}

describe("the Ingress docs' path-matching examples table, row by row", () => {
  // Kind, Path(s), Request path(s), Matches? — and which path matched (its index), or the default backend.
  const NO = "404";
  const rows: ReadonlyArray<{ kind: string; paths: ReadonlyArray<readonly [string, string]>; requests: readonly string[]; expect: string; says: string }> = [
    { kind: "Prefix", paths: [["Prefix", "/"]], requests: ["/", "/foo", "/foo/bar/", "/aaa/bbb/ccc"], expect: "p0", says: "Yes (all paths)" },
    { kind: "Exact", paths: [["Exact", "/foo"]], requests: ["/foo"], expect: "p0", says: "Yes" },
    { kind: "Exact", paths: [["Exact", "/foo"]], requests: ["/bar"], expect: NO, says: "No" },
    { kind: "Exact", paths: [["Exact", "/foo"]], requests: ["/foo/"], expect: NO, says: "No" },
    { kind: "Exact", paths: [["Exact", "/foo/"]], requests: ["/foo"], expect: NO, says: "No" },
    { kind: "Prefix", paths: [["Prefix", "/foo"]], requests: ["/foo", "/foo/"], expect: "p0", says: "Yes" },
    { kind: "Prefix", paths: [["Prefix", "/foo/"]], requests: ["/foo", "/foo/"], expect: "p0", says: "Yes" },
    { kind: "Prefix", paths: [["Prefix", "/aaa/bb"]], requests: ["/aaa/bbb"], expect: NO, says: "No" },
    { kind: "Prefix", paths: [["Prefix", "/aaa/bbb"]], requests: ["/aaa/bbb"], expect: "p0", says: "Yes" },
    { kind: "Prefix", paths: [["Prefix", "/aaa/bbb/"]], requests: ["/aaa/bbb"], expect: "p0", says: "Yes, ignores trailing slash" },
    { kind: "Prefix", paths: [["Prefix", "/aaa/bbb"]], requests: ["/aaa/bbb/"], expect: "p0", says: "Yes, matches trailing slash" },
    { kind: "Prefix", paths: [["Prefix", "/aaa/bbb"]], requests: ["/aaa/bbb/ccc"], expect: "p0", says: "Yes, matches subpath" },
    { kind: "Prefix", paths: [["Prefix", "/aaa/bbb"]], requests: ["/aaa/bbbxyz"], expect: NO, says: "No, does not match string prefix" },
    { kind: "Prefix", paths: [["Prefix", "/"], ["Prefix", "/aaa"]], requests: ["/aaa/ccc"], expect: "p1", says: "Yes, matches /aaa prefix" },
    { kind: "Prefix", paths: [["Prefix", "/"], ["Prefix", "/aaa"], ["Prefix", "/aaa/bbb"]], requests: ["/aaa/bbb"], expect: "p2", says: "Yes, matches /aaa/bbb prefix" },
    { kind: "Prefix", paths: [["Prefix", "/"], ["Prefix", "/aaa"], ["Prefix", "/aaa/bbb"]], requests: ["/ccc"], expect: "p0", says: "Yes, matches / prefix" },
    { kind: "Prefix", paths: [["Prefix", "/aaa"]], requests: ["/ccc"], expect: NO, says: "No, uses default backend" },
    { kind: "Mixed", paths: [["Prefix", "/foo"], ["Exact", "/foo"]], requests: ["/foo"], expect: "p1", says: "Yes, prefers Exact" },
  ];

  it("has the table's 18 rows", () => expect(rows.length).toBe(18));

  it.each(rows.map((r, i) => [i + 1, r] as const))("row %i", (_n, row) => {
    const router = pathsRouter(row.paths);
    for (const path of row.requests) expect(`${path} → ${outcome(router.route(req(path)))}`).toBe(`${path} → ${row.expect}`);
  });

  it("the order of the paths in the manifest does not matter (longest match, then Exact)", () => {
    const router = pathsRouter([["Exact", "/foo"], ["Prefix", "/aaa/bbb"], ["Prefix", "/aaa"], ["Prefix", "/foo"], ["Prefix", "/"]]);
    expect(outcome(router.route(req("/aaa/bbb")))).toBe("p1");
    expect(outcome(router.route(req("/aaa/x")))).toBe("p2");
    expect(outcome(router.route(req("/foo")))).toBe("p0");
    expect(outcome(router.route(req("/foo/x")))).toBe("p3");
    expect(outcome(router.route(req("/zzz")))).toBe("p4");
  });

  it("ImplementationSpecific is treated as Prefix, element-wise", () => {
    const router = pathsRouter([["ImplementationSpecific", "/foo"]]);
    expect(["/foo", "/foo/", "/foo/bar", "/foobar"].map((p) => outcome(router.route(req(p))))).toEqual(["p0", "p0", "p0", "404"]);
  });

  it("matching is case sensitive", () => {
    const router = pathsRouter([["Exact", "/foo"], ["Prefix", "/bar"]]);
    expect(["/FOO", "/Bar/x"].map((p) => outcome(router.route(req(p))))).toEqual(["404", "404"]);
  });
});

describe("the Ingress docs' hostname wildcards", () => {
  // The docs' ingress-wildcard-host.yaml: foo.bar.com /bar → service1, *.foo.com /foo → service2.
  const router = compileIngress(
    load(
      NGINX_CLASS +
        service("service1") +
        service("service2") +
        ingressYaml("ingress-wildcard-host", [
          { host: "foo.bar.com", paths: [["Prefix", "/bar", "service1"]] },
          { host: "*.foo.com", paths: [["Prefix", "/foo", "service2"]] },
        ]),
    ),
    { fallback: FALLBACK },
  );
  const at = (host: string, path: string) => outcome(router.route(req(path, { host })));

  it.each([
    ["bar.foo.com", "service2", "Matches based on shared suffix"],
    ["baz.bar.foo.com", "404", "No match, wildcard only covers a single DNS label"],
    ["foo.com", "404", "No match, wildcard only covers a single DNS label"],
  ])("*.foo.com with Host %s → %s (%s)", (host, expected) => expect(at(host, "/foo")).toBe(expected));

  it("a precise host matches only that Host header, with its port ignored and case folded", () => {
    expect(at("foo.bar.com", "/bar")).toBe("service1");
    expect(at("FOO.bar.com:8080", "/bar")).toBe("service1");
    expect(at("x.foo.bar.com", "/bar")).toBe("404");
  });

  it("an exact host wins over a wildcard covering it", () => {
    const r = compileIngress(
      load(
        NGINX_CLASS +
          service("exact") +
          service("wild") +
          ingressYaml("i", [
            { host: "*.foo.com", paths: [["Prefix", "/", "wild"]] },
            { host: "bar.foo.com", paths: [["Prefix", "/", "exact"]] },
          ]),
      ),
      { fallback: FALLBACK },
    );
    expect(outcome(r.route(req("/", { host: "bar.foo.com" })))).toBe("exact");
    expect(outcome(r.route(req("/", { host: "baz.foo.com" })))).toBe("wild");
  });
});

describe("ingress-nginx's behaviour around the rules", () => {
  const TLS_SECRET = `---
apiVersion: v1
kind: Secret
metadata: {name: shop-tls}
type: kubernetes.io/tls
stringData: {tls.crt: "SHOP CERT", tls.key: "SHOP KEY"}
---
apiVersion: v1
kind: Secret
metadata: {name: wild-tls}
type: kubernetes.io/tls
stringData: {tls.crt: "WILD CERT", tls.key: "WILD KEY"}
`;
  const tlsYaml = `  tls:
  - hosts: [shop.example.com]
    secretName: shop-tls
  - hosts: ["*.apps.example.com"]
    secretName: wild-tls
  - hosts: [broken.example.com]
    secretName: no-such-secret
`;
  const objects = load(
    NGINX_CLASS +
      TLS_SECRET +
      service("web") +
      service("api") +
      service("anyhost") +
      ingressYaml(
        "shop",
        [
          { host: "shop.example.com", paths: [["Prefix", "/", "web"], ["Prefix", "/api", "api"], ["Exact", "/gone", "no-such-svc"]] },
          { host: "blog.apps.example.com", paths: [["Prefix", "/", "web"]] },
          { host: "broken.example.com", paths: [["Prefix", "/", "web"]] },
          { host: "plain.example.com", paths: [["Prefix", "/app", "web"]] },
          { paths: [["Prefix", "/", "anyhost"]] },
        ],
        tlsYaml,
      ),
    "shop.yaml",
  );
  const router = compileIngress(objects, { fallback: FALLBACK });

  it("opens 80 (HTTP) and 443 (HTTPS)", () => expect(router.listeners).toEqual([HTTP, HTTPS]));

  it("redirects HTTP to HTTPS with 308 for hosts with TLS, keeping the path and query", () => {
    const d = router.route(req("/api/items?page=2", { host: "shop.example.com" }));
    expect(d).toMatchObject({ kind: "redirect", status: 308, location: "https://shop.example.com/api/items?page=2" });
    expect(router.route(req("/x", { host: "blog.apps.example.com" }))).toMatchObject({ kind: "redirect", location: "https://blog.apps.example.com/x" });
    expect(router.route(req("/", { host: "broken.example.com" }))).toMatchObject({ kind: "redirect", status: 308 });
  });

  it("proxies the same request on HTTPS, and hosts without TLS on HTTP", () => {
    const d = router.route(req("/api/items", { host: "shop.example.com", listener: HTTPS, sni: "shop.example.com" }));
    expect(d).toEqual({
      kind: "proxy",
      source: { kind: "Ingress", namespace: "default", name: "shop", detail: "host shop.example.com path /api (Prefix)" },
      backends: [{ namespace: "default", service: "api", port: 80, weight: 1 }],
    });
    expect(outcome(router.route(req("/app/x", { host: "plain.example.com" })))).toBe("web");
  });

  it("the redirect names the Ingress whose location (or server) answered", () => {
    expect(router.route(req("/x", { host: "blog.apps.example.com" }))).toMatchObject({ source: { name: "shop", detail: "host blog.apps.example.com path / (Prefix)" } });
    const r = compileIngress(
      load(NGINX_CLASS + TLS_SECRET + service("web") + ingressYaml("exact-only", [{ host: "shop.example.com", paths: [["Exact", "/a", "web"]] }], `  tls: [{hosts: [shop.example.com], secretName: shop-tls}]\n`)),
      { fallback: FALLBACK },
    );
    expect(r.route(req("/b", { host: "shop.example.com" }))).toEqual({
      kind: "redirect",
      source: { kind: "Ingress", namespace: "default", name: "exact-only", detail: "host shop.example.com (default backend)" },
      status: 308,
      location: "https://shop.example.com/b",
    });
    expect(r.route(req("/b", { host: "shop.example.com", listener: HTTPS }))).toEqual({ kind: "respond", status: 404, reason: "Not Found: default backend - 404" });
  });

  it("the ssl-redirect annotation set to false turns the redirect off", () => {
    const r = compileIngress(
      load(
        NGINX_CLASS +
          TLS_SECRET +
          service("web") +
          ingressYaml("shop", [{ host: "shop.example.com", paths: [["Prefix", "/", "web"]] }], `  tls: [{hosts: [shop.example.com], secretName: shop-tls}]\n`).replace(
            "metadata: {name: shop}",
            'metadata: {name: shop, annotations: {nginx.ingress.kubernetes.io/ssl-redirect: "false"}}',
          ),
      ),
      { fallback: FALLBACK },
    );
    expect(outcome(r.route(req("/", { host: "shop.example.com" })))).toBe("web");
    expect(outcome(compileIngress(objects, { fallback: FALLBACK, sslRedirect: false }).route(req("/", { host: "shop.example.com" })))).toBe("web");
  });

  it("a host with rules but no matching path gets the default backend's 404, not the host-less rules", () => {
    expect(router.route(req("/other", { host: "plain.example.com" }))).toEqual({ kind: "respond", status: 404, reason: "Not Found: default backend - 404" });
  });

  it("rules without a host take any other host, and HTTP/1.0 requests without one", () => {
    expect(outcome(router.route(req("/x", { host: "unknown.example.org" })))).toBe("anyhost");
    expect(outcome(router.route(req("/x", { host: "10.0.0.1:30080" })))).toBe("anyhost");
    expect(outcome(router.route(req("/x", { host: undefined, httpVersion: "1.0" })))).toBe("anyhost");
  });

  it("an absolute-form request target's host wins over the Host header", () => {
    expect(outcome(router.route(req("http://plain.example.com/app/x?y=1", { host: "other.example.org" })))).toBe("web");
    expect(outcome(router.route(req("http://plain.example.com", { host: undefined })))).toBe("404");
    expect(router.route(req("http://shop.example.com:80/api?q=1", { host: "x" }))).toMatchObject({ kind: "redirect", location: "https://shop.example.com/api?q=1" });
  });

  it("a request without Host on HTTP/1.1 gets 400, as does an empty or invalid Host", () => {
    for (const over of [{ host: undefined }, { host: undefined, httpVersion: "1.1" }, { host: "" }, { host: "a/b" }, { host: "a..b" }])
      expect(router.route(req("/", over))).toMatchObject({ kind: "respond", status: 400 });
  });

  it("a path naming a missing Service answers 503 and warns with the object, field and line", () => {
    const d = router.route(req("/gone", { host: "shop.example.com", listener: HTTPS }));
    expect(d).toMatchObject({ kind: "respond", status: 503, source: { name: "shop", detail: "host shop.example.com path /gone (Exact)" } });
    const w = router.warnings.find((x) => x.message.includes("no-such-svc"));
    expect(w).toEqual({
      object: "Ingress default/shop",
      field: "spec.rules[0].http.paths[2].backend.service.name",
      message: "Service default/no-such-svc not found: requests routed here get 503",
      where: expect.stringMatching(/^shop\.yaml:\d+$/),
    });
    const line = Number(w?.where?.split(":")[1]);
    const text = NGINX_CLASS + TLS_SECRET + service("web") + service("api") + service("anyhost");
    expect(line).toBeGreaterThan(text.split("\n").length);
    // The rest keeps routing.
    expect(outcome(router.route(req("/", { host: "shop.example.com", listener: HTTPS })))).toBe("web");
  });

  it("a TLS entry naming a missing Secret gets the fallback certificate and a warning", () => {
    expect(router.certificate(HTTPS, "broken.example.com")).toBe(FALLBACK);
    expect(router.warnings.find((x) => x.field === "spec.tls[2].secretName")).toMatchObject({
      object: "Ingress default/shop",
      message: "Secret default/no-such-secret not found: the fallback certificate is used",
      where: expect.stringMatching(/^shop\.yaml:\d+$/),
    });
  });

  it("picks the certificate whose tls.hosts match the SNI (wildcards one label deep), else the fallback", () => {
    expect(router.certificate(HTTPS, "shop.example.com")).toEqual({ cert: "SHOP CERT", key: "SHOP KEY", origin: "Secret default/shop-tls" });
    expect(router.certificate(HTTPS, "SHOP.example.com")).toMatchObject({ origin: "Secret default/shop-tls" });
    expect(router.certificate(HTTPS, "blog.apps.example.com")).toMatchObject({ origin: "Secret default/wild-tls" });
    expect(router.certificate(HTTPS, "a.blog.apps.example.com")).toBe(FALLBACK);
    expect(router.certificate(HTTPS, "unknown.example.com")).toBe(FALLBACK);
    expect(router.certificate(HTTPS, undefined)).toBe(FALLBACK);
  });

  it("has exactly the two warnings", () => expect(router.warnings.map((w) => w.field)).toEqual(["spec.rules[0].http.paths[2].backend.service.name", "spec.tls[2].secretName"]));
});

describe("paths with dot segments, as nginx normalises them before matching", () => {
  const router = pathsRouter([["Prefix", "/b"], ["Exact", "/a/c"]]);
  it.each([
    ["/a/../b", "p0"],
    ["/a/./../b/x", "p0"],
    ["/a/%2e%2e/b", "p0"],
    ["/a//c", "p1"],
    ["//a/./c", "p1"],
    ["/a/b/../c", "p1"],
    ["/b/..", "404"],
    ["/..", "400"],
    ["/a/../../b", "400"],
    ["/%2e%2e/b", "400"],
    ["/a%zz", "400"],
    ["/a%00b", "400"],
  ])("%s → %s", (path, expected) => expect(outcome(router.route(req(path)))).toBe(expected));
});

describe("the defaultBackend of an Ingress", () => {
  it("with no rules, takes the catch-all server", () => {
    const r = compileIngress(
      load(`${NGINX_CLASS}${service("fallback-svc")}---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: only-default}
spec:
  defaultBackend: {service: {name: fallback-svc, port: {name: http}}}
`),
      { fallback: FALLBACK },
    );
    expect(r.route(req("/anything", { host: "whatever.example.com" }))).toMatchObject({ kind: "proxy", backends: [{ service: "fallback-svc", port: "http" }] });
  });

  it("with rules, is the root of the hosts it creates", () => {
    const r = compileIngress(
      load(
        NGINX_CLASS +
          service("web") +
          service("fallback-svc") +
          ingressYaml("with-default", [{ host: "a.example.com", paths: [["Exact", "/x", "web"]] }], "  defaultBackend: {service: {name: fallback-svc, port: {number: 80}}}\n"),
      ),
      { fallback: FALLBACK },
    );
    expect(outcome(r.route(req("/x", { host: "a.example.com" })))).toBe("web");
    expect(outcome(r.route(req("/y", { host: "a.example.com" })))).toBe("fallback-svc");
    expect(outcome(r.route(req("/y", { host: "b.example.com" })))).toBe("404");
  });
});

describe("which Ingresses the controller serves", () => {
  const two = (cls: string) =>
    service("web") +
    ingressYaml("named", [{ host: "named.example.com", paths: [["Prefix", "/", "web"]] }], "  ingressClassName: nginx\n") +
    ingressYaml("other", [{ host: "other.example.com", paths: [["Prefix", "/", "web"]] }], "  ingressClassName: traefik\n") +
    ingressYaml("legacy", [{ host: "legacy.example.com", paths: [["Prefix", "/", "web"]] }]).replace(
      "metadata: {name: legacy}",
      "metadata: {name: legacy, annotations: {kubernetes.io/ingress.class: nginx}}",
    ) +
    ingressYaml("classless", [{ host: "classless.example.com", paths: [["Prefix", "/", "web"]] }]) +
    cls;
  const served = (r: L7Router) =>
    ["named", "other", "legacy", "classless"].filter((h) => r.route(req("/", { host: `${h}.example.com` })).kind === "proxy");

  it("the default IngressClass of k8s.io/ingress-nginx: its own, the legacy annotation, and those without a class", () => {
    expect(served(compileIngress(load(two(NGINX_CLASS)), { fallback: FALLBACK }))).toEqual(["named", "legacy", "classless"]);
  });

  it("a class that is not the default leaves Ingresses without a class alone", () => {
    expect(served(compileIngress(load(two(NGINX_CLASS.replace('"true"', '"false"'))), { fallback: FALLBACK }))).toEqual(["named", "legacy"]);
  });

  it("an explicit className picks that class", () => {
    expect(served(compileIngress(load(two("")), { fallback: FALLBACK, className: "traefik" }))).toEqual(["other"]);
  });
});

describe("Ingresses sharing a host", () => {
  const both = (firstMeta: string) =>
    compileIngress(
      load(
        NGINX_CLASS +
          service("one") +
          service("two") +
          ingressYaml("first", [{ host: "h.example.com", paths: [["Prefix", "/a", "one"]] }]).replace("metadata: {name: first}", firstMeta) +
          ingressYaml("second", [{ host: "h.example.com", paths: [["Prefix", "/a/", "two"], ["Prefix", "/b", "two"]] }]),
      ),
      { fallback: FALLBACK },
    );

  it("merge into one server; applied together, the later namespace/name keeps a path both define (sortIngressSlice)", () => {
    const r = both("metadata: {name: first}");
    expect(outcome(r.route(req("/a", { host: "h.example.com" })))).toBe("two");
    expect(outcome(r.route(req("/b", { host: "h.example.com" })))).toBe("two");
    expect(r.warnings).toEqual([expect.objectContaining({ object: "Ingress default/first", field: "spec.rules[0].http.paths[0].path" })]);
  });

  it("an older creationTimestamp goes first and keeps the path", () => {
    const r = both('metadata: {name: first, creationTimestamp: "2026-01-01T00:00:00Z"}');
    expect(outcome(r.route(req("/a", { host: "h.example.com" })))).toBe("one");
    expect(r.warnings).toEqual([expect.objectContaining({ object: "Ingress default/second", field: "spec.rules[0].http.paths[0].path" })]);
  });
});

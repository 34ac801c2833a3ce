// The Gateway router beyond the conformance matching cases: RequestHeaderModifier and
// RequestRedirect, a backendRef to a missing Service (500 for its share, or for all), route
// precedence by creationTimestamp then namespace/name, allowedRoutes, HTTPS listeners chosen by
// hostname with their certificates and the 421 for a misdirected Host, and the warnings.

import { describe, expect, it } from "vitest";
import { compileGateway, compileIngress, type Gateway, type K8sObject, type L7Certificate, type L7Request, parseManifests } from "../../src/k8s/index.js";

const FALLBACK: L7Certificate = { cert: "FAKE", key: "FAKE KEY", origin: "fallback (Kubernetes Ingress Controller Fake Certificate)" };

const YAML = `apiVersion: v1
kind: Namespace
metadata: {name: infra, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other, labels: {team: b}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: infra}
spec: {selector: {app: web}, ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: other}
spec: {selector: {app: web}, ports: [{port: 8080}]}
---
apiVersion: v1
kind: Secret
metadata: {name: shop-tls, namespace: infra}
type: kubernetes.io/tls
stringData: {tls.crt: SHOP CERT, tls.key: SHOP KEY}
---
apiVersion: v1
kind: Secret
metadata: {name: wild-tls, namespace: infra}
type: kubernetes.io/tls
stringData: {tls.crt: WILD CERT, tls.key: WILD KEY}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: kubewire
  listeners:
  - {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
  - {name: https, port: 443, protocol: HTTPS, hostname: shop.example.com, tls: {certificateRefs: [{name: shop-tls}]}}
  - {name: https-wild, port: 443, protocol: HTTPS, hostname: "*.example.com", tls: {certificateRefs: [{name: wild-tls}]}}
  - {name: https-missing, port: 443, protocol: HTTPS, hostname: missing.example.org, tls: {certificateRefs: [{name: no-such-secret}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: filters, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /headers}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: X-Env, value: prod}]
        add: [{name: X-Tag, value: a}]
        remove: [X-Debug]
    backendRefs: [{name: web, port: 8080}]
  - matches: [{path: {type: Exact, value: /old}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: https, statusCode: 301}}]
  - matches: [{path: {type: PathPrefix, value: /moved}}]
    filters: [{type: RequestRedirect, requestRedirect: {hostname: new.example.com, path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}}}]
  - matches: [{path: {type: Exact, value: /full}}]
    filters: [{type: RequestRedirect, requestRedirect: {port: 8443, path: {type: ReplaceFullPath, replaceFullPath: /x}}}]
  - matches: [{path: {type: Exact, value: /split}}]
    backendRefs: [{name: web, port: 8080, weight: 50}, {name: missing-svc, port: 8080, weight: 50}]
  - matches: [{path: {type: Exact, value: /broken}}]
    backendRefs: [{name: missing-svc, port: 8080}]
  - matches: [{path: {type: Exact, value: /badport}}]
    backendRefs: [{name: web, port: 9999}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: newer, namespace: infra, creationTimestamp: "2026-01-02T00:00:00Z"}
spec:
  parentRefs: [{name: gw, sectionName: http}]
  rules: [{matches: [{path: {type: Exact, value: /same}}], backendRefs: [{name: web, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: older, namespace: infra, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  parentRefs: [{name: gw, sectionName: http}]
  rules: [{matches: [{path: {type: Exact, value: /same}}], backendRefs: [{name: web, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: zeta, namespace: infra}
spec:
  parentRefs: [{name: gw, sectionName: http}]
  rules: [{matches: [{path: {type: Exact, value: /alpha}}], backendRefs: [{name: web, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: beta, namespace: infra}
spec:
  parentRefs: [{name: gw, sectionName: http}]
  rules: [{matches: [{path: {type: Exact, value: /alpha}}, {path: {type: Exact, value: /same}}], backendRefs: [{name: web, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: elsewhere, namespace: other}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  hostnames: [other.example.com]
  rules: [{backendRefs: [{name: web, port: 8080}]}]
`;

function load(): K8sObject[] {
  const r = parseManifests(YAML, { file: "gw.yaml" });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.objects;
}
const objects = load();
const gw = objects.find((o): o is Gateway => o.kind === "Gateway") as Gateway;
const router = compileGateway(objects, gw, { fallback: FALLBACK });

function req(path: string, over: Partial<L7Request> = {}): L7Request {
  const q = path.indexOf("?");
  return { listener: { port: 80, protocol: "HTTP" }, host: "shop.example.com", method: "GET", path: q < 0 ? path : path.slice(0, q), query: q < 0 ? "" : path.slice(q + 1), headers: {}, ...over };
}

describe("filters", () => {
  it("RequestHeaderModifier: set, add and remove ride along with the proxy decision, names lower case", () => {
    expect(router.route(req("/headers/x"))).toEqual({
      kind: "proxy",
      source: { kind: "HTTPRoute", namespace: "infra", name: "filters", detail: "rule 0 match 0" },
      backends: [{ namespace: "infra", service: "web", port: 8080, weight: 1 }],
      setHeaders: { "x-env": "prod" },
      addHeaders: { "x-tag": "a" },
      removeHeaders: ["x-debug"],
    });
  });

  it.each([
    ["/old", 301, "https://shop.example.com/old"],
    ["/old?a=1", 301, "https://shop.example.com/old?a=1"],
    ["/moved/a/b?x=1", 302, "http://new.example.com/new/a/b?x=1"],
    ["/moved", 302, "http://new.example.com/new"],
    ["/full", 302, "http://shop.example.com:8443/x"],
  ])("RequestRedirect %s → %i %s", (path, status, location) => {
    expect(router.route(req(path))).toMatchObject({ kind: "redirect", status, location, source: { name: "filters" } });
  });
});

describe("backendRefs that cannot be used", () => {
  it("a missing Service keeps its share of the weight and is marked to answer 500", () => {
    const d = router.route(req("/split"));
    expect(d).toMatchObject({ kind: "proxy" });
    if (d.kind !== "proxy") return;
    expect(d.backends).toEqual([
      { namespace: "infra", service: "web", port: 8080, weight: 50 },
      { namespace: "infra", service: "missing-svc", port: 8080, weight: 50, failure: { status: 500, reason: "Service infra/missing-svc not found" } },
    ]);
  });

  it("a rule whose only backendRef is missing answers 500, as does a port the Service lacks", () => {
    expect(router.route(req("/broken"))).toEqual({
      kind: "respond",
      source: { kind: "HTTPRoute", namespace: "infra", name: "filters", detail: "rule 5 match 0" },
      status: 500,
      reason: "Service infra/missing-svc not found",
    });
    expect(router.route(req("/badport"))).toMatchObject({ kind: "respond", status: 500, reason: "Service infra/web has no port 9999" });
  });

  it("warns with the route, the field and its line", () => {
    const w = router.warnings.filter((x) => x.object === "HTTPRoute infra/filters");
    expect(w.map((x) => x.field)).toEqual(["spec.rules[4].backendRefs[1].name", "spec.rules[5].backendRefs[0].name", "spec.rules[6].backendRefs[0].port"]);
    const line = YAML.split("\n").findIndex((l) => l.includes("name: missing-svc, port: 8080}]") && !l.includes("weight")) + 1;
    expect(w[1].where).toBe(`gw.yaml:${line}`);
  });
});

describe("precedence across routes after the matches tie", () => {
  it("the oldest route by creationTimestamp wins, before namespace/name", () => {
    expect(router.route(req("/same"))).toMatchObject({ kind: "proxy", source: { name: "older" } });
  });
  it("routes created together: alphabetical namespace/name", () => {
    expect(router.route(req("/alpha"))).toMatchObject({ kind: "proxy", source: { name: "beta", detail: "rule 0 match 0" } });
  });
});

describe("listeners and allowedRoutes", () => {
  it("a route from another namespace attaches where from: All, not where the default Same applies", () => {
    expect(router.route(req("/", { host: "other.example.com" }))).toMatchObject({ kind: "proxy", source: { namespace: "other", name: "elsewhere" }, backends: [{ namespace: "other" }] });
    expect(router.route(req("/", { host: "other.example.com", listener: { port: 443, protocol: "HTTPS" } }))).toMatchObject({ kind: "respond", status: 404 });
    expect(router.warnings.filter((w) => w.object === "HTTPRoute other/elsewhere")).toEqual([]);
  });

  it("HTTPS: the most specific listener hostname serves the Host", () => {
    const https = { port: 443, protocol: "HTTPS" } as const;
    expect(router.route(req("/headers", { listener: https, sni: "shop.example.com" }))).toMatchObject({ kind: "proxy", source: { name: "filters" } });
    expect(router.route(req("/headers", { listener: https, host: "a.b.example.com", sni: "a.b.example.com" }))).toMatchObject({ kind: "proxy" });
    expect(router.route(req("/headers", { listener: https, host: "example.net" }))).toMatchObject({ kind: "respond", status: 404 });
  });

  it("HTTPS: a Host another listener serves than the one the SNI chose is a 421", () => {
    const d = router.route(req("/headers", { listener: { port: 443, protocol: "HTTPS" }, host: "blog.example.com", sni: "shop.example.com" }));
    expect(d).toMatchObject({ kind: "respond", status: 421 });
  });

  it("certificates by SNI: the listener's Secret, the fallback for a missing one or an unknown name", () => {
    const https = { port: 443, protocol: "HTTPS" } as const;
    expect(router.certificate(https, "shop.example.com")).toEqual({ cert: "SHOP CERT", key: "SHOP KEY", origin: "Secret infra/shop-tls" });
    expect(router.certificate(https, "a.b.example.com")).toMatchObject({ origin: "Secret infra/wild-tls" });
    expect(router.certificate(https, "missing.example.org")).toBe(FALLBACK);
    expect(router.certificate(https, "unknown.org")).toBe(FALLBACK);
    expect(router.warnings).toContainEqual(expect.objectContaining({ object: "Gateway infra/gw", field: "spec.listeners[3].tls.certificateRefs[0].name" }));
  });

  it("requests without Host on HTTP/1.1, and paths climbing above the root, get 400", () => {
    expect(router.route(req("/headers", { host: undefined }))).toMatchObject({ kind: "respond", status: 400 });
    expect(router.route(req("/../headers"))).toMatchObject({ kind: "respond", status: 400 });
    expect(router.route(req("/x/../headers"))).toMatchObject({ kind: "proxy", source: { name: "filters" } });
  });
});

describe("an Ingress and an HTTPRoute that describe the same routing", () => {
  const SAME = `apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec: {selector: {app: api}, ports: [{port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
  ingressClassName: nginx
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}
      - {path: /healthz, pathType: Exact, backend: {service: {name: api, port: {number: 80}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: kubewire
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop}
spec:
  parentRefs: [{name: gw}]
  hostnames: [shop.example.com]
  rules:
  - backendRefs: [{name: web, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: api, port: 80}]
  - matches: [{path: {type: Exact, value: /healthz}}]
    backendRefs: [{name: api, port: 80}]
`;
  const objs = parseManifests(SAME, { file: "same.yaml" }).objects;
  const ingress = compileIngress(objs, { fallback: FALLBACK });
  const gateway = compileGateway(objs, objs.find((o): o is Gateway => o.kind === "Gateway") as Gateway, { fallback: FALLBACK });
  const where = (d: ReturnType<typeof ingress.route>) => (d.kind === "proxy" ? d.backends.map((b) => `${b.namespace}/${b.service}:${b.port}@${b.weight}`).join() : String(d.status));

  it.each([
    ["shop.example.com", "/"],
    ["shop.example.com", "/api"],
    ["shop.example.com", "/api/"],
    ["shop.example.com", "/api/v1"],
    ["shop.example.com", "/apix"],
    ["shop.example.com", "/healthz"],
    ["shop.example.com", "/healthz/"],
    ["shop.example.com:8080", "/web/../api/x"],
    ["other.example.com", "/api"],
  ])("%s%s goes to the same backend", (host, path) => {
    const r = req(path, { host });
    const i = where(ingress.route(r));
    expect(i).not.toBe("");
    expect(where(gateway.route(r))).toBe(i);
  });
});

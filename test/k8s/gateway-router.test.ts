// The Gateway API route table against the Gateway API conformance suite (kubernetes-sigs/
// gateway-api conformance/tests, the commit the shared manifests come from): each test's manifest
// and the base manifests read in place from ../shared/conformance with kubewire's manifest
// loader, compiled for the test's Gateway, and the request → backend (or status) cases of the
// test's Go file replayed against it.

import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  backendAt,
  compileGateway,
  formatDiagnostics,
  type Gateway,
  type GatewayRouter,
  type K8sObject,
  type L7Decision,
  type L7Request,
  loadManifests,
} from "../../src/k8s/index.js";
import { Rng } from "../../src/sim/index.js";

const CONFORMANCE = fileURLToPath(new URL("../../../shared/conformance/gateway-api/", import.meta.url));
const NS = "gateway-conformance-infra";
const V1 = `${NS}/infra-backend-v1`;
const V2 = `${NS}/infra-backend-v2`;
const V3 = `${NS}/infra-backend-v3`;

function loadSuite(file: string): K8sObject[] {
  const r = loadManifests([`${CONFORMANCE}base-manifests.yaml`, `${CONFORMANCE}${file}`]);
  expect(formatDiagnostics(r.diagnostics.filter((d) => d.severity === "error"))).toBe("");
  return r.objects;
}

function gatewayRouter(objects: readonly K8sObject[], name: string): GatewayRouter {
  const gw = objects.find((o): o is Gateway => o.kind === "Gateway" && o.metadata.name === name);
  if (!gw) throw new Error(`no Gateway ${name}`);
  return compileGateway(objects, gw);
}

/** A conformance http.Request: Host (the Gateway's address when unset), Path with its query, Method, Headers. */
interface ConfRequest {
  host?: string;
  path: string;
  method?: string;
  headers?: Record<string, string>;
}

function toRequest(r: ConfRequest): L7Request {
  const q = r.path.indexOf("?");
  return {
    listener: { port: 80, protocol: "HTTP" },
    host: r.host ?? "192.0.2.80",
    method: r.method ?? "GET",
    path: q < 0 ? r.path : r.path.slice(0, q),
    query: q < 0 ? "" : r.path.slice(q + 1),
    headers: Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
}

/** "namespace/service" of the one backend, or the status. */
function outcome(d: L7Decision): string {
  if (d.kind === "proxy") return d.backends.map((b) => `${b.namespace}/${b.service}`).join(",");
  return String(d.status);
}

type Case = readonly [ConfRequest, string];

function conformance(title: string, file: string, gateway: string, cases: readonly Case[]): void {
  describe(`${title} (${file})`, () => {
    const router = gatewayRouter(loadSuite(file), gateway);
    it.each(cases.map(([r, want], i) => [i, `${r.method ?? "GET"} ${r.host ?? ""}${r.path}${r.headers ? ` ${JSON.stringify(r.headers)}` : ""}`, r, want] as const))(
      "case %i: %s",
      (_i, _label, r, want) => expect(outcome(router.route(toRequest(r)))).toBe(want),
    );
  });
}

conformance("HTTPRouteMatching", "httproute-matching.yaml", "same-namespace", [
  [{ path: "/" }, V1],
  [{ path: "/example" }, V1],
  [{ path: "/", headers: { Version: "one" } }, V1],
  [{ path: "/v2" }, V2],
  [{ path: "/v2/example" }, V2],
  [{ path: "/", headers: { Version: "two" } }, V2],
  [{ path: "/v2/" }, V2],
  [{ path: "/v2example" }, V1],
  [{ path: "/foo/v2/example" }, V1],
]);

conformance("HTTPRouteExactPathMatching", "httproute-exact-path-matching.yaml", "same-namespace", [
  [{ path: "/one" }, V1],
  [{ path: "/two" }, V2],
  [{ path: "/" }, "404"],
  [{ path: "/one/example" }, "404"],
  [{ path: "/two/" }, "404"],
  [{ path: "/Two" }, "404"],
]);

conformance("HTTPRouteHeaderMatching", "httproute-header-matching.yaml", "same-namespace", [
  [{ path: "/", headers: { Version: "one" } }, V1],
  [{ path: "/", headers: { Version: "two" } }, V2],
  [{ path: "/", headers: { Version: "two", Color: "orange" } }, V1],
  [{ path: "/", headers: { Version: "two", Color: "blue" } }, V2],
  [{ path: "/", headers: { Color: "orange" } }, "404"],
  [{ path: "/", headers: { "Some-Other-Header": "one" } }, "404"],
  [{ path: "/", headers: { Color: "blue" } }, V1],
  [{ path: "/", headers: { Color: "green" } }, V1],
  [{ path: "/", headers: { Color: "red" } }, V2],
  [{ path: "/", headers: { Color: "yellow" } }, V2],
  [{ path: "/", headers: { Color: "purple" } }, "404"],
]);

const HI = "httproute-hostname-intersection.yaml";
conformance("HTTPRouteHostnameIntersection", HI, "httproute-hostname-intersection", [
  // specific-host-matches-listener-specific-host
  [{ host: "very.specific.com", path: "/s1" }, V1],
  [{ host: "very.specific.com:1234", path: "/s1" }, V1],
  [{ host: "non.matching.com", path: "/s1" }, "404"],
  [{ host: "foo.nonmatchingwildcard.io", path: "/s1" }, "404"],
  [{ host: "foo.wildcard.io", path: "/s1" }, "404"],
  [{ host: "very.specific.com", path: "/non-matching-prefix" }, "404"],
  // specific-host-matches-listener-wildcard-host
  [{ host: "foo.wildcard.io", path: "/s2" }, V2],
  [{ host: "bar.wildcard.io", path: "/s2" }, V2],
  [{ host: "foo.bar.wildcard.io", path: "/s2" }, V2],
  [{ host: "non.matching.com", path: "/s2" }, "404"],
  [{ host: "wildcard.io", path: "/s2" }, "404"],
  [{ host: "very.specific.com", path: "/s2" }, "404"],
  [{ host: "foo.wildcard.io", path: "/non-matching-prefix" }, "404"],
  // wildcard-host-matches-listener-specific-host
  [{ host: "very.specific.com", path: "/s3" }, V3],
  [{ host: "non.matching.com", path: "/s3" }, "404"],
  [{ host: "foo.specific.com", path: "/s3" }, "404"],
  [{ host: "foo.wildcard.io", path: "/s3" }, "404"],
  [{ host: "very.specific.com", path: "/non-matching-prefix" }, "404"],
  // wildcard-host-matches-listener-wildcard-host
  [{ host: "foo.anotherwildcard.io", path: "/s4" }, V1],
  [{ host: "bar.anotherwildcard.io", path: "/s4" }, V1],
  [{ host: "foo.bar.anotherwildcard.io", path: "/s4" }, V1],
  [{ host: "anotherwildcard.io", path: "/s4" }, "404"],
  [{ host: "foo.wildcard.io", path: "/s4" }, "404"],
  [{ host: "very.specific.com", path: "/s4" }, "404"],
  [{ host: "foo.anotherwildcard.io", path: "/non-matching-prefix" }, "404"],
  // no-intersecting-hosts is not attached
  [{ host: "specific.but.wrong.com", path: "/s5" }, "404"],
  [{ host: "wildcard.io", path: "/s5" }, "404"],
]);

conformance("HTTPRouteHostnameIntersection, a listener without hostname", HI, "httproute-hostname-intersection-all", [
  [{ host: "first.com", path: "/" }, V2],
  [{ host: "sub.first.com", path: "/" }, V2],
  [{ host: "second.com", path: "/" }, V2],
  [{ host: "sub.second.com", path: "/" }, V2],
  [{ host: "third.com", path: "/" }, "404"],
  [{ host: "sub.third.com", path: "/" }, "404"],
]);

conformance("HTTPRouteListenerHostnameMatching", "httproute-listener-hostname-matching.yaml", "httproute-listener-hostname-matching", [
  [{ host: "bar.com", path: "/" }, V1],
  [{ host: "foo.bar.com", path: "/" }, V2],
  [{ host: "baz.bar.com", path: "/" }, V3],
  [{ host: "boo.bar.com", path: "/" }, V3],
  [{ host: "multiple.prefixes.bar.com", path: "/" }, V3],
  [{ host: "multiple.prefixes.foo.com", path: "/" }, V3],
  [{ host: "foo.com", path: "/" }, "404"],
  [{ host: "no.matching.host", path: "/" }, "404"],
]);

conformance("HTTPRouteMatchingAcrossRoutes", "httproute-matching-across-routes.yaml", "same-namespace", [
  [{ host: "example.com", path: "/" }, V1],
  [{ host: "example.com", path: "/example" }, V1],
  [{ host: "example.net", path: "/example" }, V1],
  [{ host: "example.com", path: "/example", headers: { Version: "one" } }, V1],
  [{ host: "example.com", path: "/v2" }, V2],
  [{ host: "example.net", path: "/v2" }, V1],
  [{ host: "example.com", path: "/v2/example" }, V2],
  [{ host: "example.com", path: "/", headers: { Version: "two" } }, V2],
]);

conformance("HTTPRouteMethodMatching", "httproute-method-matching.yaml", "same-namespace", [
  [{ method: "POST", path: "/" }, V1],
  [{ method: "GET", path: "/" }, V2],
  [{ method: "HEAD", path: "/" }, "404"],
  [{ path: "/path1", method: "GET" }, V1],
  [{ headers: { version: "one" }, path: "/", method: "PUT" }, V2],
  [{ headers: { version: "two" }, path: "/path2", method: "POST" }, V3],
  [{ path: "/path3", method: "PATCH" }, V1],
  [{ headers: { version: "three" }, path: "/path4", method: "DELETE" }, V1],
  [{ path: "/", method: "PUT" }, "404"],
  [{ path: "/path4", method: "DELETE" }, "404"],
  [{ path: "/path5", method: "PATCH" }, V1],
  [{ headers: { version: "four" }, path: "/", method: "PATCH" }, V2],
]);

conformance("HTTPRouteQueryParamMatching", "httproute-query-param-matching.yaml", "same-namespace", [
  [{ path: "/?animal=whale" }, V1],
  [{ path: "/?animal=dolphin" }, V2],
  [{ path: "/?animal=dolphin&color=blue" }, V3],
  [{ path: "/?ANIMAL=Whale" }, V3],
  [{ path: "/?animal=whale&otherparam=irrelevant" }, V1],
  [{ path: "/?animal=dolphin&color=yellow" }, V2],
  [{ path: "/?color=blue" }, "404"],
  [{ path: "/?animal=dog" }, "404"],
  [{ path: "/?animal=whaledolphin" }, "404"],
  [{ path: "/" }, "404"],
  [{ path: "/path1?animal=whale" }, V1],
  [{ headers: { version: "one" }, path: "/?animal=whale" }, V2],
  [{ headers: { version: "two" }, path: "/path2?animal=whale" }, V3],
  [{ path: "/path3?animal=shark" }, V1],
  [{ headers: { version: "three" }, path: "/path4?animal=kraken" }, V1],
  [{ path: "/?animal=shark" }, "404"],
  [{ path: "/path4?animal=kraken" }, "404"],
  [{ path: "/path5?animal=hydra" }, V1],
  [{ headers: { version: "four" }, path: "/?animal=hydra" }, V3],
]);

conformance("HTTPRoutePathMatchOrder", "httproute-path-match-order.yaml", "same-namespace", [
  [{ path: "/match/exact/one" }, V3],
  [{ path: "/match/exact" }, V2],
  [{ path: "/match" }, V1],
  [{ path: "/match/prefix/one/any" }, V2],
  [{ path: "/match/prefix/any" }, V1],
  [{ path: "/match/any" }, V3],
]);

describe("HTTPRouteWeight (httproute-weight.yaml)", () => {
  const router = gatewayRouter(loadSuite("httproute-weight.yaml"), "same-namespace");
  const d = router.route(toRequest({ path: "/" }));

  it("returns the three backendRefs with their weights 70/30/0", () => {
    expect(d.kind).toBe("proxy");
    if (d.kind !== "proxy") return;
    expect(d.backends.map((b) => [b.service, b.port, b.weight])).toEqual([
      ["infra-backend-v1", 8080, 70],
      ["infra-backend-v2", 8080, 30],
      ["infra-backend-v3", 8080, 0],
    ]);
    expect(d.source).toEqual({ kind: "HTTPRoute", namespace: NS, name: "weighted-backends", detail: "rule 0 match 0" });
  });

  it("a seeded pick over 500 requests lands within the suite's 5% tolerance of 0.7 / 0.3 / 0", () => {
    if (d.kind !== "proxy") throw new Error("not proxied");
    // weight.TestWeightedDistribution: 500 requests, tolerancePercentage 0.05.
    for (const seed of [1, 2, 3]) {
      const rng = new Rng(seed);
      const counts = new Map<string, number>();
      for (let i = 0; i < 500; i++) {
        const b = backendAt(d.backends, rng.float());
        counts.set(b?.service ?? "none", (counts.get(b?.service ?? "none") ?? 0) + 1);
      }
      expect(Math.abs((counts.get("infra-backend-v1") ?? 0) / 500 - 0.7)).toBeLessThanOrEqual(0.05);
      expect(Math.abs((counts.get("infra-backend-v2") ?? 0) / 500 - 0.3)).toBeLessThanOrEqual(0.05);
      expect(counts.get("infra-backend-v3")).toBeUndefined();
      expect(counts.get("none")).toBeUndefined();
    }
  });

  it("backendAt splits [0, 1) in proportion to the weights", () => {
    if (d.kind !== "proxy") throw new Error("not proxied");
    expect([0, 0.69, 0.7, 0.9999].map((u) => backendAt(d.backends, u)?.service)).toEqual(["infra-backend-v1", "infra-backend-v1", "infra-backend-v2", "infra-backend-v2"]);
    expect(backendAt([{ namespace: NS, service: "x", port: 1, weight: 0 }], 0.5)).toBeUndefined();
  });
});

describe("listeners of the conformance Gateways", () => {
  it("one L7Listener per port; its name when only one Gateway listener uses the port", () => {
    const objects = loadSuite("httproute-listener-hostname-matching.yaml");
    expect(gatewayRouter(objects, "httproute-listener-hostname-matching").listeners).toEqual([{ port: 80, protocol: "HTTP" }]);
    expect(gatewayRouter(objects, "same-namespace").listeners).toEqual([{ port: 80, protocol: "HTTP", name: "http" }]);
    expect(gatewayRouter(objects, "same-namespace-with-https-listener").listeners).toEqual([{ port: 443, protocol: "HTTPS" }]);
  });

  it("the base Gateway's HTTPS listener names a Secret the base manifests lack: the fallback and a warning per listener", () => {
    const router = gatewayRouter(loadSuite("httproute-matching.yaml"), "same-namespace-with-https-listener");
    expect(router.warnings.map((w) => [w.object, w.field, w.message])).toEqual(
      [0, 1, 2, 3].map((i) => [
        `Gateway ${NS}/same-namespace-with-https-listener`,
        `spec.listeners[${i}].tls.certificateRefs[0].name`,
        `Secret ${NS}/tls-validity-checks-certificate not found: the fallback certificate is used`,
      ]),
    );
    expect(router.warnings[0].where).toMatch(/base-manifests\.yaml:\d+$/);
  });
});

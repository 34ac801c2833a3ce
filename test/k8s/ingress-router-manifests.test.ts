// Malformed Ingress and Gateway API objects are rejected by the manifest reader with the file,
// line and field, as the API server (and the Gateway API CRDs) would refuse them, before any
// router sees them; well-formed ones keep their creationTimestamp for route precedence.

import { describe, expect, it } from "vitest";
import { type Diagnostic, parseManifests } from "../../src/k8s/index.js";

function errors(yaml: string): Diagnostic[] {
  return parseManifests(yaml, { file: "bad.yaml" }).diagnostics.filter((d) => d.severity === "error");
}

/** The 1-based line of the first line containing `needle`. */
const lineOf = (yaml: string, needle: string): number => yaml.split("\n").findIndex((l) => l.includes(needle)) + 1;

const ingress = (paths: string, extra = "") => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
${extra}  rules:
  - host: shop.example.com
    http:
      paths:
${paths}`;

const route = (rules: string, extra = "") => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: infra}
spec:
  parentRefs: [{name: gw}]
${extra}  rules:
${rules}`;

describe("Ingress objects the API server would refuse", () => {
  it.each([
    [
      "a bad pathType",
      ingress("      - {path: /cart, pathType: Prefixx, backend: {service: {name: web, port: {number: 80}}}}\n"),
      "spec.rules[0].http.paths[0].pathType",
      /"Prefixx" is not a pathType .*Exact.*Prefix.*ImplementationSpecific.*did you mean "Prefix"/,
      "Prefixx",
    ],
    [
      "a missing pathType",
      ingress("      - {path: /cart, backend: {service: {name: web, port: {number: 80}}}}\n"),
      "spec.rules[0].http.paths[0].pathType",
      /required field is missing \(expected a pathType/,
      "path: /cart",
    ],
    [
      "a path not starting with /",
      ingress("      - {path: cart, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}\n"),
      "spec.rules[0].http.paths[0].path",
      /"cart" must be an absolute path for pathType Prefix/,
      "path: cart",
    ],
    [
      "an ImplementationSpecific path not starting with /",
      ingress("      - {path: cart, pathType: ImplementationSpecific, backend: {service: {name: web, port: {number: 80}}}}\n"),
      "spec.rules[0].http.paths[0].path",
      /"cart" must be an absolute path/,
      "path: cart",
    ],
    [
      "a Prefix path with //",
      ingress("      - {path: /a//b, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}\n"),
      "spec.rules[0].http.paths[0].path",
      /must not contain '\/\/'/,
      "/a//b",
    ],
    [
      "an Exact path ending in /..",
      ingress("      - {path: /a/.., pathType: Exact, backend: {service: {name: web, port: {number: 80}}}}\n"),
      "spec.rules[0].http.paths[0].path",
      /cannot end with '\/\.\.'/,
      "/a/..",
    ],
    [
      "a backend port with both number and name",
      ingress("      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80, name: http}}}}\n"),
      "spec.rules[0].http.paths[0].backend.service.port",
      /exactly one of number or name/,
      "number: 80",
    ],
    [
      "a backend with no service",
      ingress("      - {path: /, pathType: Prefix, backend: {}}\n"),
      "spec.rules[0].http.paths[0].backend",
      /exactly one of service or resource/,
      "backend: {}",
    ],
    [
      "a wildcard host in the middle",
      ingress("      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}\n").replace("host: shop.example.com", 'host: "shop.*.com"'),
      "spec.rules[0].host",
      /host "shop\.\*\.com"/,
      "shop.*.com",
    ],
    [
      "an IP as host",
      ingress("      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}\n").replace("host: shop.example.com", "host: 192.0.2.1"),
      "spec.rules[0].host",
      /must be a DNS name, not an IP address/,
      "192.0.2.1",
    ],
  ])("%s", (_what, yaml, path, message, needle) => {
    const e = errors(yaml);
    expect(e).toHaveLength(1);
    expect(e[0]).toMatchObject({ file: "bad.yaml", path, object: "Ingress default/shop", line: lineOf(yaml, needle) });
    expect(e[0].message).toMatch(message);
  });

  it("a well-formed Ingress reads without diagnostics", () => {
    expect(errors(ingress("      - {path: /cart, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}\n"))).toEqual([]);
  });
});

describe("HTTPRoutes the Gateway API CRDs would refuse", () => {
  it.each([
    ["a bad path match type", route("  - matches: [{path: {type: Prefix, value: /a}}]\n"), "spec.rules[0].matches[0].path.type", /"Prefix" is not a path match type \(expected Exact, PathPrefix, RegularExpression\)/, "type: Prefix"],
    ["a relative path", route("  - matches: [{path: {type: Exact, value: a}}]\n"), "spec.rules[0].matches[0].path.value", /"a" must be an absolute path/, "value: a"],
    ["a header match without value", route("  - matches:\n    - headers:\n      - name: version\n"), "spec.rules[0].matches[0].headers[0].value", /required field is missing/, "name: version"],
    ["an unknown method", route("  - matches: [{method: FETCH}]\n"), "spec.rules[0].matches[0].method", /"FETCH" is not an HTTP method/, "FETCH"],
    ["a misspelt match field", route("  - matches: [{header: [{name: a, value: b}]}]\n"), "spec.rules[0].matches[0].header", /unknown field "header".*did you mean "headers"/, "header:"],
    ["a backendRef without port", route("  - backendRefs: [{name: web}]\n"), "spec.rules[0].backendRefs[0].port", /backendRef to a Service needs one/, "name: web"],
    ["a negative weight", route("  - backendRefs: [{name: web, port: 80, weight: -1}]\n"), "spec.rules[0].backendRefs[0].weight", /is not a weight/, "weight: -1"],
    ["an unknown filter type", route("  - filters: [{type: Rewrite}]\n"), "spec.rules[0].filters[0].type", /"Rewrite" is not a filter type/, "Rewrite"],
    ["a redirect status that is not one", route("  - filters: [{type: RequestRedirect, requestRedirect: {statusCode: 200}}]\n"), "spec.rules[0].filters[0].requestRedirect.statusCode", /200 is not a redirect status/, "statusCode: 200"],
    ["a bad hostname", route("  - backendRefs: [{name: web, port: 80}]\n", '  hostnames: ["*.*.example.com"]\n'), "spec.hostnames[0]", /hostname "\*\.\*\.example\.com"/, "hostnames"],
  ])("%s", (_what, yaml, path, message, needle) => {
    const e = errors(yaml);
    expect(e).toHaveLength(1);
    expect(e[0]).toMatchObject({ file: "bad.yaml", path, object: "HTTPRoute infra/r", line: lineOf(yaml, needle) });
    expect(e[0].message).toMatch(message);
  });

  it("says that Prefix is PathPrefix in the Gateway API", () => {
    expect(errors(route("  - matches: [{path: {type: Prefix, value: /a}}]\n"))[0].hint).toBe("the Gateway API calls it PathPrefix (Prefix is the Ingress pathType)");
  });

  it("an HTTPS listener without tls is refused", () => {
    const yaml = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: kubewire
  listeners:
  - {name: https, port: 443, protocol: HTTPS}
`;
    expect(errors(yaml)).toEqual([expect.objectContaining({ path: "spec.listeners[0].tls", line: 7, message: expect.stringMatching(/tls.certificateRefs/) })]);
  });

  it("keeps metadata.creationTimestamp, and refuses one that is not a time", () => {
    const ok = parseManifests(route("  - backendRefs: [{name: web, port: 80}]\n").replace("metadata: {name: r, namespace: infra}", "metadata: {name: r, namespace: infra, creationTimestamp: 2026-01-02T03:04:05Z}"));
    expect(ok.diagnostics).toEqual([]);
    expect((ok.objects[0].metadata as { creationTimestamp?: string }).creationTimestamp).toBe("2026-01-02T03:04:05.000Z");
    const bad = route("  - backendRefs: [{name: web, port: 80}]\n").replace("metadata: {name: r, namespace: infra}", 'metadata: {name: r, namespace: infra, creationTimestamp: "yesterday"}');
    expect(errors(bad)).toEqual([expect.objectContaining({ path: "metadata.creationTimestamp", message: expect.stringMatching(/not an RFC 3339 time/) })]);
  });
});

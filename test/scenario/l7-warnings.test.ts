// The L7 controllers' warnings at load time: an Ingress naming a missing Service or Secret and an
// HTTPRoute whose backend is missing are warnings (ingress-nginx keeps serving) with the object's
// file, line and field, in loadScenario's result, in `kubewire check` and before a run.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hasErrors } from "../../src/k8s/index.js";
import { loadScenario } from "../../src/scenario/index.js";
import { cli } from "../cli/helpers.js";

const MANIFESTS = `apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}}
spec: {nodeName: node-2, containers: [{name: web, image: echo, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec: {controller: k8s.io/ingress-nginx}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
  ingressClassName: nginx
  tls: [{hosts: [shop.example.com], secretName: no-such-tls}]
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /cart, pathType: Prefix, backend: {service: {name: cart, port: {number: 80}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: kubewire}
spec: {controllerName: kubewire.dev/gateway}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: kubewire
  listeners: [{name: http, protocol: HTTP, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: split}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: web, port: 80, weight: 80}, {name: canary, port: 80, weight: 20}]
`;

const dir = mkdtempSync(join(tmpdir(), "kw-l7-warnings-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, "manifests"));
const manifestFile = join(dir, "manifests", "l7.yaml");
writeFileSync(manifestFile, MANIFESTS);
const scenarioFile = join(dir, "scenario.yaml");
writeFileSync(
  scenarioFile,
  `apiVersion: kubewire.dev/v1alpha1
kind: Scenario
name: l7-warnings
cluster:
  nodes:
  - {name: node-1, address: 192.168.50.11}
  - {name: node-2, address: 192.168.50.12}
  underlay: {cidr: 192.168.50.0/24, gateway: 192.168.50.1}
  cni: {backend: vxlan}
manifests:
- manifests/
traffic:
- external-host: {name: laptop, address: 192.168.50.100, routes: ["203.0.113.80/32 via 192.168.50.11"]}
- http: {from: external/laptop, url: "http://shop.example.com/", connect: "lb/ingress-nginx/ingress-nginx-controller:80"}
  expect: {status: 308}
`,
);
/** The 1-based line of the manifest that holds `text`. */
const lineOf = (text: string) => MANIFESTS.split("\n").findIndex((l) => l.includes(text)) + 1;

describe("L7 warnings when a scenario loads", () => {
  it("name the object, its file, line and field, and are warnings: the scenario still loads", () => {
    const r = loadScenario(scenarioFile);
    expect(hasErrors(r.diagnostics)).toBe(false);
    expect(r.scenario).toBeDefined();
    const l7 = r.diagnostics.filter((d) => /^(ingress-nginx|Gateway default\/gw): /.test(d.message));
    expect(l7.map((d) => [d.severity, d.file, d.line, d.object, d.path])).toEqual(
      expect.arrayContaining([
        ["warning", manifestFile, lineOf("{name: cart,"), "Ingress default/shop", "spec.rules[0].http.paths[1].backend.service.name"],
        ["warning", manifestFile, lineOf("secretName: no-such-tls"), "Ingress default/shop", "spec.tls[0].secretName"],
        ["warning", manifestFile, lineOf("{name: canary,"), "HTTPRoute default/split", "spec.rules[0].backendRefs[1].name"],
      ]),
    );
    expect(l7.find((d) => d.path === "spec.rules[0].http.paths[1].backend.service.name")?.message).toMatch(/Service default\/cart not found/);
    expect(l7.find((d) => d.path === "spec.tls[0].secretName")?.message).toMatch(/no-such-tls/);
    expect(r.scenario?.warnings).toEqual(r.diagnostics);
  });

  it("kubewire check prints them and exits 0; kubewire run prints them and runs", async () => {
    const c = await cli("check", scenarioFile);
    expect(c.code).toBe(0);
    expect(c.stderr).toMatch(/l7\.yaml:\d+:\d+ .*warning.*Service default\/cart not found/);
    expect(c.stderr).toMatch(/no-such-tls/);
    expect(c.stdout).toContain(": ok (l7-warnings:");
    const r = await cli("run", scenarioFile, "--out", join(dir, "out"));
    expect(r.stderr).toMatch(/Service default\/cart not found/);
    expect(r.code).toBe(0);
  });
});

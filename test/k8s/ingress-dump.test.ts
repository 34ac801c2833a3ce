// `kubewire dump --node N ingress`: the nginx.conf of ingress-nginx (upstream blocks with the
// Services' ready endpoints, server blocks per host) and the same view of each Gateway, for the
// node a controller pod runs on; through dump() and through the command line.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DUMP_HELP } from "../../src/cli/index.js";
import type { Cluster, K8sObject } from "../../src/k8s/index.js";
import { parseManifests } from "../../src/k8s/index.js";
import { DUMP_KINDS, dump } from "../../src/scenario/index.js";
import { cli } from "../cli/helpers.js";
import { twoNodeCluster } from "./cluster-fixtures.js";

const SHOP = `apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec: {nodeName: node-1, containers: [{name: web, image: echo, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, namespace: shop, labels: {app: web}}
spec: {nodeName: node-2, containers: [{name: web, image: echo, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-3, namespace: shop, labels: {app: web}}
spec: {nodeName: node-2, containers: [{name: web, image: echo, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Secret
metadata: {name: shop-tls, namespace: shop}
type: kubernetes.io/tls
stringData: {tls.crt: CERT, tls.key: KEY}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec: {controller: k8s.io/ingress-nginx}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  ingressClassName: nginx
  tls: [{hosts: [shop.example.com], secretName: shop-tls}]
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /healthz, pathType: Exact, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /cart, pathType: Prefix, backend: {service: {name: cart, port: {number: 80}}}}
`;

function setup(manifests: string): { c: Cluster; objects: K8sObject[] } {
  const c = twoNodeCluster("vxlan", manifests);
  return { c, objects: parseManifests(manifests, { file: "shop.yaml" }).objects };
}

const ip = (c: Cluster, pod: string) => c.pod(pod).ipString;

describe("dump ingress", () => {
  it("is one of the dump kinds, with its help line", () => {
    expect(DUMP_KINDS).toContain("ingress");
    expect(DUMP_HELP).toMatch(/ingress\s+nginx -T/);
  });

  it("prints upstreams with the ready endpoints, then the catch-all and the host's server blocks", () => {
    const { c, objects } = setup(SHOP);
    c.setReady("shop/web-3", false);
    const r = dump(c, "node-1", "ingress", objects);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const loc = (modifier: string, path: string, rulePath: string, svc: string, body: string, comments: string[] = []) => [
      "",
      `    location ${modifier}${path} {`,
      "        # ssl-redirect: on port 80, 308 to https://$host$request_uri",
      ...comments.map((c) => `        # ${c}`),
      '        set $namespace     "shop";',
      '        set $ingress_name  "web";',
      `        set $service_name  "${svc}";`,
      '        set $service_port  "80";',
      `        set $location_path "${rulePath}";`,
      `        ${body};`,
      "    }",
    ];
    const expected = [
      `# warning: Ingress shop/web spec.rules[0].http.paths[2].backend.service.name: Service shop/cart not found: requests routed here get 503 (shop.yaml:${SHOP.split("\n").findIndex((l) => l.includes("name: cart")) + 1})`,
      '# nginx.conf of the ingress-nginx controller (IngressClass "nginx", 1 Ingress)',
      "",
      "upstream shop-web-80 {",
      `    server ${ip(c, "shop/web-1")}:8080 max_fails=0 fail_timeout=0;`,
      `    server ${ip(c, "shop/web-2")}:8080 max_fails=0 fail_timeout=0;`,
      "}",
      "",
      "upstream shop-cart-80 {",
      "    # no ready endpoints (Service shop/cart not found): requests get 503",
      "}",
      "",
      "## start server _",
      "server {",
      "    server_name _;",
      "    listen 80 default_server;",
      "    listen 443 default_server ssl;",
      "    ssl_certificate /etc/ingress-controller/ssl/default-fake-certificate.pem;",
      "    ssl_certificate_key /etc/ingress-controller/ssl/default-fake-certificate.pem;",
      "",
      "    location / {",
      "        # default backend",
      '        set $namespace     "";',
      '        set $ingress_name  "";',
      '        set $service_name  "";',
      '        set $service_port  "";',
      '        set $location_path "/";',
      "        return 404;",
      "    }",
      "}",
      "## end server _",
      "",
      "## start server shop.example.com",
      "server {",
      "    server_name shop.example.com;",
      "    listen 80;",
      "    listen 443 ssl;",
      "    ssl_certificate /etc/ingress-controller/ssl/shop-shop-tls.pem;",
      "    ssl_certificate_key /etc/ingress-controller/ssl/shop-shop-tls.pem;",
      ...loc("= ", "/healthz", "/healthz", "web", "proxy_pass http://shop-web-80"),
      ...loc("", "/cart/", "/cart", "cart", "return 503", ["Service shop/cart not found"]),
      ...loc("= ", "/cart", "/cart", "cart", "return 503", ["Service shop/cart not found"]),
      ...loc("", "/", "/", "web", "proxy_pass http://shop-web-80"),
      "}",
      "## end server shop.example.com",
      "",
    ].join("\n");
    expect(r.text).toBe(expected);
  });

  it("prints only on the nodes the controller pods run on, once they run", () => {
    const controller = `---
apiVersion: v1
kind: Pod
metadata:
  name: ingress-nginx-controller-abcde
  namespace: ingress-nginx
  labels: {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/instance: ingress-nginx, app.kubernetes.io/component: controller}
spec: {nodeName: node-2, containers: [{name: controller, image: registry.k8s.io/ingress-nginx/controller}]}
`;
    const before = setup(SHOP);
    expect(dump(before.c, "node-1", "ingress", before.objects).ok).toBe(true);
    const { c, objects } = setup(`apiVersion: v1\nkind: Namespace\nmetadata: {name: ingress-nginx}\n---\n${SHOP}${controller}`);
    expect(dump(c, "node-1", "ingress", objects)).toEqual({ ok: false, message: "no L7 controller pod runs on node-1", hint: "ingress-nginx on node-2" });
    const r = dump(c, "node-2", "ingress", objects);
    expect(r.ok && r.text).toContain("## start server shop.example.com");
  });

  it("prints each Gateway's listeners and routes in precedence order, conditions and weights as comments", () => {
    const gw = `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: shop}
spec:
  gatewayClassName: kubewire
  listeners: [{name: http, port: 80, protocol: HTTP, hostname: "*.example.com"}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: split, namespace: shop}
spec:
  parentRefs: [{name: gw}]
  hostnames: [shop.example.com]
  rules:
  - backendRefs: [{name: web, port: 80, weight: 80}, {name: canary, port: 80, weight: 20}]
  - matches: [{path: {type: Exact, value: /v2}, method: POST, headers: [{name: X-Version, value: two}]}]
    backendRefs: [{name: web, port: 80}]
`;
    const { c, objects } = setup(SHOP.replace(/---\napiVersion: networking.k8s.io\/v1\nkind: Ingress[\s\S]*$/, "") + gw);
    const r = dump(c, "node-1", "ingress", objects);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.text).toContain("# warning: HTTPRoute shop/split spec.rules[0].backendRefs[1].name: Service shop/canary not found: its share of requests gets 500");
    expect(r.text).toContain("# nginx.conf-style view of Gateway shop/gw (class kubewire)");
    expect(r.text).toContain(`upstream shop-web-80 {\n    server ${ip(c, "shop/web-1")}:8080 max_fails=0 fail_timeout=0;`);
    const server = r.text.slice(r.text.indexOf("## start server http"));
    expect(server.split("\n").slice(0, 5)).toEqual(["## start server http (HTTP 80 *.example.com)", "server {", "    server_name *.example.com;", "    listen 80;", ""]);
    // The Exact /v2 match comes first (exact before prefix), then the rule without matches (PathPrefix /).
    expect(server.indexOf("location = /v2 {")).toBeLessThan(server.indexOf("location / {"));
    expect(server).toContain("        # HTTPRoute shop/split rule 1 match 0\n        # hostnames: shop.example.com\n        # method: POST\n        # header x-version = two\n");
    expect(server).toContain("        # split by weight: 80 shop-web-80, 20 shop-canary-80 (500)\n");
  });

  it("refuses what is not a node, and scenarios without Ingress or Gateway", () => {
    const { c, objects } = setup(SHOP);
    expect(dump(c, "shop/web-1", "ingress", objects)).toMatchObject({ ok: false, message: "shop.web-1 is not a node" });
    expect(dump(c, "node-1", "ingress", [])).toMatchObject({ ok: false, message: "the scenario has no Ingress and no Gateway" });
  });
});

describe("kubewire dump SCENARIO --node N ingress", () => {
  const dir = mkdtempSync(join(tmpdir(), "kubewire-ingress-dump-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "manifests"));
  writeFileSync(join(dir, "manifests", "shop.yaml"), SHOP);
  writeFileSync(
    join(dir, "scenario.yaml"),
    `apiVersion: kubewire.dev/v1alpha1
kind: Scenario
name: ingress-dump
description: an Ingress to dump
cluster:
  nodes:
  - {name: node-1, address: 192.168.50.11}
  - {name: node-2, address: 192.168.50.12}
  underlay: {cidr: 192.168.50.0/24, gateway: 192.168.50.1}
  cni: {backend: vxlan}
manifests:
- manifests/
`,
  );

  it("prints the controller's nginx.conf on the node its pod runs on", async () => {
    const r = await cli("dump", dir, "--node", "node-1", "ingress");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^# warning: Ingress shop\/web spec\.rules\[0\]\.http\.paths\[2\]\.backend\.service\.name: Service shop\/cart not found/);
    expect(r.stdout).toContain("upstream shop-web-80 {\n    server 10.244.");
    expect(r.stdout).toContain("    location = /healthz {\n");
  });

  it("the run starts ingress-nginx: its pod's node prints, the other says where the controller runs", async () => {
    expect(await cli("dump", dir, "--node", "node-2", "ingress")).toMatchObject({
      code: 2,
      stderr: "kubewire dump: no L7 controller pod runs on node-2\n  hint: ingress-nginx on node-1\n",
    });
  });

  it("says when the node is not one", async () => {
    expect(await cli("dump", dir, "--node", "gateway", "ingress")).toMatchObject({ code: 2, stderr: expect.stringContaining("gateway is not a node") });
  });
});

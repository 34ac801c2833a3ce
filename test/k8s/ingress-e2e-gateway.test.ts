// A Gateway end to end: kubewire provisions its Deployment and LoadBalancer Service as
// implementations do; the same proxy serves an HTTPRoute that splits traffic 80/20 by weight
// between two Services and sends requests with a header to a third, from a laptop outside the
// cluster through the Gateway's load-balancer address.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Cluster, KubeProxy, parseClusterConfig, parseManifests } from "../../src/k8s/index.js";
import { gatewayAddress, startGateways } from "../../src/k8s/ingress/controller-gateway.js";
import { HttpClient } from "../../src/k8s/ingress/http-client.js";
import { type EchoResponse, serveHttpEcho } from "../../src/k8s/ingress/http-echo.js";
import { NetCapture, runUntilSettled } from "../../src/net/index.js";
import { formatIpv4 } from "../../src/wire/index.js";
import { tsharkProblems } from "../helpers/tshark.js";
import { hopFile } from "./ingress-e2e-helpers.js";
import { SHOP_CERT, SHOP_KEY } from "./ingress-proxy-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "kw-gateway-e2e-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CLUSTER = `
apiVersion: kubewire.dev/v1alpha1
kind: Cluster
name: gateway
seed: 9
nodes:
- {name: node-1, address: 192.168.50.11}
- {name: node-2, address: 192.168.50.12}
underlay: {cidr: 192.168.50.0/24, gateway: 192.168.50.1}
cni: {backend: vxlan}
`;

const app = (name: string) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: ${name}}}
spec: {nodeName: node-2, containers: [{name: echo, image: example/echo, ports: [{name: http, containerPort: 3000}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec:
  selector: {app: ${name}}
  ports: [{port: 8080, targetPort: http}]
`;

const indent = (t: string, n: number) =>
  t
    .trim()
    .split("\n")
    .map((l) => " ".repeat(n) + l)
    .join("\n");

const MANIFESTS = `${["stable", "canary", "beta"].map(app).join("---")}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: kubewire}
spec: {controllerName: kubewire.dev/gateway}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web}
spec:
  gatewayClassName: kubewire
  listeners:
  - {name: http, protocol: HTTP, port: 80}
  - name: https
    protocol: HTTPS
    port: 443
    hostname: app.example.com
    tls: {mode: Terminate, certificateRefs: [{kind: Secret, name: app-tls}]}
---
apiVersion: v1
kind: Secret
metadata: {name: app-tls}
type: kubernetes.io/tls
stringData:
  tls.crt: |
${indent(SHOP_CERT, 4)}
  tls.key: |
${indent(SHOP_KEY, 4)}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: split}
spec:
  parentRefs: [{name: web}]
  hostnames: [app.example.com]
  rules:
  - matches: [{headers: [{name: x-beta, value: "yes"}]}]
    backendRefs: [{name: beta, port: 8080}]
  - backendRefs:
    - {name: stable, port: 8080, weight: 80}
    - {name: canary, port: 8080, weight: 20}
`;

describe("a Gateway end to end", () => {
  it("an HTTPRoute splits 80/20 by weight; a header match wins over the split; the HTTPS listener terminates TLS with its Secret", async () => {
    const cfg = parseClusterConfig(CLUSTER, "cluster.yaml");
    const m = parseManifests(MANIFESTS, { file: "gateway.yaml" });
    expect(m.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const c = Cluster.fromManifests(cfg.config!, m.objects);
    KubeProxy.start(c);
    for (const p of ["stable", "canary", "beta"]) serveHttpEcho(c.pod(p), 3000);
    const [gw] = startGateways(c, m.objects);
    expect(gw.name).toBe("Gateway default/web");
    expect(gw.service.svc.spec.type).toBe("LoadBalancer");
    const lb = gatewayAddress(m.objects.find((o) => o.kind === "Gateway") as never, 0);
    const node = [...gw.proxies.values()][0].pod.node;
    const laptop = c.addExternalHost("laptop", "192.168.50.100");
    laptop.addRoute({ dst: `${lb}/32`, via: formatIpv4(node.address), dev: "eth0" });
    const file = join(dir, "gateway.pcapng");
    const cap = new NetCapture(file).attachAll(...c.namespaces());
    const client = new HttpClient(laptop, { keepAlive: true });
    const seen: string[] = [];
    for (let i = 0; i < 50; i++) {
      const ex = client.request({ url: "http://app.example.com/", connect: { addr: lb, port: 80 } });
      await runUntilSettled(c.sim, { until: c.sim.now + 1e9 });
      seen.push((JSON.parse(ex.result!.body) as EchoResponse).pod);
    }
    const beta = client.request({ url: "http://app.example.com/", connect: { addr: lb, port: 80 }, headers: { "X-Beta": "yes" } });
    await runUntilSettled(c.sim);
    // The HTTPS listener terminates TLS with its certificateRefs' Secret (the SNI is the listener's hostname).
    const secure = new HttpClient(laptop).request({ url: "https://app.example.com/", connect: { addr: lb, port: 443 }, insecure: true });
    await runUntilSettled(c.sim);
    expect(secure.result?.status).toBe(200);
    expect(secure.result?.tls?.subject).toBe("shop.example.com");
    expect(["stable", "canary"]).toContain((JSON.parse(secure.result!.body) as EchoResponse).pod);
    cap.close();
    const stable = seen.filter((p) => p === "stable").length;
    const canary = seen.filter((p) => p === "canary").length;
    expect(stable + canary).toBe(50);
    // 80/20 over 50 seeded draws: a binomial's 3σ around 40 is 31..49.
    expect(stable).toBeGreaterThanOrEqual(31);
    expect(canary).toBeGreaterThanOrEqual(1);
    expect((JSON.parse(beta.result!.body) as EchoResponse).pod).toBe("beta");
    const comments = gw.log.map((l) => l.decision);
    expect(comments.every((d) => d.startsWith("HTTPRoute default/split"))).toBe(true);
    expect(tsharkProblems(hopFile(file, "laptop/eth0"))).toEqual([]);
  });
});

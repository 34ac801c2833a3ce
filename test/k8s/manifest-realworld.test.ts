// Real-world manifests read without a diagnostic, and into the values the API server would
// store: the docs' nginx Deployment, a NodePort, a LoadBalancer with externalTrafficPolicy
// Local, kube-dns, an EndpointSlice by hand, TLS Ingress; and the Gateway API conformance suite
// (read in place from ../shared/conformance, never copied).

import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { byKind, formatDiagnostics, loadManifests } from "../../src/k8s/manifest/index.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const CONFORMANCE = fileURLToPath(new URL("../../../shared/conformance/gateway-api/", import.meta.url));

function load(file: string) {
  const r = loadManifests(`${FIXTURES}${file}`);
  expect(formatDiagnostics(r.diagnostics)).toBe("");
  return byKind(r.objects);
}

describe("real-world manifests", () => {
  it("reads the docs' nginx Deployment and its Service", () => {
    const { Deployment: [d], Service: [s] } = load("nginx.yaml");
    expect(d.metadata).toMatchObject({ name: "nginx-deployment", namespace: "default", labels: { app: "nginx" } });
    expect(d.spec.replicas).toBe(3);
    expect(d.spec.selector).toEqual({ matchLabels: { app: "nginx" }, matchExpressions: [] });
    expect(d.spec.template.spec.containers).toEqual([
      { name: "nginx", image: "nginx:1.14.2", ports: [{ containerPort: 80, protocol: "TCP" }] },
    ]);
    expect(s.spec.ports).toEqual([{ name: "", protocol: "TCP", port: 80, targetPort: 80 }]);
    expect(s.source).toMatchObject({ doc: 2, line: 24 });
  });

  it("reads a NodePort Service", () => {
    const { Service: [s], Pod: [p] } = load("nodeport.yaml");
    expect(s.spec.type).toBe("NodePort");
    expect(s.spec.ports).toEqual([{ name: "", protocol: "TCP", port: 80, targetPort: 80, nodePort: 30007 }]);
    expect(s.spec.externalTrafficPolicy).toBe("Cluster");
    expect(s.spec.selector).toEqual({ "app.kubernetes.io/name": "MyApp" });
    expect(p.spec.nodeName).toBe("node-2");
    expect(p.spec.containers[0].args).toEqual(["netexec", "--http-port=80"]);
  });

  it("reads a LoadBalancer with externalTrafficPolicy Local and named target ports", () => {
    const { Service: [s], Deployment: [d] } = load("loadbalancer.yaml");
    expect(s.metadata.namespace).toBe("web");
    expect(s.spec.type).toBe("LoadBalancer");
    expect(s.spec.externalTrafficPolicy).toBe("Local");
    expect(s.spec.ports.map((p) => [p.name, p.port, p.targetPort, p.nodePort])).toEqual([
      ["http", 80, "http", undefined],
      ["https", 443, 8443, undefined],
    ]);
    expect(s.loadBalancerIngress).toEqual(["192.0.2.127"]);
    expect(s.metadata.annotations).toEqual({ "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" });
    expect(d.spec.template.metadata.labels).toEqual({ app: "web", tier: "frontend" });
  });

  it("reads kube-dns at 10.96.0.10 with its dns, dns-tcp and metrics ports, and CoreDNS", () => {
    const { Service: [s], Deployment: [d] } = load("kube-dns.yaml");
    expect(s.metadata).toMatchObject({ name: "kube-dns", namespace: "kube-system" });
    expect(s.spec.clusterIP).toBe("10.96.0.10");
    expect(s.spec.clusterIPs).toEqual(["10.96.0.10"]);
    expect(s.spec.ports).toEqual([
      { name: "dns", protocol: "UDP", port: 53, targetPort: 53 },
      { name: "dns-tcp", protocol: "TCP", port: 53, targetPort: 53 },
      { name: "metrics", protocol: "TCP", port: 9153, targetPort: 9153 },
    ]);
    expect(d.spec.template.spec.dnsPolicy).toBe("Default");
    expect(d.spec.template.spec.nodeSelector).toEqual({ "kubernetes.io/os": "linux" });
    expect(d.spec.template.spec.containers[0].ports.map((p) => `${p.name}:${p.containerPort}/${p.protocol}`)).toEqual([
      "dns:53/UDP",
      "dns-tcp:53/TCP",
      "metrics:9153/TCP",
    ]);
  });

  it("reads an EndpointSlice given by hand, with kube-proxy's reading of its conditions", () => {
    const { Service: [s], EndpointSlice: [e] } = load("endpointslice.yaml");
    expect(s.spec.selector).toBeUndefined();
    expect(e.serviceName).toBe("example");
    expect(e.ports).toEqual([{ name: "http", protocol: "TCP", port: 8080 }]);
    expect(e.endpoints).toEqual([
      {
        addresses: ["10.244.1.5"],
        conditions: { ready: true, serving: true, terminating: false },
        hostname: "pod-1",
        nodeName: "node-1",
        zone: "us-west2-a",
        targetRef: { kind: "Pod", namespace: "default", name: "pod-1" },
      },
      { addresses: ["10.244.2.7"], conditions: { ready: false, serving: true, terminating: true }, nodeName: "node-2" },
      { addresses: ["10.244.2.8"], conditions: { ready: true, serving: true, terminating: false }, nodeName: "node-2" },
    ]);
  });

  it("keeps an Ingress, its IngressClass and TLS Secret loosely, with field positions", () => {
    const { Ingress: [ing], IngressClass: [cls], Secret: [sec] } = load("ingress-tls.yaml");
    expect(cls.metadata.namespace).toBe("");
    expect(cls.spec).toEqual({ controller: "kubewire.dev/ingress-controller" });
    expect(sec.type).toBe("kubernetes.io/tls");
    expect(sec.data["tls.crt"].toString()).toBe("-----BEGIN CERTIFICATE-----\n");
    expect(sec.data["tls.key"].toString()).toBe("-----BEGIN PRIVATE KEY-----\n");
    expect(ing.spec).toMatchObject({
      ingressClassName: "kubewire",
      tls: [{ hosts: ["shop.example.com"], secretName: "shop-tls" }],
      rules: [{ host: "shop.example.com" }],
    });
    expect(ing.positions.get("spec.rules[0].http.paths[0].backend.service.port.number")).toMatchObject({ line: 39, col: 23 });
  });
});

describe("Gateway API conformance manifests", () => {
  const files = readdirSync(CONFORMANCE).filter((f) => f.endsWith(".yaml")).sort();

  it("finds the suite", () => {
    expect(files).toContain("base-manifests.yaml");
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  it.each(files)("reads %s without errors", (file) => {
    const r = loadManifests(`${CONFORMANCE}${file}`);
    expect(formatDiagnostics(r.diagnostics.filter((d) => d.severity === "error"))).toBe("");
    // The only thing skipped is the suite's ConfigMap (CoreDNS config), which kubewire does not model.
    for (const w of r.diagnostics) expect(w.message).toBe("v1 ConfigMap is not modelled by kubewire; skipped");
    expect(r.objects.length).toBeGreaterThan(0);
  });

  it("keeps the base Gateways, Services and Deployments", () => {
    const set = byKind(loadManifests(`${CONFORMANCE}base-manifests.yaml`).objects);
    expect(set.Namespace.map((n) => n.metadata.name)).toEqual([
      "gateway-conformance-infra",
      "gateway-conformance-app-backend",
      "gateway-conformance-web-backend",
    ]);
    const gw = set.Gateway.find((g) => g.metadata.name === "same-namespace");
    expect(gw?.spec.gatewayClassName).toBe("{GATEWAY_CLASS_NAME}");
    const v1 = set.Service.find((s) => s.metadata.name === "infra-backend-v1");
    expect(v1?.spec.ports.map((p) => [p.name, p.port, p.targetPort, p.appProtocol])).toEqual([
      ["first-port", 8080, 3000, undefined],
      ["second-port", 8081, 3001, "kubernetes.io/h2c"],
      ["third-port", 8082, 3000, "kubernetes.io/ws"],
    ]);
    expect(set.Deployment.find((d) => d.metadata.name === "infra-backend-v1")?.spec.replicas).toBe(2);
  });

  it("keeps an HTTPRoute's spec as plain data", () => {
    const set = byKind(loadManifests(`${CONFORMANCE}httproute-weight.yaml`).objects);
    const route = set.HTTPRoute[0];
    expect(route.metadata).toMatchObject({ name: "weighted-backends", namespace: "gateway-conformance-infra" });
    expect(route.spec).toEqual({
      parentRefs: [{ name: "same-namespace" }],
      rules: [
        {
          backendRefs: [
            { name: "infra-backend-v1", port: 8080, weight: 70 },
            { name: "infra-backend-v2", port: 8080, weight: 30 },
            { name: "infra-backend-v3", port: 8080, weight: 0 },
          ],
        },
      ],
    });
    expect(route.positions.get("spec.rules[0].backendRefs[1].weight")).toMatchObject({ line: 18, col: 15 });
  });
});

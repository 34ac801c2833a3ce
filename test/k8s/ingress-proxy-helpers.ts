// Shared set-up of the ingress proxy tests: a two-node flannel VXLAN cluster with kube-proxy, two
// echo backends on node-2 behind Service shop/web, a proxy pod on node-1, and a hand-written
// L7Router (host shop.example.com → web; anything else → the default backend's 404).

import { Cluster, KubeProxy, parseClusterConfig, parseManifests } from "../../src/k8s/index.js";
import { serveHttpEcho } from "../../src/k8s/ingress/http-echo.js";
import { L7Proxy, type L7ProxyOptions } from "../../src/k8s/ingress/proxy.js";
import { FAKE_CERTIFICATE } from "../../src/k8s/ingress/tls-fallback.js";
import type { L7Certificate, L7Listener, L7Request, L7Router } from "../../src/k8s/ingress/types.js";

// A self-signed certificate for shop.example.com, valid 2025–2125, P-256 (test material only:
// `openssl ca -selfsign -startdate 20250101000000Z -enddate 21250101000000Z`, SAN DNS:shop.example.com).
export const SHOP_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLz5NvK39Gca+G6hL
Bzm+iNU9NWySlvsqY7nSOyJgZXahRANCAARAQT/v1TsnCryU7KPfyahzQhr2MjAQ
ezJBZOTYBkr+GbxRsXhEst3BL3Oagwp6I/II7C7mMsOG93Sp9WGpXZRH
-----END PRIVATE KEY-----
`;
export const SHOP_CERT = `-----BEGIN CERTIFICATE-----
MIIBdjCCARygAwIBAgIBAjAKBggqhkjOPQQDAjAbMRkwFwYDVQQDDBBzaG9wLmV4
YW1wbGUuY29tMCAXDTI1MDEwMTAwMDAwMFoYDzIxMjUwMTAxMDAwMDAwWjAbMRkw
FwYDVQQDDBBzaG9wLmV4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcD
QgAEQEE/79U7Jwq8lOyj38moc0Ia9jIwEHsyQWTk2AZK/hm8UbF4RLLdwS9zmoMK
eiPyCOwu5jLDhvd0qfVhqV2UR6NPME0wGwYDVR0RBBQwEoIQc2hvcC5leGFtcGxl
LmNvbTAPBgNVHRMBAf8EBTADAQH/MB0GA1UdDgQWBBTI3tq3DmNsOJU6hg7yg94H
FmFlDDAKBggqhkjOPQQDAgNIADBFAiAaSB2PwjRakFNV9jMlucVJj5aNaf9zjnSG
jMjStcgEHAIhAJICUhz+zv91DA6+oIlSJuYKP+ZuMruKAAYQEXDClgRR
-----END CERTIFICATE-----
`;

const SHOP: L7Certificate = { cert: SHOP_CERT, key: SHOP_KEY, origin: "Secret shop/shop-tls" };

/** host shop.example.com, path prefix / → shop/web:80; /missing → Service shop/gone; else 404. */
export const handRouter = (): L7Router => {
  const listeners: L7Listener[] = [
    { port: 80, protocol: "HTTP" },
    { port: 443, protocol: "HTTPS" },
  ];
  return {
    listeners,
    route(req: L7Request) {
      if (req.host !== "shop.example.com") return { kind: "respond", status: 404, reason: "no server matches" };
      const source = { kind: "Ingress" as const, namespace: "shop", name: "web", detail: "host shop.example.com path / (Prefix)" };
      if (req.path.startsWith("/missing")) return { kind: "proxy", source, backends: [{ namespace: "shop", service: "gone", port: 80, weight: 1 }] };
      return { kind: "proxy", source, backends: [{ namespace: "shop", service: "web", port: 80, weight: 1 }] };
    },
    certificate: (_l, sni) => (sni === "shop.example.com" ? SHOP : FAKE_CERTIFICATE),
    warnings: [],
    describe: () => "",
  };
};

const CLUSTER = `
apiVersion: kubewire.dev/v1alpha1
kind: Cluster
name: ingress
seed: 7
nodes:
- {name: node-1, address: 192.168.50.11}
- {name: node-2, address: 192.168.50.12}
underlay: {cidr: 192.168.50.0/24, gateway: 192.168.50.1}
cni: {backend: vxlan}
`;

const pod = (ns: string, name: string, node: string, app: string, ports: string) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}, labels: {app: ${app}}}
spec:
  nodeName: ${node}
  containers: [{name: main, image: example/app, ports: [${ports}]}]
`;

export const MANIFESTS = [
  "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}",
  "apiVersion: v1\nkind: Namespace\nmetadata: {name: ingress-nginx}",
  pod("default", "client", "node-1", "client", ""),
  pod("shop", "web-a", "node-2", "web", "{name: http, containerPort: 8080}"),
  pod("shop", "web-b", "node-2", "web", "{name: http, containerPort: 8080}"),
  pod("ingress-nginx", "controller", "node-1", "ingress", "{name: http, containerPort: 80}, {name: https, containerPort: 443}"),
  `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: controller, namespace: ingress-nginx}
spec:
  type: LoadBalancer
  selector: {app: ingress}
  ports: [{name: http, port: 80, targetPort: http, nodePort: 30080}, {name: https, port: 443, targetPort: https, nodePort: 30443}]
status:
  loadBalancer:
    ingress: [{ip: 203.0.113.10}]
`,
].join("\n---\n");

export interface Bed {
  c: Cluster;
  proxy: L7Proxy;
}

/** The cluster, kube-proxy, the echo backends (`only`: just that one) and the proxy with the hand-written router. */
export function testbed(opts: Partial<L7ProxyOptions> = {}, o: { only?: string } = {}): Bed {
  const cfg = parseClusterConfig(CLUSTER, "cluster.yaml");
  if (!cfg.config) throw new Error(cfg.diagnostics.map((d) => d.message).join("\n"));
  const m = parseManifests(MANIFESTS, { file: "manifests.yaml" });
  if (m.diagnostics.some((d) => d.severity === "error")) throw new Error(m.diagnostics.map((d) => d.message).join("\n"));
  const c = Cluster.fromManifests(cfg.config, m.objects);
  KubeProxy.start(c);
  for (const p of ["shop/web-a", "shop/web-b"]) if (o.only === undefined || o.only === p) serveHttpEcho(c.pod(p), 8080);
  const router = handRouter();
  const proxy = new L7Proxy({ cluster: c, pod: c.pod("ingress-nginx/controller"), router: () => router, rng: c.sim.rng.derive("ingress-nginx"), ...opts }).start();
  return { c, proxy };
}

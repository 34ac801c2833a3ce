// The end-to-end bed of the ingress tests: a two-node flannel VXLAN cluster with kube-proxy, echo
// backends on node-2 behind Service shop/web, an Ingress for shop.example.com with a TLS Secret,
// ingress-nginx added by kubewire (LoadBalancer 203.0.113.80, externalTrafficPolicy Local), a
// laptop outside the cluster whose route to the load balancer goes to the controller's node, and
// a capture of every interface with the TLS keys in Decryption Secrets Blocks.

import { Cluster, KubeProxy, parseClusterConfig, parseManifests } from "../../src/k8s/index.js";
import { INGRESS_NGINX_LB_IP, type L7Controller, startIngressNginx } from "../../src/k8s/ingress/controller.js";
import { serveHttpEcho } from "../../src/k8s/ingress/http-echo.js";
import { NetCapture, type NetNamespace } from "../../src/net/index.js";
import { formatIpv4 } from "../../src/wire/index.js";
import { runTshark } from "../helpers/tshark.js";
import { SHOP_CERT, SHOP_KEY } from "./ingress-proxy-helpers.js";

const CLUSTER = `
apiVersion: kubewire.dev/v1alpha1
kind: Cluster
name: ingress
seed: 5
nodes:
- {name: node-1, address: 192.168.50.11}
- {name: node-2, address: 192.168.50.12}
underlay: {cidr: 192.168.50.0/24, gateway: 192.168.50.1}
cni: {backend: vxlan}
`;

const indent = (s: string, n: number) => s.trim().split("\n").map((l) => " ".repeat(n) + l).join("\n");

export const shopManifests = (extra = "") => `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web-a, namespace: shop, labels: {app: web}}
spec: {nodeName: node-2, containers: [{name: echo, image: example/echo, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-b, namespace: shop, labels: {app: web}}
spec: {nodeName: node-2, containers: [{name: echo, image: example/echo, ports: [{name: http, containerPort: 8080}]}]}
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
stringData:
  tls.crt: |
${indent(SHOP_CERT, 4)}
  tls.key: |
${indent(SHOP_KEY, 4)}
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
${extra}`;

export interface E2E {
  c: Cluster;
  ingress: L7Controller;
  laptop: NetNamespace;
  cap: NetCapture;
  keylog: string[];
  /** Key log lines of a client's sessions into the capture (the client's secrets come first: the server learns CLIENT_TRAFFIC_SECRET_0 only from the client's Finished, after the first request may be on the wire). */
  clientKeylog: (line: Buffer) => void;
}

/** The bed; `dsb: false` leaves the keys out of the capture. */
export function e2e(file: string, o: { dsb?: boolean; extra?: string } = {}): E2E {
  const cfg = parseClusterConfig(CLUSTER, "cluster.yaml");
  if (!cfg.config) throw new Error(cfg.diagnostics.map((d) => d.message).join("\n"));
  const m = parseManifests(shopManifests(o.extra), { file: "shop.yaml" });
  if (m.diagnostics.some((d) => d.severity === "error")) throw new Error(m.diagnostics.map((d) => `${d.message} ${d.path ?? ""}`).join("\n"));
  const c = Cluster.fromManifests(cfg.config, m.objects);
  KubeProxy.start(c);
  for (const p of ["shop/web-a", "shop/web-b"]) serveHttpEcho(c.pod(p), 8080);
  const keylog: string[] = [];
  let cap: NetCapture | null = null;
  const onKeylog = (line: Buffer) => {
    keylog.push(line.toString("utf8"));
    if (o.dsb !== false) cap?.pcapng.writeDecryptionSecrets(line);
  };
  const ingress = startIngressNginx(c, m.objects, { onKeylog });
  if (!ingress) throw new Error("ingress-nginx was not started");
  const node = [...ingress.proxies.values()][0].pod.node;
  const laptop = c.addExternalHost("laptop", "192.168.50.100");
  laptop.addRoute({ dst: `${INGRESS_NGINX_LB_IP}/32`, via: formatIpv4(node.address), dev: "eth0" });
  cap = new NetCapture(file).attachAll(...c.namespaces());
  return { c, ingress, laptop, cap, keylog, clientKeylog: onKeylog };
}

/**
 * The frames of one interface as a capture of their own (DSBs kept): a TCP connection seen on
 * several interfaces of one file is one conversation to tshark, whose copies look like
 * retransmissions; a hop's own file dissects as that hop saw it.
 */
export function hopFile(file: string, iface: string): string {
  const out = `${file}.${iface.replaceAll("/", "_")}.pcapng`;
  const r = runTshark(file, ["-w", out], { filter: `frame.interface_name == "${iface}"`, checksums: false });
  if (r.status !== 0) throw new Error(`tshark -w ${out}: ${r.stderr}`);
  return out;
}

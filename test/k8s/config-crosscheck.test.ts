// Checks between the cluster config and the manifests: unknown nodes, Services selecting
// nothing, ClusterIPs outside the Service range or shared, NodePorts shared, and the warnings.

import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type ClusterConfig, loadClusterConfig } from "../../src/k8s/config.js";
import { crossCheck, type Diagnostic, formatDiagnostics, loadManifests, parseManifests } from "../../src/k8s/manifest/index.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const CONFIG: ClusterConfig = loadClusterConfig(`${FIXTURES}cluster.yaml`).config!;

function check(text: string): Diagnostic[] {
  const r = parseManifests(text, { file: "app.yaml" });
  expect(formatDiagnostics(r.diagnostics)).toBe("");
  return crossCheck(CONFIG, r.objects);
}

function theError(text: string): Diagnostic {
  const errors = check(text).filter((d) => d.severity === "error");
  expect(formatDiagnostics(errors).split("\n").filter((l) => !l.startsWith("  hint"))).toHaveLength(1);
  return errors[0];
}

const service = (name: string, spec: string) => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
${spec}
`;
const pod = (name: string, labels: string, extra = "") => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: {${labels}}
spec:
${extra}  containers: [{name: app}]
`;

describe("cross-check", () => {
  it("accepts the real-world fixtures against the demo cluster", () => {
    const r = loadManifests(
      ["nginx.yaml", "nodeport.yaml", "kube-dns.yaml", "endpointslice.yaml", "ingress-tls.yaml"].map((f) => FIXTURES + f),
    );
    expect(r.diagnostics).toEqual([]);
    expect(crossCheck(CONFIG, r.objects)).toEqual([]);
  });

  it("reports a Node manifest the config does not have", () => {
    const d = theError("apiVersion: v1\nkind: Node\nmetadata:\n  name: node-9\n");
    expect(d).toMatchObject({ code: "unknown-node", path: "metadata.name", file: "app.yaml", line: 4, col: 9, object: "Node node-9" });
    expect(d.message).toBe('node "node-9" is not in the cluster config (its nodes: control-plane, node-1, node-2)');
  });

  it("reports a Pod on a node the config does not have", () => {
    const d = theError(pod("web", "app: web", "  nodeName: worker-3\n"));
    expect(d).toMatchObject({ code: "unknown-node", path: "spec.nodeName", line: 7, col: 13, object: "Pod default/web" });
  });

  it("reports a pod template pinned to an unknown node", () => {
    const d = theError(
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      nodeName: gpu-1\n      containers: [{name: web}]\n",
    );
    expect(d).toMatchObject({ code: "unknown-node", path: "spec.template.spec.nodeName", line: 9, col: 17 });
  });

  it("reports an endpoint on an unknown node", () => {
    const d = theError(
      "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: ext-1\n  labels: {kubernetes.io/service-name: ext}\naddressType: IPv4\nendpoints:\n- addresses: [10.244.9.9]\n  nodeName: node-7\n---\n" +
        service("ext", "  ports: [{port: 80}]"),
    );
    expect(d).toMatchObject({ code: "unknown-node", path: "endpoints[0].nodeName", line: 9, col: 13 });
  });

  it("reports a Service selecting nothing, with the labels it could have meant", () => {
    const d = theError(`${service("web", "  selector:\n    app: web\n  ports: [{port: 80}]")}---\n${pod("nginx", "app: nginx")}`);
    expect(d).toMatchObject({ code: "selects-nothing", path: "spec.selector", line: 7, col: 5, object: "Service default/web" });
    expect(d.message).toBe("selector app=web matches no Pod or pod template in namespace default");
    expect(d.hint).toBe("pod labels in namespace default: app=nginx (Pod nginx)");
  });

  it("explains a Service whose pods are in another namespace", () => {
    const d = theError(`${service("web", "  selector: {app: web}\n  ports: [{port: 80}]")}---\n${pod("web", "app: web").replace("name: web", "name: web\n  namespace: shop")}---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n`);
    expect(d.hint).toBe("Pod shop/web matches, but a Service selects only pods in its own namespace (default)");
  });

  it("accepts a Service matched by a Deployment's template, and one without a selector", () => {
    const text = `${service("web", "  selector: {app: web}\n  ports: [{port: 80}]")}---\n${service("manual", "  ports: [{port: 80}]")}---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: frontend}}
    spec: {containers: [{name: web}]}
`;
    expect(check(text)).toEqual([]);
  });

  it("reports two Services with the same clusterIP", () => {
    const d = theError(
      `${service("a", "  clusterIP: 10.96.0.50\n  ports: [{port: 80}]")}---\n${service("b", "  clusterIP: 10.96.0.50\n  ports: [{port: 80}]")}`,
    );
    expect(d).toMatchObject({ code: "duplicate-cluster-ip", path: "spec.clusterIP", doc: 2, line: 14, col: 14, related: { doc: 1, line: 6 } });
    expect(d.message).toBe("10.96.0.50 is already the clusterIP of Service default/a");
  });

  it("reports a clusterIP outside the serviceCIDR", () => {
    const d = theError(service("a", "  clusterIP: 10.0.0.10\n  ports: [{port: 80}]"));
    expect(d).toMatchObject({ code: "cluster-ip-outside", path: "spec.clusterIP", line: 6, col: 14 });
    expect(d.message).toBe("10.0.0.10 is outside the serviceCIDR 10.96.0.0/12");
  });

  it("reports a NodePort used by two Services", () => {
    const np = "  type: NodePort\n  ports: [{port: 80, nodePort: 30080}]";
    const d = theError(`${service("a", np)}---\n${service("b", np)}`);
    expect(d).toMatchObject({ code: "duplicate-node-port", path: "spec.ports[0].nodePort", doc: 2, line: 15, col: 32 });
  });

  it("warns about a namespace without a Namespace manifest, once", () => {
    const ds = check(`${pod("a", "tier: db").replace("name: a", "name: a\n  namespace: shop")}---\n${pod("b", "tier: db").replace("name: b", "name: b\n  namespace: shop")}`);
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatchObject({ severity: "warning", code: "unknown-namespace", path: "metadata.namespace", line: 5 });
  });

  it("warns about an EndpointSlice whose Service does not exist", () => {
    const ds = check(
      "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: db-1\n  labels:\n    kubernetes.io/service-name: db\naddressType: IPv4\nendpoints: []\n",
    );
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatchObject({ severity: "warning", code: "unknown-service", line: 6, col: 33 });
    expect(ds[0].message).toBe("no Service default/db for this slice");
  });
});

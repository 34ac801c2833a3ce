// Clusters for the runtime tests: two nodes on one underlay, a pod on each, one backend.
import { Cluster, type CniBackend, parseClusterConfig, parseManifests } from "../../src/k8s/index.js";

export const TWO_PODS = `
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {app: client}}
spec:
  nodeName: node-1
  containers: [{name: main, image: busybox}, {name: sidecar, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata: {name: server, labels: {app: server}}
spec:
  nodeName: node-2
  containers: [{name: main, image: busybox, ports: [{containerPort: 9000, protocol: UDP}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: neighbour, labels: {app: server}}
spec:
  nodeName: node-1
  containers: [{name: main, image: busybox}]
`;

export function clusterYaml(backend: string, extra = ""): string {
  return `
apiVersion: kubewire.dev/v1alpha1
kind: Cluster
name: test
seed: 7
nodes:
- {name: node-1, address: 192.168.50.11}
- {name: node-2, address: 192.168.50.12}
underlay:
  cidr: 192.168.50.0/24
${backend === "routed" ? "  gateway: 192.168.50.1\n" : ""}cni:
  backend: ${backend}
${extra}`;
}

export function twoNodeCluster(backend: CniBackend, manifests = TWO_PODS): Cluster {
  const c = parseClusterConfig(clusterYaml(backend), "cluster.yaml");
  if (!c.config) throw new Error(c.diagnostics.map((d) => d.message).join("\n"));
  const m = parseManifests(manifests, { file: "pods.yaml" });
  if (m.diagnostics.some((d) => d.severity === "error")) throw new Error(m.diagnostics.map((d) => d.message).join("\n"));
  return Cluster.fromManifests(c.config, m.objects);
}

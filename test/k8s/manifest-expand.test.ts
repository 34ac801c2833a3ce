// Deployment → ReplicaSet → Pods: Kubernetes-like names, deterministic from the seed, and pods
// spread round-robin over the nodes their nodeName or nodeSelector admits.

import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  expandWorkloads,
  formatDiagnostics,
  generateName,
  loadManifests,
  NAME_ALPHABET,
  parseManifests,
  podTemplateHash,
  type SchedulingNode,
  safeEncodeString,
} from "../../src/k8s/manifest/index.js";
import type { Deployment } from "../../src/k8s/model.js";
import { Rng } from "../../src/sim/index.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const NODES: SchedulingNode[] = [
  { name: "control-plane", labels: { "kubernetes.io/os": "linux", "node-role.kubernetes.io/control-plane": "" } },
  { name: "node-1", labels: { "kubernetes.io/os": "linux" } },
  { name: "node-2", labels: { "kubernetes.io/os": "linux", disk: "ssd" } },
];

const deployment = (name: string, replicas: number, podSpec = "containers: [{name: web, image: nginx}]") => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {${podSpec}}
`;

function objects(text: string) {
  const r = parseManifests(text);
  expect(formatDiagnostics(r.diagnostics)).toBe("");
  return r.objects;
}

describe("names", () => {
  it("encodes like rand.SafeEncodeString", () => {
    // '0'..'9' are bytes 48..57: 48 % 27 = 21 → '4', …, 54 % 27 = 0 → 'b'.
    expect(safeEncodeString("0123456789")).toBe("456789bcdf");
  });

  it("gives the ReplicaSet <deployment>-<10-char hash> and the pods <replicaset>-<5 chars>", () => {
    const { replicaSets, pods } = expandWorkloads(loadManifests(`${FIXTURES}nginx.yaml`).objects, { seed: 1, nodes: NODES });
    expect(replicaSets).toHaveLength(1);
    const rs = replicaSets[0];
    expect(rs.metadata.name).toMatch(/^nginx-deployment-[456789bcdf]{10}$/);
    const hash = rs.metadata.name.slice("nginx-deployment-".length);
    expect(rs.metadata.labels).toEqual({ app: "nginx", "pod-template-hash": hash });
    expect(rs.spec.selector.matchLabels).toEqual({ app: "nginx", "pod-template-hash": hash });
    expect(rs.metadata.ownerReferences).toEqual([{ apiVersion: "apps/v1", kind: "Deployment", name: "nginx-deployment", controller: true }]);
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.metadata.name).toMatch(new RegExp(`^${rs.metadata.name}-[${NAME_ALPHABET}]{5}$`));
      expect(p.metadata.labels).toEqual({ app: "nginx", "pod-template-hash": hash });
      expect(p.metadata.ownerReferences?.[0]).toMatchObject({ kind: "ReplicaSet", name: rs.metadata.name });
      expect(p.spec.containers[0].image).toBe("nginx:1.14.2");
      expect(p.source).toEqual(rs.source);
    }
    expect(new Set(pods.map((p) => p.metadata.name)).size).toBe(3);
  });

  it("is the same for the same seed and differs for another", () => {
    const objs = loadManifests(`${FIXTURES}nginx.yaml`).objects;
    const names = (seed: number) => expandWorkloads(objs, { seed, nodes: NODES }).pods.map((p) => p.metadata.name);
    expect(names(7)).toEqual(names(7));
    expect(names(7)).not.toEqual(names(8));
  });

  it("hashes the template: a changed template changes the hash, the Deployment's name does not", () => {
    const [a] = objects(deployment("web", 1)) as Deployment[];
    const [b] = objects(deployment("web", 1, "containers: [{name: web, image: nginx:2}]")) as Deployment[];
    const [c] = objects(deployment("web", 5)) as Deployment[];
    expect(podTemplateHash(1, a.spec.template)).not.toBe(podTemplateHash(1, b.spec.template));
    expect(podTemplateHash(1, a.spec.template)).toBe(podTemplateHash(1, c.spec.template));
  });

  it("cuts a long base to 58 characters before the suffix", () => {
    const name = generateName(`${"a".repeat(70)}-`, new Rng(1));
    expect(name).toHaveLength(63);
  });

  it("names the pods of a ReplicaSet manifest after it", () => {
    const text = deployment("web", 2).replace("kind: Deployment", "kind: ReplicaSet");
    const { replicaSets, pods } = expandWorkloads(objects(text), { seed: 1, nodes: NODES });
    expect(replicaSets.map((r) => r.metadata.name)).toEqual(["web"]);
    expect(pods.map((p) => p.metadata.name)).toEqual([expect.stringMatching(/^web-[a-z0-9]{5}$/), expect.stringMatching(/^web-/)]);
  });
});

describe("placement", () => {
  it("spreads replicas round-robin in node order", () => {
    const { pods } = expandWorkloads(objects(deployment("web", 5)), { seed: 1, nodes: NODES });
    expect(pods.map((p) => p.spec.nodeName)).toEqual(["control-plane", "node-1", "node-2", "control-plane", "node-1"]);
  });

  it("spreads the pods of every Deployment over the least loaded nodes", () => {
    const { pods } = expandWorkloads(objects(`${deployment("a", 2)}---\n${deployment("b", 1)}`), { seed: 1, nodes: NODES });
    expect(pods.map((p) => `${p.metadata.labels.app}@${p.spec.nodeName}`)).toEqual(["a@control-plane", "a@node-1", "b@node-2"]);
  });

  it("keeps a template's nodeName", () => {
    const { pods } = expandWorkloads(objects(deployment("web", 3, "nodeName: node-2, containers: [{name: web}]")), { seed: 1, nodes: NODES });
    expect(pods.map((p) => p.spec.nodeName)).toEqual(["node-2", "node-2", "node-2"]);
  });

  it("spreads over the nodes a nodeSelector admits", () => {
    const { pods } = expandWorkloads(objects(deployment("web", 3, "nodeSelector: {disk: ssd}, containers: [{name: web}]")), {
      seed: 1,
      nodes: [...NODES, { name: "node-3", labels: { disk: "ssd" } }],
    });
    expect(pods.map((p) => p.spec.nodeName)).toEqual(["node-2", "node-3", "node-2"]);
  });

  it("places standalone pods on the least loaded node, counting those given a nodeName", () => {
    const pod = (name: string, extra = "") =>
      `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec: {${extra}containers: [{name: a}]}\n`;
    const { pods } = expandWorkloads(objects([pod("a"), pod("b", "nodeName: node-2, "), pod("c"), pod("d")].join("---\n")), {
      seed: 1,
      nodes: NODES,
    });
    expect(pods.map((p) => `${p.metadata.name}@${p.spec.nodeName}`)).toEqual(["a@control-plane", "b@node-2", "c@node-1", "d@control-plane"]);
  });

  it("reports a nodeSelector no node satisfies", () => {
    const r = expandWorkloads(objects(deployment("web", 2, "nodeSelector: {gpu: 'true'}, containers: [{name: web}]")), { seed: 1, nodes: NODES });
    expect(r.pods).toEqual([]);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({ code: "unschedulable", path: "spec.template.spec.nodeSelector", object: "Deployment default/web", line: 9, col: 26 });
    expect(r.diagnostics[0].message).toBe("no node has the labels gpu=true, so its pods cannot be placed");
  });

  it("lists the manifests' pods and the generated ones together", () => {
    const r = expandWorkloads(loadManifests([`${FIXTURES}nodeport.yaml`, `${FIXTURES}kube-dns.yaml`]).objects, { seed: 3, nodes: NODES });
    expect(r.diagnostics).toEqual([]);
    expect(r.pods.map((p) => `${p.metadata.namespace}/${p.metadata.name.replace(/-[a-z0-9]{5}$/, "-*")}@${p.spec.nodeName}`)).toEqual([
      "default/myapp@node-2",
      expect.stringMatching(/^kube-system\/coredns-[456789bcdf]{10}-\*@control-plane$/),
      expect.stringMatching(/^kube-system\/coredns-[456789bcdf]{10}-\*@node-1$/),
    ]);
  });
});

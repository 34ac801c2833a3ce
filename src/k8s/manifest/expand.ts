// Deployment → ReplicaSet → Pods, as the controllers would create them: a ReplicaSet named
// `<deployment>-<pod-template-hash>`, Pods named `<replicaset>-<5 random chars>`, all
// deterministic from the cluster seed; then each Pod placed on a node, as a simple scheduler:
// its nodeName if it has one, else the least loaded of the nodes its nodeSelector admits (node order on a tie).

import { Rng } from "../../sim/index.js";
import type { K8sObject, LabelSelector, Pod, PodTemplateSpec, ReplicaSet } from "../model.js";
import { objectRef } from "../model.js";
import type { Diagnostic } from "./diagnostics.js";
import { fieldPosition } from "./parse.js";
import { formatSelector, matchesLabels } from "./selector.js";

/** The label a Deployment adds to its ReplicaSets and Pods (apps/v1 DefaultDeploymentUniqueLabelKey). */
export const POD_TEMPLATE_HASH_LABEL = "pod-template-hash";
/** k8s.io/apimachinery/pkg/util/rand's alphabet: no vowels, no confusable 0/1/3. */
export const NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";
/** names.SimpleNameGenerator: the base is cut to 63 − 5 characters before the random suffix. */
const MAX_GENERATED_BASE = 58;
const RANDOM_LENGTH = 5;

/** A node as the scheduler sees it. */
export interface SchedulingNode {
  name: string;
  labels: Readonly<Record<string, string>>;
}

export interface ExpandOptions {
  seed: number;
  /** In order: ties go to the earlier node. */
  nodes: readonly SchedulingNode[];
}

export interface Expansion {
  /** The manifests' ReplicaSets and those generated for Deployments. */
  replicaSets: ReplicaSet[];
  /** The manifests' Pods and those generated for ReplicaSets, each with spec.nodeName set. */
  pods: Pod[];
  diagnostics: Diagnostic[];
}

/** rand.SafeEncodeString: each character c becomes NAME_ALPHABET[c % 27]. */
export function safeEncodeString(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) out += NAME_ALPHABET[s.charCodeAt(i) % NAME_ALPHABET.length];
  return out;
}

/**
 * The pod-template-hash. Kubernetes hashes the template (FNV-32a) and encodes the decimal digits
 * with SafeEncodeString, so real hashes use only the ten characters "456789bcdf" ("7c5ddbdf54");
 * here the FNV-1a of the template's canonical JSON seeds the RNG, which gives a 10-digit number.
 */
export function podTemplateHash(seed: number, template: PodTemplateSpec): string {
  const rng = new Rng(seed).derive(`pod-template-hash/${canonicalJson(template)}`);
  const n = 1_000_000_000 + (rng.u32() % 3_294_967_296);
  return safeEncodeString(String(n));
}

/** names.SimpleNameGenerator.GenerateName: base (cut to 58) + 5 random alphabet characters. */
export function generateName(base: string, rng: Rng): string {
  let name = base.length > MAX_GENERATED_BASE ? base.slice(0, MAX_GENERATED_BASE) : base;
  for (let i = 0; i < RANDOM_LENGTH; i++) name += NAME_ALPHABET[rng.int(NAME_ALPHABET.length)];
  return name;
}

/** The ReplicaSet a Deployment creates for its current template (DeploymentController.getNewReplicaSet). */
export function replicaSetForDeployment(d: Extract<K8sObject, { kind: "Deployment" }>, seed: number): ReplicaSet {
  const hash = podTemplateHash(seed, d.spec.template);
  const withHash = (labels: Record<string, string>) => ({ ...labels, [POD_TEMPLATE_HASH_LABEL]: hash });
  const selector: LabelSelector = {
    matchLabels: withHash(d.spec.selector.matchLabels),
    matchExpressions: d.spec.selector.matchExpressions,
  };
  const template: PodTemplateSpec = structuredClone(d.spec.template);
  template.metadata.labels = withHash(template.metadata.labels);
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace,
      labels: withHash(d.spec.template.metadata.labels),
      annotations: {},
      ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: d.metadata.name, controller: true }],
    },
    spec: { replicas: d.spec.replicas, selector, template },
    source: d.source,
  };
}

/** Expands every Deployment and ReplicaSet into Pods and places every Pod on a node. */
export function expandWorkloads(objects: readonly K8sObject[], opts: ExpandOptions): Expansion {
  const diagnostics: Diagnostic[] = [];
  const replicaSets: ReplicaSet[] = [];
  const pods: Pod[] = [];
  const used = new Set<string>();
  for (const o of objects) if (o.kind === "Pod") used.add(`${o.metadata.namespace}/${o.metadata.name}`);
  if (opts.nodes.length === 0)
    diagnostics.push({ file: "<cluster>", doc: 0, line: 1, col: 1, severity: "error", code: "unschedulable", path: "nodes", message: "the cluster has no nodes to place pods on" });

  // Pods per node so far: each new pod goes to the least loaded eligible node (first in node order
  // on a tie), as kube-scheduler's spreading does, so many small Deployments fill every node.
  const load = new Map<string, number>();
  for (const o of objects) if (o.kind === "Pod" && o.spec.nodeName !== undefined) load.set(o.spec.nodeName, (load.get(o.spec.nodeName) ?? 0) + 1);
  for (const o of objects) {
    if (o.kind === "Pod") {
      if (o.spec.nodeName !== undefined) {
        pods.push(o);
        continue;
      }
      const nodeName = place(o.spec.nodeSelector, load, opts.nodes, o, diagnostics);
      if (nodeName !== undefined) pods.push({ ...o, spec: { ...o.spec, nodeName } });
    } else if (o.kind === "ReplicaSet" || o.kind === "Deployment") {
      const rs = o.kind === "Deployment" ? replicaSetForDeployment(o, opts.seed) : o;
      replicaSets.push(rs);
      pods.push(...podsForReplicaSet(rs, o, opts, used, load, diagnostics));
    }
  }
  return { replicaSets, pods, diagnostics };
}

/** The pods of `rs`; `owner` (the manifest's Deployment or ReplicaSet) is what diagnostics name. */
function podsForReplicaSet(
  rs: ReplicaSet,
  owner: K8sObject,
  opts: ExpandOptions,
  used: Set<string>,
  load: Map<string, number>,
  diagnostics: Diagnostic[],
): Pod[] {
  const { namespace, name } = rs.metadata;
  const rng = new Rng(opts.seed).derive(`pod-names/${namespace}/${name}`);
  const template = rs.spec.template;
  const pods: Pod[] = [];
  for (let i = 0; i < rs.spec.replicas; i++) {
    let podName = generateName(`${name}-`, rng);
    while (used.has(`${namespace}/${podName}`)) podName = generateName(`${name}-`, rng);
    used.add(`${namespace}/${podName}`);
    const nodeName = template.spec.nodeName ?? place(template.spec.nodeSelector, load, opts.nodes, owner, diagnostics);
    if (nodeName === undefined) break;
    const spec = structuredClone(template.spec);
    spec.nodeName = nodeName;
    pods.push({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: podName,
        namespace,
        labels: { ...template.metadata.labels },
        annotations: { ...template.metadata.annotations },
        ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name, controller: true }],
      },
      spec,
      source: rs.source,
    });
  }
  return pods;
}

/** The least loaded node whose labels satisfy the nodeSelector (first in node order on a tie); counts the pod there. */
function place(
  nodeSelector: Record<string, string>,
  load: Map<string, number>,
  nodes: readonly SchedulingNode[],
  owner: K8sObject,
  diagnostics: Diagnostic[],
): string | undefined {
  if (nodes.length === 0) return undefined;
  let best: SchedulingNode | undefined;
  for (const n of nodes)
    if (matchesLabels(nodeSelector, n.labels) && (best === undefined || (load.get(n.name) ?? 0) < (load.get(best.name) ?? 0))) best = n;
  if (best !== undefined) {
    load.set(best.name, (load.get(best.name) ?? 0) + 1);
    return best.name;
  }
  const path = owner.kind === "Pod" ? "spec.nodeSelector" : "spec.template.spec.nodeSelector";
  diagnostics.push({
    ...fieldPosition(owner, path),
    severity: "error",
    code: "unschedulable",
    object: objectRef(owner),
    path,
    message: `no node has the labels ${formatSelector(nodeSelector)}, so its pods cannot be placed`,
    hint: `label a node in the cluster config, e.g. labels: {${Object.entries(nodeSelector).map(([k, v]) => `${k}: ${v}`).join(", ")}}`,
  });
  return undefined;
}

/** JSON with object keys sorted, so the same template always hashes the same. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

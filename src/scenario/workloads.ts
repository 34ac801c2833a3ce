// The ReplicaSet controller, as far as scenarios need it: scaling a Deployment adds pods (named
// and placed as the initial expansion names and places them) or removes them (not-ready first,
// then the newest), and a deleted pod of a ReplicaSet is replaced by a new one, with a new name
// and a new IP, as the controller would do within a second.

import {
  type Cluster,
  type Deployment,
  generateName,
  type K8sObject,
  matchesLabels,
  type Pod,
  type PodRuntime,
  type ReplicaSet,
  replicaSetForDeployment,
} from "../k8s/index.js";
import { Rng } from "../sim/index.js";

/** Names handed out per cluster, so a replacement never reuses a deleted pod's name. */
const usedNames = new WeakMap<Cluster, Set<string>>();

function used(c: Cluster): Set<string> {
  let u = usedNames.get(c);
  if (!u) usedNames.set(c, (u = new Set(c.pods.keys())));
  return u;
}

/** The Deployment named `ref` (NAME or NS/NAME) among the scenario's objects. */
export function findDeployment(objects: readonly K8sObject[], ref: string): Deployment | undefined {
  const [ns, name] = ref.includes("/") ? ref.split("/") : ["default", ref];
  return objects.find((o): o is Deployment => o.kind === "Deployment" && o.metadata.namespace === ns && o.metadata.name === name);
}

/** The ReplicaSet that owns `pod`, if the scenario declares it (directly or through a Deployment). */
export function ownerReplicaSet(c: Cluster, objects: readonly K8sObject[], pod: PodRuntime): ReplicaSet | undefined {
  const owner = pod.pod.metadata.ownerReferences?.find((o) => o.kind === "ReplicaSet");
  if (!owner) return undefined;
  for (const o of objects) {
    const rs = o.kind === "Deployment" ? replicaSetForDeployment(o, c.config.seed) : o.kind === "ReplicaSet" ? o : undefined;
    if (rs && rs.metadata.name === owner.name && rs.metadata.namespace === pod.pod.metadata.namespace) return rs;
  }
  return undefined;
}

export const podsOf = (c: Cluster, rs: ReplicaSet): PodRuntime[] =>
  [...c.pods.values()].filter((p) => p.pod.metadata.namespace === rs.metadata.namespace && p.pod.metadata.ownerReferences?.some((o) => o.kind === "ReplicaSet" && o.name === rs.metadata.name));

/** Brings the ReplicaSet's pods to `replicas`; returns the pods added and the pods deleted. */
export function scaleReplicaSet(c: Cluster, rs: ReplicaSet, replicas: number): { added: PodRuntime[]; deleted: string[] } {
  used(c);
  const current = podsOf(c, rs);
  const added: PodRuntime[] = [];
  const deleted: string[] = [];
  if (replicas < current.length) {
    // controller.ActivePodsWithRanks: not ready before ready, newer before older.
    const order = [...current].reverse().sort((a, b) => Number(a.ready) - Number(b.ready));
    for (const p of order.slice(0, current.length - replicas)) {
      c.deletePod(p.key);
      deleted.push(p.key);
    }
  }
  for (let i = current.length; i < replicas; i++) {
    const pod = newPod(c, rs);
    if (!pod) break;
    added.push(c.addPod(pod));
  }
  return { added, deleted };
}

/** A new pod of the ReplicaSet: the next unused name of its seeded stream, on the least loaded eligible node. */
function newPod(c: Cluster, rs: ReplicaSet): Pod | undefined {
  const { namespace, name } = rs.metadata;
  const names = used(c);
  const rng = new Rng(c.config.seed).derive(`pod-names/${namespace}/${name}`);
  let podName = generateName(`${name}-`, rng);
  while (names.has(`${namespace}/${podName}`)) podName = generateName(`${name}-`, rng);
  names.add(`${namespace}/${podName}`);
  const t = rs.spec.template;
  let nodeName = t.spec.nodeName;
  if (nodeName === undefined) {
    const eligible = c.config.nodes.filter((n) => matchesLabels(t.spec.nodeSelector, n.labels));
    if (eligible.length === 0) return undefined;
    const load = (n: string) => podsOf(c, rs).filter((p) => p.node.name === n).length;
    nodeName = eligible.reduce((best, n) => (load(n.name) < load(best.name) ? n : best), eligible[0]).name;
  }
  const spec = structuredClone(t.spec);
  spec.nodeName = nodeName;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: podName,
      namespace,
      labels: { ...t.metadata.labels },
      annotations: { ...t.metadata.annotations },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name, controller: true }],
    },
    spec,
    source: rs.source,
  };
}

/** Deletes a pod; if a ReplicaSet of the scenario owns it, a replacement starts. */
export function deletePod(c: Cluster, objects: readonly K8sObject[], key: string): PodRuntime | undefined {
  const pod = c.pod(key);
  const rs = ownerReplicaSet(c, objects, pod);
  used(c);
  c.deletePod(key);
  if (!rs) return undefined;
  const pod2 = newPod(c, rs);
  return pod2 ? c.addPod(pod2) : undefined;
}

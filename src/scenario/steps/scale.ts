// `scale: {deployment, replicas}`: the Deployment's ReplicaSet gains pods (new names, placed on
// the least loaded eligible node) or loses them (not-ready first, then the newest).

import { replicaSetForDeployment } from "../../k8s/index.js";
import type { Located } from "../model.js";
import { findDeployment, scaleReplicaSet } from "../workloads.js";
import { locate } from "./fields.js";
import { defineStep } from "./registry.js";

export interface ScaleSpec {
  deployment: Located<string>;
  replicas: number;
}

export const scaleStep = defineStep<ScaleSpec>({
  type: "scale",
  synopsis: "scale: {deployment, replicas}",
  expects: false,
  timed: false,
  read(body) {
    if (!body.isMap()) return undefined;
    body.known(["deployment", "replicas"]);
    const d = body.get("deployment");
    const name = d.requiredStr("a Deployment: NAME or NAMESPACE/NAME");
    const r = body.get("replicas");
    if (!r.present) r.missing("a number of replicas");
    const replicas = r.int("a number of replicas", 0, 1000);
    if (name === undefined || replicas === undefined) return undefined;
    return { deployment: locate(d, name), replicas };
  },
  check(s, cx) {
    const d = findDeployment(cx.objects, s.deployment.value);
    if (!d) {
      const have = cx.objects.filter((o) => o.kind === "Deployment").map((o) => o.metadata.name);
      cx.error(s.deployment, "unknown-target", `no Deployment "${s.deployment.value}" in the manifests`, have.length ? `the Deployments: ${have.join(", ")}` : undefined);
      return;
    }
    scaleReplicaSet(cx.cluster, replicaSetForDeployment(d, cx.cluster.config.seed), s.replicas);
  },
  title: (s) => `scale deployment ${s.deployment.value} to ${s.replicas}`,
  run(s, rt) {
    const d = findDeployment(rt.objects, s.deployment.value);
    if (!d) return { pass: false, observed: "not scaled", why: `no Deployment ${s.deployment.value}` };
    const { added, deleted } = scaleReplicaSet(rt.cluster, replicaSetForDeployment(d, rt.cluster.config.seed), s.replicas);
    rt.captureNewDevices();
    const parts = [...added.map((p) => `started ${p.key} at ${p.ipString} on ${p.node.name}`), ...deleted.map((k) => `deleted ${k}`)];
    return { pass: true, observed: parts.length ? parts.join("; ") : `already at ${s.replicas}` };
  },
});

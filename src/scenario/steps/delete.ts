// `delete: {pod}`: CNI DEL (the veth goes), the IP is freed, the pod leaves its Services'
// endpoints. A pod of a ReplicaSet (a Deployment's) is replaced at once by a new one.

import type { Located } from "../model.js";
import { resolveHost } from "../refs.js";
import { deletePod } from "../workloads.js";
import { checkResolved, readPodRef } from "./fields.js";
import { defineStep } from "./registry.js";

export interface DeleteSpec {
  pod: Located<string>;
}

export const deleteStep = defineStep<DeleteSpec>({
  type: "delete",
  synopsis: "delete: {pod}",
  expects: false,
  timed: false,
  read(body) {
    if (!body.isMap()) return undefined;
    body.known(["pod"]);
    const pod = readPodRef(body.get("pod"));
    return pod && { pod };
  },
  check(s, cx) {
    if (checkResolved(cx, s.pod, resolveHost(cx.cluster, { kind: "pod", name: s.pod.value }), "unknown-pod")) deletePod(cx.cluster, cx.objects, s.pod.value);
  },
  title: (s) => `delete pod ${s.pod.value}`,
  run(s, rt) {
    const p = rt.cluster.pods.get(s.pod.value);
    if (!p) return { pass: false, observed: "nothing deleted", why: `no pod ${s.pod.value}` };
    const ip = p.ipString;
    const replacement = deletePod(rt.cluster, rt.objects, s.pod.value);
    rt.captureNewDevices();
    return { pass: true, observed: `deleted (freed ${ip})${replacement ? `; its ReplicaSet started ${replacement.key} at ${replacement.ipString} on ${replacement.node.name}` : ""}` };
  },
});

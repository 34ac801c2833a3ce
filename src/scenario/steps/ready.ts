// `ready: {pod, ready: true|false}`: the pod's readiness probe passes or fails; a not-ready pod
// leaves its Services' endpoints (kube-proxy then stops sending it new connections).

import type { Located } from "../model.js";
import { resolveHost } from "../refs.js";
import { checkResolved, readPodRef } from "./fields.js";
import { defineStep } from "./registry.js";

export interface ReadySpec {
  pod: Located<string>;
  ready: boolean;
}

export const readyStep = defineStep<ReadySpec>({
  type: "ready",
  synopsis: "ready: {pod, ready: true|false}",
  expects: false,
  timed: false,
  read(body) {
    if (!body.isMap()) return undefined;
    body.known(["pod", "ready"]);
    const pod = readPodRef(body.get("pod"));
    const r = body.get("ready");
    if (!r.present) r.missing("true or false");
    const ready = r.bool();
    if (!pod || ready === undefined) return undefined;
    return { pod, ready };
  },
  check(s, cx) {
    if (checkResolved(cx, s.pod, resolveHost(cx.cluster, { kind: "pod", name: s.pod.value }), "unknown-pod")) cx.cluster.setReady(s.pod.value, s.ready);
  },
  title: (s) => `pod ${s.pod.value} ${s.ready ? "ready" : "not ready"}`,
  run(s, rt) {
    if (!rt.cluster.pods.has(s.pod.value)) return { pass: false, observed: "unchanged", why: `no pod ${s.pod.value}` };
    rt.cluster.setReady(s.pod.value, s.ready);
    return { pass: true, observed: s.ready ? "ready: back in its Services' endpoints" : "not ready: out of its Services' endpoints" };
  },
});

// `restart: {pod, container?}`: the container's process exits and starts again (all containers
// when none is named). Its sockets close and its apps bind again; the pod keeps its namespace and IP.

import type { Located } from "../model.js";
import { resolveHost } from "../refs.js";
import { checkResolved, locate, readPodRef } from "./fields.js";
import { defineStep } from "./registry.js";

export interface RestartSpec {
  pod: Located<string>;
  container?: Located<string>;
}

export const restartStep = defineStep<RestartSpec>({
  type: "restart",
  synopsis: "restart: {pod, container?}",
  expects: false,
  timed: false,
  read(body) {
    if (!body.isMap()) return undefined;
    body.known(["pod", "container"]);
    const pod = readPodRef(body.get("pod"));
    const c = body.get("container");
    const container = c.str();
    if (!pod) return undefined;
    return { pod, container: container === undefined ? undefined : locate(c, container) };
  },
  check(s, cx) {
    const p = checkResolved(cx, s.pod, resolveHost(cx.cluster, { kind: "pod", name: s.pod.value }), "unknown-pod")?.pod;
    if (p && s.container && !p.containers.has(s.container.value))
      cx.error(s.container, "unknown-target", `pod ${p.key} has no container "${s.container.value}"`, `its containers: ${[...p.containers.keys()].join(", ")}`);
  },
  title: (s) => `restart ${s.pod.value}${s.container ? ` container ${s.container.value}` : ""}`,
  run(s, rt) {
    const p = rt.cluster.pods.get(s.pod.value);
    if (!p) return { pass: false, observed: "nothing restarted", why: `no pod ${s.pod.value}` };
    const names = s.container ? [s.container.value] : [...p.containers.keys()];
    for (const n of names) {
      if (!p.containers.has(n)) return { pass: false, observed: "nothing restarted", why: `pod ${p.key} has no container "${n}"` };
      rt.apps.restart(p, n);
    }
    const listening = rt.apps.describe(p);
    return { pass: true, observed: `restarted ${names.join(", ")}; pod keeps ${p.ipString}${listening.length ? `; listening again on ${listening.join(", ")}` : ""}` };
  },
});

// The EndpointSlice controller: for every Service with a selector, the pods it selects become
// endpoints (ready when the pod is ready), with each Service port's targetPort resolved against
// the pod's container ports (a named targetPort may differ per pod: one slice per distinct
// resolution, as the controller does). Services without a selector keep their given slices.

import { matchesLabels } from "../manifest/index.js";
import type { Endpoint, EndpointPort, EndpointSlice, Service } from "../model.js";
import type { PodRuntime } from "./pod.js";

/** Resolves a Service port's targetPort for one pod (podutil.FindPort); undefined if the name is not there. */
export function resolveTargetPort(target: number | string, protocol: string, pod: PodRuntime): number | undefined {
  if (typeof target === "number") return target;
  for (const c of pod.pod.spec.containers) for (const p of c.ports) if (p.name === target && p.protocol === protocol) return p.containerPort;
  return undefined;
}

export function endpointSlicesFor(svc: Service, pods: Iterable<PodRuntime>, given: readonly EndpointSlice[], sliceName: (i: number) => string): EndpointSlice[] {
  const sel = svc.spec.selector;
  if (sel === undefined) return given.filter((s) => s.serviceName === svc.metadata.name && s.metadata.namespace === svc.metadata.namespace);
  const groups = new Map<string, { ports: EndpointPort[]; endpoints: Endpoint[] }>();
  for (const pod of pods) {
    if (pod.deleted || pod.pod.metadata.namespace !== svc.metadata.namespace || !matchesLabels(sel, pod.labels)) continue;
    const ports: EndpointPort[] = [];
    for (const sp of svc.spec.ports) {
      const port = resolveTargetPort(sp.targetPort, sp.protocol, pod);
      if (port !== undefined) ports.push({ name: sp.name, port, protocol: sp.protocol, appProtocol: sp.appProtocol });
    }
    const key = ports.map((p) => `${p.name}/${p.protocol}/${p.port}`).join(",");
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports, endpoints: [] }));
    g.endpoints.push({
      addresses: [pod.ipString],
      conditions: { ready: pod.ready, serving: pod.ready, terminating: false },
      nodeName: pod.node.name,
      targetRef: { kind: "Pod", namespace: pod.pod.metadata.namespace, name: pod.name },
    });
  }
  let i = 0;
  return [...groups.values()].map((g) => ({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: sliceName(i++), namespace: svc.metadata.namespace, labels: { "kubernetes.io/service-name": svc.metadata.name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io" }, annotations: {} },
    addressType: "IPv4",
    endpoints: g.endpoints,
    ports: g.ports,
    serviceName: svc.metadata.name,
    source: svc.source,
  }));
}

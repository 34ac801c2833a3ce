// The proxy's upstreams: a decision's Service ports resolved to ready endpoints (pod IP and target
// port from the Service's EndpointSlices), as ingress-nginx's controller wrote them into its
// balancer (its upstreams were endpoints, never the ClusterIP). A backend is picked by weight,
// then an endpoint, with the proxy's own seeded random stream.

import type { Rng } from "../../sim/index.js";
import type { Cluster } from "../cluster/cluster.js";
import type { L7Backend } from "./types.js";

/** One ready endpoint: the pod's address and the Service port's target port on it. */
export interface Upstream {
  readonly addr: string;
  readonly port: number;
  /** "default/web-7c9d…" when the endpoint names its pod. */
  readonly pod?: string;
}

export type UpstreamResolution = { ok: true; upstreams: Upstream[] } | { ok: false; why: string };

/** The ready endpoints of a backend's Service port. */
export function resolveUpstreams(cluster: Cluster, b: L7Backend): UpstreamResolution {
  const key = `${b.namespace}/${b.service}`;
  const svc = cluster.services.get(key);
  if (!svc) return { ok: false, why: `Service ${key} does not exist` };
  const sp = svc.svc.spec.ports.find((p) => (typeof b.port === "number" ? p.port === b.port : p.name === b.port));
  if (!sp) return { ok: false, why: `Service ${key} has no port ${b.port}` };
  const out: Upstream[] = [];
  for (const slice of cluster.endpointSlices(key)) {
    const ep = slice.ports.find((p) => (p.name ?? "") === (sp.name ?? "") && p.protocol === sp.protocol);
    if (!ep || ep.port === undefined) continue;
    for (const e of slice.endpoints) {
      if (e.conditions.ready === false) continue;
      const pod = e.targetRef ? `${e.targetRef.namespace ?? b.namespace}/${e.targetRef.name}` : undefined;
      for (const addr of e.addresses) out.push({ addr, port: ep.port, pod });
    }
  }
  if (out.length === 0) return { ok: false, why: `Service ${key} port ${b.port} has no ready endpoints` };
  return { ok: true, upstreams: out };
}

/** A backend by weight (weights of 0 are never picked); undefined when every weight is 0. */
export function pickBackend(backends: readonly L7Backend[], rng: Rng): L7Backend | undefined {
  let total = 0;
  for (const b of backends) total += Math.max(0, b.weight);
  if (total === 0) return undefined;
  let r = rng.int(total);
  for (const b of backends) {
    const w = Math.max(0, b.weight);
    if (r < w) return b;
    r -= w;
  }
  return undefined;
}

/** An endpoint, uniformly (ingress-nginx's round robin starts at a random peer; kubewire draws each time). */
export const pickUpstream = (ups: readonly Upstream[], rng: Rng): Upstream => ups[rng.int(ups.length)];

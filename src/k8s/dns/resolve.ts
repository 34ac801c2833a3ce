// Name resolution from inside a pod: the stub resolver with the pod's /etc/resolv.conf and
// /etc/hosts as kubelet writes them, its sockets opened by one of the pod's containers, query IDs
// from the pod namespace's seeded stream (one derived stream per lookup, so runs repeat exactly).

import type { Cluster } from "../cluster/cluster.js";
import type { PodRuntime } from "../cluster/pod.js";
import { podHosts, podResolvConf, type ResolvConf } from "./resolv-conf.js";
import { type ResolveResult, stubResolve } from "./stub.js";

export interface ResolveOptions {
  /** The container that asks (default: the pod's first). */
  container?: string;
  /** Overrides of the pod's resolv.conf (nameservers, search, ndots, timeout, attempts, edns0). */
  conf?: Partial<ResolvConf>;
  /** Look in the pod's /etc/hosts first (nsswitch `hosts: files dns`). Default true. */
  hosts?: boolean;
}

type Done = (r: ResolveResult) => void;

/**
 * Resolves `name` from a pod (a pod object or "namespace/name") as getaddrinfo(AF_INET) would.
 * The queries are sent at once; the answer comes while the simulation runs (call sim.run()).
 * Without a callback, returns a promise of the result. Never rejects: failures are in `error`.
 */
export function resolve(cluster: Cluster, pod: PodRuntime | string, name: string, done: Done): void;
export function resolve(cluster: Cluster, pod: PodRuntime | string, name: string, opts: ResolveOptions, done: Done): void;
export function resolve(cluster: Cluster, pod: PodRuntime | string, name: string, opts?: ResolveOptions): Promise<ResolveResult>;
export function resolve(cluster: Cluster, pod: PodRuntime | string, name: string, a?: ResolveOptions | Done, b?: Done): Promise<ResolveResult> | undefined {
  const opts = typeof a === "function" ? {} : (a ?? {});
  const cb = typeof a === "function" ? a : b;
  const p = typeof pod === "string" ? cluster.pod(pod) : pod;
  const container = p.container(opts.container);
  const ns = p.ns;
  const n = (ns.state.get("dns-resolver") as number | undefined) ?? 0;
  ns.state.set("dns-resolver", n + 1);
  const cx = {
    sim: cluster.sim,
    conf: { ...podResolvConf(cluster, p), ...opts.conf },
    open: () => container.udpSocket(),
    rng: ns.rng.derive(`dns-resolver/${n}`),
    hosts: opts.hosts === false ? undefined : podHosts(cluster, p),
    nsName: ns.name,
  };
  if (cb) return void stubResolve(cx, name, cb);
  return new Promise((ok) => stubResolve(cx, name, ok));
}

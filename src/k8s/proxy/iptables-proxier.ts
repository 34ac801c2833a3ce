// The iptables Proxier's state between syncs (pkg/proxy/iptables/proxier.go: Proxier, its
// serviceChanges/endpointsChanges and needFullSync): which services changed since the last sync
// (only their chains are rewritten), which service chains exist on the node (stale ones are
// deleted), and large-cluster mode's periodic cleanup.

import type { EndpointSlice } from "../model.js";
import type { ProxierConfig } from "./config.js";
import { type IptablesSyncResult, syncIptablesRules } from "./iptables.js";
import { NameCache, Probabilities } from "./names.js";
import { type EndpointInfo, endpointsMap, type ProxyService, type ServicePortInfo, servicePorts } from "./servicemap.js";

/** kube-proxy's --iptables-sync-period default: stale chains of a large cluster are deleted at most this often. */
export const SYNC_PERIOD_MS = 30_000;

export interface ProxierSnapshot {
  ports: ServicePortInfo[];
  endpoints: Map<string, EndpointInfo[]>;
}

/** The service ports and endpoints kube-proxy on `nodeName` sees, in a deterministic order (by ServicePortName). */
export function snapshot(services: Iterable<ProxyService>, slices: Iterable<EndpointSlice>, nodeName: string): ProxierSnapshot {
  const ports = servicePorts(services).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { ports, endpoints: endpointsMap(slices, nodeName) };
}

/** A snapshot's service ports and their endpoints, per Service ("namespace/name"). */
function byService(s: ProxierSnapshot): Map<string, ServicePortInfo[]> {
  const out = new Map<string, ServicePortInfo[]>();
  for (const sp of s.ports) {
    const k = `${sp.namespace}/${sp.name}`;
    const l = out.get(k);
    if (l === undefined) out.set(k, [sp]);
    else l.push(sp);
  }
  return out;
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** The fields of a service port that its rules are written from. */
function samePort(a: ServicePortInfo, b: ServicePortInfo): boolean {
  return (
    a === b ||
    (a.key === b.key &&
      a.clusterIP === b.clusterIP &&
      a.port === b.port &&
      a.nodePort === b.nodePort &&
      sameList(a.externalIPs, b.externalIPs) &&
      sameList(a.loadBalancerVIPs, b.loadBalancerVIPs) &&
      sameList(a.loadBalancerSourceRanges, b.loadBalancerSourceRanges) &&
      a.clientIPAffinity === b.clientIPAffinity &&
      a.stickyMaxAgeSeconds === b.stickyMaxAgeSeconds &&
      a.externalPolicyLocal === b.externalPolicyLocal &&
      a.internalPolicyLocal === b.internalPolicyLocal &&
      a.healthCheckNodePort === b.healthCheckNodePort)
  );
}

const sameEndpoint = (a: EndpointInfo, b: EndpointInfo): boolean =>
  a === b || (a.endpoint === b.endpoint && a.isLocal === b.isLocal && a.ready === b.ready && a.serving === b.serving && a.terminating === b.terminating);

function sameEndpoints(a: readonly EndpointInfo[] | undefined, b: readonly EndpointInfo[] | undefined): boolean {
  if (a === b) return true;
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((e, i) => sameEndpoint(e, y[i]));
}

/**
 * The Services ("namespace/name") whose ports or endpoints differ between two snapshots, or that
 * are in only one of them: the ones a partial sync rewrites (serviceChanges/endpointsChanges).
 */
export function changedServices(prev: ProxierSnapshot, next: ProxierSnapshot): Set<string> {
  const before = byService(prev);
  const after = byService(next);
  const out = new Set<string>();
  for (const [k, ports] of after) {
    const old = before.get(k);
    const same =
      old !== undefined &&
      old.length === ports.length &&
      ports.every((sp, i) => samePort(sp, old[i]) && sameEndpoints(next.endpoints.get(sp.key), prev.endpoints.get(old[i].key)));
    if (!same) out.add(k);
  }
  for (const k of before.keys()) if (!after.has(k)) out.add(k);
  return out;
}

export class IptablesProxier {
  readonly names = new NameCache();
  readonly probs = new Probabilities();
  private needFullSync = true;
  /** The snapshot of the last sync, to tell which Services changed since. */
  private last: ProxierSnapshot = { ports: [], endpoints: new Map() };
  /**
   * The service chains on the node (what iptables-save would list): the union of this set and the
   * active chains of the syncs since it was made, merged only when a cleanup needs them.
   */
  private natChains = new Set<string>();
  private natChainLists: (readonly string[])[] = [];
  private lastCleanup = Number.NEGATIVE_INFINITY;
  lastResult: IptablesSyncResult | null = null;

  constructor(
    readonly cfg: ProxierConfig,
    /** The clock for large-cluster cleanup, in ms (the simulation's). */
    private readonly now: () => number = () => 0,
  ) {}

  /** forceSyncProxyRules: the next sync rewrites every service (after a restore failure, or a flush). */
  forceFullSync(): void {
    this.needFullSync = true;
  }

  /** The service chains on the node now: the set, with the lists of the syncs since merged in. */
  private existingNatChains(): Set<string> {
    for (const l of this.natChainLists) for (const c of l) this.natChains.add(c);
    this.natChainLists = [];
    return this.natChains;
  }

  /** syncProxyRules: the iptables-restore input for the current Services and EndpointSlices. */
  sync(services: Iterable<ProxyService>, slices: Iterable<EndpointSlice>): IptablesSyncResult {
    return this.syncSnapshot(snapshot(services, slices, this.cfg.nodeName));
  }

  syncSnapshot(s: ProxierSnapshot): IptablesSyncResult {
    const fullSync = this.needFullSync;
    // A full sync rewrites every Service: no need to know which changed.
    const updated = fullSync ? new Set<string>() : changedServices(this.last, s);
    const large = countEndpoints(s) > 1000;
    const now = this.now();
    const cleanup = !large || now - this.lastCleanup > SYNC_PERIOD_MS;
    const existingNatChains = cleanup ? this.existingNatChains() : undefined;
    const r = syncIptablesRules(this.cfg, s.ports, s.endpoints, { fullSync, updatedServices: updated, existingNatChains, skipCleanup: !cleanup }, this.names, this.probs);
    if (cleanup) {
      // Every service chain not in use was deleted: what is left is exactly the chains in use.
      this.lastCleanup = now;
      this.natChains = new Set();
      this.natChainLists = [r.activeChains];
    } else {
      this.natChainLists.push(r.activeChains);
      if (this.natChainLists.length > MAX_CHAIN_LISTS) this.existingNatChains();
    }
    this.last = s;
    this.needFullSync = false;
    this.lastResult = r;
    return r;
  }
}

/** Syncs between cleanups whose chain lists are kept as lists before they are merged into the set. */
const MAX_CHAIN_LISTS = 8;

function countEndpoints(s: ProxierSnapshot): number {
  let n = 0;
  for (const sp of s.ports) n += s.endpoints.get(sp.key)?.length ?? 0;
  return n;
}

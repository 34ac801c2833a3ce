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

/** What changed per Service ("namespace/name") between two snapshots: its ports or their endpoints. */
export function fingerprints(s: ProxierSnapshot): Map<string, string> {
  const out = new Map<string, string>();
  for (const sp of s.ports) {
    const k = `${sp.namespace}/${sp.name}`;
    const eps = s.endpoints.get(sp.key) ?? [];
    let line = `${sp.key}|${sp.clusterIP}|${sp.port}|${sp.nodePort}|${sp.externalIPs}|${sp.loadBalancerVIPs}|${sp.loadBalancerSourceRanges}|${+sp.clientIPAffinity}${sp.stickyMaxAgeSeconds}|${+sp.externalPolicyLocal}${+sp.internalPolicyLocal}|${sp.healthCheckNodePort}|`;
    for (const e of eps) line += `${e.endpoint},${+e.isLocal}${+e.ready}${+e.serving}${+e.terminating};`;
    out.set(k, (out.get(k) ?? "") + line);
  }
  return out;
}

export class IptablesProxier {
  readonly names = new NameCache();
  readonly probs = new Probabilities();
  private needFullSync = true;
  private last = new Map<string, string>();
  /** The service chains on the node (what iptables-save would list). */
  private natChains = new Set<string>();
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

  /** syncProxyRules: the iptables-restore input for the current Services and EndpointSlices. */
  sync(services: Iterable<ProxyService>, slices: Iterable<EndpointSlice>): IptablesSyncResult {
    return this.syncSnapshot(snapshot(services, slices, this.cfg.nodeName));
  }

  syncSnapshot(s: ProxierSnapshot): IptablesSyncResult {
    const prints = fingerprints(s);
    const updated = new Set<string>();
    for (const [k, v] of prints) if (this.last.get(k) !== v) updated.add(k);
    for (const k of this.last.keys()) if (!prints.has(k)) updated.add(k);
    const fullSync = this.needFullSync;
    const large = countEndpoints(s) > 1000;
    const now = this.now();
    const cleanup = !large || now - this.lastCleanup > SYNC_PERIOD_MS;
    const r = syncIptablesRules(this.cfg, s.ports, s.endpoints, { fullSync, updatedServices: updated, existingNatChains: this.natChains, skipCleanup: !cleanup }, this.names, this.probs);
    if (cleanup) {
      // Every service chain not in use was deleted: what is left is exactly the chains in use.
      this.lastCleanup = now;
      this.natChains = r.activeNatChains;
    } else for (const c of r.activeNatChains) this.natChains.add(c);
    this.last = prints;
    this.needFullSync = false;
    this.lastResult = r;
    return r;
  }
}

function countEndpoints(s: ProxierSnapshot): number {
  let n = 0;
  for (const sp of s.ports) n += s.endpoints.get(sp.key)?.length ?? 0;
  return n;
}

// kube-proxy as a DaemonSet: one proxier per node (cmd/kube-proxy, pkg/proxy/iptables and
// pkg/proxy/nftables Proxier), netfilter installed in the node's namespace, the rules loaded into
// its engine, re-synced on every Service and EndpointSlice change, with the UDP conntrack cleanup
// that follows; flanneld's masquerade rules loaded beside them.

import { IptablesEngine, installNetfilter, type Netfilter, netfilterOf } from "../../netfilter/index.js";
import { formatCidr, formatIpv4 } from "../../wire/index.js";
import type { Cluster } from "../cluster/cluster.js";
import type { ClusterNode } from "../cluster/node.js";
import { flannelMasqText } from "../cni/flannel-masq.js";
import type { ProxyMode } from "../config.js";
import type { ProxierConfig } from "./config.js";
import { cleanStaleEntries } from "./conntrack.js";
import { iptablesJumpsText } from "./iptables-jumps.js";
import { IptablesProxier, type ProxierSnapshot, snapshot } from "./iptables-proxier.js";
import { nftListRuleset } from "./nft-print.js";
import { type NftTable, nftablesRuleset } from "./nftables.js";
import type { ProxyService } from "./servicemap.js";

export interface KubeProxyOptions {
  /** Default: the cluster config's kubeProxy.mode. */
  mode?: ProxyMode;
  /** Load flanneld's --ip-masq rules too (default: with the vxlan and host-gw backends, which are flannel's). */
  flannelMasq?: boolean;
  /** Flags to override on every node (localhostNodePorts, randomFully, masqueradeAll, nodePortAddresses…). */
  proxier?: Partial<ProxierConfig>;
  /**
   * Which of flanneld and kube-proxy came up first on the nodes: both insert their jumps at the top
   * of FORWARD and POSTROUTING (`-I … 1`), so the one started last is consulted first. Default
   * "flannel-first": kube-proxy's jumps come first, as its REJECT for Services without endpoints
   * needs (FLANNEL-FWD accepts all pod traffic in FORWARD).
   */
  startOrder?: "flannel-first" | "kube-proxy-first";
}

/** kube-proxy on one node. */
export class NodeProxy {
  readonly proxier: IptablesProxier;
  readonly engine: IptablesEngine;
  /** The nftables mode's table after the last sync. */
  nftTable: NftTable | null = null;
  /** Rules on the node that are not kube-proxy's (flanneld's), as loaded. */
  readonly hostRules: string[] = [];
  syncs = 0;
  conntrackDeleted = 0;
  private udpEndpoints = "";
  private registered = "";

  constructor(
    readonly node: ClusterNode,
    readonly nf: Netfilter,
    readonly mode: ProxyMode,
    readonly cfg: ProxierConfig,
    now: () => number,
  ) {
    this.proxier = new IptablesProxier(cfg, now);
    // nftables mode: the same DNATs and marks, with services dispatched through verdict maps.
    this.engine = new IptablesEngine({ dispatch: mode === "nftables" ? "map" : "linear", file: `${node.name}: kube-proxy` });
  }

  /** kube-proxy's start: the canary chains and the jumps into its chains (EnsureChain, EnsureRule). */
  setup(): void {
    this.restore(iptablesJumpsText(), { noflush: true, file: `${this.node.name}: kube-proxy jumps` });
  }

  /** iptables-restore into the node's engine; the hooks of tables that appear are registered. */
  private restore(text: string, opts: { noflush: boolean; counters?: boolean; file: string }): void {
    this.engine.restore(text, opts);
    const tables = this.engine.tables().join(",");
    if (tables !== this.registered) {
      this.nf.setRules(this.engine);
      this.registered = tables;
    }
  }

  /** syncProxyRules: writes the rules and loads them (iptables-restore --noflush --counters), then conntrack housekeeping. */
  sync(services: readonly ProxyService[], slices: ReturnType<Cluster["endpointSlices"]>): void {
    const s = snapshot(services, slices, this.cfg.nodeName);
    const r = this.proxier.syncSnapshot(s);
    try {
      this.restore(r.text, { noflush: true, counters: true, file: `${this.node.name}: kube-proxy sync` });
    } catch (e) {
      // As kube-proxy does after a failed restore: the next sync is a full one.
      this.proxier.forceFullSync();
      throw e;
    }
    if (this.mode === "nftables") this.nftTable = nftablesRuleset(this.cfg, s.ports, s.endpoints, this.proxier.names);
    this.syncs++;
    const udp = udpEndpointsKey(s);
    if (udp !== this.udpEndpoints) {
      this.conntrackDeleted += cleanStaleEntries(this.nf, s.ports, s.endpoints);
      this.udpEndpoints = udp;
    }
  }

  /** Loads rules that are not kube-proxy's (iptables-restore --noflush). */
  loadHostRules(text: string, file: string): void {
    this.restore(text, { noflush: true, file: `${this.node.name}: ${file}` });
    this.hostRules.push(text);
  }

  /** `iptables-save` of the node: everything in iptables mode; in nftables mode only the rules others (flanneld) wrote. */
  iptablesSave(): string {
    if (this.mode === "iptables") return this.engine.save({ header: false });
    const others = new IptablesEngine();
    for (const t of this.hostRules) others.restore(t, { noflush: true });
    return others.save({ header: false });
  }

  /** `nft list table ip kube-proxy` in nftables mode; undefined in iptables mode (kube-proxy writes no nftables table). */
  nftList(): string | undefined {
    if (this.mode === "iptables") return undefined;
    return nftListRuleset(this.nftTable ?? nftablesRuleset(this.cfg, [], new Map()));
  }

  /**
   * What an administrator would list on the node: `iptables-save` in iptables mode; in nftables
   * mode `nft list table ip kube-proxy` followed by `iptables-save` of the other rules (flanneld's).
   */
  dump(): string {
    return (this.nftList() ?? "") + this.iptablesSave();
  }
}

/** The UDP service ports and their endpoints: when this changes, stale UDP flows are flushed. */
function udpEndpointsKey(s: ProxierSnapshot): string {
  let k = "";
  for (const sp of s.ports) if (sp.protocol === "UDP") k += `${sp.key}=${(s.endpoints.get(sp.key) ?? []).map((e) => `${e.endpoint}${+e.serving}`).join(",")};`;
  return k;
}

/** The Services as kube-proxy's informers see them: allocated ClusterIPs and NodePorts, SCTP left out (kubewire's netfilter has no SCTP). */
export function clusterServices(cluster: Cluster): ProxyService[] {
  const out: ProxyService[] = [];
  for (const s of cluster.services.values()) {
    const sctp = s.svc.spec.ports.some((p) => p.protocol === "SCTP");
    const svc = sctp ? { ...s.svc, spec: { ...s.svc.spec, ports: s.svc.spec.ports.filter((p) => p.protocol !== "SCTP") } } : s.svc;
    const nodePorts = sctp ? s.nodePorts.filter((_, i) => s.svc.spec.ports[i].protocol !== "SCTP") : s.nodePorts;
    out.push({ svc, clusterIP: s.clusterIP === 0 ? "" : formatIpv4(s.clusterIP), nodePorts });
  }
  return out;
}

export class KubeProxy {
  readonly mode: ProxyMode;
  readonly nodes = new Map<string, NodeProxy>();
  private readonly unsubscribe: () => void;

  private constructor(
    readonly cluster: Cluster,
    opts: KubeProxyOptions,
  ) {
    const config = cluster.config;
    this.mode = opts.mode ?? config.kubeProxy.mode;
    const flannel = opts.flannelMasq ?? config.cni.backend !== "routed";
    for (const node of cluster.nodes.values()) {
      const nf = netfilterOf(node.ns) ?? installNetfilter(node.ns);
      const cfg: ProxierConfig = {
        nodeName: node.name,
        nodeIPs: [formatIpv4(node.address)],
        localDetector: { mode: "ClusterCIDR", cidr: formatCidr(config.clusterCIDR) },
        masqueradeBit: config.kubeProxy.masqueradeBit,
        serviceCIDRs: [formatCidr(config.serviceCIDR)],
        // nftables mode answers NodePorts on the node IP only (--nodeport-addresses=primary, its default).
        nodePortAddresses: this.mode === "nftables" ? "primary" : undefined,
        ...opts.proxier,
      };
      this.nodes.set(node.name, new NodeProxy(node, nf, this.mode, cfg, () => cluster.sim.now / 1e6));
    }
    const flanneld = (p: NodeProxy) =>
      p.loadHostRules(flannelMasqText({ network: formatCidr(config.clusterCIDR), subnet: formatCidr(p.node.podCIDR), randomFully: p.cfg.randomFully }), "flanneld");
    const flannelFirst = (opts.startOrder ?? "flannel-first") === "flannel-first";
    for (const p of this.nodes.values()) {
      if (flannel && flannelFirst) flanneld(p);
      p.setup();
    }
    this.sync();
    if (flannel && !flannelFirst) for (const p of this.nodes.values()) flanneld(p);
    this.unsubscribe = cluster.on((e) => {
      if (e.kind === "service" || e.kind === "endpoints") this.sync();
    });
  }

  /** Starts kube-proxy on every node of the cluster and syncs it. */
  static start(cluster: Cluster, opts: KubeProxyOptions = {}): KubeProxy {
    return new KubeProxy(cluster, opts);
  }

  /** Syncs every node with the cluster's Services and EndpointSlices now. */
  sync(): void {
    const services = clusterServices(this.cluster);
    const slices = [...this.cluster.services.keys()].flatMap((k) => this.cluster.endpointSlices(k));
    for (const p of this.nodes.values()) p.sync(services, slices);
  }

  node(name: string): NodeProxy {
    const p = this.nodes.get(name);
    if (!p) throw new Error(`kube-proxy runs on no node "${name}" (have: ${[...this.nodes.keys()].join(", ")})`);
    return p;
  }

  /** `iptables-save` (iptables mode) or `nft list table ip kube-proxy` + `iptables-save` (nftables mode) of a node. */
  dump(nodeName: string): string {
    return this.node(nodeName).dump();
  }

  /** Stops following the cluster (the rules stay). */
  stop(): void {
    this.unsubscribe();
  }
}

// kube-proxy's nftables mode (pkg/proxy/nftables/proxier.go: setupNFTables, syncProxyRules,
// writeServiceToEndpointRules): the `ip kube-proxy` table after a full sync, as a model of its
// sets, maps, chains, rules and elements in the order the transaction adds them.

import { masqueradeMarkOf, NodePortAddresses, type ProxierConfig } from "./config.js";
import { ifLocalNft, ifNotLocalNft, isImplemented } from "./localdetector.js";
import { NameCache } from "./names.js";
import { EndpointChain, NumgenVmapRule } from "./nft-endpoints.js";
import { categorizeEndpoints, type EndpointInfo, externallyAccessible, type ServicePortInfo, usesClusterEndpoints, usesLocalEndpoints } from "./servicemap.js";

export interface NftElement {
  key: string[];
  value?: string[];
  comment?: string;
}

export interface NftSet {
  kind: "set" | "map";
  name: string;
  type: string;
  flags?: string[];
  /** Element timeout, seconds. */
  timeout?: number;
  comment?: string;
  elements: NftElement[];
}

export interface NftRule {
  rule: string;
  comment?: string;
}

export interface NftChain {
  name: string;
  base?: { type: "filter" | "nat"; hook: "prerouting" | "input" | "forward" | "output" | "postrouting"; priority: number };
  comment?: string;
  rules: NftRule[];
}

export interface NftTable {
  family: "ip";
  name: string;
  comment: string;
  /** Sets and maps in creation order. */
  sets: NftSet[];
  /** Chains in creation order. */
  chains: NftChain[];
}

const DNAT = -100;
const SNAT = 100;
const FILTER = 0;

/** nftablesBaseChains: filtering on pre-DNAT addresses runs before DNAT. */
const BASE_CHAINS: NftChain["base"][] = [
  { type: "filter", hook: "prerouting", priority: DNAT - 10 },
  { type: "filter", hook: "output", priority: DNAT - 10 },
  { type: "filter", hook: "input", priority: FILTER },
  { type: "filter", hook: "forward", priority: FILTER },
  { type: "filter", hook: "output", priority: FILTER },
  { type: "nat", hook: "prerouting", priority: DNAT },
  { type: "nat", hook: "output", priority: DNAT },
  { type: "nat", hook: "postrouting", priority: SNAT },
];
const BASE_NAMES = ["filter-prerouting-pre-dnat", "filter-output-pre-dnat", "filter-input", "filter-forward", "filter-output", "nat-prerouting", "nat-output", "nat-postrouting"];

/** nftablesJumpChains: [destination, source, extra match]. */
const JUMP_CHAINS: [string, string, string][] = [
  ["nodeport-endpoints-check", "filter-input", "ct state new"],
  ["service-endpoints-check", "filter-input", "ct state new"],
  ["service-endpoints-check", "filter-forward", "ct state new"],
  ["service-endpoints-check", "filter-output", "ct state new"],
  ["firewall-check", "filter-prerouting-pre-dnat", "ct state new"],
  ["firewall-check", "filter-output-pre-dnat", "ct state new"],
  ["services", "nat-output", ""],
  ["services", "nat-prerouting", ""],
  ["masquerading", "nat-postrouting", ""],
  ["cluster-ips-check", "filter-forward", "ct state new"],
  ["cluster-ips-check", "filter-output", "ct state new"],
];

const ADDR_PROTO_PORT = "ipv4_addr . inet_proto . inet_service : verdict";

class TableBuilder {
  readonly t: NftTable = { family: "ip", name: "kube-proxy", comment: "rules for kube-proxy", sets: [], chains: [] };
  private readonly chains = new Map<string, NftChain>();
  private readonly sets = new Map<string, NftSet>();

  /** The chain last asked for: rules come chain by chain, so most lookups stop here. */
  private last: NftChain | null = null;

  chain(name: string, extra?: Partial<NftChain>): NftChain {
    if (this.last !== null && this.last.name === name) return this.last;
    let c = this.chains.get(name);
    if (c === undefined) {
      c = extra === undefined ? { name, rules: [] } : { name, rules: [], ...extra };
      this.chains.set(name, c);
      this.t.chains.push(c);
    }
    this.last = c;
    return c;
  }

  rule(chain: string, rule: string, comment?: string): void {
    this.chain(chain).rules.push(comment === undefined ? { rule } : { rule, comment });
  }

  /**
   * An endpoint's chain. Its name holds the whole "namespace/name/protocol/port__ip/port", which
   * no other chain's does, so only a name cut short ("...") can be made twice and is looked up.
   */
  endpointChain(c: EndpointChain): NftChain {
    const cut = c.nameBase.endsWith("...");
    if (cut) {
      const existing = this.chains.get(c.name);
      if (existing !== undefined) return existing;
      this.chains.set(c.name, c);
    }
    this.t.chains.push(c);
    return c;
  }

  set(s: Omit<NftSet, "elements">): NftSet {
    let v = this.sets.get(s.name);
    if (v === undefined) {
      v = { ...s, elements: [] };
      this.sets.set(s.name, v);
      this.t.sets.push(v);
    }
    return v;
  }

  element(set: string, key: string[], value?: string[], comment?: string): void {
    const e: NftElement = { key };
    if (value !== undefined) e.value = value;
    if (comment !== undefined) e.comment = comment;
    this.sets.get(set)!.elements.push(e);
  }

  deleteSet(name: string): void {
    const s = this.sets.get(name);
    if (s === undefined) return;
    this.sets.delete(name);
    this.t.sets.splice(this.t.sets.indexOf(s), 1);
  }
}

/** The `ip kube-proxy` table for the service ports and their endpoints (a full sync from an empty table). */
export function nftablesRuleset(cfg: ProxierConfig, ports: readonly ServicePortInfo[], endpoints: ReadonlyMap<string, readonly EndpointInfo[]>, names: NameCache = new NameCache()): NftTable {
  const b = new TableBuilder();
  const mark = masqueradeMarkOf(cfg);
  const det = cfg.localDetector;
  const npa = new NodePortAddresses(cfg.nodePortAddresses ?? "primary", cfg.nodeIPs);
  const noLocalhost = "ip daddr != 127.0.0.0/8";

  // setupNFTables.
  for (let i = 0; i < BASE_CHAINS.length; i++) b.chain(BASE_NAMES[i], { base: BASE_CHAINS[i] });
  for (const [dst, src, extra] of JUMP_CHAINS) {
    b.chain(dst);
    b.rule(src, extra ? `${extra} jump ${dst}` : `jump ${dst}`);
  }
  for (const c of ["services", "cluster-ips-check", "masquerading", "mark-for-masquerade"]) b.chain(c);
  b.rule("mark-for-masquerade", `mark set mark or ${mark}`);
  b.rule("masquerading", `mark and ${mark} == 0 return`);
  b.rule("masquerading", `mark set mark xor ${mark}`);
  b.rule("masquerading", "masquerade fully-random");
  b.set({ kind: "set", name: "cluster-ips", type: "ipv4_addr", comment: "Active ClusterIPs" });
  b.rule("cluster-ips-check", "ip daddr @cluster-ips reject", "Reject traffic to invalid ports of ClusterIPs");
  const cidrs = (cfg.serviceCIDRs ?? []).filter((c) => !c.includes(":"));
  if (cidrs.length > 0) b.rule("cluster-ips-check", `ip daddr { ${cidrs.join(",")} } drop`, "Drop traffic to unallocated ClusterIPs");
  b.set({ kind: "set", name: "nodeport-ips", type: "ipv4_addr", comment: "IPs that accept NodePort traffic" });
  if (npa.matchAll()) b.deleteSet("nodeport-ips");
  else for (const ip of npa.nodeIPs(cfg.nodeIPs)) if (!ip.startsWith("127.")) b.element("nodeport-ips", [ip]);
  b.set({ kind: "map", name: "no-endpoint-services", type: ADDR_PROTO_PORT, comment: "vmap to drop or reject packets to services with no endpoints" });
  b.set({ kind: "map", name: "no-endpoint-nodeports", type: "inet_proto . inet_service : verdict", comment: "vmap to drop or reject packets to service nodeports with no endpoints" });
  b.chain("reject-chain", { comment: "helper for @no-endpoint-services / @no-endpoint-nodeports" });
  b.rule("reject-chain", "reject");
  b.rule("service-endpoints-check", "ip daddr . meta l4proto . th dport vmap @no-endpoint-services");
  b.rule("nodeport-endpoints-check", `${npa.matchAll() ? noLocalhost : "ip daddr @nodeport-ips"} meta l4proto . th dport vmap @no-endpoint-nodeports`);
  b.set({ kind: "map", name: "firewall-ips", type: ADDR_PROTO_PORT, comment: "destinations that are subject to LoadBalancerSourceRanges" });
  b.chain("firewall-check");
  b.rule("firewall-check", "ip daddr . meta l4proto . th dport vmap @firewall-ips");
  b.set({ kind: "map", name: "service-ips", type: ADDR_PROTO_PORT, comment: "ClusterIP, ExternalIP and LoadBalancer IP traffic" });
  b.set({ kind: "map", name: "service-nodeports", type: "inet_proto . inet_service : verdict", comment: "NodePort traffic" });
  b.rule("services", "ip daddr . meta l4proto . th dport vmap @service-ips");
  b.rule("services", `${npa.matchAll() ? `fib daddr type local ${noLocalhost}` : "ip daddr @nodeport-ips"} meta l4proto . th dport vmap @service-nodeports`);

  for (const sp of ports) writeService(b, cfg, sp, endpoints.get(sp.key) ?? [], names, det);
  return b.t;
}

function writeService(b: TableBuilder, cfg: ProxierConfig, sp: ServicePortInfo, eps: readonly EndpointInfo[], names: NameCache, det: ProxierConfig["localDetector"]): void {
  const proto = sp.proto;
  const base = names.nftBase(`${sp.namespace}/${sp.name}/${proto}/${sp.portName}`);
  const clusterPolicyChain = `service-${base}`;
  const localPolicyChain = `local-${base}`;
  const externalTrafficChain = `external-${base}`;
  const fwChain = `firewall-${base}`;
  const cat = categorizeEndpoints(eps, sp);
  const clusterEndpoints = cat.clusterEndpoints ?? [];
  const localEndpoints = cat.localEndpoints ?? [];
  const hasEndpoints = cat.hasAnyEndpoints;

  // Each reachable endpoint's name base and chain, made once (every endpoint a policy chain names is reachable).
  const baseOf = names.nftEndpointBases(`${sp.namespace}/${sp.name}/${proto}/${sp.portName}__`);
  const epBases: string[] = [];
  const epChains: NftChain[] = [];
  for (const ep of cat.allReachable) {
    const base = baseOf(ep.ip, ep.port, ep.endpoint);
    epBases.push(base);
    epChains.push(b.endpointChain(new EndpointChain(base, ep, sp)));
  }
  let indexOf: Map<EndpointInfo, number> | null = null;
  const slot = (ep: EndpointInfo, i: number, list: readonly EndpointInfo[]): number => {
    if (list === cat.allReachable) return i;
    indexOf ??= new Map(cat.allReachable.map((e, j) => [e, j]));
    return indexOf.get(ep)!;
  };
  const epBase = (ep: EndpointInfo, i: number, list: readonly EndpointInfo[]): string => epBases[slot(ep, i, list)];
  const epChain = (ep: EndpointInfo, i: number, list: readonly EndpointInfo[]): NftChain => epChains[slot(ep, i, list)];
  const usesClusterPolicyChain = clusterEndpoints.length > 0 && usesClusterEndpoints(sp);
  if (usesClusterPolicyChain) b.chain(clusterPolicyChain);
  const usesLocalPolicyChain = localEndpoints.length > 0 && usesLocalEndpoints(sp);
  if (usesLocalPolicyChain) b.chain(localPolicyChain);
  let internalTrafficChain = clusterPolicyChain;
  let hasInternalEndpoints = hasEndpoints;
  if (sp.internalPolicyLocal) {
    internalTrafficChain = localPolicyChain;
    if (localEndpoints.length === 0) hasInternalEndpoints = false;
  }
  let externalPolicyChain = clusterPolicyChain;
  let hasExternalEndpoints = hasEndpoints;
  if (sp.externalPolicyLocal) {
    externalPolicyChain = localPolicyChain;
    if (localEndpoints.length === 0) hasExternalEndpoints = false;
  }
  const usesExternalTrafficChain = hasEndpoints && externallyAccessible(sp);
  if (usesExternalTrafficChain) b.chain(externalTrafficChain);
  let internalVerdict = "";
  let externalVerdict = "";
  if (!hasEndpoints) internalVerdict = externalVerdict = "goto reject-chain";
  else {
    if (!hasInternalEndpoints) internalVerdict = "drop";
    if (!hasExternalEndpoints) externalVerdict = "drop";
  }
  const port = String(sp.port);

  b.element("cluster-ips", [sp.clusterIP]);
  if (hasInternalEndpoints) b.element("service-ips", [sp.clusterIP, proto, port], [`goto ${internalTrafficChain}`]);
  else b.element("no-endpoint-services", [sp.clusterIP, proto, port], [internalVerdict], sp.nameString);
  for (const ip of sp.externalIPs) {
    if (hasEndpoints) b.element("service-ips", [ip, proto, port], [`goto ${externalTrafficChain}`]);
    if (!hasExternalEndpoints) b.element("no-endpoint-services", [ip, proto, port], [externalVerdict], sp.nameString);
  }
  const usesFWChain = sp.loadBalancerVIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
  if (usesFWChain) b.chain(fwChain);
  for (const ip of sp.loadBalancerVIPs) {
    if (hasEndpoints) b.element("service-ips", [ip, proto, port], [`goto ${externalTrafficChain}`]);
    if (usesFWChain) b.element("firewall-ips", [ip, proto, port], [`goto ${fwChain}`]);
  }
  if (!hasExternalEndpoints) for (const ip of sp.loadBalancerVIPs) b.element("no-endpoint-services", [ip, proto, port], [externalVerdict], sp.nameString);
  if (sp.nodePort !== 0) {
    // Not subject to loadBalancerSourceRanges, for better or worse.
    if (hasEndpoints) b.element("service-nodeports", [proto, String(sp.nodePort)], [`goto ${externalTrafficChain}`]);
    if (!hasExternalEndpoints) b.element("no-endpoint-nodeports", [proto, String(sp.nodePort)], [externalVerdict], sp.nameString);
  }

  if (hasInternalEndpoints) {
    if (cfg.masqueradeAll) b.rule(internalTrafficChain, `ip daddr ${sp.clusterIP} jump mark-for-masquerade`);
    else if (isImplemented(det)) b.rule(internalTrafficChain, `ip daddr ${sp.clusterIP} ${ifNotLocalNft(det)} jump mark-for-masquerade`);
  }
  if (usesExternalTrafficChain) {
    if (!sp.externalPolicyLocal) b.rule(externalTrafficChain, "jump mark-for-masquerade");
    else {
      if (isImplemented(det)) b.rule(externalTrafficChain, `${ifLocalNft(det)} goto ${clusterPolicyChain}`, "short-circuit pod traffic");
      b.rule(externalTrafficChain, "fib saddr type local jump mark-for-masquerade", "masquerade local traffic");
      b.rule(externalTrafficChain, `fib saddr type local goto ${clusterPolicyChain}`, "short-circuit local traffic");
    }
    if (hasExternalEndpoints) b.rule(externalTrafficChain, `goto ${externalPolicyChain}`);
  }
  if (usesFWChain) {
    const sources = [...sp.loadBalancerSourceRanges];
    const nodeIP = cfg.nodeIPs[0];
    const allowFromNode = nodeIP !== undefined && sp.loadBalancerSourceRanges.some((c) => new NodePortAddresses([c], []).matches(nodeIP));
    if (allowFromNode) sources.push(...sp.loadBalancerVIPs);
    b.rule(fwChain, `ip saddr != { ${sources.join(" , ")} } drop`);
  }
  if (sp.clientIPAffinity)
    for (const base of epBases) b.set({ kind: "set", name: `affinity-${base}`, type: "ipv4_addr", flags: ["dynamic", "timeout"], timeout: sp.stickyMaxAgeSeconds });
  if (usesClusterPolicyChain) writeServiceToEndpointRules(b, sp, clusterPolicyChain, clusterEndpoints, epBase, epChain);
  if (usesLocalPolicyChain) writeServiceToEndpointRules(b, sp, localPolicyChain, localEndpoints, epBase, epChain);
  // The endpoint chains' rules (hairpin masquerade, affinity, DNAT) are their EndpointChain's.
}

function writeServiceToEndpointRules(
  b: TableBuilder,
  sp: ServicePortInfo,
  chain: string,
  eps: readonly EndpointInfo[],
  epBase: (ep: EndpointInfo, i: number, list: readonly EndpointInfo[]) => string,
  epChain: (ep: EndpointInfo, i: number, list: readonly EndpointInfo[]) => NftChain,
): void {
  if (sp.clientIPAffinity)
    eps.forEach((ep, i) => {
      const base = epBase(ep, i, eps);
      b.rule(chain, `ip saddr @affinity-${base} goto endpoint-${base}`);
    });
  // The vmap names the endpoints' chains: an EndpointChain unless a cut-short name was made twice.
  const targets = eps.map((ep, i) => epChain(ep, i, eps));
  if (targets.every((c) => c instanceof EndpointChain)) b.chain(chain).rules.push(new NumgenVmapRule(targets));
  else b.rule(chain, `numgen random mod ${eps.length} vmap { ${targets.map((c, i) => `${i} : goto ${c.name}`).join(" , ")} }`);
}

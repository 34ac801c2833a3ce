// The iptables-restore input kube-proxy's iptables mode writes on every sync
// (pkg/proxy/iptables/proxier.go: syncProxyRules, writeServiceToEndpointRules): the filter and nat
// tables' KUBE-* chains, line for line and in kube-proxy's argument order.

import type { EndpointSlice } from "../model.js";
import { masqueradeMarkOf, NodePortAddresses, type ProxierConfig } from "./config.js";
import { APPEND, Buffers, CHAIN_COUNTERS, NEW_CHAIN, RECENT, RECENT_SET, SOURCE, TO_MARK_MASQ, writeServiceToEndpointRules } from "./iptables-text.js";
import { ifLocal, ifNotLocal, isImplemented } from "./localdetector.js";
import { isIptablesServiceChain, NameCache, Probabilities } from "./names.js";
import { categorizeEndpoints, type EndpointInfo, endpointsMap, externallyAccessible, type ProxyService, type ServicePortInfo, servicePorts, usesClusterEndpoints, usesLocalEndpoints } from "./servicemap.js";
import { TextWriter } from "./textwriter.js";

/** Above this many endpoints kube-proxy drops per-endpoint comments ("large cluster mode"). */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

export const LOCALHOST_NODEPORTS_NFACCT = "localhost_nps_accepted_pkts";
export const CT_STATE_INVALID_NFACCT = "ct_state_invalid_dropped_pkts";

export interface IptablesSyncOptions {
  /** Full sync (default true): every service's chains are written. */
  fullSync?: boolean;
  /** Partial sync: the services ("namespace/name") whose SVC/SVL/EXT/FW/SEP chains are rewritten. */
  updatedServices?: ReadonlySet<string>;
  /** The nat table's chains now (iptables-save), for deleting stale service chains. */
  existingNatChains?: Iterable<string>;
  /** Leave stale chains for later (large cluster mode between its periodic cleanups). */
  skipCleanup?: boolean;
}

export interface IptablesSyncResult {
  /** The iptables-restore input (applied with --noflush). */
  text: string;
  /** Every service chain the rules use, written this time or not (a set made from activeChains when first read). */
  readonly activeNatChains: Set<string>;
  /** The same chains as a list, each once. */
  activeChains: readonly string[];
  /** Stale chains the text deletes. */
  deletedChains: string[];
  largeClusterMode: boolean;
  filterRules: number;
  natRules: number;
}

const q = (s: string): string => `"${s}"`;

/**
 * Writes the rules for the service ports and their endpoints. Services are written in the order
 * given (kube-proxy walks a Go map, so its order is random; tests sort as kube-proxy's do).
 */
export function syncIptablesRules(
  cfg: ProxierConfig,
  ports: readonly ServicePortInfo[],
  endpoints: ReadonlyMap<string, readonly EndpointInfo[]>,
  opts: IptablesSyncOptions = {},
  names: NameCache = new NameCache(),
  probs: Probabilities = new Probabilities(),
): IptablesSyncResult {
  const fullSync = opts.fullSync ?? true;
  const mark = masqueradeMarkOf(cfg);
  const det = cfg.localDetector;
  const nodePortAddresses = new NodePortAddresses(cfg.nodePortAddresses, cfg.nodeIPs);
  const localhostNodePorts = (cfg.localhostNodePorts ?? true) && nodePortAddresses.containsIPv4Loopback();
  const nfacct = cfg.nfacct ?? false;
  let totalEndpoints = 0;
  for (const sp of ports) totalEndpoints += endpoints.get(sp.key)?.length ?? 0;
  const largeClusterMode = totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
  const b = new Buffers(totalEndpoints, ports.length);
  for (const c of ["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD", "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL"]) b.filterChains.line(`:${c} - [0:0]`);
  for (const c of ["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"]) b.natChains.line(`:${c} - [0:0]`);
  b.natRules.line(`-A KUBE-POSTROUTING -m mark ! --mark ${mark}/${mark} -j RETURN`);
  // Clear the mark so a packet that re-traverses the stack is not masqueraded twice.
  b.natRules.line(`-A KUBE-POSTROUTING -j MARK --xor-mark ${mark}`);
  b.natRules.line(`-A KUBE-POSTROUTING -m comment --comment ${q("kubernetes service traffic requiring SNAT")} -j MASQUERADE${(cfg.randomFully ?? true) ? " --random-fully" : ""}`);
  b.natRules.line(`-A KUBE-MARK-MASQ -j MARK --or-mark ${mark}`);
  if (localhostNodePorts) {
    // route_localnet's hole (issue 90259), closed as kubelet closes it.
    b.filterChains.line(":KUBE-FIREWALL - [0:0]");
    b.filterRules.line(
      `-A KUBE-FIREWALL -m comment --comment ${q("block incoming localnet connections")} -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
    );
  }

  // A list, not a set: a set of 100k names cost a sync 40 ms, and is needed only to delete stale chains.
  const activeChains: string[] = [];

  for (const sp of ports) {
    const proto = sp.proto;
    const name = sp.nameString;
    const chains = names.iptablesService(name, proto);
    const sepOf = names.iptablesEndpoints(name, proto);
    const cat = categorizeEndpoints(endpoints.get(sp.key) ?? [], sp);
    const clusterEndpoints = cat.clusterEndpoints ?? [];
    const localEndpoints = cat.localEndpoints ?? [];
    const hasEndpoints = cat.hasAnyEndpoints;
    const usesClusterPolicyChain = clusterEndpoints.length > 0 && usesClusterEndpoints(sp);
    const usesLocalPolicyChain = localEndpoints.length > 0 && usesLocalEndpoints(sp);
    let internalTrafficChain = chains.svc;
    let hasInternalEndpoints = hasEndpoints;
    if (sp.internalPolicyLocal) {
      internalTrafficChain = chains.svl;
      if (localEndpoints.length === 0) hasInternalEndpoints = false;
    }
    let externalPolicyChain = chains.svc;
    let hasExternalEndpoints = hasEndpoints;
    if (sp.externalPolicyLocal) {
      externalPolicyChain = chains.svl;
      if (localEndpoints.length === 0) hasExternalEndpoints = false;
    }
    const externalTrafficChain = chains.ext;
    // Based on hasEndpoints: the short-circuit rules for local traffic are needed even with no external endpoints.
    const usesExternalTrafficChain = hasEndpoints && externallyAccessible(sp);
    const usesFWChain = hasEndpoints && sp.loadBalancerVIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
    const loadBalancerTrafficChain = usesFWChain ? chains.fw : externalTrafficChain;

    let internalFilterTarget = "";
    let internalFilterComment = "";
    let externalFilterTarget = "";
    let externalFilterComment = "";
    if (!hasEndpoints) {
      internalFilterTarget = externalFilterTarget = "REJECT";
      internalFilterComment = externalFilterComment = q(`${name} has no endpoints`);
    } else {
      if (!hasInternalEndpoints) {
        internalFilterTarget = "DROP";
        internalFilterComment = q(`${name} has no local endpoints`);
      }
      if (!hasExternalEndpoints) {
        externalFilterTarget = "DROP";
        externalFilterComment = q(`${name} has no local endpoints`);
      }
    }
    const match = `-m ${proto} -p ${proto}`;
    const dport = `--dport ${sp.port}`;

    // Capture the clusterIP.
    if (hasInternalEndpoints)
      b.natRules.line(`-A KUBE-SERVICES -m comment --comment ${q(`${name} cluster IP`)} ${match} -d ${sp.clusterIP} ${dport} -j ${internalTrafficChain}`);
    else b.filterRules.line(`-A KUBE-SERVICES -m comment --comment ${internalFilterComment} ${match} -d ${sp.clusterIP} ${dport} -j ${internalFilterTarget}`);

    // Capture externalIPs.
    for (const ip of sp.externalIPs) {
      if (hasEndpoints) b.natRules.line(`-A KUBE-SERVICES -m comment --comment ${q(`${name} external IP`)} ${match} -d ${ip} ${dport} -j ${externalTrafficChain}`);
      if (!hasExternalEndpoints) b.filterRules.line(`-A KUBE-EXTERNAL-SERVICES -m comment --comment ${externalFilterComment} ${match} -d ${ip} ${dport} -j ${externalFilterTarget}`);
    }

    // Capture load-balancer ingress.
    for (const ip of sp.loadBalancerVIPs) {
      if (hasEndpoints) b.natRules.line(`-A KUBE-SERVICES -m comment --comment ${q(`${name} loadbalancer IP`)} ${match} -d ${ip} ${dport} -j ${loadBalancerTrafficChain}`);
      if (usesFWChain)
        b.filterRules.line(`-A KUBE-PROXY-FIREWALL -m comment --comment ${q(`${name} traffic not accepted by ${chains.fw}`)} ${match} -d ${ip} ${dport} -j DROP`);
    }
    if (!hasExternalEndpoints)
      for (const ip of sp.loadBalancerVIPs)
        b.filterRules.line(`-A KUBE-EXTERNAL-SERVICES -m comment --comment ${externalFilterComment} ${match} -d ${ip} ${dport} -j ${externalFilterTarget}`);

    // Capture nodeports (not subject to loadBalancerSourceRanges).
    if (sp.nodePort !== 0) {
      if (hasEndpoints) {
        if (localhostNodePorts && nfacct)
          b.natRules.line(
            `-A KUBE-NODEPORTS -m comment --comment ${name} ${match} -d 127.0.0.0/8 --dport ${sp.nodePort} -m nfacct --nfacct-name ${LOCALHOST_NODEPORTS_NFACCT} -j ${externalTrafficChain}`,
          );
        b.natRules.line(`-A KUBE-NODEPORTS -m comment --comment ${name} ${match} --dport ${sp.nodePort} -j ${externalTrafficChain}`);
      }
      if (!hasExternalEndpoints)
        b.filterRules.line(`-A KUBE-EXTERNAL-SERVICES -m comment --comment ${externalFilterComment} -m addrtype --dst-type LOCAL ${match} --dport ${sp.nodePort} -j ${externalFilterTarget}`);
    }

    // Capture healthCheckNodePorts, local endpoints or not.
    if (sp.healthCheckNodePort !== 0)
      b.filterRules.line(`-A KUBE-NODEPORTS -m comment --comment ${q(`${name} health check node port`)} -m tcp -p tcp --dport ${sp.healthCheckNodePort} -j ACCEPT`);

    // Unchanged services' chains are left as they are, but still in use. (kube-proxy writes them to
    // a discarding buffer, for its metrics; only the chain names are needed here.)
    if (!fullSync && !(opts.updatedServices?.has(`${sp.namespace}/${sp.name}`) ?? false)) {
      if (usesExternalTrafficChain) activeChains.push(externalTrafficChain);
      if (usesFWChain) activeChains.push(chains.fw);
      if (usesClusterPolicyChain) activeChains.push(chains.svc);
      if (usesLocalPolicyChain) activeChains.push(chains.svl);
      for (const ep of cat.allReachable) activeChains.push(sepOf(ep.endpoint));
      continue;
    }
    const natChains = b.natChains;
    const natRules = b.natRules;

    if (hasInternalEndpoints) {
      const args = `-m comment --comment ${q(`${name} cluster IP`)} ${match} -d ${sp.clusterIP} ${dport}`;
      if (cfg.masqueradeAll) natRules.line(`-A ${internalTrafficChain} ${args} -j KUBE-MARK-MASQ`);
      // Masquerade off-cluster traffic to a service VIP: it may bounce off-node.
      else if (isImplemented(det)) natRules.line(`-A ${internalTrafficChain} ${args} ${ifNotLocal(det).join(" ")} -j KUBE-MARK-MASQ`);
    }

    if (usesExternalTrafficChain) {
      natChains.line(`:${externalTrafficChain} - [0:0]`);
      activeChains.push(externalTrafficChain);
      if (!sp.externalPolicyLocal) {
        natRules.line(`-A ${externalTrafficChain} -m comment --comment ${q(`masquerade traffic for ${name} external destinations`)} -j KUBE-MARK-MASQ`);
      } else {
        // Pod traffic to an external destination is subject to neither policy (as if it went out to the LB and back).
        if (isImplemented(det))
          natRules.line(`-A ${externalTrafficChain} -m comment --comment ${q(`pod traffic for ${name} external destinations`)} ${ifLocal(det).join(" ")} -j ${chains.svc}`);
        // Host traffic still needs masquerade: the LB IP is local, so it would be the source.
        natRules.line(`-A ${externalTrafficChain} -m comment --comment ${q(`masquerade LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`);
        natRules.line(`-A ${externalTrafficChain} -m comment --comment ${q(`route LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${chains.svc}`);
      }
      if (hasExternalEndpoints) natRules.line(`-A ${externalTrafficChain} -j ${externalPolicyChain}`);
    }

    if (usesFWChain) {
      natChains.line(`:${chains.fw} - [0:0]`);
      activeChains.push(chains.fw);
      const args = `-A ${chains.fw} -m comment --comment ${q(`${name} loadbalancer IP`)}`;
      let allowFromNode = false;
      const nodeIP = cfg.nodeIPs[0];
      for (const cidr of sp.loadBalancerSourceRanges) {
        natRules.line(`${args} -s ${cidr} -j ${externalTrafficChain}`);
        if (nodeIP !== undefined && new NodePortAddresses([cidr], []).matches(nodeIP)) allowFromNode = true;
      }
      // A node reaching its own VIP-like LB loops back with the VIP as source.
      if (allowFromNode) for (const ip of sp.loadBalancerVIPs) natRules.line(`${args} -s ${ip} -j ${externalTrafficChain}`);
      // What reaches the end was not DNATed, so KUBE-PROXY-FIREWALL drops it.
      natRules.line(`-A ${chains.fw} -m comment --comment ${q(`other traffic to ${name} will be dropped by KUBE-PROXY-FIREWALL`)}`);
    }

    if (usesClusterPolicyChain) {
      natChains.line(`:${chains.svc} - [0:0]`);
      activeChains.push(chains.svc);
      writeServiceToEndpointRules(natRules, sp, chains.svc, clusterEndpoints, sepOf, probs, largeClusterMode);
    }
    if (usesLocalPolicyChain) {
      natChains.line(`:${chains.svl} - [0:0]`);
      activeChains.push(chains.svl);
      writeServiceToEndpointRules(natRules, sp, chains.svl, localEndpoints, sepOf, probs, largeClusterMode);
    }

    // Per endpoint, written piece by piece: no string is made for these 300k lines.
    const sepComment = largeClusterMode ? "" : ` -m comment --comment ${name}`;
    const dnat = ` ${match} -j DNAT --to-destination `;
    for (const ep of cat.allReachable) {
      const sep = sepOf(ep.endpoint);
      natChains.bytes(NEW_CHAIN);
      natChains.str(sep);
      natChains.bytes(CHAIN_COUNTERS);
      natChains.nl();
      activeChains.push(sep);
      // Hairpin: a pod reaching its own Service is masqueraded so the reply comes back through the node.
      natRules.bytes(APPEND);
      natRules.str(sep);
      natRules.str(sepComment);
      natRules.bytes(SOURCE);
      natRules.str(ep.ip);
      natRules.bytes(TO_MARK_MASQ);
      natRules.nl();
      natRules.bytes(APPEND);
      natRules.str(sep);
      natRules.str(sepComment);
      if (sp.clientIPAffinity) {
        natRules.bytes(RECENT);
        natRules.str(sep);
        natRules.bytes(RECENT_SET);
      }
      natRules.str(dnat);
      natRules.str(ep.endpoint);
      natRules.nl();
    }
  }

  // Delete service chains no longer in use (in large clusters only now and then: iptables-save is slow there).
  const deletedChains: string[] = [];
  let activeNatChains: Set<string> | null = null;
  if (!opts.skipCleanup)
    for (const chain of opts.existingNatChains ?? []) {
      activeNatChains ??= new Set(activeChains);
      if (activeNatChains.has(chain) || !isIptablesServiceChain(chain)) continue;
      b.natChains.line(`:${chain} - [0:0]`);
      b.natRules.line(`-X ${chain}`);
      deletedChains.push(chain);
    }

  // The tail call to KUBE-NODEPORTS: after every other service portal rule.
  const nodePortsComment = q("kubernetes service nodeports; NOTE: this must be the last rule in this chain");
  if (nodePortAddresses.matchAll()) {
    const dest = localhostNodePorts ? "-m addrtype --dst-type LOCAL" : "-m addrtype --dst-type LOCAL ! -d 127.0.0.0/8";
    b.natRules.line(`-A KUBE-SERVICES -m comment --comment ${nodePortsComment} ${dest} -j KUBE-NODEPORTS`);
  } else {
    for (const ip of nodePortAddresses.nodeIPs(cfg.nodeIPs)) {
      if (ip.startsWith("127.") && !localhostNodePorts) continue;
      b.natRules.line(`-A KUBE-SERVICES -m comment --comment ${nodePortsComment} -d ${ip} -j KUBE-NODEPORTS`);
    }
  }

  // INVALID packets would reset connections unless nf_conntrack_tcp_be_liberal is set (issues 74839, 117924).
  if (!cfg.conntrackTCPLiberal)
    b.filterRules.line(`-A KUBE-FORWARD -m conntrack --ctstate INVALID${nfacct ? ` -m nfacct --nfacct-name ${CT_STATE_INVALID_NFACCT}` : ""} -j DROP`);
  // Forward what kube-proxy marked (NodePort traffic) even if FORWARD's policy is DROP, and the rest of its connection.
  b.filterRules.line(`-A KUBE-FORWARD -m comment --comment ${q("kubernetes forwarding rules")} -m mark --mark ${mark}/${mark} -j ACCEPT`);
  b.filterRules.line(`-A KUBE-FORWARD -m comment --comment ${q("kubernetes forwarding conntrack rule")} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);

  const filterHead = new TextWriter(16);
  filterHead.line("*filter");
  const natHead = new TextWriter(16);
  natHead.line("COMMIT");
  natHead.line("*nat");
  const tail = new TextWriter(16);
  tail.line("COMMIT");
  // One copy of every buffer's bytes, decoded once: the 30 MB text of a large sync is one flat string.
  const text = TextWriter.concat([filterHead, b.filterChains, b.filterRules, natHead, b.natChains, b.natRules, tail]);
  return {
    text,
    get activeNatChains() {
      activeNatChains ??= new Set(activeChains);
      return activeNatChains;
    },
    activeChains,
    deletedChains,
    largeClusterMode,
    filterRules: b.filterRules.lines,
    natRules: b.natRules.lines - deletedChains.length,
  };
}

/** A full sync from Services and EndpointSlices: what kube-proxy writes on its first sync on a node. */
export function iptablesRestoreText(cfg: ProxierConfig, services: Iterable<ProxyService>, slices: Iterable<EndpointSlice>): string {
  const ports = servicePorts(services);
  return syncIptablesRules(cfg, ports, endpointsMap(slices, cfg.nodeName)).text;
}

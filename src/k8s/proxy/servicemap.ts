// kube-proxy's view of Services and EndpointSlices on one node, IPv4 only:
// pkg/proxy/serviceport.go + servicechangetracker.go (one ServicePort per Service port, headless
// and ExternalName Services skipped), endpointslicecache.go (endpoints per service port,
// deduplicated, sorted by "ip:port" string) and topology.go (CategorizeEndpoints).

import { formatCidr, parseCidr } from "../../wire/index.js";
import type { EndpointSlice, Protocol, Service } from "../model.js";

/** A Service with what the cluster allocated for it: its ClusterIP and NodePorts. */
export interface ProxyService {
  svc: Service;
  /** The ClusterIP, dotted quad; "" or "None" for headless. */
  clusterIP: string;
  /** NodePort per spec.ports index (0: none); default: each port's spec nodePort. */
  nodePorts?: readonly number[];
}

/** One port of one Service as the proxiers see it (BaseServicePortInfo). */
export interface ServicePortInfo {
  namespace: string;
  name: string;
  /** The port's name ("" for a single unnamed port). */
  portName: string;
  protocol: Protocol;
  /** "tcp", "udp", "sctp". */
  proto: string;
  /** ServicePortName.String(): "ns/svc:port", or "ns/svc" when the port is unnamed. */
  nameString: string;
  /** Map key: the ServicePortName with its protocol. */
  key: string;
  clusterIP: string;
  port: number;
  nodePort: number;
  externalIPs: string[];
  loadBalancerVIPs: string[];
  /** Normalised CIDRs ("203.0.113.0/25"). */
  loadBalancerSourceRanges: string[];
  clientIPAffinity: boolean;
  stickyMaxAgeSeconds: number;
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  healthCheckNodePort: number;
}

/** One endpoint of one service port (BaseEndpointInfo). */
export interface EndpointInfo {
  ip: string;
  port: number;
  /** "ip:port": String(). */
  endpoint: string;
  isLocal: boolean;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

const isIPv4 = (s: string): boolean => !s.includes(":");

/** ExternallyAccessible(): NodePort, LoadBalancer IPs or external IPs. */
export const externallyAccessible = (sp: ServicePortInfo): boolean => sp.nodePort !== 0 || sp.loadBalancerVIPs.length > 0 || sp.externalIPs.length > 0;
/** UsesClusterEndpoints(): internal policy Cluster, or external traffic at all (short-circuiting needs them). */
export const usesClusterEndpoints = (sp: ServicePortInfo): boolean => !sp.internalPolicyLocal || externallyAccessible(sp);
/** UsesLocalEndpoints(). */
export const usesLocalEndpoints = (sp: ServicePortInfo): boolean => sp.internalPolicyLocal || (sp.externalPolicyLocal && externallyAccessible(sp));

const svcKey = (namespace: string, name: string, portName: string, protocol: string): string => `${namespace}/${name}:${portName}/${protocol}`;

/** The service ports of the Services kube-proxy proxies (serviceToServiceMap). */
export function servicePorts(services: Iterable<ProxyService>): ServicePortInfo[] {
  const out: ServicePortInfo[] = [];
  for (const { svc, clusterIP, nodePorts } of services) {
    const spec = svc.spec;
    // ShouldSkipService: headless, no ClusterIP, ExternalName.
    if (spec.type === "ExternalName" || clusterIP === "" || clusterIP === "None" || !isIPv4(clusterIP)) continue;
    const externallyVisible = spec.type === "LoadBalancer" || spec.type === "NodePort" || spec.externalIPs.length > 0;
    const externalPolicyLocal = externallyVisible && spec.externalTrafficPolicy === "Local";
    const needsHealthCheck = spec.type === "LoadBalancer" && externalPolicyLocal;
    const ranges: string[] = [];
    for (const r of spec.loadBalancerSourceRanges) {
      const c = parseCidr(r.trim(), false);
      if (c.ok) ranges.push(formatCidr(c.value));
    }
    const { namespace, name } = svc.metadata;
    spec.ports.forEach((p, i) => {
      const nameString = p.name === "" ? `${namespace}/${name}` : `${namespace}/${name}:${p.name}`;
      out.push({
        namespace,
        name,
        portName: p.name,
        protocol: p.protocol,
        proto: p.protocol.toLowerCase(),
        nameString,
        key: svcKey(namespace, name, p.name, p.protocol),
        clusterIP,
        port: p.port,
        nodePort: nodePorts?.[i] ?? p.nodePort ?? 0,
        externalIPs: spec.externalIPs.filter(isIPv4),
        loadBalancerVIPs: svc.loadBalancerIngress.filter((a) => a !== "" && isIPv4(a)),
        loadBalancerSourceRanges: ranges,
        clientIPAffinity: spec.sessionAffinity === "ClientIP",
        stickyMaxAgeSeconds: spec.sessionAffinity === "ClientIP" ? (spec.sessionAffinityConfig?.clientIP.timeoutSeconds ?? 10800) : 0,
        externalPolicyLocal,
        internalPolicyLocal: spec.internalTrafficPolicy === "Local",
        healthCheckNodePort: needsHealthCheck ? (spec.healthCheckNodePort ?? 0) : 0,
      });
    });
  }
  return out;
}

/** The service name an EndpointSlice belongs to (its kubernetes.io/service-name label). */
const sliceService = (s: EndpointSlice): string | undefined => s.serviceName ?? s.metadata.labels["kubernetes.io/service-name"];

const byEndpoint = (a: EndpointInfo, b: EndpointInfo): number => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0);

/**
 * One service port's endpoints in the order EndpointSliceCache gives them: sorted by "ip:port",
 * and for an "ip:port" seen more than once, the first entry unless a later one is not
 * terminating (the last such wins). The sort is stable, so duplicates stay in the order seen.
 */
function sortAndDedupe(list: EndpointInfo[]): EndpointInfo[] {
  let sorted = true;
  for (let i = 1; i < list.length && sorted; i++) sorted = list[i - 1].endpoint < list[i].endpoint;
  if (sorted) return list;
  list.sort(byEndpoint);
  const out: EndpointInfo[] = [];
  for (const e of list) {
    const last = out.length - 1;
    if (last >= 0 && out[last].endpoint === e.endpoint) {
      if (!e.terminating) out[last] = e;
    } else out.push(e);
  }
  return out;
}

/**
 * Endpoints per service port key, as EndpointSliceCache builds them: each slice port (name,
 * number, protocol) × each endpoint's first address, deduplicated by "ip:port" (a running pod
 * wins over a terminating one), sorted by that string.
 */
export function endpointsMap(slices: Iterable<EndpointSlice>, nodeName: string): Map<string, EndpointInfo[]> {
  const out = new Map<string, EndpointInfo[]>();
  for (const slice of slices) {
    const svcName = sliceService(slice);
    if (svcName === undefined || slice.addressType !== "IPv4") continue;
    for (const port of slice.ports) {
      if (port.port === undefined || port.port === 0) continue;
      const key = svcKey(slice.metadata.namespace, svcName, port.name, port.protocol);
      let list = out.get(key);
      for (const ep of slice.endpoints) {
        if (ep.addresses.length === 0) continue;
        const ip = ep.addresses[0];
        const { ready, serving, terminating } = ep.conditions;
        const e: EndpointInfo = { ip, port: port.port, endpoint: `${ip}:${port.port}`, isLocal: nodeName !== "" && ep.nodeName === nodeName, ready, serving, terminating };
        if (list === undefined) out.set(key, (list = [e]));
        else list.push(e);
      }
    }
  }
  for (const [key, list] of out) out.set(key, sortAndDedupe(list));
  return out;
}

export interface CategorizedEndpoints {
  /** Usable with Cluster policy (null when the port never uses it). */
  clusterEndpoints: EndpointInfo[] | null;
  /** Usable with Local policy (null when the port never uses it). */
  localEndpoints: EndpointInfo[] | null;
  /** Every endpoint this node may DNAT to. */
  allReachable: EndpointInfo[];
  /** Some endpoint is usable somewhere in the cluster. */
  hasAnyEndpoints: boolean;
}

/** The endpoints that pass `keep`: the list itself when all do (the usual case: no copy). */
function filtered(endpoints: readonly EndpointInfo[], keep: (e: EndpointInfo) => boolean): EndpointInfo[] {
  return endpoints.every(keep) ? (endpoints as EndpointInfo[]) : endpoints.filter(keep);
}

const isReady = (e: EndpointInfo): boolean => e.ready;
const isServingTerminating = (e: EndpointInfo): boolean => e.serving && e.terminating;

/**
 * CategorizeEndpoints: Ready endpoints, else Serving-and-Terminating ones (independently for
 * Cluster and Local). Topology hints are not modelled, so the topology mode is always "".
 * The lists it returns may be `endpoints` itself: they are read, never changed.
 */
export function categorizeEndpoints(endpoints: readonly EndpointInfo[], sp: ServicePortInfo): CategorizedEndpoints {
  let clusterEndpoints: EndpointInfo[] | null = null;
  let localEndpoints: EndpointInfo[] | null = null;
  let hasAnyEndpoints = false;
  let servingTerminating = false;
  if (usesClusterEndpoints(sp)) {
    clusterEndpoints = filtered(endpoints, isReady);
    if (clusterEndpoints.length === 0) clusterEndpoints = filtered(endpoints, isServingTerminating);
    if (clusterEndpoints.length > 0) hasAnyEndpoints = true;
  }
  if (!usesLocalEndpoints(sp)) return { clusterEndpoints, localEndpoints, allReachable: clusterEndpoints ?? [], hasAnyEndpoints };
  let localReady = false;
  let localServingTerminating = false;
  for (const e of endpoints) {
    if (e.ready) {
      hasAnyEndpoints = true;
      if (e.isLocal) localReady = true;
    } else if (e.serving && e.terminating) {
      hasAnyEndpoints = true;
      if (e.isLocal) localServingTerminating = true;
    }
  }
  if (localReady) localEndpoints = endpoints.filter((e) => e.isLocal && e.ready);
  else if (localServingTerminating) {
    servingTerminating = true;
    localEndpoints = endpoints.filter((e) => e.isLocal && e.serving && e.terminating);
  } else localEndpoints = [];
  if (clusterEndpoints === null) return { clusterEndpoints, localEndpoints, allReachable: localEndpoints, hasAnyEndpoints };
  if (!servingTerminating) return { clusterEndpoints, localEndpoints, allReachable: clusterEndpoints, hasAnyEndpoints };
  // Local may hold terminating endpoints Cluster does not: the union (Go builds it from a map).
  const merged = new Map<string, EndpointInfo>();
  for (const e of clusterEndpoints) merged.set(e.endpoint, e);
  for (const e of localEndpoints) merged.set(e.endpoint, e);
  const allReachable = [...merged.values()].sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0));
  return { clusterEndpoints, localEndpoints, allReachable, hasAnyEndpoints };
}

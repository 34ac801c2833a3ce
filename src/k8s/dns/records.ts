// The answers CoreDNS's kubernetes plugin gives, read from the cluster's state at query time
// (plugin/kubernetes: handler.go ServeDNS, kubernetes.go findServices/findPods, reverse.go; the
// record building of plugin/backend_lookup.go). The Corefile modelled is kubeadm's with no forward
// plugin: `kubernetes <domain> in-addr.arpa ip6.arpa { pods insecure; fallthrough in-addr.arpa
// ip6.arpa; ttl 30 }`, so names it does not answer fall through to no next plugin.

import type { Answer, SrvAnswer, StringAnswer } from "dns-packet";
import { formatIpv4, parseIpv4 } from "../../wire/index.js";
import type { Cluster, ServiceRuntime } from "../cluster/cluster.js";
import { BUILTIN_NAMESPACES } from "../manifest/index.js";
import type { Endpoint } from "../model.js";
import { canonicalName, classifyName, DNS_SCHEMA_VERSION, dashedIp, ipFromDashed, type ZoneRequest } from "./names.js";

/** DNS RCODEs (RFC 1035 §4.1.1, RFC 6891 §9). */
export const Rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 } as const;

/** `pods` in the kubernetes plugin: insecure answers any dashed IP, verified only a pod's, disabled none. */
export type PodMode = "insecure" | "verified" | "disabled";

export interface ZoneOptions {
  clusterDomain: string;
  /** TTL of every record, s (the plugin's `ttl`, default 30). */
  ttl: number;
  pods: PodMode;
  /** The rcode for names the plugin does not answer (no next plugin): SERVFAIL or REFUSED. */
  unanswered: number;
  /** The SOA serial (CoreDNS: when the API last changed, in Unix seconds). */
  serial: number;
  /** The addresses of ns.dns.<zone> (the Services in front of the answering pod). */
  nsAddresses: readonly string[];
}

export interface LookupResult {
  rcode: number;
  /** AA: set on everything the plugin answers; not on fall-through failures. */
  authoritative: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

/** A record the plugin found (its msg.Service): an address or, for ExternalName, a host name. */
interface Found {
  host: string;
  /** -1 when there is no port (a headless Service without ports). */
  port: number;
  /** The SRV target: the Service's name, or the endpoint's. */
  target: string;
}

/** errNoItems and its kin: the name does not exist (NXDOMAIN). */
const NO_ITEMS = null;
type Lookup = Found[] | typeof NO_ITEMS;

/** The answer to one question, as CoreDNS would give it. */
export function lookup(cluster: Cluster, qname: string, qtype: string, o: ZoneOptions): LookupResult {
  const where = classifyName(qname, o.clusterDomain);
  if (where.zone === "outside") return fail(o.unanswered);
  if (where.zone === "reverse") {
    // reverse.go; anything it cannot answer falls through (in-addr.arpa) to no next plugin.
    const hosts = qtype === "PTR" && where.ip ? serviceNamesForIp(cluster, where.ip, o.clusterDomain) : [];
    if (hosts.length === 0) return fail(o.unanswered);
    return ok(hosts.map((h): StringAnswer => ({ name: qname, type: "PTR", ttl: o.ttl, class: "IN", data: h })));
  }
  const zone = where.zoneName;
  const req = where.request;
  if (qtype === "AXFR" || qtype === "IXFR") return fail(Rcode.REFUSED, true);
  if (qtype === "SOA" && req.kind === "apex" && req.apex) return ok([soa(zone, o)]);
  if (qtype === "NS" && req.kind === "apex" && req.apex) {
    const ns = `ns.dns.${zone}`;
    const glue = o.nsAddresses.map((a): StringAnswer => ({ name: ns, type: "A", ttl: o.ttl, class: "IN", data: a }));
    return { ...ok([{ name: qname, type: "NS", ttl: o.ttl, class: "IN", data: ns }]), additionals: glue };
  }
  if (qtype === "TXT" && req.kind === "dns-version") return ok([{ name: qname, type: "TXT", ttl: o.ttl, class: "IN", data: [DNS_SCHEMA_VERSION] }]);
  const found = records(cluster, req, zone, o);
  if (found === NO_ITEMS) return negative(Rcode.NXDOMAIN, zone, o);
  let answers: Answer[] = [];
  let additionals: Answer[] = [];
  if (qtype === "A") answers = addressRecords(cluster, qname, found, zone, o, 0);
  else if (qtype === "AAAA" || qtype === "CNAME") answers = found.filter((f) => !isIp(f.host)).map((f) => cname(qname, f.host, o));
  else if (qtype === "SRV") [answers, additionals] = srvRecords(qname, found, o);
  // Any other type: the fake A lookup above told NODATA from NXDOMAIN.
  return answers.length ? { ...ok(answers), additionals } : negative(Rcode.NOERROR, zone, o);
}

const ok = (answers: Answer[]): LookupResult => ({ rcode: Rcode.NOERROR, authoritative: true, answers, authorities: [], additionals: [] });
const fail = (rcode: number, authoritative = false): LookupResult => ({ rcode, authoritative, answers: [], authorities: [], additionals: [] });
/** NXDOMAIN or NODATA: the zone's SOA in the authority section (plugin.BackendError). */
const negative = (rcode: number, zone: string, o: ZoneOptions): LookupResult => ({ ...fail(rcode, true), authorities: [soa(zone, o)] });

/** plugin.SOA: ns.dns.<zone>, hostmaster.<zone>, refresh 7200, retry 1800, expire 86400, minimum = ttl. */
function soa(zone: string, o: ZoneOptions): Answer {
  const data = { mname: `ns.dns.${zone}`, rname: `hostmaster.${zone}`, serial: o.serial, refresh: 7200, retry: 1800, expire: 86400, minimum: o.ttl };
  return { name: zone, type: "SOA", ttl: Math.min(o.ttl, 300), class: "IN", data };
}

const cname = (name: string, target: string, o: ZoneOptions): Answer => ({ name, type: "CNAME", ttl: o.ttl, class: "IN", data: target });
const isIp = (s: string): boolean => parseIpv4(s).ok;

/** plugin.A: one A per distinct address; a host name becomes a CNAME, followed when it is in the zone. */
function addressRecords(cluster: Cluster, qname: string, found: Found[], zone: string, o: ZoneOptions, depth: number): Answer[] {
  const out: Answer[] = [];
  const seen = new Set<string>();
  for (const f of found) {
    if (seen.has(f.host)) continue;
    seen.add(f.host);
    if (isIp(f.host)) {
      out.push({ name: qname, type: "A", ttl: o.ttl, class: "IN", data: f.host });
      continue;
    }
    out.push(cname(qname, f.host, o));
    // In-zone targets are resolved here; others would need the upstream, which this Corefile lacks.
    const where = classifyName(f.host, o.clusterDomain);
    if (where.zone !== "cluster" || depth >= 8) continue;
    const next = records(cluster, where.request, zone, o);
    if (next !== NO_ITEMS) out.push(...addressRecords(cluster, f.host, next, zone, o, depth + 1));
  }
  return out;
}

/** plugin.SRV: priority 0, the weight shared out (⌊100 / n⌋), the target's A records as additionals. */
function srvRecords(qname: string, found: Found[], o: ZoneOptions): [Answer[], Answer[]] {
  const srv = found.filter((f) => f.port >= 0 && isIp(f.host));
  const weight = Math.floor(100 / Math.max(srv.length, 1));
  const answers: SrvAnswer[] = [];
  const extra: StringAnswer[] = [];
  const seen = new Set<string>();
  for (const f of srv) {
    answers.push({ name: qname, type: "SRV", ttl: o.ttl, class: "IN", data: { priority: 0, weight, port: f.port, target: f.target } });
    const key = `${f.target}/${f.host}`;
    if (seen.has(key)) continue;
    seen.add(key);
    extra.push({ name: f.target, type: "A", ttl: o.ttl, class: "IN", data: f.host });
  }
  return [answers, extra];
}

/** Records: what a cluster-zone name holds ([] for NODATA), or NO_ITEMS for NXDOMAIN. */
function records(cluster: Cluster, r: ZoneRequest, zone: string, o: ZoneOptions): Lookup {
  if (r.kind === "apex" || r.kind === "dns-version") return [];
  if (r.kind === "invalid") return NO_ITEMS;
  if (!namespaceExists(cluster, r.namespace)) return NO_ITEMS;
  // A namespace name exists (as an empty non-terminal): NODATA, not NXDOMAIN.
  if (r.service === "") return [];
  return r.kind === "pod" ? findPods(cluster, r.namespace, r.service, o.pods) : findServices(cluster, r, zone);
}

function namespaceExists(cluster: Cluster, ns: string): boolean {
  if (BUILTIN_NAMESPACES.includes(ns)) return true;
  for (const s of cluster.services.values()) if (s.svc.metadata.namespace === ns) return true;
  for (const p of cluster.pods.values()) if (p.pod.metadata.namespace === ns) return true;
  return false;
}

/** findPods: `pods insecure` trusts the dashed address; `pods verified` wants a pod of that namespace with it. */
function findPods(cluster: Cluster, namespace: string, label: string, mode: PodMode): Lookup {
  const ip = ipFromDashed(label);
  if (mode === "disabled" || ip === "") return NO_ITEMS;
  const found: Found = { host: ip, port: -1, target: "" };
  if (mode === "insecure") return [found];
  for (const p of cluster.pods.values()) if (!p.deleted && p.ipString === ip && p.pod.metadata.namespace === namespace) return [found];
  return NO_ITEMS;
}

type SvcRequest = Extract<ZoneRequest, { kind: "svc" | "pod" }>;

/** findServices: the Service's ClusterIP per matching port; endpoints for headless Services and endpoint names. */
function findServices(cluster: Cluster, r: SvcRequest, zone: string): Lookup {
  const s = cluster.services.get(`${r.namespace}/${r.service}`);
  if (s === undefined) return NO_ITEMS;
  const svc = s.svc;
  const svcName = `${svc.metadata.name}.${svc.metadata.namespace}.svc.${zone}`;
  const portMatches = (name: string, protocol: string) => (r.port === "" || r.port === name) && (r.protocol === "" || r.protocol === protocol.toLowerCase());
  if (svc.spec.type === "ExternalName") {
    const host = svc.spec.externalName;
    return host && r.endpoint === "" && r.port === "" ? [{ host: canonicalName(host), port: -1, target: svcName }] : NO_ITEMS;
  }
  const found: Found[] = [];
  if (s.clusterIP === 0 || r.endpoint !== "") {
    for (const { ep, hostname } of readyEndpoints(cluster, s)) {
      if (r.endpoint !== "" && r.endpoint !== hostname) continue;
      for (const p of ep.ports) if (portMatches(p.name, p.protocol)) for (const a of ep.endpoint.addresses) found.push({ host: a, port: p.port, target: `${hostname}.${svcName}` });
    }
  } else {
    const ip = formatIpv4(s.clusterIP);
    for (const p of svc.spec.ports) if (portMatches(p.name, p.protocol)) found.push({ host: ip, port: p.port, target: svcName });
  }
  return found.length ? found : NO_ITEMS;
}

interface EndpointView {
  endpoint: Endpoint;
  /** The slice's ports; a sentinel -1 when it has none, so that A records still come out (object/endpoint.go). */
  ports: { name: string; protocol: string; port: number }[];
}

/** The Service's ready endpoints (all with publishNotReadyAddresses) and the name each answers to. */
function readyEndpoints(cluster: Cluster, s: ServiceRuntime): { ep: EndpointView; hostname: string }[] {
  const out: { ep: EndpointView; hostname: string }[] = [];
  for (const slice of cluster.endpointSlices(s.key)) {
    const ports = slice.ports.length
      ? slice.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port ?? -1 }))
      : [{ name: "", protocol: "", port: -1 }];
    for (const e of slice.endpoints) {
      if (!e.conditions.ready && !s.svc.spec.publishNotReadyAddresses) continue;
      out.push({ ep: { endpoint: e, ports }, hostname: endpointHostname(cluster, s, e) });
    }
  }
  return out;
}

/**
 * endpointHostname: the endpoint's hostname, else its address dashed. The EndpointSlice controller
 * sets the hostname of a pod whose spec.hostname is set and whose spec.subdomain names the Service.
 */
function endpointHostname(cluster: Cluster, s: ServiceRuntime, e: Endpoint): string {
  if (e.hostname) return e.hostname;
  const ref = e.targetRef;
  if (ref?.kind === "Pod" && ref.name) {
    const pod = cluster.pods.get(`${ref.namespace ?? s.svc.metadata.namespace}/${ref.name}`)?.pod;
    if (pod?.spec.hostname && pod.spec.subdomain === s.svc.metadata.name) return pod.spec.hostname;
  }
  return dashedIp(e.addresses[0] ?? "");
}

/** serviceRecordForIP: the Service whose ClusterIP it is, else every endpoint name with that address. */
function serviceNamesForIp(cluster: Cluster, ip: string, domain: string): string[] {
  const zone = canonicalName(domain);
  for (const s of cluster.services.values())
    if (s.clusterIP !== 0 && formatIpv4(s.clusterIP) === ip) return [`${s.svc.metadata.name}.${s.svc.metadata.namespace}.svc.${zone}`];
  const out: string[] = [];
  for (const s of cluster.services.values()) {
    if (s.svc.spec.type === "ExternalName") continue;
    for (const { ep, hostname } of readyEndpoints(cluster, s))
      if (ep.endpoint.addresses.includes(ip)) out.push(`${hostname}.${s.svc.metadata.name}.${s.svc.metadata.namespace}.svc.${zone}`);
  }
  return out;
}

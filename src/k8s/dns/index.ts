// Cluster DNS: a CoreDNS-like server in pods (the kubernetes plugin's answers from the cluster's
// state), kubelet's resolv.conf, a glibc-like stub resolver, and the kube-dns wiring.
export { addKubeDns, ClusterDns, type ClusterDnsOptions, type KubeDnsOptions, startClusterDns } from "./cluster-dns.js";
export { DnsFlag, type DnsHeader, readHeader as readDnsHeader } from "./codec.js";
export { kubeDnsManifest } from "./kube-dns-manifest.js";
export { DNS_SCHEMA_VERSION, dashedIp, reverseName } from "./names.js";
export { type LookupResult as DnsLookupResult, lookup as dnsLookup, type PodMode, Rcode as DnsRcode, type ZoneOptions as DnsZoneOptions } from "./records.js";
export {
  CLUSTER_NDOTS,
  clusterDnsIp,
  formatResolvConf,
  KUBE_DNS_SERVICE,
  podHosts,
  podResolvConf,
  RESOLV_DEFAULTS,
  type ResolvConf,
  resolvConf,
} from "./resolv-conf.js";
export { type ResolveOptions, resolve } from "./resolve.js";
export { type Herrno, type QueryOutcome, searchNames, searchOrder } from "./search.js";
export { DEFAULT_DNS_TTL, DNS_PORT, DnsServer, type DnsServerOptions, type DnsServerStats, serveClusterDns } from "./server.js";
export { type DnsExchange, type ResolveError, type ResolveResult, type StubContext, stubResolve } from "./stub.js";

// A pod's /etc/resolv.conf as kubelet decides it (pkg/kubelet/network/dns: GetPodDNS by dnsPolicy)
// and the container runtime writes it (containerd: search, nameserver, options lines), and the
// /etc/hosts entries kubelet manages (the pod's own hostname). The node's own resolv.conf, which
// dnsPolicy Default would copy, is not modelled: such pods get no nameserver.

import { asIpv4, formatIpv4 } from "../../wire/index.js";
import type { Cluster } from "../cluster/cluster.js";
import type { PodRuntime } from "../cluster/pod.js";

export const KUBE_DNS_SERVICE = "kube-system/kube-dns";
/** kubelet's ndots for ClusterFirst pods. */
export const CLUSTER_NDOTS = 5;

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  /** options ndots:N (glibc default 1). */
  ndots: number;
  /** options timeout:N, s (glibc default 5, RES_TIMEOUT). */
  timeout: number;
  /** options attempts:N (glibc default 2, RES_DFLRETRY). */
  attempts: number;
  /** options edns0: queries carry an OPT record (glibc: a 1200-byte buffer). */
  edns0: boolean;
}

/** glibc's defaults, for a resolv.conf that says nothing. */
export const RESOLV_DEFAULTS: ResolvConf = { nameservers: [], search: [], ndots: 1, timeout: 5, attempts: 2, edns0: false };

/**
 * The cluster DNS address kubelet is given (--cluster-dns): the kube-dns Service's ClusterIP when
 * there is one, else the tenth address of the service CIDR, as kubeadm picks it (10.96.0.10).
 */
export function clusterDnsIp(cluster: Cluster): string {
  const s = cluster.services.get(KUBE_DNS_SERVICE);
  if (s && s.clusterIP !== 0) return formatIpv4(s.clusterIP);
  return formatIpv4(asIpv4(cluster.config.serviceCIDR.addr + 10));
}

/** What kubelet writes for a pod: ClusterFirst (and ClusterFirstWithHostNet) get the cluster DNS and search path. */
export function podResolvConf(cluster: Cluster, pod: PodRuntime): ResolvConf {
  const spec = pod.pod.spec;
  const domain = cluster.config.kubeProxy.clusterDomain;
  const clusterFirst = (spec.dnsPolicy === "ClusterFirst" && !spec.hostNetwork) || spec.dnsPolicy === "ClusterFirstWithHostNet";
  if (!clusterFirst) return { ...RESOLV_DEFAULTS };
  const ns = pod.pod.metadata.namespace;
  return { ...RESOLV_DEFAULTS, nameservers: [clusterDnsIp(cluster)], search: [`${ns}.svc.${domain}`, `svc.${domain}`, domain], ndots: CLUSTER_NDOTS };
}

/** The file's text, as containerd writes it from the pod's DNS config. */
export function formatResolvConf(c: ResolvConf): string {
  let out = "";
  if (c.search.length) out += `search ${c.search.join(" ")}\n`;
  for (const n of c.nameservers) out += `nameserver ${n}\n`;
  const opts: string[] = [];
  if (c.ndots !== RESOLV_DEFAULTS.ndots) opts.push(`ndots:${c.ndots}`);
  if (c.timeout !== RESOLV_DEFAULTS.timeout) opts.push(`timeout:${c.timeout}`);
  if (c.attempts !== RESOLV_DEFAULTS.attempts) opts.push(`attempts:${c.attempts}`);
  if (c.edns0) opts.push("edns0");
  if (opts.length) out += `options ${opts.join(" ")}\n`;
  return out;
}

/** A pod's /etc/resolv.conf text, for dumps: "search default.svc.cluster.local …\nnameserver 10.96.0.10\noptions ndots:5\n". */
export function resolvConf(cluster: Cluster, pod: PodRuntime | string): string {
  return formatResolvConf(podResolvConf(cluster, typeof pod === "string" ? cluster.pod(pod) : pod));
}

/**
 * The names kubelet's /etc/hosts gives a pod (without host networking): localhost, and the pod's
 * hostname (with its FQDN when it has a subdomain) at its IP.
 */
export function podHosts(cluster: Cluster, pod: PodRuntime): Map<string, string> {
  const hosts = new Map<string, string>([["localhost", "127.0.0.1"]]);
  const spec = pod.pod.spec;
  if (spec.hostNetwork) return hosts;
  const hostname = spec.hostname ?? pod.name;
  if (spec.subdomain) hosts.set(`${hostname}.${spec.subdomain}.${pod.pod.metadata.namespace}.svc.${cluster.config.kubeProxy.clusterDomain}`.toLowerCase(), pod.ipString);
  hosts.set(hostname.toLowerCase(), pod.ipString);
  return hosts;
}

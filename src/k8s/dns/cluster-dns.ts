// Cluster DNS: the kube-dns Service and its CoreDNS pods (from the manifests, or added here as
// kubeadm would), and the DNS server running in every CoreDNS pod: started with the pod, started
// again when its container restarts, gone with the pod.

import type { Cluster, ServiceRuntime } from "../cluster/cluster.js";
import type { PodRuntime } from "../cluster/pod.js";
import { expandWorkloads, formatDiagnostics, hasErrors, matchesLabels, parseManifests } from "../manifest/index.js";
import { kubeDnsManifest } from "./kube-dns-manifest.js";
import { clusterDnsIp, KUBE_DNS_SERVICE } from "./resolv-conf.js";
import { type DnsServer, type DnsServerOptions, serveClusterDns } from "./server.js";

export interface KubeDnsOptions {
  /** CoreDNS replicas (kubeadm: 2). */
  replicas?: number;
  /** The Service's ClusterIP (default: the tenth address of the service CIDR, 10.96.0.10). */
  clusterIP?: string;
}

/**
 * Adds kube-system/kube-dns and the CoreDNS Deployment's pods, as kubeadm's CoreDNS addon does,
 * unless the cluster has them already (from its manifests). Kube-proxy, if running, follows.
 */
export function addKubeDns(cluster: Cluster, opts: KubeDnsOptions = {}): { service: ServiceRuntime; pods: PodRuntime[] } {
  const text = kubeDnsManifest(opts.clusterIP ?? clusterDnsIp(cluster), opts.replicas ?? 2);
  const parsed = parseManifests(text, { file: "kubewire:kube-dns.yaml" });
  if (hasErrors(parsed.diagnostics)) throw new Error(formatDiagnostics(parsed.diagnostics));
  let service = cluster.services.get(KUBE_DNS_SERVICE);
  if (service === undefined) {
    const svc = parsed.objects.find((o) => o.kind === "Service");
    if (svc?.kind !== "Service") throw new Error("kube-dns manifest: no Service");
    service = cluster.addService(svc);
  }
  let pods = dnsPods(cluster, service);
  if (pods.length === 0) {
    const nodes = cluster.config.nodes.map((n) => ({ name: n.name, labels: n.labels }));
    const expansion = expandWorkloads(parsed.objects, { seed: cluster.config.seed, nodes });
    if (hasErrors(expansion.diagnostics)) throw new Error(formatDiagnostics(expansion.diagnostics));
    pods = expansion.pods.map((p) => cluster.addPod(p));
  }
  return { service, pods };
}

/** The pods a Service selects (CoreDNS's, for kube-dns). */
function dnsPods(cluster: Cluster, service: ServiceRuntime): PodRuntime[] {
  const sel = service.svc.spec.selector;
  if (sel === undefined) return [];
  const ns = service.svc.metadata.namespace;
  return [...cluster.pods.values()].filter((p) => !p.deleted && p.pod.metadata.namespace === ns && matchesLabels(sel, p.labels));
}

export interface ClusterDnsOptions extends DnsServerOptions, KubeDnsOptions {
  /** Add kube-dns and CoreDNS when the cluster lacks them (default true); otherwise they must be in the manifests. */
  install?: boolean;
}

/** The DNS servers of the cluster: one per CoreDNS pod, following pods as they come, go and restart. */
export class ClusterDns {
  readonly service: ServiceRuntime;
  /** The running servers, by pod key ("kube-system/coredns-…"). */
  readonly servers = new Map<string, DnsServer>();
  /** Servers that could not start (the port taken by another app), one line each. */
  readonly errors: string[] = [];
  private stopped = false;
  private readonly unsubscribe: () => void;

  private constructor(
    readonly cluster: Cluster,
    private readonly opts: ClusterDnsOptions,
  ) {
    let service = cluster.services.get(KUBE_DNS_SERVICE);
    if (service === undefined || dnsPods(cluster, service).length === 0) {
      if (opts.install === false)
        throw new Error(`cluster DNS: no ${KUBE_DNS_SERVICE} Service with CoreDNS pods; add test/k8s/fixtures/kube-dns.yaml (kubeadm's) to the manifests, or let kubewire install it`);
      service = addKubeDns(cluster, opts).service;
    }
    this.service = service;
    for (const p of dnsPods(cluster, service)) this.serve(p);
    if (this.errors.length) throw new Error(`cluster DNS: ${this.errors.join("; ")}`);
    this.unsubscribe = cluster.on((e) => {
      if (e.kind === "pod-added" && this.runsOn(e.pod)) this.serve(e.pod);
      else if (e.kind === "pod-deleted") this.servers.get(e.pod.key)?.close();
    });
  }

  /** Starts CoreDNS in every pod behind kube-dns (adding kube-dns first unless `install: false`). */
  static start(cluster: Cluster, opts: ClusterDnsOptions = {}): ClusterDns {
    return new ClusterDns(cluster, opts);
  }

  /** True for a pod that runs CoreDNS: one the kube-dns Service selects. */
  runsOn(pod: PodRuntime): boolean {
    const sel = this.service.svc.spec.selector;
    return sel !== undefined && pod.pod.metadata.namespace === this.service.svc.metadata.namespace && matchesLabels(sel, pod.labels);
  }

  /** The server in a pod, if it runs. */
  server(pod: PodRuntime | string): DnsServer | undefined {
    return this.servers.get(typeof pod === "string" ? this.cluster.pod(pod).key : pod.key);
  }

  private serve(pod: PodRuntime): void {
    let server: DnsServer;
    try {
      server = serveClusterDns(this.cluster, pod, this.opts);
    } catch (e) {
      this.errors.push(e instanceof Error ? e.message : String(e));
      return;
    }
    this.servers.set(pod.key, server);
    // The container's process restarts: it binds again at once, before anything else can take the
    // port. A deleted pod's server is closed on pod-deleted, after the pod is marked deleted.
    server.socket.once("close", () => {
      if (this.servers.get(pod.key) === server) this.servers.delete(pod.key);
      if (!this.stopped && !pod.deleted && this.cluster.pods.get(pod.key) === pod) this.serve(pod);
    });
  }

  /** Stops every server and stops following the cluster. */
  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    for (const s of [...this.servers.values()]) s.close();
  }
}

/** Starts cluster DNS: ClusterDns.start. */
export const startClusterDns = (cluster: Cluster, opts: ClusterDnsOptions = {}): ClusterDns => ClusterDns.start(cluster, opts);

// The L7 controllers of a cluster: ingress-nginx when the objects hold Ingresses of its class, and
// one gateway per Gateway (controller-gateway.ts). Each is deployed as the project deploys it (its
// Service and Deployment are added unless the manifests declare them, as CoreDNS is) and runs the
// L7 proxy in every pod its Service selects, following pods as they come and go. The route table
// is compiled once from the objects; its warnings name the objects.

import type { Rng } from "../../sim/index.js";
import type { Cluster, ServiceRuntime } from "../cluster/cluster.js";
import type { PodRuntime } from "../cluster/pod.js";
import { type Diagnostic, expandWorkloads, formatDiagnostics, hasErrors, matchesLabels, parseManifests } from "../manifest/index.js";
import type { K8sObject } from "../model.js";
import { INGRESS_NGINX_SERVICE, ingressNginxManifest } from "./controller-manifest.js";
import { INGRESS_NGINX_CONTROLLER, ingressInClass, selectClass } from "./ingress-compile.js";
import { compileIngress } from "./ingress-router.js";
import { type AccessLogEntry, L7Proxy } from "./proxy.js";
import { resolveUpstreams } from "./proxy-upstream.js";
import { FAKE_CERTIFICATE } from "./tls-fallback.js";
import type { L7Backend, L7Router, L7Warning } from "./types.js";

export interface L7ControllerOptions {
  /** TLS key log lines of every session the proxies terminate (for a Decryption Secrets Block). */
  onKeylog?: (line: Buffer) => void;
  /** Every access log line. */
  onLog?: (e: AccessLogEntry, controller: L7Controller) => void;
}

export interface IngressNginxOptions extends L7ControllerOptions {
  /** The address the cloud gives the controller's LoadBalancer Service when kubewire adds it. */
  loadBalancerIP?: string;
  replicas?: number;
}

/** ingress-nginx's Service address when kubewire adds it (documentation range, RFC 5737). */
export const INGRESS_NGINX_LB_IP = "203.0.113.80";

/** One controller: a Service, the pods behind it, a proxy in each, one route table. */
export class L7Controller {
  readonly proxies = new Map<string, L7Proxy>();
  private readonly unsubscribe: () => void;

  constructor(
    readonly cluster: Cluster,
    /** "ingress-nginx" or "Gateway default/web". */
    readonly name: string,
    readonly service: ServiceRuntime,
    readonly router: L7Router,
    private readonly rng: Rng,
    private readonly opts: L7ControllerOptions = {},
  ) {
    for (const p of cluster.pods.values()) if (this.runsOn(p)) this.serve(p);
    this.unsubscribe = cluster.on((e) => {
      if (e.kind === "pod-added" && this.runsOn(e.pod)) this.serve(e.pod);
      else if (e.kind === "pod-deleted") {
        this.proxies.get(e.pod.key)?.close();
        this.proxies.delete(e.pod.key);
      }
    });
  }

  get warnings(): readonly L7Warning[] {
    return this.router.warnings;
  }

  /** The warnings as manifest diagnostics (file and line from the object), for `kubewire check` and run reports. */
  diagnostics(): Diagnostic[] {
    return this.router.warnings.map((w) => {
      const m = w.where ? /^(.*):(\d+)$/.exec(w.where) : null;
      const code = /Service/.test(w.message) ? "unknown-service" : "invalid-value";
      return { file: m?.[1] ?? "", doc: 0, line: m ? Number(m[2]) : 1, col: 1, severity: "warning", code, object: w.object, path: w.field, message: `${this.name}: ${w.message}` };
    });
  }

  /** Every request the proxies logged, in order. */
  get log(): AccessLogEntry[] {
    return [...this.proxies.values()].flatMap((p) => p.log).sort((a, b) => a.t - b.t);
  }

  runsOn(pod: PodRuntime): boolean {
    const s = this.service.svc;
    return s.spec.selector !== undefined && pod.pod.metadata.namespace === s.metadata.namespace && matchesLabels(s.spec.selector, pod.labels);
  }

  /** The nginx.conf-style dump, with each backend's endpoints as they are now. */
  describe(): string {
    return this.router.describe((b: L7Backend) => {
      const r = resolveUpstreams(this.cluster, b);
      return r.ok ? r.upstreams.map((u) => `${u.addr}:${u.port}`) : [];
    });
  }

  stop(): void {
    this.unsubscribe();
    for (const p of this.proxies.values()) p.close();
    this.proxies.clear();
  }

  private serve(pod: PodRuntime): void {
    const proxy = new L7Proxy({
      cluster: this.cluster,
      pod,
      router: () => this.router,
      rng: this.rng.derive(pod.key),
      onKeylog: this.opts.onKeylog,
      onLog: this.opts.onLog && ((e) => this.opts.onLog!(e, this)),
    });
    this.proxies.set(pod.key, proxy.start());
  }
}

/** Adds a manifest's Service and its Deployment's pods unless the cluster has the Service (then its pods are the user's). */
export function deployManifest(cluster: Cluster, text: string, file: string, serviceKey: string): ServiceRuntime {
  const parsed = parseManifests(text, { file });
  if (hasErrors(parsed.diagnostics)) throw new Error(formatDiagnostics(parsed.diagnostics));
  const existing = cluster.services.get(serviceKey);
  if (existing) return existing;
  const svc = parsed.objects.find((o) => o.kind === "Service");
  if (svc?.kind !== "Service") throw new Error(`${file}: no Service`);
  const service = cluster.addService(svc);
  const nodes = cluster.config.nodes.map((n) => ({ name: n.name, labels: n.labels }));
  const expansion = expandWorkloads(
    parsed.objects.filter((o) => o.kind === "Deployment"),
    { seed: cluster.config.seed, nodes },
  );
  if (hasErrors(expansion.diagnostics)) throw new Error(formatDiagnostics(expansion.diagnostics));
  for (const p of expansion.pods) if (!cluster.pods.has(`${p.metadata.namespace}/${p.metadata.name}`)) cluster.addPod(p);
  return service;
}

/** True when the objects hold an Ingress that ingress-nginx's class (declared, or the `nginx` it installs) serves. */
export function wantsIngressNginx(objects: readonly K8sObject[]): boolean {
  const cls = selectClass(withNginxClass(objects));
  return objects.some((o) => o.kind === "Ingress" && ingressInClass(o, cls));
}

/** The objects with ingress-nginx's IngressClass `nginx` added when no class of its controller is declared. */
function withNginxClass(objects: readonly K8sObject[]): readonly K8sObject[] {
  if (objects.some((o) => o.kind === "IngressClass" && o.spec.controller === INGRESS_NGINX_CONTROLLER)) return objects;
  const parsed = parseManifests(ingressNginxManifest(INGRESS_NGINX_LB_IP, 1), { file: "kubewire:ingress-nginx.yaml" });
  return [...objects, ...parsed.objects.filter((o) => o.kind === "IngressClass")];
}

/** Adds ingress-nginx's Service and pods when the objects want it (no proxies: a dry run's cluster). */
export function deployIngressNginx(cluster: Cluster, objects: readonly K8sObject[], opts: IngressNginxOptions = {}): ServiceRuntime | undefined {
  if (!wantsIngressNginx(objects)) return undefined;
  const text = ingressNginxManifest(opts.loadBalancerIP ?? INGRESS_NGINX_LB_IP, opts.replicas ?? 1);
  return deployManifest(cluster, text, "kubewire:ingress-nginx.yaml", INGRESS_NGINX_SERVICE);
}

/**
 * Starts ingress-nginx when the objects hold Ingresses of its class: its namespace, Service
 * (LoadBalancer) and Deployment are added unless declared, and each controller pod runs the proxy
 * with the Ingresses compiled into one route table. Undefined when there is nothing to serve.
 */
export function startIngressNginx(cluster: Cluster, objects: readonly K8sObject[], opts: IngressNginxOptions = {}): L7Controller | undefined {
  const service = deployIngressNginx(cluster, objects, opts);
  if (!service) return undefined;
  const router = compileIngress(withNginxClass(objects), { fallback: FAKE_CERTIFICATE });
  return new L7Controller(cluster, "ingress-nginx", service, router, cluster.sim.rng.derive("ingress-nginx"), opts);
}

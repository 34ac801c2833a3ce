// The cluster at run time: nodes on an underlay, the CNI backend joining their pod networks, pods
// created and deleted, Services with their ClusterIPs and NodePorts, EndpointSlices kept up to
// date. Built from a cluster config and parsed manifests; kube-proxy subscribes to changes.

import { EthDevice, L2Segment, NetNamespace, type VxlanDevice } from "../../net/index.js";
import { Sim } from "../../sim/index.js";
import { asIpv4, formatCidr, formatIpv4, type Ipv4Addr, parseIpv4, prefixMask } from "../../wire/index.js";
import { cniBridgeAdd, cniBridgeDel } from "../cni/bridge.js";
import { createRouter, type OverlayNode, setupHostGw, setupRouted, setupVxlan } from "../cni/flannel.js";
import type { ClusterConfig } from "../config.js";
import { crossCheck, type Diagnostic, expandWorkloads, formatDiagnostics, hasErrors } from "../manifest/index.js";
import type { EndpointSlice, K8sObject, Pod, Service } from "../model.js";
import { endpointSlicesFor } from "./endpoints.js";
import { ClusterNode, seededMac } from "./node.js";
import { PodRuntime } from "./pod.js";

export class ClusterError extends Error {
  override name = "ClusterError";
  constructor(readonly diagnostics: Diagnostic[]) {
    super(formatDiagnostics(diagnostics));
  }
}

/** A Service as the cluster runs it: its allocated ClusterIP and NodePorts. */
export interface ServiceRuntime {
  svc: Service;
  key: string;
  clusterIP: Ipv4Addr | 0;
  /** NodePort per Service port index (0 when the port has none). */
  nodePorts: number[];
}

export type ClusterEvent = { kind: "pod-added" | "pod-deleted"; pod: PodRuntime } | { kind: "endpoints"; service: string } | { kind: "service"; service: string };

const NODE_PORT_MIN = 30000;
const NODE_PORT_MAX = 32767;

export class Cluster {
  readonly sim: Sim;
  readonly segment = new L2Segment("underlay");
  readonly nodes = new Map<string, ClusterNode>();
  readonly pods = new Map<string, PodRuntime>();
  readonly services = new Map<string, ServiceRuntime>();
  /** EndpointSlices given in the manifests (Services without selectors). */
  readonly givenSlices: EndpointSlice[] = [];
  /** The gateway router of the `routed` backend (cloud routes), if any. */
  router: NetNamespace | null = null;
  vxlan = new Map<string, VxlanDevice>();
  readonly externals = new Map<string, NetNamespace>();
  readonly warnings: Diagnostic[] = [];
  private readonly listeners: ((e: ClusterEvent) => void)[] = [];
  private vethCounter = 0;

  constructor(readonly config: ClusterConfig) {
    this.sim = new Sim({ seed: config.seed });
    const len = config.underlay.cidr.len;
    const mtu = config.underlay.mtu;
    for (const n of config.nodes) this.nodes.set(n.name, new ClusterNode(this.sim, n, this.segment, len, mtu, config.cni.mtu));
    const overlay: OverlayNode[] = [...this.nodes.values()].map((n) => ({ name: n.name, ns: n.ns, eth0: n.eth0, address: n.address, podCIDR: n.podCIDR }));
    if (config.cni.backend === "vxlan") this.vxlan = setupVxlan(overlay, { vni: config.cni.vni, port: config.cni.port, mtu: config.cni.mtu });
    else if (config.cni.backend === "host-gw") setupHostGw(overlay);
    if (config.underlay.gateway !== undefined) {
      this.router = new NetNamespace(this.sim, "gateway");
      const eth = createRouter(this.router, this.segment, `${formatIpv4(config.underlay.gateway)}/${len}`, mtu);
      if (config.cni.backend === "routed") setupRouted(overlay, this.router, eth, config.underlay.gateway);
      else for (const n of overlay) n.ns.addRoute({ dst: "default", via: formatIpv4(config.underlay.gateway), dev: "eth0" });
    }
  }

  /** Builds a cluster and applies the manifests; every error (config, manifests, cross-checks) is reported at once. */
  static fromManifests(config: ClusterConfig, objects: readonly K8sObject[]): Cluster {
    const diags = crossCheck(config, objects);
    const expansion = expandWorkloads(objects, { seed: config.seed, nodes: config.nodes.map((n) => ({ name: n.name, labels: n.labels })) });
    diags.push(...expansion.diagnostics);
    if (hasErrors(diags)) throw new ClusterError(diags.filter((d) => d.severity === "error"));
    const c = new Cluster(config);
    c.warnings.push(...diags);
    for (const o of objects) if (o.kind === "EndpointSlice") c.givenSlices.push(o);
    for (const o of objects) if (o.kind === "Service") c.addService(o);
    for (const p of expansion.pods) c.addPod(p);
    return c;
  }

  on(listener: (e: ClusterEvent) => void): () => void {
    this.listeners.push(listener);
    return () => this.listeners.splice(this.listeners.indexOf(listener), 1);
  }

  private emit(e: ClusterEvent): void {
    for (const l of this.listeners) l(e);
  }

  node(name: string): ClusterNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node "${name}" (have: ${[...this.nodes.keys()].join(", ")})`);
    return n;
  }

  /** A pod by "name" (namespace default) or "namespace/name". */
  pod(ref: string): PodRuntime {
    const key = ref.includes("/") ? ref : `default/${ref}`;
    const p = this.pods.get(key);
    if (!p) throw new Error(`no pod "${ref}" (have: ${[...this.pods.keys()].join(", ")})`);
    return p;
  }

  /** The namespace name a pod's network namespace gets: its name, qualified when not in "default". */
  static podNetnsName(pod: Pod): string {
    return pod.metadata.namespace === "default" ? pod.metadata.name : `${pod.metadata.namespace}.${pod.metadata.name}`;
  }

  /** Runs a pod: the pause container's namespace, CNI ADD on its node. */
  addPod(pod: Pod): PodRuntime {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (this.pods.has(key)) throw new Error(`pod ${key} already exists`);
    const node = this.node(pod.spec.nodeName ?? [...this.nodes.keys()][0]);
    const ip = node.ipam.allocate(key);
    const ns = new NetNamespace(this.sim, Cluster.podNetnsName(pod));
    const hostVeth = `veth${this.sim.rng.derive(`veth/${node.name}/${key}/${this.vethCounter++}`).u32().toString(16).padStart(8, "0")}`;
    const att = cniBridgeAdd(node.ns, ns, node.bridgeConf, ip, hostVeth);
    att.podVeth.mac = seededMac(this.sim, `pod/${key}`);
    const rt = new PodRuntime(pod, node, ns, ip, att);
    this.pods.set(key, rt);
    this.emit({ kind: "pod-added", pod: rt });
    this.endpointsChanged(rt);
    return rt;
  }

  /** Deletes a pod: CNI DEL (veth gone), IP freed, endpoints updated. */
  deletePod(ref: string): void {
    const p = this.pod(ref);
    for (const c of p.containers.values()) c.restart();
    cniBridgeDel(p.node.ns, p.ns, p.attachment);
    p.node.ipam.release(p.ip);
    p.deleted = true;
    this.pods.delete(p.key);
    this.emit({ kind: "pod-deleted", pod: p });
    this.endpointsChanged(p);
  }

  /** Marks a pod ready or not (a failing readiness probe): it leaves or rejoins its Services' endpoints. */
  setReady(ref: string, ready: boolean): void {
    const p = this.pod(ref);
    p.ready = ready;
    this.endpointsChanged(p);
  }

  private endpointsChanged(p: PodRuntime): void {
    for (const s of this.services.values())
      if (s.svc.metadata.namespace === p.pod.metadata.namespace && s.svc.spec.selector && Object.entries(s.svc.spec.selector).every(([k, v]) => p.labels[k] === v))
        this.emit({ kind: "endpoints", service: s.key });
  }

  /** Creates a Service: allocates its ClusterIP (unless given or headless) and NodePorts. */
  addService(svc: Service): ServiceRuntime {
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    let clusterIP: Ipv4Addr | 0 = 0;
    const want = svc.spec.clusterIP;
    if (want !== undefined && want !== "None" && want !== "") {
      const r = parseIpv4(want);
      if (!r.ok) throw new Error(`Service ${key}: ${r.error}`);
      clusterIP = r.value;
    } else if (want === undefined && svc.spec.type !== "ExternalName") clusterIP = this.allocateClusterIP(key);
    const nodePorts = svc.spec.ports.map((p) => {
      if (svc.spec.type !== "NodePort" && svc.spec.type !== "LoadBalancer") return 0;
      return p.nodePort ?? this.allocateNodePort(key);
    });
    const rt: ServiceRuntime = { svc, key, clusterIP, nodePorts };
    this.services.set(key, rt);
    this.emit({ kind: "service", service: key });
    return rt;
  }

  private allocateClusterIP(key: string): Ipv4Addr {
    const { addr, len } = this.config.serviceCIDR;
    const size = 2 ** (32 - len);
    const used = new Set([...this.services.values()].map((s) => s.clusterIP));
    const rng = this.sim.rng.derive(`clusterip/${key}`);
    for (let i = 0; i < 64; i++) {
      // .1 is the kubernetes Service's; network and broadcast are never handed out.
      const a = asIpv4(addr + 2 + rng.int(size - 3));
      if (!used.has(a)) return a;
    }
    for (let o = 2; o < size - 1; o++) if (!used.has(asIpv4(addr + o))) return asIpv4(addr + o);
    throw new Error(`Service ${key}: the service CIDR ${formatCidr(this.config.serviceCIDR)} is full`);
  }

  private allocateNodePort(key: string): number {
    const used = new Set<number>();
    for (const s of this.services.values()) for (const p of s.nodePorts) used.add(p);
    const rng = this.sim.rng.derive(`nodeport/${key}/${used.size}`);
    const span = NODE_PORT_MAX - NODE_PORT_MIN + 1;
    const start = rng.int(span);
    for (let i = 0; i < span; i++) {
      const p = NODE_PORT_MIN + ((start + i) % span);
      if (!used.has(p)) return p;
    }
    throw new Error(`Service ${key}: no free NodePort in ${NODE_PORT_MIN}-${NODE_PORT_MAX}`);
  }

  /** The EndpointSlices of a Service now, as the EndpointSlice controller would write them. */
  endpointSlices(serviceKey: string): EndpointSlice[] {
    const s = this.services.get(serviceKey);
    if (!s) throw new Error(`no Service ${serviceKey}`);
    return endpointSlicesFor(s.svc, this.pods.values(), this.givenSlices, (i) => `${s.svc.metadata.name}-${this.sim.rng.derive(`slice/${serviceKey}/${i}`).u32().toString(36).slice(0, 5)}`);
  }

  /**
   * A host outside the cluster on the underlay (a client, or a load balancer's address): a
   * namespace with eth0 at `address`, routing via the gateway when there is one.
   */
  addExternalHost(name: string, address: string): NetNamespace {
    const ns = new NetNamespace(this.sim, name);
    const eth = new EthDevice(ns, "eth0", seededMac(this.sim, `ext/${name}`), this.config.underlay.mtu);
    eth.connect(this.segment);
    ns.addAddress(eth, `${address}/${this.config.underlay.cidr.len}`);
    if (this.config.underlay.gateway !== undefined) ns.addRoute({ dst: "default", via: formatIpv4(this.config.underlay.gateway), dev: "eth0" });
    this.externals.set(name, ns);
    return ns;
  }

  /** Every namespace of the cluster: nodes, pods, the gateway, external hosts. */
  namespaces(): NetNamespace[] {
    const out = [...this.nodes.values()].map((n) => n.ns);
    if (this.router) out.push(this.router);
    out.push(...[...this.pods.values()].map((p) => p.ns));
    out.push(...this.externals.values());
    return out;
  }

  /** True if `addr` is in the cluster's pod CIDR. */
  inClusterCIDR(addr: number): boolean {
    const c = this.config.clusterCIDR;
    return ((addr & prefixMask(c.len)) >>> 0) === c.addr;
  }
}

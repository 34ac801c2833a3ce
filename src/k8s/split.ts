// A split cluster: this process runs some nodes of a Cluster, the others run elsewhere (another
// kubewire process, or a real Linux node) and are reached over the UDP underlay. Every process
// builds the whole cluster from the shared config and manifests with the same seed, so pods, IPs,
// MACs, endpoints and flannel's neighbour/FDB/route entries are those of a single-process run (as
// every real node sees the whole cluster through the API server); the remote nodes' namespaces
// are then cut off (no carrier: nothing reaches them, they send nothing) and the local nodes'
// eth0 are bound to UDP sockets whose peers are the other nodes' sockets.
// Also: peerCommands(), the `ip`/`bridge` commands that make a Linux host one of the nodes.

import { type NetNamespace, RealtimeDriver, type RealtimeOptions, UdpUnderlay, type UnderlayPeer, type UnderlayStats } from "../net/index.js";
import { formatCidr, formatIpv4, formatMac, type MacAddr } from "../wire/index.js";
import { Cluster } from "./cluster/cluster.js";
import type { ClusterConfig } from "./config.js";

/** Where a node's underlay socket is. */
export interface NodeEndpoint {
  host: string;
  /** UDP port; 0 for a local node means an ephemeral one (read it back with `endpoint()`). */
  port: number;
  /** The node's eth0 MAC as its peers' proxy ARP answers it; default the MAC kubewire gives that node. */
  mac?: MacAddr;
  /** A Linux kernel node: its VXLAN datagrams come from flow-hashed source ports (see UnderlayPeer). */
  anySourcePort?: boolean;
}

export interface SplitOptions {
  /** The nodes this process runs. */
  local: readonly string[];
  /** Every node's underlay socket: the local ones are bound there, the others are their peers. */
  endpoints: Readonly<Record<string, NodeEndpoint>>;
}

/** A configuration problem of a split (not a data-path error). */
export class SplitError extends Error {
  override name = "SplitError";
}

export class SplitCluster {
  private constructor(
    readonly cluster: Cluster,
    readonly local: ReadonlySet<string>,
    /** The UDP underlay of each local node. */
    readonly underlays: ReadonlyMap<string, UdpUnderlay>,
    private readonly endpoints: Map<string, NodeEndpoint>,
  ) {}

  /** Cuts the remote nodes off and binds the local nodes' eth0 to their UDP sockets. */
  static async open(cluster: Cluster, o: SplitOptions): Promise<SplitCluster> {
    const names = [...cluster.nodes.keys()];
    const problems: string[] = [];
    if (cluster.config.cni.backend !== "vxlan")
      problems.push(`the ${cluster.config.cni.backend} backend cannot be split: the UDP underlay carries VXLAN only (use cni.backend: vxlan)`);
    if (o.local.length === 0) problems.push("no local node given");
    for (const n of o.local) if (!cluster.nodes.has(n)) problems.push(`no node "${n}" in the cluster (have: ${names.join(", ")})`);
    for (const n of names) if (!o.endpoints[n]) problems.push(`no underlay endpoint for node "${n}" (give host:port for every node)`);
    for (const n of Object.keys(o.endpoints)) if (!cluster.nodes.has(n)) problems.push(`an endpoint is given for "${n}", which is not a node of the cluster`);
    if (problems.length) throw new SplitError(`split cluster "${cluster.config.name}":\n  ${problems.join("\n  ")}`);
    const local = new Set(o.local);
    const endpoints = new Map(names.map((n) => [n, { ...o.endpoints[n] }]));
    for (const [name, node] of cluster.nodes) {
      if (local.has(name)) continue;
      cluster.segment.detach(node.eth0);
      node.eth0.link = null;
    }
    const underlays = new Map<string, UdpUnderlay>();
    try {
      for (const name of local) {
        const ep = endpoints.get(name)!;
        const u = await UdpUnderlay.open(cluster.node(name).eth0, { host: ep.host, port: ep.port, vxlanPort: cluster.config.cni.port });
        ep.port = u.port;
        underlays.set(name, u);
      }
      const split = new SplitCluster(cluster, local, underlays, endpoints);
      for (const u of underlays.values()) for (const peer of names) if (cluster.node(peer).eth0 !== u.dev) await u.setPeer(split.peerOf(peer));
      return split;
    } catch (e) {
      await Promise.all([...underlays.values()].map((u) => u.close()));
      throw e;
    }
  }

  private peerOf(name: string): UnderlayPeer {
    const n = this.cluster.node(name);
    const ep = this.endpoints.get(name)!;
    return { name, addr: n.address, mac: ep.mac ?? n.eth0.mac, host: ep.host, port: ep.port, anySourcePort: ep.anySourcePort };
  }

  /** Where a node's underlay socket is (a local node's, with the port it was given). */
  endpoint(name: string): NodeEndpoint {
    const ep = this.endpoints.get(name);
    if (!ep) throw new SplitError(`no node "${name}"`);
    return { ...ep };
  }

  /** Tells the local nodes that `name` is now at `ep` (a peer that started, or restarted elsewhere). */
  async setEndpoint(name: string, ep: NodeEndpoint): Promise<void> {
    if (this.local.has(name)) throw new SplitError(`"${name}" runs in this process; its endpoint is where it is bound`);
    if (!this.endpoints.has(name)) throw new SplitError(`no node "${name}"`);
    this.endpoints.set(name, { ...ep });
    for (const u of this.underlays.values()) await u.setPeer(this.peerOf(name));
  }

  isLocal(node: string): boolean {
    return this.local.has(node);
  }

  /** The namespaces this process runs: the local nodes and their pods. */
  namespaces(): NetNamespace[] {
    const out: NetNamespace[] = [];
    for (const n of this.local) out.push(this.cluster.node(n).ns);
    for (const p of this.cluster.pods.values()) if (this.local.has(p.node.name)) out.push(p.ns);
    return out;
  }

  /** A real-time driver for the cluster's scheduler, with every underlay injecting through it. */
  realtime(opts: RealtimeOptions = {}): RealtimeDriver {
    return new RealtimeDriver(this.cluster.sim.sched, opts).attach(...this.underlays.values());
  }

  /** Datagram counters per local node. */
  stats(): Record<string, UnderlayStats> {
    return Object.fromEntries([...this.underlays].map(([n, u]) => [n, { ...u.stats }]));
  }

  /** Closes every socket. */
  async close(): Promise<void> {
    await Promise.all([...this.underlays.values()].map((u) => u.close()));
  }
}

/** Builds the cluster, then splits it: the short form of `SplitCluster.open`. */
export function splitCluster(cluster: Cluster, o: SplitOptions): Promise<SplitCluster> {
  return SplitCluster.open(cluster, o);
}

export interface PeerCommandOptions {
  /** The Linux host's underlay device (flannel's `-iface`). Default eth0. */
  dev?: string;
  /** Also the CNI bridge cni0 with the node's gateway address, as the bridge plugin creates it. */
  cni0?: boolean;
}

/**
 * The commands that make a Linux host play node `nodeName` of `config` beside kubewire's emulated
 * nodes, as flanneld's vxlan backend would set it up: flannel.1 (VNI, port, nolearning, the VTEP
 * MAC kubewire expects, MTU), its /32 address, and per other node the permanent neighbour, the FDB
 * entry and the onlink route. `ip …` and `bridge …` lines; `#` lines are comments.
 */
export function peerCommands(config: ClusterConfig, nodeName: string, o: PeerCommandOptions = {}): string[] {
  if (config.cni.backend !== "vxlan") throw new SplitError(`peer commands are for the vxlan backend (the cluster uses ${config.cni.backend})`);
  // A scratch cluster without pods: the same seeded VTEP MACs, addresses and MTUs as any run.
  const c = new Cluster(config);
  const me = c.nodes.get(nodeName);
  if (!me) throw new SplitError(`no node "${nodeName}" in the cluster (have: ${[...c.nodes.keys()].join(", ")})`);
  const dev = o.dev ?? "eth0";
  const vx = c.vxlan.get(nodeName)!;
  const name = vx.name;
  const out = [
    `# ${nodeName} of cluster "${config.name}" as a Linux host: underlay ${formatIpv4(me.address)} on ${dev}, podCIDR ${formatCidr(me.podCIDR)}`,
    `# kubewire's proxy ARP answers for ${formatIpv4(me.address)} with ${formatMac(me.eth0.mac)} (ip link set dev ${dev} address ${formatMac(me.eth0.mac)} to match)`,
    `ip link add ${name} address ${formatMac(vx.mac)} mtu ${vx.mtu} type vxlan id ${vx.vni} local ${formatIpv4(me.address)} dev ${dev} dstport ${vx.port} nolearning`,
    `ip addr add ${formatIpv4(me.podCIDR.addr)}/32 dev ${name}`,
    `ip link set ${name} up`,
  ];
  if (o.cni0) {
    const gw = me.ipam.gateway;
    out.push(`ip link add cni0 mtu ${config.cni.mtu} type bridge`, `ip addr add ${formatIpv4(gw)}/${me.podCIDR.len} dev cni0`, `ip link set cni0 up`);
  }
  for (const peer of c.nodes.values()) {
    if (peer === me) continue;
    const peerVx = c.vxlan.get(peer.name)!;
    const vtep = formatIpv4(peer.podCIDR.addr);
    out.push(
      `# ${peer.name}: ${formatIpv4(peer.address)}, podCIDR ${formatCidr(peer.podCIDR)}`,
      `ip neigh replace ${vtep} lladdr ${formatMac(peerVx.mac)} dev ${name} nud permanent`,
      `bridge fdb append ${formatMac(peerVx.mac)} dev ${name} dst ${formatIpv4(peer.address)}`,
      `ip route add ${formatCidr(peer.podCIDR)} via ${vtep} dev ${name} onlink`,
    );
  }
  return out;
}

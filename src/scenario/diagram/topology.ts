// The cluster's topology as the diagrams draw it: nodes with their devices (eth0, cni0,
// flannel.1, the host ends of the pods' veths), the pods, the underlay with its gateway and
// external hosts, the VXLAN tunnels between nodes and the Services with their endpoints. Device
// ids are capture interface names (`node-1/cni0`, `client/eth0`), so a traced path maps onto them.

import type { Cluster } from "../../k8s/index.js";
import type { NetNamespace } from "../../net/index.js";
import { formatCidr, formatIpv4 } from "../../wire/index.js";

export interface DeviceBox {
  /** `<namespace>/<device>`. */
  id: string;
  name: string;
  kind: string;
  /** `10.244.0.1/24`, … */
  addrs: string[];
}

export interface PodBox {
  key: string;
  /** The pod's namespace name (its capture interfaces are `<netns>/eth0`). */
  netns: string;
  name: string;
  ip: string;
  ready: boolean;
  eth0: DeviceBox;
  /** The host end of its veth, on the node. */
  hostVeth: DeviceBox;
  containers: string[];
}

export interface NodeBox {
  name: string;
  address: string;
  podCIDR: string;
  eth0: DeviceBox;
  bridge?: DeviceBox;
  vxlan?: DeviceBox & { vni: number; port: number };
  pods: PodBox[];
}

export interface HostBox {
  name: string;
  address: string;
  eth0: DeviceBox;
  role: "gateway" | "external";
}

export interface ServiceBox {
  key: string;
  type: string;
  clusterIP?: string;
  /** `80/UDP → 9000`, with `nodePort 30080` when it has one. */
  ports: string[];
  /** Pod keys of its ready endpoints. */
  endpoints: string[];
  /** Its load-balancer addresses (status.loadBalancer.ingress). */
  loadBalancer: string[];
}

export interface Topology {
  name: string;
  backend: string;
  underlay: string;
  nodes: NodeBox[];
  hosts: HostBox[];
  services: ServiceBox[];
}

function box(ns: NetNamespace, name: string): DeviceBox {
  const d = ns.devices.get(name)!;
  return { id: `${ns.name}/${name}`, name, kind: d.kind, addrs: d.addrs.map((a) => `${formatIpv4(a.addr)}/${a.len}`) };
}

export function topology(c: Cluster, name: string): Topology {
  const nodes: NodeBox[] = [];
  for (const n of c.nodes.values()) {
    const pods: PodBox[] = [];
    for (const p of c.pods.values()) {
      if (p.node !== n) continue;
      pods.push({
        key: p.key,
        netns: p.ns.name,
        name: p.name,
        ip: p.ipString,
        ready: p.ready,
        eth0: box(p.ns, p.attachment.podVeth.name),
        hostVeth: box(n.ns, p.attachment.hostVeth.name),
        containers: [...p.containers.keys()],
      });
    }
    const vx = c.vxlan.get(n.name);
    nodes.push({
      name: n.name,
      address: formatIpv4(n.address),
      podCIDR: formatCidr(n.podCIDR),
      eth0: box(n.ns, "eth0"),
      bridge: n.ns.devices.has("cni0") ? box(n.ns, "cni0") : undefined,
      vxlan: vx ? { ...box(n.ns, vx.name), vni: c.config.cni.vni, port: c.config.cni.port } : undefined,
      pods,
    });
  }
  const hosts: HostBox[] = [];
  const host = (ns: NetNamespace, role: HostBox["role"]) => {
    const eth0 = box(ns, "eth0");
    hosts.push({ name: ns.name, address: eth0.addrs[0]?.replace(/\/\d+$/, "") ?? "", eth0, role });
  };
  if (c.router) host(c.router, "gateway");
  for (const ns of c.externals.values()) host(ns, "external");
  const byIp = new Map([...c.pods.values()].map((p) => [p.ipString, p.key]));
  const services: ServiceBox[] = [];
  for (const s of c.services.values()) {
    const endpoints: string[] = [];
    for (const slice of c.endpointSlices(s.key))
      for (const e of slice.endpoints) if (e.conditions.ready) for (const a of e.addresses) if (byIp.has(a)) endpoints.push(byIp.get(a)!);
    services.push({
      key: s.key,
      type: s.svc.spec.type,
      clusterIP: s.clusterIP ? formatIpv4(s.clusterIP) : undefined,
      ports: s.svc.spec.ports.map((p, i) => `${p.port}/${p.protocol} → ${p.targetPort}${s.nodePorts[i] ? ` (nodePort ${s.nodePorts[i]})` : ""}`),
      endpoints,
      loadBalancer: s.svc.loadBalancerIngress,
    });
  }
  return { name, backend: c.config.cni.backend, underlay: formatCidr(c.config.underlay.cidr), nodes, hosts, services };
}

// The three ways of the walkthrough to make pod-to-pod traffic flat and NAT-free across nodes:
// flannel's vxlan backend (flannel.1, VNI 1, UDP 8472, the neighbour/FDB/route entries flanneld
// installs for every other node), flannel's host-gw backend (a route per remote podCIDR via that
// node's address on a shared L2 underlay), and cloud routes (nodes know only their own podCIDR; a
// gateway router on the underlay holds a route per podCIDR → node).

import { EthDevice, type L2Segment, type NetNamespace, VxlanDevice } from "../../net/index.js";
import { asMac, formatCidr, formatIpv4, type Ipv4Addr, type Ipv4Cidr, type MacAddr } from "../../wire/index.js";

/** What the backends need to know of a node. */
export interface OverlayNode {
  name: string;
  ns: NetNamespace;
  eth0: EthDevice;
  address: Ipv4Addr;
  podCIDR: Ipv4Cidr;
}

export interface VxlanBackendConf {
  vni: number;
  port: number;
  mtu: number;
}

/** The VTEP MAC (the kernel picks a random one; flanneld publishes it): seeded, locally administered. */
export function vtepMac(node: OverlayNode): MacAddr {
  const r = node.ns.sim.rng.derive(`vtep-mac/${node.name}`);
  return asMac(((r.u32() & 0xfeff) | 0x0200) * 0x100000000 + r.u32());
}

/** flanneld's vxlan backend: flannel.1 on every node and, for every other node, neighbour + FDB + route. */
export function setupVxlan(nodes: OverlayNode[], conf: VxlanBackendConf): Map<string, VxlanDevice> {
  const devs = new Map<string, VxlanDevice>();
  for (const n of nodes) {
    const dev = new VxlanDevice(n.ns, `flannel.${conf.vni}`, { vni: conf.vni, port: conf.port, local: n.address, underlay: n.eth0, mtu: conf.mtu, mac: vtepMac(n), learning: false });
    n.ns.addAddress(dev, `${formatIpv4(n.podCIDR.addr)}/32`);
    devs.set(n.name, dev);
  }
  for (const n of nodes) {
    const dev = devs.get(n.name)!;
    for (const peer of nodes) {
      if (peer === n) continue;
      const peerDev = devs.get(peer.name)!;
      const peerVtepIp = peer.podCIDR.addr; // flannel: the remote subnet's .0 stands for the remote VTEP
      dev.neigh.addPermanent(peerVtepIp, peerDev.mac);
      dev.addFdb(peerDev.mac, peer.address);
      n.ns.addRoute({ dst: formatCidr(peer.podCIDR), via: formatIpv4(peerVtepIp), dev: dev.name, onlink: true });
    }
  }
  return devs;
}

/** flanneld's host-gw backend: `podCIDR via nodeIP dev eth0` for every other node. */
export function setupHostGw(nodes: OverlayNode[]): void {
  for (const n of nodes)
    for (const peer of nodes) if (peer !== n) n.ns.addRoute({ dst: formatCidr(peer.podCIDR), via: formatIpv4(peer.address), dev: n.eth0.name });
}

/**
 * Cloud routes: a gateway router on the underlay with a route per podCIDR to its node; every node
 * sends what is not its own via the gateway (its default route).
 */
export function setupRouted(nodes: OverlayNode[], router: NetNamespace, routerEth: EthDevice, gateway: Ipv4Addr): void {
  router.sysctl.ipForward = true;
  for (const n of nodes) router.addRoute({ dst: formatCidr(n.podCIDR), via: formatIpv4(n.address), dev: routerEth.name });
  for (const n of nodes) if (!n.ns.mainTable.lookup(0)) n.ns.addRoute({ dst: "default", via: formatIpv4(gateway), dev: n.eth0.name });
}

/** A gateway router namespace attached to the underlay segment. */
export function createRouter(router: NetNamespace, segment: L2Segment, address: string, mtu: number): EthDevice {
  const eth = new EthDevice(router, "eth0", undefined, mtu);
  eth.connect(segment);
  router.addAddress(eth, address);
  return eth;
}

// The CNI bridge plugin (containernetworking/plugins, plugins/main/bridge) with isGateway and
// hairpinMode: cni0 on the node carries the gateway address; each pod gets a veth whose host end
// (`veth` + 8 hex characters) is a port of cni0 with hairpin on and whose pod end is `eth0` with
// the pod's address and a default route via the gateway.

import { Bridge, type NetNamespace, Veth } from "../../net/index.js";
import { formatIpv4, type Ipv4Addr, type Ipv4Cidr } from "../../wire/index.js";

export interface BridgeConf {
  /** Bridge name; default cni0. */
  bridge?: string;
  mtu: number;
  /** The node's podCIDR (the bridge gets its .1 with this prefix length). */
  subnet: Ipv4Cidr;
  gateway: Ipv4Addr;
}

/** Finds or creates the node's bridge with the gateway address (the plugin's ensureBridge + ensureAddr). */
export function ensureBridge(node: NetNamespace, conf: BridgeConf): Bridge {
  const name = conf.bridge ?? "cni0";
  const existing = node.devices.get(name);
  if (existing) return existing as Bridge;
  const br = new Bridge(node, name, undefined, conf.mtu);
  node.addAddress(br, `${formatIpv4(conf.gateway)}/${conf.subnet.len}`);
  return br;
}

export interface PodAttachment {
  hostVeth: Veth;
  podVeth: Veth;
}

/** CNI ADD: the pod's veth pair, its address and default route, the host end on the bridge. */
export function cniBridgeAdd(node: NetNamespace, pod: NetNamespace, conf: BridgeConf, podIp: Ipv4Addr, hostVethName: string): PodAttachment {
  const br = ensureBridge(node, conf);
  const [podVeth, hostVeth] = Veth.pair({ ns: pod, name: "eth0" }, { ns: node, name: hostVethName }, conf.mtu);
  br.addPort(hostVeth, { hairpin: true });
  pod.addAddress(podVeth, `${formatIpv4(podIp)}/${conf.subnet.len}`);
  pod.addRoute({ dst: "default", via: formatIpv4(conf.gateway), dev: "eth0" });
  return { hostVeth, podVeth };
}

/** CNI DEL: the pod's veth goes away (deleting one end deletes both) and leaves the bridge. */
export function cniBridgeDel(node: NetNamespace, pod: NetNamespace, a: PodAttachment): void {
  const br = a.hostVeth.master as Bridge | null;
  br?.removePort(a.hostVeth);
  a.hostVeth.up = false;
  a.podVeth.up = false;
  a.hostVeth.neigh.flush();
  a.podVeth.neigh.flush();
  node.unregister(a.hostVeth);
  pod.unregister(a.podVeth);
}

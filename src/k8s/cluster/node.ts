// A cluster node: its root network namespace with eth0 on the underlay, forwarding on and
// bridge-nf-call-iptables on (as kubeadm requires), its podCIDR's host-local IPAM and the CNI
// bridge configuration. cni0 appears with the first pod, as the bridge plugin creates it.

import { EthDevice, type L2Segment, NetNamespace } from "../../net/index.js";
import type { Sim } from "../../sim/index.js";
import { asMac, formatIpv4, type Ipv4Addr, type Ipv4Cidr, type MacAddr } from "../../wire/index.js";
import type { BridgeConf } from "../cni/bridge.js";
import { HostLocalIpam } from "../cni/ipam.js";
import type { NodeConfig } from "../config.js";

export class ClusterNode {
  readonly ns: NetNamespace;
  readonly eth0: EthDevice;
  readonly ipam: HostLocalIpam;
  readonly bridgeConf: BridgeConf;

  constructor(
    sim: Sim,
    readonly config: NodeConfig,
    segment: L2Segment,
    underlayLen: number,
    underlayMtu: number,
    podMtu: number,
  ) {
    this.ns = new NetNamespace(sim, config.name);
    this.ns.sysctl.ipForward = true;
    this.ns.sysctl.bridgeNfCallIptables = true;
    this.eth0 = new EthDevice(this.ns, "eth0", seededMac(sim, `eth0/${config.name}`), underlayMtu);
    this.eth0.connect(segment);
    this.ns.addAddress(this.eth0, `${formatIpv4(config.address)}/${underlayLen}`);
    this.ipam = new HostLocalIpam(config.podCIDR);
    this.bridgeConf = { bridge: "cni0", mtu: podMtu, subnet: config.podCIDR, gateway: this.ipam.gateway };
  }

  get name(): string {
    return this.config.name;
  }

  get address(): Ipv4Addr {
    return this.config.address;
  }

  get podCIDR(): Ipv4Cidr {
    return this.config.podCIDR;
  }
}

/** A locally administered unicast MAC from a labelled seeded stream (stable whatever else the run does). */
export function seededMac(sim: Sim, label: string): MacAddr {
  const r = sim.rng.derive(`mac/${label}`);
  return asMac(((r.u32() & 0xfeff) | 0x0200) * 0x100000000 + r.u32());
}

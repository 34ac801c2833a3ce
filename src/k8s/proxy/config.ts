// What a kube-proxy instance on one node is configured with (the flags and the node it runs on),
// and --nodeport-addresses as pkg/proxy/util/nodeport_addresses.go reads it.

import { cidrContains, parseCidr, parseIpv4 } from "../../wire/index.js";
import type { LocalTrafficDetector } from "./localdetector.js";

export interface ProxierConfig {
  /** --hostname-override: the node's name (endpoints with this nodeName are local). */
  nodeName: string;
  /** The node's IPv4 addresses; the first is its primary address (nodeIP). */
  nodeIPs: readonly string[];
  /** --detect-local-mode and its CIDR/interface. */
  localDetector: LocalTrafficDetector;
  /** --iptables-masquerade-bit / --nftables-masquerade-bit (default 14). */
  masqueradeBit?: number;
  /** The mark string as written; default fmt.Sprintf("%#08x", 1<<bit), e.g. "0x00004000" (the unit tests' fake uses "0x4000"). */
  masqueradeMark?: string;
  /** --masquerade-all. */
  masqueradeAll?: boolean;
  /** iptables: --iptables-localhost-nodeports (default true). */
  localhostNodePorts?: boolean;
  /** iptables: the iptables binary supports MASQUERADE --random-fully (every current one does; default true). */
  randomFully?: boolean;
  /** iptables: nfacct counters could be created (the nfnetlink_acct module is there; default false). */
  nfacct?: boolean;
  /** iptables: net.netfilter.nf_conntrack_tcp_be_liberal is set: no INVALID drop rule. */
  conntrackTCPLiberal?: boolean;
  /**
   * --nodeport-addresses: CIDRs, or "primary" (the node IP). Default: every local address in
   * iptables mode, "primary" in nftables mode (kube-proxy's defaults).
   */
  nodePortAddresses?: readonly string[] | "primary";
  /** The Service CIDRs (nftables: traffic to unallocated ClusterIPs is dropped). */
  serviceCIDRs?: readonly string[];
}

/** fmt.Sprintf("%#08x", v): Go pads the digits, not the "0x", to eight. */
export const goHexMark = (v: number): string => `0x${v.toString(16).padStart(8, "0")}`;

export const masqueradeMarkOf = (c: ProxierConfig): string => c.masqueradeMark ?? goHexMark(1 << (c.masqueradeBit ?? 14));

/** NodePortAddresses: the CIDRs NodePorts answer on, or all local addresses. */
export class NodePortAddresses {
  readonly cidrs: string[];

  constructor(spec: readonly string[] | "primary" | undefined, nodeIPs: readonly string[]) {
    const list = spec === "primary" ? ["primary"] : (spec ?? []);
    this.cidrs = [];
    for (const s of list) {
      if (s === "primary") {
        if (nodeIPs[0] !== undefined) this.cidrs.push(`${nodeIPs[0]}/32`);
      } else if (!s.includes(":")) this.cidrs.push(s);
    }
  }

  /** No CIDRs: NodePorts on every local address. */
  matchAll(): boolean {
    return this.cidrs.length === 0;
  }

  /** ContainsIPv4Loopback: 127.0.0.1 is a NodePort address. */
  containsIPv4Loopback(): boolean {
    return this.matchAll() || this.matches("127.0.0.1");
  }

  matches(ip: string): boolean {
    const a = parseIpv4(ip);
    if (!a.ok) return false;
    return this.cidrs.some((c) => {
      const p = parseCidr(c, false);
      return p.ok && cidrContains(p.value, a.value);
    });
  }

  /** GetNodeIPs: the local addresses inside the CIDRs, lo first as interfaces are listed. */
  nodeIPs(local: readonly string[]): string[] {
    return ["127.0.0.1", ...local].filter((ip) => this.matches(ip));
  }
}

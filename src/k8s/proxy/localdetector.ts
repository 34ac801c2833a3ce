// How kube-proxy tells pod traffic from the rest (pkg/proxy/util/localdetector.go): by the cluster
// CIDR (--detect-local-mode=ClusterCIDR, the default when a cluster CIDR is set), the node's pod
// CIDR, the CNI bridge, or an interface name prefix; none when it cannot tell.

export type LocalTrafficDetector =
  | { mode: "ClusterCIDR" | "NodeCIDR"; cidr: string }
  | { mode: "BridgeInterface"; bridge: string }
  | { mode: "InterfaceNamePrefix"; prefix: string }
  | { mode: "None" };

export const isImplemented = (d: LocalTrafficDetector): boolean => d.mode !== "None";

/** IfLocal(): iptables arguments matching pod traffic. */
export function ifLocal(d: LocalTrafficDetector): string[] {
  switch (d.mode) {
    case "ClusterCIDR":
    case "NodeCIDR":
      return ["-s", d.cidr];
    case "BridgeInterface":
      return ["-i", d.bridge];
    case "InterfaceNamePrefix":
      return ["-i", `${d.prefix}+`];
    case "None":
      return [];
  }
}

/** IfNotLocal(): iptables arguments matching traffic not from pods. */
export function ifNotLocal(d: LocalTrafficDetector): string[] {
  const l = ifLocal(d);
  return l.length === 0 ? l : ["!", ...l];
}

/** IfLocalNFT(): the nftables expression matching pod traffic. */
export function ifLocalNft(d: LocalTrafficDetector): string {
  switch (d.mode) {
    case "ClusterCIDR":
    case "NodeCIDR":
      return `ip saddr ${d.cidr}`;
    case "BridgeInterface":
      return `iif ${d.bridge}`;
    case "InterfaceNamePrefix":
      return `iifname ${d.prefix}*`;
    case "None":
      return "";
  }
}

/** IfNotLocalNFT(): the nftables expression matching traffic not from pods. */
export function ifNotLocalNft(d: LocalTrafficDetector): string {
  switch (d.mode) {
    case "ClusterCIDR":
    case "NodeCIDR":
      return `ip saddr != ${d.cidr}`;
    case "BridgeInterface":
      return `iif != ${d.bridge}`;
    case "InterfaceNamePrefix":
      return `iifname != ${d.prefix}*`;
    case "None":
      return "";
  }
}

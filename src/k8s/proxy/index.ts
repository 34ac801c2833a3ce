// kube-proxy: the rules it writes (iptables and nftables modes) and the controller that keeps every node's in step with the cluster.
export * from "./config.js";
export * from "./conntrack.js";
export * from "./iptables.js";
export * from "./iptables-jumps.js";
export * from "./iptables-proxier.js";
export * from "./kubeproxy.js";
export * from "./localdetector.js";
export * from "./names.js";
export * from "./nft-print.js";
export * from "./nftables.js";
export * from "./servicemap.js";
export * from "./sha256.js";
export * from "./textwriter.js";

// The Kubernetes layer's public surface.
export * from "./cluster/cluster.js";
export * from "./cluster/endpoints.js";
export * from "./cluster/node.js";
export * from "./cluster/pod.js";
export * from "./cni/bridge.js";
export * from "./cni/flannel.js";
export * from "./cni/flannel-masq.js";
export * from "./cni/ipam.js";
export * from "./config.js";
export * from "./dns/index.js";
export * from "./ingress/index.js";
export * from "./manifest/index.js";
export * from "./model.js";
export * from "./proxy/index.js";
export * from "./split.js";

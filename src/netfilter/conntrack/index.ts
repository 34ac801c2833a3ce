// Connection tracking and NAT: the public surface of src/netfilter/conntrack.
export * from "./br_netfilter.js";
export * from "./core.js";
export * from "./dump.js";
export * from "./masquerade.js";
export * from "./nat.js";
export * from "./nat_proto.js";
export * from "./proto.js";
export * from "./proto_tcp.js";
export * from "./table.js";
export * from "./tuple.js";

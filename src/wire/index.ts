// The wire layer's public surface: one namespace per protocol (ethernet.parse, ipv4.decrementTtl …),
// plus addresses, checksums and parse errors at the top level. One line per file, sorted by path.

export * from "./addr.js";
export * as arp from "./arp.js";
export * from "./checksum.js";
export * from "./errors.js";
export * as ethernet from "./ethernet.js";
export * as icmp from "./icmp.js";
export * as ipv4 from "./ipv4.js";
export * as tcp from "./tcp.js";
export * as udp from "./udp.js";
export * as vxlan from "./vxlan.js";

// The real underlay: a node's eth0 on a node:dgram socket, and the driver that keeps virtual time
// in step with the wall clock while it is used.
export * from "./realtime.js";
export * from "./traffic.js";
export * from "./udp-link.js";

export * from "./builder.js";
export * from "./encap.js";
export * from "./packet.js";

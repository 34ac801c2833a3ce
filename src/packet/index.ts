export * from "./builder.js";
export * from "./encap.js";
export * from "./flowhash.js";
export * from "./packet.js";

export * from "./packet.js";

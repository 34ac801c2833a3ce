export * from "./clock.js";
export * from "./drop.js";
export * from "./faults.js";
export * from "./rng.js";
export * from "./scheduler.js";
export * from "./sim.js";
export * from "./trace.js";

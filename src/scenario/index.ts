// The scenario layer's public surface: scenario files → a run → outcomes, captures, traces,
// dumps and diagrams.
export * from "./apps.js";
export * from "./dataplane.js";
export * from "./diagram/index.js";
export * from "./dump.js";
export * from "./duration.js";
export * from "./frames.js";
export * from "./load.js";
export * from "./model.js";
export * from "./packet-trace.js";
export { DEFAULT_TIMEOUT, STEP_COMMON, TOP_FIELDS } from "./parse.js";
export * from "./refs.js";
export * from "./report.js";
export * from "./runtime.js";
export * from "./steps/index.js";
export * from "./trace-format.js";
export { deletePod as deleteScenarioPod, findDeployment, scaleReplicaSet } from "./workloads.js";
export { didYouMean, nearest } from "./yaml.js";

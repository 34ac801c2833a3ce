// Kubernetes manifests: parsing, validation, label selectors, workload expansion and the
// checks against the cluster config. The runtime (src/k8s) builds on what this produces.

export { BUILTIN_NAMESPACES, crossCheck } from "./crosscheck.js";
export {
  type Diagnostic,
  type DiagnosticCode,
  formatDiagnostic,
  formatDiagnostics,
  formatPosition,
  hasErrors,
  isError,
  type Position,
  type Severity,
  sortDiagnostics,
} from "./diagnostics.js";
export {
  type ExpandOptions,
  type Expansion,
  expandWorkloads,
  generateName,
  NAME_ALPHABET,
  POD_TEMPLATE_HASH_LABEL,
  podTemplateHash,
  replicaSetForDeployment,
  type SchedulingNode,
  safeEncodeString,
} from "./expand.js";
export { LABEL_SERVICE_NAME } from "./kinds/endpointslice.js";
export { KINDS } from "./kinds/index.js";
export { DEFAULT_CLIENT_IP_TIMEOUT, NODE_PORT_MAX, NODE_PORT_MIN } from "./kinds/service.js";
export { type LoadOptions, listManifestFiles, loadManifests } from "./load.js";
export { checkLabelKey, checkLabelValue, checkName, checkPortName, type NameRule } from "./names.js";
export { fieldPosition, namePosition, type ParseOptions, type ParseResult, parseManifests } from "./parse.js";
export {
  formatSelector,
  isEmptySelector,
  type Labels,
  matchesLabels,
  matchesRequirement,
  matchesSelector,
  selectorFromLabels,
} from "./selector.js";
export { byKind, type ManifestSet } from "./set.js";

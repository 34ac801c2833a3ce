// The YAML-position machinery of the manifest reader, reused for scenario files so that a
// scenario's errors read exactly like a manifest's (file:line:col, field path, hint).
// These live inside src/k8s/manifest and are not (yet) part of the k8s layer's index.ts; this file
// is the one place the scenario layer reaches in for them.

export { Cursor, type ReadContext } from "../k8s/manifest/cursor.js";
export { readEnum } from "../k8s/manifest/kinds/values.js";
export { removeDuplicates, YAML_OPTIONS } from "../k8s/manifest/parse.js";
export { didYouMean, nearest, oneOf } from "../k8s/manifest/suggest.js";

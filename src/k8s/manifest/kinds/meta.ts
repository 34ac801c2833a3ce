// metadata: name, namespace, labels and annotations, validated as the API server does
// (apimachinery's ValidateObjectMeta), with the namespace defaulted.

import type { ObjectMeta } from "../../model.js";
import type { Cursor } from "../cursor.js";
import { checkLabelKey, checkLabelValue, checkName, type NameRule } from "../names.js";

export const META_FIELDS = [
  "name",
  "generateName",
  "namespace",
  "labels",
  "annotations",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "ownerReferences",
  "finalizers",
  "managedFields",
  "selfLink",
] as const;

export interface MetaRules {
  namespaced: boolean;
  nameRule: NameRule;
  defaultNamespace: string;
}

/** Reads `metadata` of the object at `obj`; undefined when there is no usable name. */
export function readMeta(obj: Cursor, kind: string, rules: MetaRules): ObjectMeta | undefined {
  const m = obj.get("metadata");
  if (!m.present) {
    m.missing("a map with at least a name", "add `metadata: {name: my-object}`");
    return undefined;
  }
  if (!m.isMap()) return undefined;

  let namespace = "";
  const ns = m.get("namespace");
  if (rules.namespaced) {
    namespace = ns.str() ?? rules.defaultNamespace;
    const problem = checkName(namespace, "dns1123-label");
    if (problem && ns.present) ns.error("invalid-name", problem.message, { hint: problem.hint });
  } else if (ns.present) {
    ns.warn("ignored-field", `${kind} is cluster-scoped; its namespace is ignored`);
  }

  const nameCursor = m.get("name");
  if (!nameCursor.present && m.get("generateName").present) {
    m.get("generateName").error("invalid-value", "generateName is not supported (kubewire needs fixed names)", {
      hint: "set metadata.name instead",
    });
    return undefined;
  }
  const name = nameCursor.requiredStr("a name");
  if (name === undefined) {
    m.known(META_FIELDS);
    return undefined;
  }
  obj.ctx.object = namespace ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
  m.known(META_FIELDS);
  const problem = checkName(name, rules.nameRule);
  if (problem) nameCursor.error("invalid-name", problem.message, { hint: problem.hint });

  return {
    name,
    namespace,
    labels: readLabels(m.get("labels")) ?? {},
    annotations: m.get("annotations").stringMap() ?? {},
  };
}

/** A map of labels, each key and value checked. */
export function readLabels(c: Cursor): Record<string, string> | undefined {
  const labels = c.stringMap("a map of labels (strings to strings)");
  if (!labels) return undefined;
  for (const [k, v] of Object.entries(labels)) {
    const problem = checkLabelKey(k) ?? checkLabelValue(v);
    if (problem) c.get(k).error("invalid-label", problem, { at: checkLabelKey(k) ? "key" : "value" });
  }
  return labels;
}

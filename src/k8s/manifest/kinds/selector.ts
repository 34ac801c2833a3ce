// Reading selectors: metav1.LabelSelector (Deployments, ReplicaSets) and the plain map of a
// Service, validated as ValidateLabelSelector and ValidateService do.

import type { LabelSelector, LabelSelectorRequirement, SelectorOperator } from "../../model.js";
import type { Cursor } from "../cursor.js";
import { checkLabelKey, checkLabelValue } from "../names.js";
import { readEnum } from "./values.js";

const OPERATORS: readonly SelectorOperator[] = ["In", "NotIn", "Exists", "DoesNotExist"];

/** spec.selector of a Deployment or ReplicaSet: {matchLabels, matchExpressions}. */
export function readLabelSelector(c: Cursor): LabelSelector | undefined {
  if (!c.present) return undefined;
  if (c.kind !== "map") {
    c.error("invalid-selector", `${c.describe()} is not a label selector (expected a map with matchLabels and/or matchExpressions)`);
    return undefined;
  }
  const errorsAtStart = c.ctx.errors;
  const keys = c.keys();
  if (keys.length > 0 && !keys.includes("matchLabels") && !keys.includes("matchExpressions")) {
    const plain = keys.map((k) => `${k}: ${c.get(k).describe()}`).join(", ");
    c.error("invalid-selector", "a label selector here needs matchLabels or matchExpressions", {
      hint: `write \`selector: {matchLabels: {${plain}}}\` (a plain map is the Service form)`,
    });
    return undefined;
  }
  c.known(["matchLabels", "matchExpressions"]);
  const ml = c.get("matchLabels");
  let matchLabels: Record<string, string> = {};
  if (ml.present && ml.kind !== "map")
    ml.error("invalid-selector", `${ml.describe()} is not a map of label keys to strings`);
  else if (ml.present) matchLabels = readSelectorMap(ml) ?? {};
  const matchExpressions: LabelSelectorRequirement[] = [];
  const exprs = c.get("matchExpressions");
  if (exprs.isSeq()) {
    for (const e of exprs.items()) {
      const r = readRequirement(e);
      if (r) matchExpressions.push(r);
    }
  }
  return c.ctx.errors > errorsAtStart ? undefined : { matchLabels, matchExpressions };
}

function readRequirement(e: Cursor): LabelSelectorRequirement | undefined {
  if (!e.isMap()) return undefined;
  e.known(["key", "operator", "values"]);
  const keyCursor = e.get("key");
  const key = keyCursor.requiredStr("a label key");
  const opCursor = e.get("operator");
  if (!opCursor.present) opCursor.missing(`one of ${OPERATORS.join(", ")}`);
  const operator = readEnum(opCursor, OPERATORS, "a selector operator");
  const valuesCursor = e.get("values");
  const values = valuesCursor.present ? (valuesCursor.strings() ?? []) : [];
  if (key !== undefined) {
    const problem = checkLabelKey(key);
    if (problem) keyCursor.error("invalid-label", problem);
  }
  valuesCursor.items().forEach((v, i) => {
    const problem = checkLabelValue(values[i] ?? "");
    if (problem && v.kind === "string") v.error("invalid-label", problem);
  });
  if (key === undefined || operator === undefined) return undefined;
  if ((operator === "In" || operator === "NotIn") && values.length === 0) {
    valuesCursor.error("invalid-selector", `operator ${operator} needs at least one value`, {
      hint: `add values: [...], or use ${operator === "In" ? "Exists" : "DoesNotExist"}`,
    });
    return undefined;
  }
  if ((operator === "Exists" || operator === "DoesNotExist") && values.length > 0) {
    valuesCursor.error("invalid-selector", `operator ${operator} takes no values`, {
      hint: `remove values, or use ${operator === "Exists" ? "In" : "NotIn"}`,
    });
    return undefined;
  }
  return { key, operator, values };
}

/**
 * spec.selector of a Service: a plain map of label keys to values. A Deployment-style selector
 * here is a common mistake, so it gets its own hint. An empty map means no selector.
 */
export function readServiceSelector(c: Cursor): Record<string, string> | undefined {
  if (!c.present) return undefined;
  if (c.kind !== "map") {
    c.error("invalid-selector", `${c.describe()} is not a selector (expected a map of label keys to string values)`, {
      hint: "write it as `selector: {app: web}`",
    });
    return undefined;
  }
  for (const [k, v] of c.entries()) {
    if ((k === "matchLabels" || k === "matchExpressions") && (v.kind === "map" || v.kind === "seq")) {
      v.error("invalid-selector", `a Service selector is a plain map of labels, not a ${k} selector`, {
        at: "key",
        hint: k === "matchLabels" ? "move the labels up: `selector: {app: web}`" : "Services only select by equality; use labels",
      });
      return undefined;
    }
  }
  const labels = readSelectorMap(c);
  return labels && Object.keys(labels).length > 0 ? labels : undefined;
}

/** A map that must hold only strings (a selector): non-strings are invalid-selector errors. */
function readSelectorMap(c: Cursor): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let ok = true;
  for (const [k, v] of c.entries()) {
    if (v.kind === "string" || v.kind === "null") {
      out[k] = v.kind === "null" ? "" : String(v.scalar);
      const problem = checkLabelKey(k) ?? checkLabelValue(out[k]);
      if (problem) v.error("invalid-label", problem, { at: checkLabelKey(k) ? "key" : "value" });
      continue;
    }
    ok = false;
    const hint = v.kind === "number" || v.kind === "boolean" ? `quote it: ${k}: "${v.describe()}"` : undefined;
    v.error("invalid-selector", `${v.describe()} is not a string (a selector is a map of label keys to strings)`, { hint });
  }
  return ok ? out : undefined;
}

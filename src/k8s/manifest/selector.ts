// Label selector matching, as k8s.io/apimachinery/pkg/labels does it: matchLabels and
// matchExpressions are ANDed; NotIn and DoesNotExist match objects without the key.

import type { LabelSelector, LabelSelectorRequirement } from "../model.js";

export type Labels = Readonly<Record<string, string>>;

/** Does one requirement hold for these labels? */
export function matchesRequirement(r: LabelSelectorRequirement, labels: Labels): boolean {
  const has = Object.hasOwn(labels, r.key);
  switch (r.operator) {
    case "In":
      return has && r.values.includes(labels[r.key]);
    case "NotIn":
      return !has || !r.values.includes(labels[r.key]);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
  }
}

/** metav1.LabelSelector semantics: an empty selector matches everything. */
export function matchesSelector(selector: LabelSelector, labels: Labels): boolean {
  return (
    matchesLabels(selector.matchLabels, labels) && selector.matchExpressions.every((r) => matchesRequirement(r, labels))
  );
}

/** A Service-style selector (a plain map): every key present with the same value. */
export function matchesLabels(selector: Labels, labels: Labels): boolean {
  for (const [k, v] of Object.entries(selector)) if (!Object.hasOwn(labels, k) || labels[k] !== v) return false;
  return true;
}

/** A plain map as a LabelSelector. */
export const selectorFromLabels = (labels: Labels): LabelSelector => ({ matchLabels: { ...labels }, matchExpressions: [] });

export const isEmptySelector = (s: LabelSelector): boolean =>
  Object.keys(s.matchLabels).length === 0 && s.matchExpressions.length === 0;

/** The selector as kubectl prints it: `app=web,tier in (api,db),!canary`. */
export function formatSelector(s: LabelSelector | Labels): string {
  const sel = "matchLabels" in s && typeof s.matchLabels === "object" ? (s as LabelSelector) : selectorFromLabels(s as Labels);
  const parts = Object.entries(sel.matchLabels).map(([k, v]) => `${k}=${v}`);
  for (const r of sel.matchExpressions) {
    if (r.operator === "Exists") parts.push(r.key);
    else if (r.operator === "DoesNotExist") parts.push(`!${r.key}`);
    else parts.push(`${r.key} ${r.operator === "In" ? "in" : "notin"} (${r.values.join(",")})`);
  }
  return parts.join(",");
}

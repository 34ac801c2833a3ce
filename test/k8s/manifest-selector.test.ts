// Label selector matching, as k8s.io/apimachinery/pkg/labels: matchLabels and matchExpressions
// ANDed; NotIn and DoesNotExist match objects without the key; an empty selector matches all.

import { describe, expect, it } from "vitest";
import {
  formatSelector,
  matchesLabels,
  matchesRequirement,
  matchesSelector,
  parseManifests,
  selectorFromLabels,
} from "../../src/k8s/manifest/index.js";
import type { Deployment, LabelSelector } from "../../src/k8s/model.js";

const web = { app: "web", tier: "frontend", track: "stable" };
const db = { app: "db", tier: "backend" };
const bare = {};

describe("requirements", () => {
  it("In: the key is present with one of the values", () => {
    const r = { key: "tier", operator: "In" as const, values: ["frontend", "edge"] };
    expect([web, db, bare].map((l) => matchesRequirement(r, l))).toEqual([true, false, false]);
  });

  it("NotIn: the key is absent or has none of the values", () => {
    const r = { key: "tier", operator: "NotIn" as const, values: ["frontend"] };
    expect([web, db, bare].map((l) => matchesRequirement(r, l))).toEqual([false, true, true]);
  });

  it("Exists and DoesNotExist look at the key only", () => {
    expect([web, db].map((l) => matchesRequirement({ key: "track", operator: "Exists", values: [] }, l))).toEqual([true, false]);
    expect([web, db].map((l) => matchesRequirement({ key: "track", operator: "DoesNotExist", values: [] }, l))).toEqual([
      false,
      true,
    ]);
  });

  it("an empty label value is a value like any other", () => {
    const labels = { "node-role.kubernetes.io/control-plane": "" };
    expect(matchesRequirement({ key: "node-role.kubernetes.io/control-plane", operator: "Exists", values: [] }, labels)).toBe(true);
    expect(matchesLabels({ "node-role.kubernetes.io/control-plane": "" }, labels)).toBe(true);
  });
});

describe("selectors", () => {
  it("ANDs matchLabels and every expression", () => {
    const s: LabelSelector = {
      matchLabels: { app: "web" },
      matchExpressions: [
        { key: "tier", operator: "In", values: ["frontend"] },
        { key: "canary", operator: "DoesNotExist", values: [] },
      ],
    };
    expect(matchesSelector(s, web)).toBe(true);
    expect(matchesSelector(s, { ...web, canary: "true" })).toBe(false);
    expect(matchesSelector(s, { ...web, tier: "backend" })).toBe(false);
    expect(matchesSelector(s, db)).toBe(false);
  });

  it("an empty LabelSelector matches everything", () => {
    expect(matchesSelector({ matchLabels: {}, matchExpressions: [] }, bare)).toBe(true);
  });

  it("a Service-style map needs every key with the same value", () => {
    expect(matchesLabels({ app: "web" }, web)).toBe(true);
    expect(matchesLabels({ app: "web", tier: "backend" }, web)).toBe(false);
    expect(matchesLabels({ app: "web" }, bare)).toBe(false);
    expect(matchesSelector(selectorFromLabels({ app: "db" }), db)).toBe(true);
  });

  it("does not match inherited object properties", () => {
    expect(matchesLabels({ constructor: "x" }, {})).toBe(false);
    expect(matchesRequirement({ key: "toString", operator: "Exists", values: [] }, {})).toBe(false);
  });

  it("prints like kubectl", () => {
    expect(
      formatSelector({
        matchLabels: { app: "web" },
        matchExpressions: [
          { key: "tier", operator: "In", values: ["a", "b"] },
          { key: "env", operator: "NotIn", values: ["dev"] },
          { key: "track", operator: "Exists", values: [] },
          { key: "canary", operator: "DoesNotExist", values: [] },
        ],
      }),
    ).toBe("app=web,tier in (a,b),env notin (dev),track,!canary");
    expect(formatSelector({ app: "web", tier: "db" })).toBe("app=web,tier=db");
  });
});

describe("selectors read from manifests", () => {
  it("reads matchExpressions and accepts a Deployment they select", () => {
    const r = parseManifests(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector:
    matchLabels: {app: web}
    matchExpressions:
    - {key: tier, operator: In, values: [frontend, edge]}
    - {key: track, operator: NotIn, values: [canary]}
    - {key: legacy, operator: DoesNotExist}
  template:
    metadata: {labels: {app: web, tier: edge}}
    spec: {containers: [{name: web}]}
`);
    expect(r.diagnostics).toEqual([]);
    const d = r.objects[0] as Deployment;
    expect(d.spec.selector.matchExpressions).toEqual([
      { key: "tier", operator: "In", values: ["frontend", "edge"] },
      { key: "track", operator: "NotIn", values: ["canary"] },
      { key: "legacy", operator: "DoesNotExist", values: [] },
    ]);
    expect(matchesSelector(d.spec.selector, d.spec.template.metadata.labels)).toBe(true);
  });
});

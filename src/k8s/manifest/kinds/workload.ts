// apps/v1 Deployment and ReplicaSet: replicas, selector and pod template, validated as
// ValidateDeploymentSpec / ValidateReplicaSetSpec do (a selector must select its template).

import type { Deployment, DeploymentSpec, ObjectMeta, ReplicaSet } from "../../model.js";
import type { Cursor } from "../cursor.js";
import { formatSelector, isEmptySelector, matchesSelector } from "../selector.js";
import type { Base } from "./base.js";
import { readPodTemplate } from "./pod.js";
import { readLabelSelector } from "./selector.js";

const DEPLOYMENT_SPEC_FIELDS = [
  "replicas",
  "selector",
  "template",
  "strategy",
  "minReadySeconds",
  "revisionHistoryLimit",
  "paused",
  "progressDeadlineSeconds",
] as const;
const REPLICASET_SPEC_FIELDS = ["replicas", "minReadySeconds", "selector", "template"] as const;

export function readDeployment(c: Cursor, metadata: ObjectMeta, base: Base): Deployment | undefined {
  const spec = readWorkloadSpec(c, "Deployment", DEPLOYMENT_SPEC_FIELDS);
  return spec && { ...base, kind: "Deployment", metadata, spec };
}

export function readReplicaSet(c: Cursor, metadata: ObjectMeta, base: Base): ReplicaSet | undefined {
  const spec = readWorkloadSpec(c, "ReplicaSet", REPLICASET_SPEC_FIELDS);
  return spec && { ...base, kind: "ReplicaSet", metadata, spec };
}

function readWorkloadSpec(c: Cursor, kind: string, fields: readonly string[]): DeploymentSpec | undefined {
  const s = c.get("spec");
  if (!s.present) {
    s.missing("replicas, selector and template");
    return undefined;
  }
  if (!s.isMap()) return undefined;
  s.known(fields);
  const replicas = s.get("replicas").int("a replica count", 0, 2 ** 31 - 1) ?? 1;
  const templateCursor = s.get("template");
  const template = readPodTemplate(templateCursor);
  const selectorCursor = s.get("selector");
  if (!selectorCursor.present) {
    const labels = template ? formatLabelsAsYaml(template.metadata.labels) : "{app: web}";
    selectorCursor.missing("a label selector (apps/v1 requires one)", `add selector: {matchLabels: ${labels}}`);
    return undefined;
  }
  const selector = readLabelSelector(selectorCursor);
  if (!selector || !template) return undefined;
  if (isEmptySelector(selector)) {
    selectorCursor.error("invalid-selector", `an empty selector is invalid for a ${kind}`, {
      hint: "select the pod template's labels with matchLabels",
    });
    return undefined;
  }
  if (kind === "Deployment" && template.spec.restartPolicy !== "Always")
    templateCursor
      .get("spec")
      .get("restartPolicy")
      .error("invalid-value", `"${template.spec.restartPolicy}" is not supported in a Deployment (expected Always)`);
  if (!matchesSelector(selector, template.metadata.labels)) {
    const meta = templateCursor.get("metadata");
    const at = meta.get("labels").present ? meta.get("labels") : meta.present ? meta : templateCursor;
    const labels = formatSelector(template.metadata.labels) || "none";
    at.report(
      "error",
      "selector-mismatch",
      `selector ${formatSelector(selector)} does not match the template labels (${labels}); the API server rejects this`,
      {
        path: templateCursor.get("metadata").get("labels").path,
        hint: `give spec.template.metadata.labels the labels spec.selector asks for: ${formatLabelsAsYaml(selector.matchLabels)}`,
      },
    );
    return undefined;
  }
  return { replicas, selector, template };
}

const formatLabelsAsYaml = (labels: Record<string, string>): string =>
  `{${Object.entries(labels)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ")}}`;

// Manifests from YAML (or JSON) text: every document read into a typed object, with the
// API server's defaults, or into diagnostics. An object with an error is left out, as the API
// server would reject it; unknown kinds are skipped with a warning.

import { type Document, isMap, isScalar, LineCounter, parseAllDocuments } from "yaml";
import type { K8sObject } from "../model.js";
import { objectRef } from "../model.js";
import { Cursor, type ReadContext } from "./cursor.js";
import type { Diagnostic, Position } from "./diagnostics.js";
import { KINDS, preferredApiVersion, splitApiVersion } from "./kinds/index.js";
import { readMeta } from "./kinds/meta.js";
import { nearest } from "./suggest.js";

export interface ParseOptions {
  /** The name diagnostics give the text (default "<inline>"). */
  file?: string;
  /** The namespace of namespaced objects that give none, as `kubectl apply -n` (default "default"). */
  defaultNamespace?: string;
}

export interface ParseResult {
  /** The valid objects, in the order they were written. */
  objects: K8sObject[];
  diagnostics: Diagnostic[];
}

/**
 * YAML 1.1, as kubectl reads manifests (sigs.k8s.io/yaml over go-yaml): `yes`/`on` are booleans,
 * `<<` merges maps. Positions come from the LineCounter; duplicate keys are errors.
 */
export const YAML_OPTIONS = (lineCounter: LineCounter) =>
  ({ version: "1.1", lineCounter, prettyErrors: false, uniqueKeys: true }) as const;

/** API groups kubewire models: a near-miss kind in one of these is a typo, not a CRD. */
const MODELLED_GROUPS = new Set(Object.values(KINDS).map((k) => k.group));

/** Where each field of each parsed object is, for diagnostics found after parsing. */
const fieldPositions = new WeakMap<K8sObject, ReadonlyMap<string, Position>>();

/**
 * Where a field of a parsed object was written (`spec.selector`); the nearest written parent
 * when the field itself was not, and the object's start for objects kubewire generated.
 */
export function fieldPosition(o: K8sObject, path: string): Position {
  const positions = fieldPositions.get(o);
  if (!positions) return o.source;
  for (let p = path; p !== ""; p = parentPath(p)) {
    const at = positions.get(p);
    if (at) return at;
  }
  return o.source;
}

export const namePosition = (o: K8sObject): Position => fieldPosition(o, "metadata.name");

function parentPath(p: string): string {
  const parent = p.replace(/(\.[^.[]+|\[[^\]]*\])$/, "");
  return parent === p ? "" : parent;
}

/** Parses manifests from text: one or more YAML documents, or JSON; `kind: List` is unpacked. */
export function parseManifests(text: string, opts: ParseOptions = {}): ParseResult {
  const r = readManifestText(text, opts.file ?? "<inline>", opts.defaultNamespace ?? "default");
  return { objects: removeDuplicates(r.objects, r.diagnostics), diagnostics: r.diagnostics };
}

/** Reads one file's text, without the duplicate check (done once over all files). */
export function readManifestText(text: string, file: string, defaultNamespace: string): ParseResult {
  const lineCounter = new LineCounter();
  const diagnostics: Diagnostic[] = [];
  const objects: K8sObject[] = [];
  const docs = parseAllDocuments(text, YAML_OPTIONS(lineCounter));
  docs.forEach((document, i) => {
    const doc = i + 1;
    for (const e of [...document.errors, ...document.warnings]) {
      const { line, col } = lineCounter.linePos(e.pos[0]);
      diagnostics.push({
        file,
        doc,
        line,
        col,
        severity: document.errors.includes(e) ? "error" : "warning",
        code: "yaml-syntax",
        path: "",
        message: `YAML: ${e.message}`,
      });
    }
    if (document.errors.length > 0) return;
    const contents = document.contents;
    if (contents === null || (isScalar(contents) && contents.value === null)) return; // an empty document
    const ctx: ReadContext = { file, doc, lineCounter, document: document as Document, diagnostics, errors: 0 };
    const root = Cursor.root(ctx, contents, document.range[0]);
    for (const o of readDocument(root, defaultNamespace)) objects.push(o);
  });
  return { objects, diagnostics };
}

function readDocument(root: Cursor, defaultNamespace: string): K8sObject[] {
  if (!isMap(root.node)) {
    root.error("not-an-object", `${root.describe()} is not a Kubernetes object (expected a map with apiVersion, kind and metadata)`);
    return [];
  }
  if (root.get("kind").str() === "List" && root.get("apiVersion").str() === "v1") {
    root.known(["apiVersion", "kind", "metadata", "items"]);
    const out: K8sObject[] = [];
    const items = root.get("items");
    if (items.isSeq()) for (const item of items.items()) {
      const o = readObject(Cursor.root(root.ctx, item.node, item.offset), defaultNamespace);
      if (o) out.push(o);
    }
    return out;
  }
  const o = readObject(root, defaultNamespace);
  return o ? [o] : [];
}

function readObject(c: Cursor, defaultNamespace: string): K8sObject | undefined {
  const ctx = c.ctx;
  ctx.object = undefined;
  if (!c.isMap()) return undefined;
  const errorsAtStart = ctx.errors;
  const apiVersionCursor = c.get("apiVersion");
  const kindCursor = c.get("kind");
  const apiVersion = apiVersionCursor.requiredStr("an API version such as v1 or apps/v1");
  const kind = kindCursor.requiredStr("a kind such as Deployment or Service");
  if (apiVersion === undefined || kind === undefined) return undefined;

  const info = KINDS[kind];
  const { group, version } = splitApiVersion(apiVersion);
  if (info && info.group !== group && isKubernetesGroup(group)) {
    const preferred = preferredApiVersion(info);
    apiVersionCursor.error("api-version", `${kind} is not served at ${apiVersion} (expected ${preferred})`, {
      hint: `use apiVersion: ${preferred}`,
    });
    return undefined;
  }
  if (!info || info.group !== group) {
    const guess = info ? undefined : nearest(kind, Object.keys(KINDS));
    if (guess && MODELLED_GROUPS.has(group) && KINDS[guess].group === group) {
      kindCursor.error("unknown-kind", `"${kind}" is not a kind of ${apiVersion} (did you mean "${guess}"?)`);
      return undefined;
    }
    kindCursor.warn("unknown-kind", `${apiVersion} ${kind} is not modelled by kubewire; skipped`);
    return undefined;
  }
  if (!info.versions.includes(version)) {
    const preferred = preferredApiVersion(info);
    apiVersionCursor.error("api-version", `${kind} is not served at ${apiVersion} (expected ${preferred})`, {
      hint: `use apiVersion: ${preferred}`,
    });
    return undefined;
  }
  ctx.object = kind;
  c.known(info.topFields);
  const metadata = readMeta(c, kind, { namespaced: info.namespaced, nameRule: info.nameRule, defaultNamespace });
  if (!metadata) return undefined;
  const source = c.position();
  const o = info.read(c, metadata, { apiVersion, source });
  if (!o || ctx.errors > errorsAtStart) return undefined;
  fieldPositions.set(o, "positions" in o ? o.positions : c.positions());
  return o;
}

/** Groups the Kubernetes project owns: a known kind in one of them is a wrong version, not a CRD. */
const isKubernetesGroup = (g: string): boolean => g === "" || g === "apps" || g === "extensions" || g.endsWith(".k8s.io");

/** Reports each object defined twice (same kind, namespace and name) and keeps the first. */
export function removeDuplicates(objects: readonly K8sObject[], diagnostics: Diagnostic[]): K8sObject[] {
  const first = new Map<string, K8sObject>();
  const out: K8sObject[] = [];
  for (const o of objects) {
    const key = `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
    const earlier = first.get(key);
    if (!earlier) {
      first.set(key, o);
      out.push(o);
      continue;
    }
    const at = namePosition(o);
    diagnostics.push({
      ...at,
      severity: "error",
      code: "duplicate-object",
      object: objectRef(o),
      path: "metadata.name",
      message: `${objectRef(o)} is already defined`,
      related: namePosition(earlier),
      hint: "each kind, namespace and name may appear once; rename or remove one of them",
    });
  }
  return out;
}

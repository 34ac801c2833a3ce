// Reading a scenario file: the top-level fields, the cluster (inline under `cluster:`, or
// `clusterFile:`), the manifest sources and the traffic steps, each step read by its type. Every
// problem is a diagnostic with the file, line, column and field path, as for manifests.

import { basename, dirname } from "node:path";
import { type Document, isMap, isScalar, LineCounter, parseAllDocuments, Scalar } from "yaml";
import { type ClusterConfig, checkName, type Diagnostic, readClusterConfigNode } from "../k8s/index.js";
import { parseDuration } from "./duration.js";
import { APPS, type AppsMode, code, SCENARIO_API_VERSION, type Step } from "./model.js";
import { STEP_TYPES, stepType } from "./steps/index.js";
import { Cursor, nearest, type ReadContext, readEnum, YAML_OPTIONS } from "./yaml.js";

export const TOP_FIELDS = ["apiVersion", "kind", "name", "description", "cluster", "clusterFile", "manifests", "apps", "timeout", "traffic"];
/** Fields every step may have besides its type key. */
export const STEP_COMMON = ["name", "expect", "timeout"];
export const DEFAULT_TIMEOUT = parseDuration("5s")!;

/** Where manifests come from: a path (file or folder), or YAML written in the scenario. */
export type ManifestSource =
  | { kind: "path"; path: string; line: number; col: number }
  /** `text` reads at `file`:`line`+n:`col`+c for its line n+1, column c+1 (a block scalar). */
  | { kind: "text"; text: string; line: number; col: number }
  /** One object written as a map: `text` is padded so its positions are the scenario file's. */
  | { kind: "object"; text: string };

export interface ScenarioDraft {
  file: string;
  name: string;
  description?: string;
  config?: ClusterConfig;
  clusterFile?: { path: string; line: number; col: number };
  manifests: ManifestSource[];
  apps: AppsMode;
  timeout: number;
  steps: Step[];
}

export interface DraftResult {
  draft?: ScenarioDraft;
  diagnostics: Diagnostic[];
}

/** Reads a scenario from its text; relative paths in it are kept as written (load.ts resolves them). */
export function parseScenarioText(text: string, file: string): DraftResult {
  const lineCounter = new LineCounter();
  const diagnostics: Diagnostic[] = [];
  const docs = parseAllDocuments(text, YAML_OPTIONS(lineCounter));
  for (const d of docs)
    for (const e of d.errors) {
      const { line, col } = lineCounter.linePos(e.pos[0]);
      diagnostics.push({ file, doc: 0, line, col, severity: "error", code: "yaml-syntax", path: "", message: `YAML: ${e.message.split("\n")[0]}` });
    }
  if (diagnostics.length > 0) return { diagnostics };
  const nonEmpty = docs.filter((d) => !(d.contents === null || (isScalar(d.contents) && d.contents.value === null)));
  if (nonEmpty.length !== 1) {
    const at = nonEmpty[1] ? lineCounter.linePos(nonEmpty[1].range[0]) : { line: 1, col: 1 };
    const message = nonEmpty.length === 0 ? "the file is empty (expected a kind: Scenario document)" : "expected one document (a kind: Scenario)";
    return { diagnostics: [{ file, doc: 0, ...at, severity: "error", code: "not-an-object", path: "", message }] };
  }
  const document = nonEmpty[0] as Document;
  const ctx: ReadContext = { file, doc: 0, lineCounter, document, diagnostics, errors: 0 };
  const root = Cursor.root(ctx, document.contents, 0);
  const draft = readScenario(root, text, lineCounter, document);
  // With errors the draft is still returned, so the manifests it names are read and checked too.
  return { draft, diagnostics };
}

function readScenario(c: Cursor, text: string, lineCounter: LineCounter, document: Document): ScenarioDraft | undefined {
  if (!c.isMap()) {
    if (!c.present) c.missing("a kind: Scenario map");
    return undefined;
  }
  const file = c.ctx.file;
  c.known(TOP_FIELDS);
  const api = c.get("apiVersion").requiredStr(SCENARIO_API_VERSION);
  if (api !== undefined && api !== SCENARIO_API_VERSION)
    c.get("apiVersion").error("api-version", `"${api}" is not a scenario version (expected ${SCENARIO_API_VERSION})`, { hint: `write apiVersion: ${SCENARIO_API_VERSION}` });
  const kind = c.get("kind").requiredStr("Scenario");
  if (kind !== undefined && kind !== "Scenario")
    c.get("kind").error("invalid-value", `"${kind}" is not Scenario`, {
      hint: kind === "Cluster" ? "this is a cluster config: a scenario refers to it with clusterFile:, or embeds it under cluster:" : "write kind: Scenario",
    });

  const nameCursor = c.get("name");
  const name = nameCursor.str() ?? defaultName(file);
  const problem = checkName(name, "dns1123-label");
  if (problem) nameCursor.error("invalid-name", `${problem.message} (the name is used for output file names)`, { hint: problem.hint });
  const description = c.get("description").str();

  const draft: ScenarioDraft = { file, name, description, manifests: [], apps: "echo", timeout: DEFAULT_TIMEOUT, steps: [] };
  const cluster = c.get("cluster");
  const clusterFile = c.get("clusterFile");
  if (cluster.present && clusterFile.present) clusterFile.error("invalid-value", "give either cluster: or clusterFile:, not both", { at: "key" });
  else if (cluster.present) {
    const r = readClusterConfigNode(cluster.node, { file, lineCounter, document, embedded: true, path: "cluster" }, c.ctx.diagnostics);
    if (r.config) draft.config = r.config;
    else c.ctx.errors++;
  } else if (clusterFile.present) {
    const p = clusterFile.str();
    if (p !== undefined) draft.clusterFile = { path: p, ...clusterFile.position() };
  } else c.get("cluster").missing("the cluster: inline (nodes, cni …) or clusterFile: a path to a kind: Cluster file", "add cluster: {nodes: [{name: node-1, address: 192.168.50.11}]}");

  const manifests = c.get("manifests");
  const items = manifests.kind === "seq" ? manifests.items() : manifests.present && manifests.kind !== "map" ? [manifests] : [];
  if (manifests.kind === "map") manifests.wrongType("a list of paths (files or folders) and inline YAML");
  for (const item of items) {
    const src = readManifestSource(item, text, lineCounter);
    if (src) draft.manifests.push(src);
  }

  const apps = c.get("apps");
  if (apps.present) draft.apps = readEnum(apps, APPS, "an apps mode") ?? "echo";
  const timeout = c.get("timeout");
  if (timeout.present) {
    const d = timeout.kind === "string" ? parseDuration(String(timeout.scalar)) : undefined;
    if (d === undefined) timeout.error(code("invalid-duration"), `${timeout.describe()} is not a duration (expected e.g. 5s or 500ms)`);
    else draft.timeout = d;
  }

  const traffic = c.get("traffic");
  if (traffic.present && traffic.isSeq()) for (const [i, item] of traffic.items().entries()) {
    const step = readStep(item, i, draft.timeout);
    if (step) draft.steps.push(step);
  }
  c.ctx.object = undefined;
  return draft;
}

/** The scenario's folder name for `…/NAME/scenario.yaml`, else the file's name without extension. */
function defaultName(file: string): string {
  const base = basename(file).replace(/\.(ya?ml|json)$/i, "");
  return base === "scenario" ? basename(dirname(file)) : base;
}

function readManifestSource(item: Cursor, text: string, lineCounter: LineCounter): ManifestSource | undefined {
  const node = item.node;
  if (isMap(node) && node.range) {
    // Padding keeps every line and column where it is in the scenario file.
    const { line, col } = lineCounter.linePos(node.range[0]);
    return { kind: "object", text: `${"\n".repeat(line - 1)}${" ".repeat(col - 1)}${text.slice(node.range[0], node.range[1])}` };
  }
  const s = item.str();
  if (s === undefined) return undefined;
  if (!s.includes("\n")) {
    if (s.trim() === "") return void item.error("invalid-value", "an empty path");
    return { kind: "path", path: s, ...item.position() };
  }
  const scalar = node as Scalar;
  if (scalar.type === Scalar.BLOCK_LITERAL || scalar.type === Scalar.BLOCK_FOLDED) {
    const start = text.indexOf("\n", scalar.range![0]) + 1;
    const firstLine = /^( *)\S/m.exec(text.slice(start));
    const { line } = lineCounter.linePos(start);
    return { kind: "text", text: s, line: line - 1, col: firstLine ? firstLine[1].length : 0 };
  }
  const { line, col } = item.position();
  return { kind: "text", text: s, line: line - 1, col: col - 1 };
}

function readStep(item: Cursor, i: number, timeout: number): Step | undefined {
  item.ctx.object = `step ${i + 1}`;
  if (!item.isMap()) return undefined;
  const keys = item.keys();
  const typeKeys = keys.filter((k) => !STEP_COMMON.includes(k));
  const known = STEP_TYPES.map((t) => t.type);
  for (const k of typeKeys) {
    if (stepType(k)) continue;
    const guess = nearest(k, [...known, ...STEP_COMMON]);
    if (guess && STEP_COMMON.includes(guess))
      item.get(k).error("unknown-field", `unknown field "${k}" (did you mean "${guess}"?)`, { at: "key" });
    else
      item.get(k).error(code("unknown-step"), `unknown step type "${k}"${guess ? ` (did you mean "${guess}"?)` : ""}`, {
        at: "key",
        hint: `step types: ${known.join(", ")}; every step may also have ${STEP_COMMON.join(", ")}`,
      });
  }
  const types = typeKeys.filter((k) => stepType(k));
  if (types.length === 0) {
    if (typeKeys.length === 0) item.error(code("unknown-step"), "the step does nothing: it needs a step type", { hint: `one of: ${known.join(", ")}` });
    return undefined;
  }
  if (types.length > 1) {
    item.get(types[1]).error(code("invalid-value"), `a step does one thing, and this one has ${types.join(" and ")}`, { at: "key", hint: "split it into one step per type" });
    return undefined;
  }
  const type = stepType(types[0])!;
  item.ctx.object = `step ${i + 1}, ${type.type}`;
  const expect = item.get("expect");
  const timeoutCursor = item.get("timeout");
  if (expect.present && !type.expects) expect.error("unknown-field", `a ${type.type} step has no expect:`, { at: "key", hint: type.synopsis });
  if (timeoutCursor.present && !type.timed) timeoutCursor.error("unknown-field", `a ${type.type} step has no timeout:`, { at: "key" });
  const errors = item.ctx.errors;
  const body = item.get(type.type);
  if (!body.present) {
    body.missing(type.synopsis);
    return undefined;
  }
  const spec = type.read(body, type.expects ? expect : item.get("\0absent"), type.timed ? timeoutCursor : item.get("\0absent"), { timeout });
  const name = item.get("name").str();
  if (spec === undefined || item.ctx.errors > errors) return undefined;
  return { index: i + 1, name, type, spec, at: item.position(), path: item.path };
}

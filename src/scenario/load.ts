// Loading a scenario: its file, the cluster config it names, its manifests (paths relative to the
// scenario file, with `kubectl apply -f` habits, and inline YAML), then a dry run of its steps on
// a scratch cluster so that names (pods, Services, hosts, Deployments) are checked before anything
// runs. Every problem found on the way is returned at once. The L7 controllers (ingress-nginx, the
// Gateways) are started on the scratch cluster too, for their warnings (a missing Service or
// Secret, a route that attaches nowhere): warnings, not errors, as ingress-nginx keeps serving.

import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative } from "node:path";
import {
  Cluster,
  type ClusterConfig,
  ClusterError,
  type Diagnostic,
  hasErrors,
  type K8sObject,
  type L7Controller,
  loadClusterConfig,
  loadManifests,
  parseManifests,
  startGateways,
  startIngressNginx,
} from "../k8s/index.js";
import { code, type LoadResult, type Scenario } from "./model.js";
import { type ManifestSource, parseScenarioText } from "./parse.js";
import type { CheckContext } from "./steps/index.js";
import { removeDuplicates } from "./yaml.js";

/** Loads and checks a scenario file. */
export function loadScenario(path: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const message = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : `cannot read: ${(e as Error).message}`;
    return { diagnostics: [{ file: path, doc: 0, line: 1, col: 1, severity: "error", code: "io", path: "", message }] };
  }
  return parseScenario(text, path);
}

/** Parses and checks a scenario from text; relative paths in it are taken from `file`'s folder. */
export function parseScenario(text: string, file = "<inline>"): LoadResult {
  const r = parseScenarioText(text, file);
  const diagnostics = [...r.diagnostics];
  if (!r.draft) return { diagnostics };
  const d = r.draft;
  const dir = dirname(file);
  const at = (p: string) => (isAbsolute(p) ? p : tidy(join(dir, p)));

  let config: ClusterConfig | undefined = d.config;
  if (d.clusterFile) {
    const c = loadClusterConfig(at(d.clusterFile.path));
    for (const diag of c.diagnostics)
      diagnostics.push(diag.code === "io" ? { ...diag, file, line: d.clusterFile.line, col: d.clusterFile.col, path: "clusterFile", message: `${at(d.clusterFile.path)}: ${diag.message}` } : diag);
    config = c.config;
  }

  const objects: K8sObject[] = [];
  const remaps: Remap[] = [];
  for (const [i, src] of d.manifests.entries()) objects.push(...readSource(src, i, file, at, diagnostics, remaps));
  const all = removeDuplicates(objects, diagnostics);
  if (!config || hasErrors(diagnostics)) return { diagnostics: diagnostics.map((x) => remap(x, remaps)) };

  let cluster: Cluster;
  try {
    cluster = Cluster.fromManifests(config, all);
  } catch (e) {
    if (e instanceof ClusterError) diagnostics.push(...e.diagnostics);
    else diagnostics.push({ file, doc: 0, line: 1, col: 1, severity: "error", code: "invalid-value", path: "manifests", message: (e as Error).message });
    return { diagnostics: diagnostics.map((x) => remap(x, remaps)) };
  }
  diagnostics.push(...cluster.warnings, ...l7Diagnostics(cluster, all, file));

  const cx: CheckContext = {
    cluster,
    objects: all,
    error: (loc, c, message, hint) => diagnostics.push({ ...loc.at, severity: "error", code: code(c), path: loc.path, message, hint }),
  };
  for (const step of d.steps) {
    const before = diagnostics.length;
    try {
      step.type.check(step.spec, cx);
    } catch (e) {
      diagnostics.push({ ...step.at, severity: "error", code: "invalid-value", path: step.path, message: (e as Error).message });
    }
    for (let i = before; i < diagnostics.length; i++) diagnostics[i] = { ...diagnostics[i], object: `step ${step.index}, ${step.type.type}` };
  }
  const mapped = diagnostics.map((x) => remap(x, remaps));
  if (hasErrors(mapped)) return { diagnostics: mapped };
  const scenario: Scenario = {
    file,
    name: d.name,
    description: d.description,
    config,
    objects: all,
    apps: d.apps,
    timeout: d.timeout,
    steps: d.steps,
    warnings: mapped,
  };
  return { scenario, diagnostics: mapped };
}

/** The warnings of the L7 controllers a run would start, each naming its object's file, line and field. */
function l7Diagnostics(cluster: Cluster, objects: readonly K8sObject[], file: string): Diagnostic[] {
  const started: L7Controller[] = [];
  try {
    const ingress = startIngressNginx(cluster, objects);
    if (ingress) started.push(ingress);
    started.push(...startGateways(cluster, objects));
    return started.flatMap((c) => c.diagnostics());
  } catch (e) {
    return [{ file, doc: 0, line: 1, col: 1, severity: "error", code: "invalid-value", path: "manifests", message: `the L7 controllers cannot start: ${(e as Error).message}` }];
  } finally {
    for (const c of started) c.stop();
  }
}

/** Block-scalar manifests are parsed under a stand-in file name; their positions are moved back into the scenario file. */
interface Remap {
  name: string;
  file: string;
  line: number;
  col: number;
}

function readSource(src: ManifestSource, i: number, file: string, at: (p: string) => string, diagnostics: Diagnostic[], remaps: Remap[]): K8sObject[] {
  if (src.kind === "path") {
    const r = loadManifests(at(src.path));
    for (const d of r.diagnostics)
      diagnostics.push(d.code === "io" ? { ...d, file, line: src.line, col: src.col, path: `manifests[${i}]`, message: `${at(src.path)}: ${d.message}`, hint: "paths are relative to the scenario file" } : d);
    return r.objects;
  }
  if (src.kind === "object") {
    const r = parseManifests(src.text, { file });
    diagnostics.push(...r.diagnostics);
    return r.objects;
  }
  const name = `${file}#manifests[${i}]`;
  remaps.push({ name, file, line: src.line, col: src.col });
  const r = parseManifests(src.text, { file: name });
  diagnostics.push(...r.diagnostics);
  return r.objects;
}

function remap<T extends { file: string; line: number; col: number }>(p: T, remaps: Remap[]): T {
  const m = remaps.find((r) => r.name === p.file);
  const out = m ? { ...p, file: m.file, line: p.line + m.line, col: p.col + m.col } : p;
  const related = (out as { related?: { file: string; line: number; col: number } }).related;
  return related ? { ...out, related: remap(related, remaps) } : out;
}

/** `examples/x/../y` → `examples/y`, and relative to the working folder when that is shorter. */
function tidy(p: string): string {
  const r = relative(process.cwd(), p);
  return r.length < p.length && !r.startsWith("..") ? r : p;
}

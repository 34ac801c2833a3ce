// Scenarios for the tests: a two-node cluster with a client and an echo server, written inline.
import { type Diagnostic, formatDiagnostics } from "../../src/k8s/index.js";
import { parseScenario, type Scenario } from "../../src/scenario/index.js";

export const POD_MANIFESTS = `
- |
  apiVersion: v1
  kind: Pod
  metadata: {name: client, labels: {app: client}}
  spec:
    nodeName: node-1
    containers: [{name: main, image: busybox}, {name: sidecar, image: busybox}]
  ---
  apiVersion: v1
  kind: Pod
  metadata: {name: server, labels: {app: server}}
  spec:
    nodeName: node-2
    containers: [{name: main, image: busybox, ports: [{name: echo, containerPort: 9000, protocol: UDP}]}]
`;

/** A scenario with the two-node cluster (`backend`), the two pods above and `traffic` (YAML list items). */
export function scenarioYaml(traffic: string, opts: { backend?: string; manifests?: string; extra?: string; gateway?: boolean } = {}): string {
  return `apiVersion: kubewire.dev/v1alpha1
kind: Scenario
name: test
cluster:
  seed: 7
  nodes:
  - {name: node-1, address: 192.168.50.11}
  - {name: node-2, address: 192.168.50.12}
  underlay: {cidr: 192.168.50.0/24${opts.gateway || opts.backend === "routed" ? ", gateway: 192.168.50.1" : ""}}
  cni: {backend: ${opts.backend ?? "vxlan"}}
manifests:${opts.manifests ?? POD_MANIFESTS}${opts.extra ?? ""}
traffic:
${traffic}`;
}

/** Parses a scenario that must be valid. */
export function mustParse(text: string, file = "test/scenario/inline.yaml"): Scenario {
  const r = parseScenario(text, file);
  if (!r.scenario) throw new Error(formatDiagnostics(r.diagnostics));
  return r.scenario;
}

/** The errors of a scenario that must be invalid. */
export function errorsOf(text: string, file = "test/scenario/inline.yaml"): Diagnostic[] {
  const r = parseScenario(text, file);
  if (r.scenario) throw new Error("expected errors, the scenario is valid");
  return r.diagnostics.filter((d) => d.severity === "error");
}

/** 1-based line of the first line of `text` containing `needle`. */
export function lineOf(text: string, needle: string): number {
  const i = text.split("\n").findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`"${needle}" is not in the text`);
  return i + 1;
}

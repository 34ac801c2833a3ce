// Scenario files: the format and its defaults, manifests from paths and inline YAML, and errors
// that name the file, line, column and field path.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatDiagnostic } from "../../src/k8s/index.js";
import { DEFAULT_TIMEOUT, loadScenario, parseDuration, parseScenario } from "../../src/scenario/index.js";
import { errorsOf, lineOf, mustParse, scenarioYaml } from "./fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "kw-scenario-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("a scenario file", () => {
  it("reads the cluster, the manifests and the steps, with defaults", () => {
    const s = mustParse(scenarioYaml("- udp: {from: client, to: server:9000}\n- wait: 2s"));
    expect(s.name).toBe("test");
    expect(s.apps).toBe("echo");
    expect(s.timeout).toBe(DEFAULT_TIMEOUT);
    expect(s.config.nodes.map((n) => n.name)).toEqual(["node-1", "node-2"]);
    expect(s.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(["Pod/client", "Pod/server"]);
    expect(s.steps.map((st) => [st.index, st.type.type])).toEqual([
      [1, "udp"],
      [2, "wait"],
    ]);
    expect(s.steps[1].spec).toEqual({ ns: 2e9 });
  });

  it("takes its name from the folder of a scenario.yaml", () => {
    const text = scenarioYaml("- wait: 1s").replace("name: test\n", "");
    expect(mustParse(text, "examples/my-case/scenario.yaml").name).toBe("my-case");
    expect(mustParse(text, "cases/other.yaml").name).toBe("other");
  });

  it("loads manifests from files and folders relative to itself, and a clusterFile", () => {
    const d = join(dir, "paths");
    mkdirSync(join(d, "m"), { recursive: true });
    writeFileSync(join(d, "m", "a.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c}]}\n");
    writeFileSync(join(d, "m", "b.yml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec: {containers: [{name: c}]}\n");
    writeFileSync(join(d, "m", "notes.txt"), "not a manifest");
    writeFileSync(join(d, "cluster.yaml"), "apiVersion: kubewire.dev/v1alpha1\nkind: Cluster\nnodes: [{name: n1, address: 192.168.50.11}]\n");
    writeFileSync(
      join(d, "scenario.yaml"),
      "apiVersion: kubewire.dev/v1alpha1\nkind: Scenario\nclusterFile: cluster.yaml\nmanifests: [m/]\ntraffic:\n- udp: {from: a, to: b:53}\n",
    );
    const r = loadScenario(join(d, "scenario.yaml"));
    expect(r.diagnostics.filter((x) => x.severity === "error")).toEqual([]);
    expect(r.scenario!.name).toBe("paths");
    expect(r.scenario!.objects.map((o) => o.metadata.name)).toEqual(["a", "b"]);
    expect(r.scenario!.config.nodes[0].name).toBe("n1");
  });

  it("reads an inline manifest written as a map", () => {
    const s = mustParse(scenarioYaml("- wait: 1s", { manifests: "\n- {apiVersion: v1, kind: Pod, metadata: {name: solo}, spec: {containers: [{name: c}]}}" }));
    expect(s.objects.map((o) => o.metadata.name)).toEqual(["solo"]);
  });

  it("parses durations as Go writes them", () => {
    expect(parseDuration("5s")).toBe(5e9);
    expect(parseDuration("1m30s")).toBe(90e9);
    expect(parseDuration("250ms")).toBe(250e6);
    expect(parseDuration("1.5s")).toBe(1.5e9);
    expect(parseDuration("5")).toBeUndefined();
    expect(parseDuration("5 s")).toBeUndefined();
  });
});

describe("mistakes in a scenario", () => {
  const file = "cases/broken/scenario.yaml";

  it("an unknown pod: file, line, field path and the nearest name", () => {
    const text = scenarioYaml("- udp: {from: clinet, to: server:9000}");
    const [e] = errorsOf(text, file);
    expect(e).toMatchObject({ file, line: lineOf(text, "clinet"), path: "traffic[0].udp.from", code: "unknown-target" });
    expect(e.message).toBe('no pod, node or external host "clinet" (did you mean "client"?)');
    expect(formatDiagnostic(e)).toContain(`${file}:${e.line}:`);
  });

  it("a pod that an earlier step deleted is unknown to later steps", () => {
    const text = scenarioYaml("- delete: {pod: server}\n- udp: {from: server, to: client:9000}");
    const [e] = errorsOf(text);
    expect(e).toMatchObject({ line: lineOf(text, "from: server"), path: "traffic[1].udp.from" });
  });

  it("a bad CIDR in the inline cluster", () => {
    const text = scenarioYaml("- wait: 1s").replace("cluster:\n", "cluster:\n  clusterCIDR: 10.244.0.0/33\n");
    const [e] = errorsOf(text, file);
    expect(e).toMatchObject({ file, line: lineOf(text, "/33"), path: "cluster.clusterCIDR", code: "invalid-cidr" });
  });

  it("a bad address in a step", () => {
    const text = scenarioYaml("- udp: {from: client, to: 10.244.1.256:9000}");
    const [e] = errorsOf(text, file);
    expect(e).toMatchObject({ line: lineOf(text, "256"), path: "traffic[0].udp.to", code: "invalid-ip" });
    expect(e.message).toMatch(/not an IPv4 address/);
  });

  it("a YAML syntax error", () => {
    const text = "apiVersion: kubewire.dev/v1alpha1\nkind: Scenario\ntraffic:\n- udp: {from: client, to: [\n";
    const [e] = errorsOf(text, file);
    expect(e).toMatchObject({ file, code: "yaml-syntax" });
    expect(e.line).toBeGreaterThanOrEqual(4);
  });

  it("an unknown field, with a suggestion, at every level", () => {
    const text = scenarioYaml("- udp: {from: client, to: server:9000, paylod: x}\n  expect: {replly: x}").replace("traffic:", "trafic: []\ntraffic:");
    const errors = errorsOf(text, file);
    expect(errors.map((e) => [e.path, e.line, e.message])).toEqual([
      ["trafic", lineOf(text, "trafic"), 'unknown field "trafic" (did you mean "traffic"?)'],
      ["traffic[0].udp.paylod", lineOf(text, "paylod"), 'unknown field "paylod" (did you mean "payload"?)'],
      ["traffic[0].expect.replly", lineOf(text, "replly"), 'unknown field "replly" (did you mean "reply"?)'],
    ]);
  });

  it("an unknown step type, with a suggestion and the list of types", () => {
    const text = scenarioYaml("- pnig: {from: client, to: server}");
    const [e] = errorsOf(text, file);
    expect(e).toMatchObject({ line: lineOf(text, "pnig"), col: 3, path: "traffic[0].pnig", code: "unknown-step" });
    expect(e.message).toBe('unknown step type "pnig" (did you mean "ping"?)');
    expect(e.hint).toMatch(/udp, ping, restart, delete, scale, ready, wait, external-host/);
  });

  it("errors inside inline manifests point into the scenario file", () => {
    const text = scenarioYaml("- wait: 1s").replace("ports: [{name: echo, containerPort: 9000", "ports: [{name: echo, containerPort: 99000");
    const [e] = errorsOf(text, file);
    const line = lineOf(text, "99000");
    expect(e).toMatchObject({ file, line, col: text.split("\n")[line - 1].indexOf("99000") + 1, path: "spec.containers[0].ports[0].containerPort" });
  });

  it("every error is reported at once", () => {
    const text = scenarioYaml("- udp: {from: nobody, to: 1.2.3:9}\n- wait: 5\n- ping: {from: client, to: server}\n  expect: {reply: maybe}");
    const errors = errorsOf(text);
    expect(errors.map((e) => e.path)).toEqual(["traffic[0].udp.to", "traffic[1].wait", "traffic[2].expect.reply"]);
    expect(errors[1].hint).toBe("write 5s (or ms, m…)");
  });

  it("a step with two types, an expect where none is taken, a missing body", () => {
    const errors = errorsOf(scenarioYaml("- wait: 1s\n  ping: {from: client, to: server}\n- wait: 1s\n  expect: {reply: true}\n- udp:"));
    expect(errors.map((e) => e.message)).toEqual([
      "a step does one thing, and this one has wait and ping",
      "a wait step has no expect:",
      expect.stringMatching(/^required field is missing \(expected udp: \{from/),
    ]);
  });

  it("names that cannot be resolved: ambiguous, unknown Service port, unknown container", () => {
    const svc = `\n- |\n  apiVersion: v1\n  kind: Service\n  metadata: {name: client}\n  spec: {selector: {app: server}, ports: [{name: dns, port: 53, protocol: UDP, targetPort: 9000}]}`;
    const errors = errorsOf(scenarioYaml("- udp: {from: server, to: client:53}\n- udp: {from: server, to: svc/client:http}\n- udp: {from: client, container: nope, to: server:9000}", { extra: svc }));
    expect(errors.map((e) => [e.path, e.message])).toEqual([
      ["traffic[0].udp.to", '"client" is ambiguous: it is a pod and a service'],
      ["traffic[1].udp.to", 'Service default/client has no port named "http"'],
      ["traffic[2].udp.container", 'pod default/client has no container "nope"'],
    ]);
    expect(errors[0].hint).toBe("write pod/client or svc/client");
  });

  it("a file that is not there, a cluster file that is not there", () => {
    expect(loadScenario(join(dir, "missing.yaml")).diagnostics[0]).toMatchObject({ code: "io", message: "no such file" });
    const errors = parseScenario("apiVersion: kubewire.dev/v1alpha1\nkind: Scenario\nclusterFile: nope.yaml\n", join(dir, "s.yaml")).diagnostics;
    expect(errors[0]).toMatchObject({ line: 3, path: "clusterFile" });
    expect(errors[0].message).toMatch(/nope\.yaml: no such file/);
  });

  it("a cluster config given where a scenario is expected", () => {
    const [e] = errorsOf("apiVersion: kubewire.dev/v1alpha1\nkind: Cluster\nnodes: []\n");
    expect(e.hint).toMatch(/clusterFile/);
  });
});

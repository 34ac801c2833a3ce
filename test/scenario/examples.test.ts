// The examples: each runs with every step passing; pcaps/ is exactly what they produce (byte for
// byte, so `npm start` is deterministic and the committed captures are current); tshark reads
// every capture without a malformed frame or an expert error.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readCapture } from "../../src/capture/index.js";
import { formatDiagnostics } from "../../src/k8s/index.js";
import { loadScenario, runScenario, type Scenario, type ScenarioRun } from "../../src/scenario/index.js";
import { tsharkProblems } from "../helpers/tshark.js";

const EXAMPLES = "examples";
const PCAPS = "pcaps";
const folders = readdirSync(EXAMPLES, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();
const out = mkdtempSync(join(tmpdir(), "kw-examples-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function load(folder: string): Scenario {
  const r = loadScenario(join(EXAMPLES, folder, "scenario.yaml"));
  if (!r.scenario) throw new Error(formatDiagnostics(r.diagnostics));
  return r.scenario;
}

/** Runs an example once, writing its capture to the temporary folder. */
const produced = new Map<string, { s: Scenario; run: ScenarioRun; file: string }>();
function produce(folder: string) {
  let p = produced.get(folder);
  if (!p) {
    const s = load(folder);
    const file = join(out, `${s.name}.pcapng`);
    produced.set(folder, (p = { s, run: runScenario(s, { pcapng: file }), file }));
  }
  return p;
}

describe.each(folders)("example %s", (folder) => {
  it("runs, every step passes, and pcaps/ holds exactly its capture", () => {
    const { s, run, file } = produce(folder);
    expect(s.warnings.filter((w) => w.severity === "warning").map((w) => w.message)).toEqual([]);
    expect(run.outcomes.filter((o) => !o.pass).map((o) => `step ${o.index}: ${o.why} (saw: ${o.observed})`)).toEqual([]);
    expect(run.outcomes).toHaveLength(s.steps.length);
    const committed = join(PCAPS, `${s.name}.pcapng`);
    expect(readFileSync(file).equals(readFileSync(committed)), `${committed} is stale: run npm start`).toBe(true);
  });

  it("its capture passes tshark: no malformed frames, no expert errors", () => {
    const { file } = produce(folder);
    expect(tsharkProblems(file, { decodeAs: ["udp.port==8472,vxlan"] })).toEqual([]);
  });
});

describe("pcaps/", () => {
  it("holds one capture per example and nothing else", () => {
    const names = folders.map((f) => `${load(f).name}.pcapng`).sort();
    expect(readdirSync(PCAPS).sort()).toEqual(names);
  });

  it("carries nothing machine-specific: the section header names kubewire only, times are virtual", () => {
    for (const f of readdirSync(PCAPS)) {
      const cap = readCapture(join(PCAPS, f));
      expect(cap.errors).toEqual([]);
      expect(cap.sections.map((s) => [s.hardware, s.os, s.userappl, s.comments])).toEqual([[undefined, undefined, "kubewire", []]]);
      const bytes = readFileSync(join(PCAPS, f)).toString("latin1");
      expect(bytes).toContain("kubewire");
      for (const leak of [process.env.HOSTNAME, process.env.USER, "Linux", "x86_64", "aarch64", process.cwd()].filter((x): x is string => !!x && x.length > 3))
        expect(bytes.includes(leak), `${f} contains "${leak}"`).toBe(false);
    }
  });

  it("names interfaces <node>/<dev> and <pod>/eth0", () => {
    const names = readCapture(join(PCAPS, "vxlan.pcapng")).interfaces.map((i) => i.name);
    expect(names).toEqual(expect.arrayContaining(["node-1/eth0", "node-1/cni0", "node-1/flannel.1", "node-2/flannel.1", "client/eth0", "server/eth0"]));
    expect(names.some((n) => /^node-1\/veth[0-9a-f]{8}$/.test(n ?? ""))).toBe(true);
  });
});

// The L7 examples (host and path routing, TLS with SNI, HTTP→HTTPS redirect, a Gateway's weighted
// split), waiting in test/scenario/http-examples/ until `kubewire run` drives the asynchronous
// runner (examples/ runs them through the synchronous one): each runs with every step passing,
// the HTTP ones rerun byte for byte, and tshark reads every hop's capture without a problem.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatDiagnostics } from "../../src/k8s/index.js";
import { loadScenario, runScenarioAsync } from "../../src/scenario/index.js";
import { tsharkFieldLists, tsharkProblems } from "../helpers/tshark.js";
import { hopFile } from "../k8s/ingress-e2e-helpers.js";

const DIR = "test/scenario/http-examples";
const out = mkdtempSync(join(tmpdir(), "kw-http-examples-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const folders = readdirSync(DIR, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

async function produce(folder: string, suffix = "") {
  const r = loadScenario(join(DIR, folder, "scenario.yaml"));
  if (!r.scenario) throw new Error(formatDiagnostics(r.diagnostics));
  const file = join(out, `${r.scenario.name}${suffix}.pcapng`);
  const run = await runScenarioAsync(r.scenario, { pcapng: file });
  return { s: r.scenario, run, file };
}

describe.each(folders)("L7 example %s", (folder) => {
  it("runs with every step passing; tshark reads the laptop's and the controller's hops cleanly", async () => {
    const { s, run, file } = await produce(folder);
    expect(s.warnings.filter((w) => w.severity === "warning").map((w) => w.message)).toEqual([]);
    expect(run.outcomes.filter((o) => !o.pass).map((o) => `step ${o.index}: ${o.why} (saw: ${o.observed})`)).toEqual([]);
    expect(run.outcomes).toHaveLength(s.steps.length);
    const ctrl = run.l7.flatMap((c) => [...c.proxies.values()])[0].pod;
    for (const iface of ["laptop/eth0", `${ctrl.ns.name}/eth0`]) expect({ iface, problems: tsharkProblems(hopFile(file, iface)) }).toEqual({ iface, problems: [] });
    // Every proxied request leaves the controller with the routing decision as its comment.
    const comments = tsharkFieldLists(hopFile(file, `${ctrl.ns.name}/eth0`), ["frame.comment"], { filter: "http.request && frame.comment" });
    const proxied = run.l7.flatMap((c) => c.log).filter((l) => l.upstream !== undefined);
    expect(comments.length).toBe(proxied.length);
  });
});

describe("L7 example reruns", () => {
  it("the HTTP-only examples give the same capture byte for byte", async () => {
    for (const folder of ["10-ingress-host-path", "10-gateway-weights"]) {
      const a = await produce(folder, "-a");
      const b = await produce(folder, "-b");
      expect(readFileSync(a.file).equals(readFileSync(b.file)), folder).toBe(true);
    }
  });

  it("the weighted split leans 80/20 (the seeded draws: same on every run, as the rerun above shows)", async () => {
    const { run } = await produce("10-gateway-weights", "-w");
    const pods = run.outcomes.slice(1).map((o) => /answered by pod default\/(\w+)-/.exec(o.observed)?.[1]);
    expect(pods.every((p) => p === "stable" || p === "canary")).toBe(true);
    expect(pods.filter((p) => p === "stable").length).toBeGreaterThanOrEqual(6);
  });
});

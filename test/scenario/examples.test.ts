// The examples: each runs with every step passing (through the asynchronous runner, as `kubewire
// run` and `npm start` run them); pcaps/ is exactly what they produce (byte for byte, so
// `npm start` is deterministic and the committed captures are current); tshark reads every
// capture without a malformed frame or an expert error.
//
// The one exception to byte for byte: the examples with HTTPS (TLS terminated at ingress-nginx).
// TLS randoms, and so keys and ciphertext, come from OpenSSL and cannot be seeded. For those the
// frames (count, order, interface, time, comments), the flow (addresses, ports, TCP flags) and the
// sizes are compared instead. Sizes with one allowance: a TLS 1.3 NewSessionTicket carries the
// session encrypted in CBC blocks, and its DER length depends on random values, so a segment
// on port 443 may differ by a multiple of 16 bytes (the TCP sequence numbers after it with it).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readCapture } from "../../src/capture/index.js";
import { formatDiagnostics } from "../../src/k8s/index.js";
import { loadScenario, runScenarioAsync, type Scenario, type ScenarioRun } from "../../src/scenario/index.js";
import { tsharkFieldLists, tsharkProblems } from "../helpers/tshark.js";

const EXAMPLES = "examples";
const PCAPS = "pcaps";
const VXLAN = { decodeAs: ["udp.port==8472,vxlan"] };
/** The examples whose capture carries TLS (compared by frames, sizes and flow, not bytes). */
const TLS_EXAMPLES = new Set(["ingress-tls-sni", "ingress-redirect"]);
/**
 * The OpenSSL (major.minor) of the Node that wrote pcaps/: `npm start` on Node 20, OpenSSL 3.0.
 * Other OpenSSL versions split and acknowledge the handshake differently (Node 24's 3.5 adds
 * segments), so there the TLS captures are compared with a second run in the same runtime.
 */
const PCAPS_OPENSSL = "3.0";
const SAME_OPENSSL = process.versions.openssl.startsWith(`${PCAPS_OPENSSL}.`);
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
const produced = new Map<string, Promise<{ s: Scenario; run: ScenarioRun; file: string }>>();
function produce(folder: string, suffix = "") {
  const key = `${folder}${suffix}`;
  let p = produced.get(key);
  if (!p) {
    const s = load(folder);
    const file = join(out, `${s.name}${suffix}.pcapng`);
    p = runScenarioAsync(s, { pcapng: file }).then((run) => ({ s, run, file }));
    produced.set(key, p);
  }
  return p;
}

/** Per frame: interface, time, comments, addresses, ports, TCP flags; and its length. */
function frames(file: string) {
  const cap = readCapture(file);
  const net = tsharkFieldLists(file, ["ip.src", "ip.dst", "tcp.port", "udp.port", "tcp.flags"], VXLAN);
  expect(net).toHaveLength(cap.records.length);
  return cap.records.map((r, i) => {
    const flow = [r.interfaceName, r.timestampNs, r.comments.join(" | "), ...Object.values(net[i]).map((v) => v.join(","))].join(" ");
    return { flow, len: r.origLen, tls: net[i]["tcp.port"].includes("443") };
  });
}

describe.each(folders)("example %s", (folder) => {
  it("runs, every step passes, and pcaps/ holds exactly its capture", async () => {
    const { s, run, file } = await produce(folder);
    expect(s.warnings.filter((w) => w.severity === "warning").map((w) => w.message)).toEqual([]);
    expect(run.outcomes.filter((o) => !o.pass).map((o) => `step ${o.index}: ${o.why} (saw: ${o.observed})`)).toEqual([]);
    expect(run.outcomes).toHaveLength(s.steps.length);
    const committed = join(PCAPS, `${s.name}.pcapng`);
    if (!TLS_EXAMPLES.has(s.name)) {
      expect(readFileSync(file).equals(readFileSync(committed)), `${committed} is stale: run npm start`).toBe(true);
      return;
    }
    // TLS: not the same bytes (OpenSSL's randoms); the same frames, flow and sizes (see the top).
    const reference = SAME_OPENSSL ? committed : (await produce(folder, "-rerun")).file;
    expect(readFileSync(file).equals(readFileSync(reference))).toBe(false);
    const [now, then] = [frames(file), frames(reference)];
    expect(now.map((f) => f.flow), `${reference} differs: run npm start`).toEqual(then.map((f) => f.flow));
    const sizes = (fs: typeof now) => fs.map((f, i) => (f.tls && (f.len - then[i].len) % 16 === 0 ? then[i].len : f.len));
    expect(sizes(now)).toEqual(then.map((f) => f.len));
  });

  it("its capture passes tshark: no malformed frames, no expert errors", async () => {
    const { file } = await produce(folder);
    expect(tsharkProblems(file, VXLAN)).toEqual([]);
  });
});

describe("the L7 examples", () => {
  const l7 = folders.filter((f) => /ingress|gateway/.test(f));

  it("are there: ingress host/path routing, TLS with SNI, HTTP→HTTPS redirect, a Gateway's weighted split", () => {
    expect(l7).toEqual(["10-ingress-host-path", "11-ingress-tls-sni", "12-ingress-redirect", "13-gateway-weights"]);
  });

  it.each(l7)("%s: every proxied request leaves the controller with the routing decision as its comment", async (folder) => {
    const { run, file } = await produce(folder);
    const ctrl = run.l7.flatMap((c) => [...c.proxies.values()])[0].pod;
    const comments = tsharkFieldLists(file, ["frame.comment"], { filter: `http.request && frame.comment && frame.interface_name == "${ctrl.ns.name}/eth0"` });
    const proxied = run.l7.flatMap((c) => c.log).filter((l) => l.upstream !== undefined);
    expect(proxied.length).toBeGreaterThan(0);
    expect(comments.length).toBe(proxied.length);
  });

  it("the HTTP-only ones give the same capture byte for byte on a rerun", async () => {
    for (const folder of ["10-ingress-host-path", "13-gateway-weights"]) {
      const [a, b] = [await produce(folder), await produce(folder, "-rerun")];
      expect(readFileSync(a.file).equals(readFileSync(b.file)), folder).toBe(true);
    }
  });

  it("the TLS ones carry their keys (Decryption Secrets Block): tshark shows the HTTP inside and the SNI", async () => {
    const { file } = await produce("11-ingress-tls-sni");
    expect(readCapture(file).secrets.length).toBeGreaterThan(0);
    const hosts = tsharkFieldLists(file, ["http.host"], { filter: 'http.request && frame.interface_name == "laptop/eth0"' }).map((r) => r["http.host"].join());
    expect(hosts).toContain("shop.example.com");
    const sni = tsharkFieldLists(file, ["tls.handshake.extensions_server_name"], { filter: 'tls.handshake.type == 1 && frame.interface_name == "laptop/eth0"' });
    expect(sni.map((r) => r["tls.handshake.extensions_server_name"].join())).toEqual(["shop.example.com", "blog.example.com", "unknown.example.com"]);
  });

  it("the weighted split leans 80/20 (the proxy's seeded draws: the same on every run)", async () => {
    const { run } = await produce("13-gateway-weights");
    const pods = run.outcomes.slice(1).map((o) => /answered by pod default\/(\w+)-/.exec(o.observed)?.[1]);
    expect(pods.every((p) => p === "stable" || p === "canary")).toBe(true);
    expect(pods.filter((p) => p === "stable").length).toBeGreaterThanOrEqual(6);
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

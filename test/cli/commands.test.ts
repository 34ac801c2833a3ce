// The kubewire commands in-process: help for each, usage errors (exit 2), run writing its files
// and exiting 1 on a failed step, check, dump, trace and diagram.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readCapture } from "../../src/capture/index.js";
import { tsharkFieldLists } from "../helpers/tshark.js";
import { cli } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "kw-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("help and usage", () => {
  it("kubewire --help lists the commands; each command has --help", async () => {
    const top = await cli("--help");
    expect(top.code).toBe(0);
    for (const c of ["run", "check", "dump", "trace", "diagram", "examples"]) {
      expect(top.stdout).toMatch(new RegExp(`^  ${c} `, "m"));
      const h = await cli(c, "--help");
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`^Usage: kubewire ${c}`));
    }
    expect((await cli("help", "trace")).stdout).toMatch(/^Usage: kubewire trace/);
    expect((await cli("--version")).stdout).toMatch(/^kubewire \d+\.\d+\.\d+/);
  });

  it("mistakes on the command line exit 2 with the fix", async () => {
    expect(await cli()).toMatchObject({ code: 2 });
    expect(await cli("rnu")).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "rnu" (did you mean "run"?)') });
    expect(await cli("run")).toMatchObject({ code: 2, stderr: expect.stringContaining("kubewire run: no scenario given") });
    expect(await cli("run", "examples/05-vxlan", "--outt", "x")).toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--outt'") });
    expect(await cli("run", "nowhere.yaml")).toMatchObject({ code: 2, stderr: expect.stringContaining("nowhere.yaml: no such file or folder") });
    expect(await cli("dump", "examples/05-vxlan", "--node", "node-1", "routez")).toMatchObject({ code: 2, stderr: expect.stringContaining('"routez" is not something to dump') });
    expect(await cli("trace", "examples/05-vxlan", "--from", "client")).toMatchObject({ code: 2, stderr: expect.stringContaining("--from and --to are required") });
    expect(await cli("trace", "examples/05-vxlan", "--from", "client", "--to", "server")).toMatchObject({ code: 2, stderr: expect.stringContaining("has no port") });
    expect(await cli("diagram", "examples/05-vxlan", "--format", "png")).toMatchObject({ code: 2, stderr: expect.stringContaining("--format png: expected svg, dot, mermaid") });
  });
});

describe("kubewire run", () => {
  it("writes the pcapng, per-interface pcaps, the human and JSON traces, and prints the summary", async () => {
    const out = join(dir, "run");
    const r = await cli("run", "examples/05-vxlan", "--out", out, "--per-interface", "--trace", "--trace-json", join(out, "t.json"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^vxlan: 3 steps, 3 passed$/m);
    expect(r.stdout).toContain(`  wrote ${join(out, "vxlan.pcapng")}`);
    expect(existsSync(join(out, "vxlan.pcapng"))).toBe(true);
    expect(readdirSync(join(out, "vxlan"))).toContain("node-1_flannel.1.pcap");
    expect(readFileSync(join(out, "vxlan.trace.txt"), "utf8")).toMatch(/^## step 3 /m);
    expect(JSON.parse(readFileSync(join(out, "t.json"), "utf8"))[0]).toEqual({ scenario: "vxlan", file: "examples/05-vxlan/scenario.yaml" });
  });

  it("exits 1 when a step fails, saying which and why; --quiet prints only that", async () => {
    const f = join(dir, "failing.yaml");
    writeFileSync(f, readFileSync("examples/05-vxlan/scenario.yaml", "utf8").replace("manifests:\n- manifests/", `manifests:\n- ${join(process.cwd(), "examples/05-vxlan/manifests")}`).replace("expect: {reply: true}", "expect: {reply: false}"));
    const r = await cli("run", f, "--out", join(dir, "failing"), "--quiet");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("vxlan: FAIL step 2 ping across the tunnel: expected no reply, got one\n");
  });

  it("exits 2 with file:line:col diagnostics when the scenario is wrong, and runs nothing", async () => {
    const f = join(dir, "wrong.yaml");
    writeFileSync(f, "apiVersion: kubewire.dev/v1alpha1\nkind: Scenario\ncluster:\n  nodes: [{name: node-1, address: 192.168.50.11}]\ntraffic:\n- udp: {from: ghost, to: 10.0.0.1:53}\n");
    const r = await cli("run", f, "--out", join(dir, "wrong"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${f}:6:15 (step 1, udp): traffic[0].udp.from: no pod, node or external host "ghost"`);
    expect(r.stderr).toContain("1 error; nothing was run");
    expect(existsSync(join(dir, "wrong"))).toBe(false);
  });

  it("a folder runs every scenario in it", async () => {
    const r = await cli("run", "examples", "--out", join(dir, "all"), "--quiet");
    expect(r).toMatchObject({ code: 0, stdout: "" });
    expect(readdirSync(join(dir, "all")).sort()).toEqual(readdirSync("pcaps").sort());
  });

  it("runs the http steps (asynchronous); TLS keys go into the pcapng unless --no-tls-keys, and into --keylog FILE", async () => {
    const [withKeys, without] = [join(dir, "tls-keys"), join(dir, "tls-none")];
    const keylog = join(dir, "keys.log");
    expect(await cli("run", "examples/11-ingress-tls-sni", "--out", withKeys, "--quiet")).toMatchObject({ code: 0, stdout: "", stderr: "" });
    const r = await cli("run", "examples/11-ingress-tls-sni", "--out", without, "--no-tls-keys", "--keylog", keylog);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`  wrote ${keylog} (TLS keys)`);
    const lines = readFileSync(keylog, "utf8").trimEnd().split("\n");
    expect(lines.every((l) => /^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]+$/.test(l))).toBe(true);
    expect(lines.filter((l) => l.startsWith("CLIENT_HANDSHAKE_TRAFFIC_SECRET "))).toHaveLength(3);
    const [a, b] = [join(withKeys, "ingress-tls-sni.pcapng"), join(without, "ingress-tls-sni.pcapng")];
    expect(readCapture(a).secrets.length).toBeGreaterThan(0);
    expect(readCapture(b).secrets).toEqual([]);
    // Without the keys tshark sees no HTTP on the laptop's side of the TLS (only inside, on the proxy's upstream leg).
    const laptopHttp = { filter: 'http && frame.interface_name == "laptop/eth0"' };
    expect(tsharkFieldLists(a, ["frame.number"], laptopHttp).length).toBeGreaterThan(0);
    expect(tsharkFieldLists(b, ["frame.number"], laptopHttp)).toEqual([]);
    const bad = await cli("run", "examples/11-ingress-tls-sni", "--out", without, "--keylog", join(dir, "no-such-dir", "keys.log"));
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining(`--keylog ${join(dir, "no-such-dir", "keys.log")}: cannot write: ENOENT`) });
  });
});

describe("kubewire check, dump, trace, diagram, examples", () => {
  it("check reads every example without running it", async () => {
    const r = await cli("check", "examples");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("examples/05-vxlan/scenario.yaml: ok (vxlan: 2 nodes, 2 objects, 3 steps)");
  });

  it("dump prints a node's table as the Linux tool would", async () => {
    const r = await cli("dump", "examples/05-vxlan", "--node", "node-2", "routes");
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toBe("10.244.0.0/24 via 10.244.0.0 dev flannel.1 onlink\n10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1\n192.168.50.0/24 dev eth0 proto kernel scope link src 192.168.50.12\n");
    expect(await cli("dump", "examples/05-vxlan", "routes")).toMatchObject({ code: 2, stderr: expect.stringContaining("--node is required (one of: node-1, node-2, client, server)") });
    expect(await cli("dump", "examples/05-vxlan", "--node", "server", "conntrack")).toMatchObject({ code: 2, stderr: expect.stringContaining("server has no netfilter installed") });
    const ct = await cli("dump", "examples/06-clusterip", "--node", "node-1", "conntrack");
    expect(ct.stdout).toMatch(/^udp +17 \d+ src=10\.244\.0\.2 dst=10\.96\.0\.80 /m);
  });

  it("trace prints the packet's path and exits 0 when it was delivered, 1 when not", async () => {
    const ok = await cli("trace", "examples/05-vxlan", "--from", "pod/default/client", "--to", "10.244.1.2:9000/udp", "--level", "minimal");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("  node-1/flannel.1 vxlan encap vni 1 remote 192.168.50.12\n");
    const dropped = await cli("trace", "examples/05-vxlan", "--from", "client", "--to", "server:9001", "--level", "summary");
    expect(dropped.code).toBe(1);
    expect(dropped.stdout.trimEnd().split("\n").pop()).toBe("result: dropped at server/eth0: NO_SOCKET; error ECONNREFUSED");
  });

  it("diagram writes SVG, DOT or Mermaid", async () => {
    const f = join(dir, "d.svg");
    expect(await cli("diagram", "examples/03-routed", "--out", f, "--from", "client", "--to", "server:9000")).toMatchObject({ code: 0, stdout: `wrote ${f}\n` });
    expect(readFileSync(f, "utf8")).toContain(">router gateway<");
    expect((await cli("diagram", "examples/02-same-node", "--format", "mermaid")).stdout).toMatch(/^flowchart TB\n/);
  });

  it("examples regenerates a folder of captures and removes stale ones", async () => {
    const out = join(dir, "pcaps");
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, "old-example.pcapng"), "");
    const r = await cli("examples", "--out", out, "--quiet");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`removed ${join(out, "old-example.pcapng")} (no example writes it)`);
    expect(r.stdout).toMatch(/\d+ examples → .*pcaps\/ in \d+\.\d s\n$/);
    expect(readdirSync(out).sort()).toEqual(readdirSync("pcaps").sort());
  });
});

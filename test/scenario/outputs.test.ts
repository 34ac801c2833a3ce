// What a run leaves besides the capture: dumps in the Linux tools' formats, the human and JSON
// traces, the step summary, and the topology diagrams (DOT, Mermaid, SVG) with a traced path.
import { describe, expect, it } from "vitest";
import {
  dump,
  formatSummary,
  formatTraceJson,
  formatTraceText,
  loadScenario,
  parseHost,
  parseTarget,
  renderDiagram,
  requestPath,
  runScenario,
  type Scenario,
  ScenarioRun,
  tracePacket,
} from "../../src/scenario/index.js";
import { mustParse, scenarioYaml } from "./fixtures.js";

const example = (name: string): Scenario => loadScenario(`examples/${name}/scenario.yaml`).scenario!;

describe("dump", () => {
  it("routes, neighbours, FDB and addresses of a node, after the traffic or before it", () => {
    const run = runScenario(example("05-vxlan"));
    const c = run.cluster;
    expect(dump(c, "node-1", "routes")).toEqual({
      ok: true,
      text: "10.244.0.0/24 dev cni0 proto kernel scope link src 10.244.0.1\n10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink\n192.168.50.0/24 dev eth0 proto kernel scope link src 192.168.50.11\n",
    });
    const neigh = dump(c, "node-1", "neigh");
    expect(neigh.ok && neigh.text).toMatch(/^192\.168\.50\.12 dev eth0 lladdr ([0-9a-f]{2}:){5}[0-9a-f]{2} REACHABLE$/m);
    const fdb = dump(c, "node-2", "fdb");
    expect(fdb.ok && fdb.text).toMatch(/ dev flannel\.1 dst 192\.168\.50\.11 self permanent$/m);
    expect(fdb.ok && fdb.text).toMatch(/ dev veth[0-9a-f]{8} master cni0$/m);
    const addr = dump(c, "server", "addresses");
    expect(addr.ok && addr.text).toContain("inet 10.244.1.2/24 brd 10.244.1.255 scope global eth0");

    const before = new ScenarioRun(example("05-vxlan"));
    before.finish();
    expect(dump(before.cluster, "node-1", "neigh")).toEqual({ ok: true, text: expect.stringMatching(/^10\.244\.1\.0 dev flannel\.1 lladdr \S+ PERMANENT\n$/) });
  });

  it("conntrack -L, iptables-save and nft list ruleset of a node running kube-proxy", () => {
    const run = runScenario(example("06-clusterip"));
    const ct = dump(run.cluster, "node-1", "conntrack");
    expect(ct.ok && ct.text).toMatch(/^udp +17 \d+ src=10\.244\.0\.2 dst=10\.96\.0\.80 sport=(\d+) dport=80 src=10\.244\.\d+\.\d+ dst=10\.244\.0\.2 sport=8080 dport=\1 /m);
    const ipt = dump(run.cluster, "node-1", "iptables");
    expect(ipt.ok && ipt.text).toMatch(/^\*nat$/m);
    expect(ipt.ok && ipt.text).toContain('-A KUBE-SERVICES -d 10.96.0.80/32 -p udp -m comment --comment "default/web:echo cluster IP" -m udp --dport 80 -j KUBE-SVC-');
    expect(dump(run.cluster, "node-1", "nft")).toMatchObject({ ok: false, message: "no nftables rules for node-1", hint: "kube-proxy writes them on nodes (this cluster's mode: iptables)" });
  });

  it("nftables mode: nft list ruleset has kube-proxy's table; iptables-save only flanneld's rules", () => {
    const svc = "\n- |\n  apiVersion: v1\n  kind: Service\n  metadata: {name: echo}\n  spec: {selector: {app: server}, ports: [{port: 7, protocol: UDP, targetPort: 9000}]}";
    const text = scenarioYaml("- udp: {from: client, to: svc/echo:7}\n  expect: {reply: hello}", { extra: svc }).replace("cni: {backend: vxlan}", "cni: {backend: vxlan}\n  kubeProxy: {mode: nftables}");
    const run = runScenario(mustParse(text));
    expect(run.pass).toBe(true);
    const nft = dump(run.cluster, "node-1", "nft");
    expect(nft.ok && nft.text).toMatch(/^table ip kube-proxy \{$/m);
    const ipt = dump(run.cluster, "node-1", "iptables");
    expect(ipt.ok && ipt.text).toContain("-A FORWARD -m comment --comment \"flanneld forward\" -j FLANNEL-FWD");
    expect(ipt.ok && ipt.text).not.toContain("KUBE-SERVICES");
  });

  it("says what is missing: an unknown node (with a suggestion), a pod without netfilter, rules of a pod", () => {
    const run = new ScenarioRun(example("05-vxlan"));
    expect(dump(run.cluster, "node-3", "routes")).toMatchObject({ ok: false, message: 'no node, pod or host "node-3" (did you mean "node-1"?)' });
    expect(dump(run.cluster, "client", "conntrack")).toMatchObject({ ok: false, message: "client has no netfilter installed, so no conntrack table" });
    expect(dump(run.cluster, "client", "iptables")).toMatchObject({ ok: false, hint: "rules are dumped per node: --node NODE" });
    run.finish();
  });
});

describe("traces and summary", () => {
  const s = mustParse(scenarioYaml("- name: echo across\n  udp: {from: client, to: server:9000}\n  expect: {reply: hello}\n- udp: {from: client, to: server:1}\n  expect: {reply: hello}"));
  const run = runScenario(s);

  it("the summary gives every step PASS or FAIL, what was seen and why it failed", () => {
    const text = formatSummary(s, run.outcomes);
    expect(text.split("\n")[0]).toBe("test: 2 steps, 1 passed, 1 FAILED");
    expect(text).toContain("  PASS  1. echo across (udp client → server:9000 \"hello\")");
    expect(text).toContain("  FAIL  2. udp client → server:1 \"hello\"");
    expect(text).toContain("          why: expected a reply \"hello\", got none");
  });

  it("the human trace has a header per step and formatTraceEvent lines", () => {
    const text = formatTraceText(s, run.events, run.marks, run.outcomes);
    expect(text).toMatch(/^## step 1 at 0\.000000000: echo across: udp client → server:9000 "hello" \[PASS\]$/m);
    expect(text).toMatch(/^## step 2 at \d\.\d{9}: udp client → server:1 "hello" \[FAIL\]$/m);
    expect(text).toMatch(/^0\.000000000 node-1 flannel\.1 vxlan encap vni 1 remote 192\.168\.50\.12$/m);
  });

  it("the JSON trace parses: step markers, events, drop reasons by name", () => {
    const rows = JSON.parse(formatTraceJson(s, run.events, run.marks, run.outcomes)) as Record<string, unknown>[];
    expect(rows[0]).toEqual({ scenario: "test", file: "test/scenario/inline.yaml" });
    expect(rows.filter((r) => "step" in r).map((r) => [r.step, r.pass])).toEqual([
      [1, true],
      [2, false],
    ]);
    expect(rows).toContainEqual(expect.objectContaining({ kind: "drop", reason: "NO_SOCKET", ns: "server" }));
    expect(rows.length).toBe(run.events.length + 3);
  });
});

describe("diagram", () => {
  const run = new ScenarioRun(example("05-vxlan"));
  const from = parseHost("client");
  const to = parseTarget("server:9000");
  if (!from.ok || !to.ok) throw new Error("refs");
  const t = tracePacket(run, from.value, to.value);
  if (!t.ok) throw new Error(t.message);
  const path = requestPath(t.trace).map((h) => `${h.ns}/${h.dev}`);
  run.finish();

  it("DOT: a cluster per node and pod, the tunnel, the path in red", () => {
    const dot = renderDiagram(run.cluster, "vxlan", "dot", path);
    expect(dot).toMatch(/^digraph "vxlan" \{/);
    expect(dot).toContain('subgraph "cluster_pod_default/client"');
    expect(dot).toContain('"node-1/flannel.1" -> "node-2/flannel.1" [style=dashed');
    expect(dot).toContain('"client/eth0" -> ');
    expect(dot).toMatch(/"node-1\/eth0" -> "node-2\/eth0" \[color=red/);
    expect(dot).not.toContain("\\\\n");
  });

  it("Mermaid: a flowchart with subgraphs and the path's links styled", () => {
    const m = renderDiagram(run.cluster, "vxlan", "mermaid", path);
    expect(m.split("\n")[0]).toBe("flowchart TB");
    expect(m).toContain("subgraph node_node_1[");
    expect(m).toMatch(/node_1_eth0 ==>\|\d+\| node_2_eth0/);
    expect(m).toMatch(/linkStyle [\d,]+ stroke:red/);
  });

  it("SVG: well formed, every device drawn, the hops numbered", () => {
    const svg = renderDiagram(run.cluster, "vxlan", "svg", path);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(unbalancedTags(svg)).toEqual([]);
    expect(svg).not.toMatch(/&(?!amp;|lt;|gt;|quot;)/);
    for (const label of ["flannel.1 VNI 1", "cni0 10.244.0.1/24", "eth0 192.168.50.12/24", "client", "server"]) expect(svg).toContain(`>${label}<`);
    expect(svg).toContain('fill="white">10</text>');
  });

  it("Services with their endpoints, the gateway and external hosts", () => {
    const svc = "\n- |\n  apiVersion: v1\n  kind: Service\n  metadata: {name: echo}\n  spec: {selector: {app: server}, ports: [{port: 7, protocol: UDP, targetPort: 9000}]}";
    const r = runScenario(mustParse(scenarioYaml("- external-host: {name: laptop, address: 192.168.50.100}", { extra: svc, backend: "routed" })));
    const dot = renderDiagram(r.cluster, "t", "dot");
    expect(dot).toMatch(/"svc\/default\/echo" \[shape=hexagon.*ClusterIP 10\.\d+\.\d+\.\d+\\n7\/UDP → 9000/);
    expect(dot).toContain('"svc/default/echo" -> "server/eth0"');
    expect(dot).toContain("router gateway\\neth0 192.168.50.1");
    expect(dot).toContain("host laptop\\neth0 192.168.50.100");
    expect(renderDiagram(r.cluster, "t", "svg")).toContain(">Service default/echo (ClusterIP)<");
  });
});

/** Tags opened and not closed (or closed and not open), in a document of plain elements. */
function unbalancedTags(xml: string): string[] {
  const stack: string[] = [];
  const bad: string[] = [];
  for (const m of xml.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, close, name, selfClose] = m;
    if (selfClose) continue;
    if (!close) stack.push(name);
    else if (stack.pop() !== name) bad.push(`</${name}>`);
  }
  return [...bad, ...stack];
}

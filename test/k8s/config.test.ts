// The cluster config: defaults, podCIDR allocation, and one test per validation error.

import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { LineCounter, parseDocument } from "yaml";
import { type ClusterConfig, loadClusterConfig, parseClusterConfig, readClusterConfigNode } from "../../src/k8s/config.js";
import { type Diagnostic, formatDiagnostic, formatDiagnostics } from "../../src/k8s/manifest/index.js";
import { formatCidr, formatIpv4 } from "../../src/wire/index.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const HEAD = "apiVersion: kubewire.dev/v1alpha1\nkind: Cluster\n";
const TWO_NODES = "nodes:\n- name: node-1\n  address: 192.168.50.11\n- name: node-2\n  address: 192.168.50.12\n";

function ok(text: string): ClusterConfig {
  const r = parseClusterConfig(text, "cluster.yaml");
  expect(formatDiagnostics(r.diagnostics)).toBe("");
  return r.config!;
}

/** The single error of a config; fails if there is none or several. */
function theError(text: string): Diagnostic {
  const r = parseClusterConfig(text, "cluster.yaml");
  expect(r.diagnostics.map(formatDiagnostic)).toHaveLength(1);
  expect(r.config).toBeUndefined();
  return r.diagnostics[0];
}

describe("defaults", () => {
  it("fills every default around a minimal config", () => {
    const c = ok(HEAD + TWO_NODES);
    expect(c.name).toBe("kubewire");
    expect(c.seed).toBe(1);
    expect(formatCidr(c.clusterCIDR)).toBe("10.244.0.0/16");
    expect(formatCidr(c.serviceCIDR)).toBe("10.96.0.0/12");
    expect(c.nodeCIDRMaskSize).toBe(24);
    expect(formatCidr(c.underlay.cidr)).toBe("192.168.50.0/24");
    expect(c.underlay).toMatchObject({ mtu: 1500 });
    expect(c.underlay.gateway).toBeUndefined();
    expect(c.cni).toEqual({ backend: "vxlan", vni: 1, port: 8472, mtu: 1450 });
    expect(c.kubeProxy).toEqual({ mode: "iptables", masqueradeBit: 14, clusterDomain: "cluster.local" });
  });

  it("allocates podCIDRs in order: node i gets the i-th /24", () => {
    const c = ok(HEAD + TWO_NODES);
    expect(c.nodes.map((n) => [n.name, formatIpv4(n.address), formatCidr(n.podCIDR), n.podCIDRGiven])).toEqual([
      ["node-1", "192.168.50.11", "10.244.0.0/24", false],
      ["node-2", "192.168.50.12", "10.244.1.0/24", false],
    ]);
  });

  it("follows nodeCIDRMaskSize when allocating", () => {
    const c = ok(`${HEAD}clusterCIDR: 172.16.0.0/12\nnodeCIDRMaskSize: 26\n${TWO_NODES}`);
    expect(c.nodes.map((n) => formatCidr(n.podCIDR))).toEqual(["172.16.0.0/26", "172.16.0.64/26"]);
  });

  it("gives the pod MTU as the underlay MTU less VXLAN's 50 bytes, or all of it otherwise", () => {
    expect(ok(`${HEAD}underlay: {mtu: 9000}\n${TWO_NODES}`).cni.mtu).toBe(8950);
    expect(ok(`${HEAD}cni: {backend: host-gw}\n${TWO_NODES}`).cni.mtu).toBe(1500);
  });

  it("gives the routed backend the first underlay address as its router", () => {
    const c = ok(`${HEAD}cni: {backend: routed}\n${TWO_NODES}`);
    expect(formatIpv4(c.underlay.gateway!)).toBe("192.168.50.1");
  });

  it("adds kubelet's hostname and os labels to a node's own", () => {
    const c = ok(`${HEAD}nodes:\n- name: n1\n  address: 192.168.50.2\n  labels: {disk: ssd}\n`);
    expect(c.nodes[0].labels).toEqual({ "kubernetes.io/hostname": "n1", "kubernetes.io/os": "linux", disk: "ssd" });
  });

  it("reads a full config file", () => {
    const r = loadClusterConfig(`${FIXTURES}cluster.yaml`);
    expect(r.diagnostics).toEqual([]);
    const c = r.config!;
    expect([c.name, c.seed]).toEqual(["demo", 42]);
    expect(c.nodes.map((n) => n.name)).toEqual(["control-plane", "node-1", "node-2"]);
    expect(c.nodes[1].source).toMatchObject({ file: `${FIXTURES}cluster.yaml`, line: 11, col: 3 });
  });

  it("takes every setting as written", () => {
    const c = ok(`${HEAD}name: lab
seed: 99
clusterCIDR: 10.200.0.0/16
serviceCIDR: 10.32.0.0/16
underlay: {cidr: 172.16.0.0/24, mtu: 9001, gateway: 172.16.0.254}
cni: {backend: vxlan, vni: 4096, port: 4789, mtu: 8900}
kubeProxy: {mode: nftables, masqueradeBit: 15, clusterDomain: k8s.example}
nodes:
- {name: a, address: 172.16.0.1, podCIDR: 10.200.7.0/24}
`);
    expect(c.cni).toEqual({ backend: "vxlan", vni: 4096, port: 4789, mtu: 8900 });
    expect(c.kubeProxy).toEqual({ mode: "nftables", masqueradeBit: 15, clusterDomain: "k8s.example" });
    expect(formatIpv4(c.underlay.gateway!)).toBe("172.16.0.254");
    expect(formatCidr(c.nodes[0].podCIDR)).toBe("10.200.7.0/24");
  });

  it("reads a config embedded in another YAML file", () => {
    const lineCounter = new LineCounter();
    const text = `traffic: []\ncluster:\n${TWO_NODES.replace(/^/gm, "  ")}`;
    const document = parseDocument(text, { lineCounter });
    const r = readClusterConfigNode(document.get("cluster", true), { file: "scenario.yaml", lineCounter, document, embedded: true, path: "cluster" });
    expect(r.diagnostics).toEqual([]);
    expect(r.config?.nodes.map((n) => n.source.line)).toEqual([4, 6]);
  });
});

describe("errors", () => {
  it("reports overlapping podCIDRs", () => {
    const d = theError(
      `${HEAD}nodes:\n- name: a\n  address: 192.168.50.2\n  podCIDR: 10.244.5.0/24\n- name: b\n  address: 192.168.50.3\n  podCIDR: 10.244.5.0/24\n`,
    );
    expect(d).toMatchObject({ code: "cidr-overlap", path: "nodes[1].podCIDR", line: 9, col: 12, related: { line: 6, col: 12 } });
    expect(d.message).toBe("10.244.5.0/24 overlaps node a's podCIDR 10.244.5.0/24");
  });

  it("reports a written podCIDR that collides with an allocated one", () => {
    const d = theError(`${HEAD}nodes:\n- name: a\n  address: 192.168.50.2\n- name: b\n  address: 192.168.50.3\n  podCIDR: 10.244.0.0/24\n`);
    expect(d).toMatchObject({ code: "cidr-overlap", path: "nodes[1].podCIDR", line: 8 });
    expect(d.message).toBe("10.244.0.0/24 overlaps node a's podCIDR 10.244.0.0/24 (allocated in order from clusterCIDR)");
  });

  it("reports a podCIDR outside the clusterCIDR", () => {
    const d = theError(`${HEAD}nodes:\n- name: a\n  address: 192.168.50.2\n  podCIDR: 10.245.0.0/24\n`);
    expect(d).toMatchObject({ code: "cidr-outside", path: "nodes[0].podCIDR", line: 6, col: 12 });
    expect(d.message).toBe("10.245.0.0/24 is outside the clusterCIDR 10.244.0.0/16");
  });

  it("reports a podCIDR of the wrong size", () => {
    const d = theError(`${HEAD}nodes:\n- name: a\n  address: 192.168.50.2\n  podCIDR: 10.244.0.0/23\n`);
    expect(d).toMatchObject({ code: "cidr-size", path: "nodes[0].podCIDR", line: 6 });
    expect(d.message).toBe("10.244.0.0/23 is a /23 (expected a /24, the nodeCIDRMaskSize)");
    expect(d.hint).toBe("use a /24, or set nodeCIDRMaskSize: 23");
  });

  it("reports more nodes than the clusterCIDR has podCIDRs for", () => {
    const d = theError(`${HEAD}clusterCIDR: 10.244.0.0/24\nnodeCIDRMaskSize: 25\n${TWO_NODES}- {name: node-3, address: 192.168.50.13}\n`);
    expect(d).toMatchObject({ code: "cidr-size", path: "nodes" });
  });

  it("reports a clusterCIDR overlapping the serviceCIDR", () => {
    const d = theError(`${HEAD}clusterCIDR: 10.96.0.0/16\n${TWO_NODES}`);
    expect(d).toMatchObject({ code: "cidr-overlap", path: "clusterCIDR", line: 3, col: 14 });
    expect(d.message).toBe("10.96.0.0/16 overlaps serviceCIDR 10.96.0.0/12");
    const both = theError(`${HEAD}clusterCIDR: 10.0.0.0/8\nserviceCIDR: 10.96.0.0/12\n${TWO_NODES}`);
    expect(both).toMatchObject({ code: "cidr-overlap", path: "clusterCIDR", line: 3 });
  });

  it("reports a clusterCIDR overlapping the underlay", () => {
    const d = theError(`${HEAD}clusterCIDR: 192.168.0.0/16\n${TWO_NODES}`);
    expect(d).toMatchObject({ code: "cidr-overlap", path: "clusterCIDR", line: 3, col: 14 });
  });

  it("reports a node address outside the underlay", () => {
    const d = theError(`${HEAD}nodes:\n- name: a\n  address: 10.0.0.5\n`);
    expect(d).toMatchObject({ code: "address-outside", path: "nodes[0].address", line: 5, col: 12 });
    expect(d.message).toBe("10.0.0.5 is outside the underlay 192.168.50.0/24");
  });

  it("reports the underlay's broadcast address as a node address", () => {
    const d = theError(`${HEAD}nodes:\n- name: a\n  address: 192.168.50.255\n`);
    expect(d.message).toBe("192.168.50.255 is the broadcast address of 192.168.50.0/24, not a host address");
  });

  it("reports a duplicated node address", () => {
    const d = theError(`${HEAD}nodes:\n- name: a\n  address: 192.168.50.2\n- name: b\n  address: 192.168.50.2\n`);
    expect(d).toMatchObject({ code: "duplicate-address", path: "nodes[1].address", line: 7, related: { line: 5 } });
  });

  it("reports a node address that is the gateway's", () => {
    const d = theError(`${HEAD}underlay: {gateway: 192.168.50.2}\nnodes:\n- name: a\n  address: 192.168.50.2\n`);
    expect(d).toMatchObject({ code: "duplicate-address", path: "nodes[0].address" });
  });

  it("reports a duplicated node name", () => {
    const d = theError(`${HEAD}nodes:\n- name: a\n  address: 192.168.50.2\n- name: a\n  address: 192.168.50.3\n`);
    expect(d).toMatchObject({ code: "duplicate-value", path: "nodes[1].name", line: 6, col: 9 });
  });

  it("reports a bad IP", () => {
    const d = theError(`${HEAD}nodes:\n- name: a\n  address: 192.168.50.256\n`);
    expect(d).toMatchObject({ code: "invalid-ip", path: "nodes[0].address", line: 5, col: 12 });
    expect(d.message).toBe('"192.168.50.256" is not an IPv4 address (octet "256" is not a number 0-255)');
  });

  it("reports a bad CIDR", () => {
    const d = theError(`${HEAD}serviceCIDR: 10.96.0.1/12\n${TWO_NODES}`);
    expect(d).toMatchObject({ code: "invalid-cidr", path: "serviceCIDR", line: 3, col: 14 });
    expect(d.message).toBe('"10.96.0.1/12" has host bits set (did you mean 10.96.0.0/12?)');
  });

  it("reports an unknown backend and names the valid ones", () => {
    const d = theError(`${HEAD}cni:\n  backend: hostgw\n${TWO_NODES}`);
    expect(d).toMatchObject({ code: "invalid-value", path: "cni.backend", line: 4, col: 12 });
    expect(d.message).toBe('"hostgw" is not a CNI backend (expected vxlan, host-gw or routed) (did you mean "host-gw"?)');
  });

  it("reports an unknown kube-proxy mode", () => {
    const d = theError(`${HEAD}kubeProxy: {mode: ipvs}\n${TWO_NODES}`);
    expect(d.message).toBe('"ipvs" is not a kube-proxy mode (expected iptables or nftables)');
  });

  it("reports a pod MTU that does not fit the underlay", () => {
    const d = theError(`${HEAD}cni: {mtu: 1500}\n${TWO_NODES}`);
    expect(d).toMatchObject({ code: "invalid-value", path: "cni.mtu" });
    expect(d.message).toBe("a pod MTU of 1500 does not fit the underlay MTU of 1500 (VXLAN adds 50 bytes)");
  });

  it("reports an unknown field with a suggestion", () => {
    const d = theError(`${HEAD}serviceCidr: 10.96.0.0/12\n${TWO_NODES}`);
    expect(d).toMatchObject({ code: "unknown-field", path: "serviceCidr", line: 3, col: 1 });
    expect(d.message).toBe('unknown field "serviceCidr" (did you mean "serviceCIDR"?)');
  });

  it("reports a config without nodes", () => {
    const d = theError(HEAD);
    expect(d).toMatchObject({ code: "missing-field", path: "nodes" });
  });

  it("reports a wrong apiVersion and a missing kind", () => {
    const r = parseClusterConfig(`apiVersion: kubewire.dev/v1\n${TWO_NODES}`, "c.yaml");
    expect(r.diagnostics.map((d) => [d.code, d.path])).toEqual([
      ["api-version", "apiVersion"],
      ["missing-field", "kind"],
    ]);
  });

  it("reports a YAML error and a missing file without throwing", () => {
    expect(parseClusterConfig("nodes: [\n").diagnostics[0]).toMatchObject({ code: "yaml-syntax" });
    expect(loadClusterConfig(`${FIXTURES}nope.yaml`).diagnostics[0]).toMatchObject({ code: "io", message: "no such file" });
  });
});

// Helpers for the kube-proxy rule tests, after pkg/proxy/iptables/proxier_test.go and
// pkg/proxy/nftables/helpers_test.go: Services and EndpointSlices built as makeTestService /
// makeTestEndpointSlice build them, the fake proxier's settings, the same normalisation of the
// output before comparing (sortIPTablesRules, sortNFTablesTransaction), and a packet tracer over
// the rules (tracePacket) for the packet-flow tests.

import type { Endpoint, EndpointSlice, ProxierConfig, ProxyService, Service, ServicePort } from "../../src/k8s/index.js";
import { cidrContains, parseCidr, parseIpv4 } from "../../src/wire/index.js";

const SOURCE = { file: "proxier_test.go", doc: 1, line: 1, col: 1 };

// The conventions of NewFakeProxier: pods 10.0.0.0/8, ClusterIPs 172.30.0.0/16, node 192.168.0.2.
export const TEST_NODE_NAME = "test-node";
export const TEST_NODE_IP = "192.168.0.2";
export const TEST_NODE_IP_ALT = "192.168.1.2";
export const TEST_EXTERNAL_IP = "192.168.99.11";
export const TEST_EXTERNAL_CLIENT = "203.0.113.2";
export const TEST_EXTERNAL_CLIENT_BLOCKED = "203.0.113.130";
export const TEST_NODE_IPS = [TEST_NODE_IP, TEST_NODE_IP_ALT, TEST_EXTERNAL_IP];

/** NewFakeProxier (iptables): fake iptables without --random-fully, nfacct counters present. */
export const FAKE_IPTABLES_PROXIER: ProxierConfig = {
  nodeName: TEST_NODE_NAME,
  nodeIPs: TEST_NODE_IPS,
  localDetector: { mode: "ClusterCIDR", cidr: "10.0.0.0/8" },
  masqueradeMark: "0x4000",
  localhostNodePorts: true,
  randomFully: false,
  nfacct: true,
};

/** NewFakeProxier (nftables): --nodeport-addresses 192.168.0.2/32, service CIDR 172.30.0.0/16. */
export const FAKE_NFTABLES_PROXIER: ProxierConfig = {
  nodeName: TEST_NODE_NAME,
  nodeIPs: TEST_NODE_IPS,
  localDetector: { mode: "ClusterCIDR", cidr: "10.0.0.0/8" },
  masqueradeMark: "0x4000",
  nodePortAddresses: [`${TEST_NODE_IP}/32`],
  serviceCIDRs: ["172.30.0.0/16"],
};

export interface TestPort {
  name: string;
  port: number;
  protocol?: "TCP" | "UDP" | "SCTP";
  nodePort?: number;
  targetPort?: number;
}

/** makeTestService: a Service in kubewire's model, defaults as the Go test leaves them (type ClusterIP). */
export function makeTestService(namespace: string, name: string, f: (s: Service, ports: (p: TestPort[]) => void) => void): ProxyService {
  const svc: Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, labels: {}, annotations: {} },
    source: SOURCE,
    spec: {
      type: "ClusterIP",
      clusterIPs: [],
      ports: [],
      sessionAffinity: "None",
      internalTrafficPolicy: "Cluster",
      externalIPs: [],
      loadBalancerSourceRanges: [],
      publishNotReadyAddresses: false,
    },
    loadBalancerIngress: [],
  };
  f(svc, (ps) => {
    svc.spec.ports = ps.map(
      (p): ServicePort => ({ name: p.name, port: p.port, protocol: p.protocol ?? "TCP", targetPort: p.targetPort ?? p.port, nodePort: p.nodePort }),
    );
  });
  return { svc, clusterIP: svc.spec.clusterIP ?? "" };
}

export interface TestEndpoint {
  addresses: string[];
  nodeName?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

/** makeTestEndpointSlice: slice "<name>-<n>" labelled with its Service. */
export function makeTestEndpointSlice(
  namespace: string,
  name: string,
  n: number,
  endpoints: TestEndpoint[],
  ports: { name: string; port: number; protocol?: "TCP" | "UDP" | "SCTP" }[],
): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: `${name}-${n}`, namespace, labels: { "kubernetes.io/service-name": name }, annotations: {} },
    source: SOURCE,
    addressType: "IPv4",
    serviceName: name,
    endpoints: endpoints.map(
      (e): Endpoint => ({
        addresses: e.addresses,
        nodeName: e.nodeName,
        conditions: { ready: e.ready ?? true, serving: e.serving ?? true, terminating: e.terminating ?? false },
      }),
    ),
    ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol ?? "TCP" })),
  };
}

// ---- Test cases shared by the iptables and nftables tests ----

/** The Services and EndpointSlices of TestOverallIPTablesRules (and TestOverallNFTablesRules). */
export function overallCase(): { services: ProxyService[]; slices: EndpointSlice[] } {
  const services = [
    makeTestService("ns1", "svc1", (s, ports) => {
      s.spec.clusterIP = "172.30.0.41";
      ports([{ name: "p80", port: 80 }]);
    }),
    makeTestService("ns2", "svc2", (s, ports) => {
      s.spec.type = "LoadBalancer";
      s.spec.externalTrafficPolicy = "Local";
      s.spec.clusterIP = "172.30.0.42";
      ports([{ name: "p80", port: 80, nodePort: 3001 }]);
      s.loadBalancerIngress = ["1.2.3.4"];
      s.spec.externalIPs = ["192.168.99.22"];
      s.spec.healthCheckNodePort = 30000;
    }),
    makeTestService("ns3", "svc3", (s, ports) => {
      s.spec.type = "NodePort";
      s.spec.clusterIP = "172.30.0.43";
      ports([{ name: "p80", port: 80, nodePort: 3003 }]);
    }),
    makeTestService("ns4", "svc4", (s, ports) => {
      s.spec.type = "NodePort";
      s.spec.clusterIP = "172.30.0.44";
      s.spec.externalIPs = ["192.168.99.33"];
      ports([{ name: "p80", port: 80, targetPort: 80 }]);
    }),
    makeTestService("ns5", "svc5", (s, ports) => {
      s.spec.type = "LoadBalancer";
      s.spec.externalTrafficPolicy = "Cluster";
      s.spec.clusterIP = "172.30.0.45";
      ports([{ name: "p80", port: 80, nodePort: 3002 }]);
      s.loadBalancerIngress = ["5.6.7.8"];
      s.spec.healthCheckNodePort = 30000;
      // Extra whitespace: an invalid-looking value must not crash (backward compatibility).
      s.spec.loadBalancerSourceRanges = [" 203.0.113.0/25"];
      s.spec.sessionAffinity = "ClientIP";
      s.spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
    }),
    makeTestService("ns6", "svc6", (s, ports) => {
      s.spec.clusterIP = "172.30.0.46";
      ports([{ name: "p80", port: 80, targetPort: 80 }]);
    }),
  ];
  const p80 = [{ name: "p80", port: 80 }];
  const slices = [
    makeTestEndpointSlice("ns1", "svc1", 1, [{ addresses: ["10.180.0.1"] }], p80),
    // No nodeName: not local, so ignored by the Local policy.
    makeTestEndpointSlice("ns2", "svc2", 1, [{ addresses: ["10.180.0.2"] }], p80),
    makeTestEndpointSlice("ns3", "svc3", 1, [{ addresses: ["10.180.0.3"] }], p80),
    makeTestEndpointSlice("ns4", "svc4", 1, [{ addresses: ["10.180.0.4"] }, { addresses: ["10.180.0.5"], nodeName: "test-node" }], p80),
    makeTestEndpointSlice("ns5", "svc5", 1, [{ addresses: ["10.180.0.3"] }], p80),
  ];
  return { services, slices };
}

/** strings.TrimLeft + dedent for the expected texts. */
export function dedent(s: string): string {
  const lines = s.replace(/^\n/, "").split("\n");
  const indent = Math.min(...lines.filter((l) => l.trim() !== "").map((l) => /^\s*/.exec(l)![0].length));
  return lines.map((l) => l.slice(indent)).join("\n");
}

// ---- sortIPTablesRules (iptablestest.ParseIPTablesDump + Dump.String) ----

interface DumpTable {
  name: string;
  chains: string[];
  rules: Map<string, string[]>;
  deleted: Set<string>;
}

function parseDump(text: string): DumpTable[] {
  const tables: DumpTable[] = [];
  let t: DumpTable | null = null;
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("*")) tables.push((t = { name: line.slice(1), chains: [], rules: new Map(), deleted: new Set() }));
    else if (line === "COMMIT") t = null;
    else if (line.startsWith(":")) {
      const c = line.slice(1).split(" ")[0];
      if (!t!.chains.includes(c)) t!.chains.push(c);
    } else if (line.startsWith("-X ")) t!.deleted.add(line.slice(3));
    else if (line.startsWith("-A ")) {
      const c = line.split(" ")[1];
      if (!t!.rules.has(c)) t!.rules.set(c, []);
      t!.rules.get(c)!.push(line);
    } else throw new Error(`unexpected line ${line}`);
  }
  return tables;
}

/** The comment of a rule, unquoted. */
export function ruleComment(rule: string): string | null {
  const m = /--comment ("([^"]*)"|(\S+))/.exec(rule);
  return m ? (m[2] ?? m[3]) : null;
}

/** The service name a comment starts with (up to the first space or colon). */
const commentService = (rule: string): string | null => {
  const c = ruleComment(rule);
  if (c === null) return null;
  const i = c.search(/[ :]/);
  return i < 0 ? c : c.slice(0, i);
};

const byServiceName = (a: string, b: string): number => {
  const x = commentService(a);
  const y = commentService(b);
  if (x === null || y === null) return 0;
  return x < y ? -1 : x > y ? 1 : 0;
};

const chainOrder = (a: string, b: string): number => {
  const rank = (c: string) => (c === "KUBE-NODEPORTS" ? 0 : c === "KUBE-SERVICES" ? 1 : c.startsWith("KUBE-") ? 2 : 3);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
};

/** sortIPTablesRules: tables by name, chains in kube-proxy's test order, KUBE-SERVICES and KUBE-NODEPORTS rules by service. */
export function sortIPTablesRules(text: string): string {
  const tables = parseDump(text.trimStart()).sort((a, b) => (a.name < b.name ? -1 : 1));
  const out: string[] = [];
  for (const t of tables) {
    const chains = [...new Set([...t.chains, ...t.rules.keys()])].sort(chainOrder);
    for (const c of ["KUBE-NODEPORTS", "KUBE-SERVICES"]) {
      const rules = t.rules.get(c);
      if (!rules) continue;
      const last = (r: string) => (t.name === "nat" && c === "KUBE-SERVICES" && (ruleComment(r) ?? "").includes("must be the last rule") ? 1 : 0);
      rules.sort((a, b) => last(a) - last(b) || (last(a) === 0 ? byServiceName(a, b) : 0));
    }
    out.push(`*${t.name}`, ...chains.filter((c) => t.chains.includes(c)).map((c) => `:${c} - [0:0]`));
    for (const c of chains) out.push(...(t.rules.get(c) ?? []));
    for (const c of chains) if (t.deleted.has(c)) out.push(`-X ${c}`);
    out.push("COMMIT");
  }
  return `${out.join("\n")}\n`;
}

/** The rules of one chain of a restore text (assertIPTablesChainEqual). */
export function chainRules(text: string, table: string, chain: string): string[] {
  return parseDump(text).find((t) => t.name === table)?.rules.get(chain) ?? [];
}

// ---- sortNFTablesTransaction ----

const OBJECT_ORDER: Record<string, number> = { table: 10, chain: 9, rule: 8, set: 7, map: 6, element: 5 };

/** sortNFTablesTransaction: object type, then object name; rules keep their order; the rest by line. */
export function sortNFTablesTransaction(tx: string): string {
  const lines = tx.split("\n").filter((l) => l !== "" && l[0] !== "#");
  const keyed = lines.map((l, i) => ({ l, i, w: l.split(" ") }));
  keyed.sort((a, b) => {
    if (a.w.length < 5 || b.w.length < 5) return a.i - b.i;
    if (a.w[1] !== b.w[1]) return (OBJECT_ORDER[b.w[1]] ?? 0) - (OBJECT_ORDER[a.w[1]] ?? 0);
    if (a.w[4] !== b.w[4]) return a.w[4] < b.w[4] ? -1 : 1;
    if (a.w[1] === "rule") return a.i - b.i;
    return a.l < b.l ? -1 : a.l > b.l ? 1 : a.i - b.i;
  });
  return keyed.map((k) => k.l).join("\n");
}

// ---- tracePacket ----

interface TraceRule {
  raw: string;
  src?: { addr: string; neg: boolean };
  dst?: { addr: string; neg: boolean };
  srcType?: string;
  dstType?: string;
  proto?: string;
  dport?: string;
  probability: boolean;
  stateful: boolean;
  jump?: string;
  dnat?: string;
}

function parseRule(line: string): TraceRule {
  const toks = line.match(/"[^"]*"|\S+/g)!;
  const r: TraceRule = { raw: line, probability: false, stateful: false };
  let neg = false;
  for (let i = 2; i < toks.length; i++) {
    const t = toks[i];
    const next = () => toks[++i];
    if (t === "!") {
      neg = true;
      continue;
    }
    if (t === "-s") r.src = { addr: next(), neg };
    else if (t === "-d") r.dst = { addr: next(), neg };
    else if (t === "-p") r.proto = next();
    else if (t === "--dport") r.dport = next();
    else if (t === "--src-type") r.srcType = next();
    else if (t === "--dst-type") r.dstType = next();
    else if (t === "--probability") r.probability = true;
    else if (t === "--rcheck" || t === "--mark" || t === "--ctstate") r.stateful = true;
    else if (t === "-j") r.jump = next();
    else if (t === "--to-destination") r.dnat = next();
    neg = false;
  }
  return r;
}

const addrMatches = (a: { addr: string; neg: boolean }, ip: string): boolean => {
  const cidr = parseCidr(a.addr.includes("/") ? a.addr : `${a.addr}/32`, false);
  const v = parseIpv4(ip);
  const m = cidr.ok && v.ok && cidrContains(cidr.value, v.value);
  return m !== a.neg;
};

/**
 * tracePacket: nat KUBE-SERVICES (from PREROUTING), then the filter chains kube-proxy fills;
 * every probabilistic branch is followed. Returns the outputs ("ip:port", REJECT, DROP, ACCEPT,
 * joined by ", ") and whether the packet was marked for masquerade.
 */
export function tracePacket(rulesText: string, src: string, proto: string, dst: string, dport: number, nodeIPs: readonly string[]): { output: string; masq: boolean; matches: string[] } {
  const tables = new Map(parseDump(rulesText).map((t) => [t.name, new Map([...t.rules].map(([c, rs]) => [c, rs.map(parseRule)]))]));
  const local = new Set(["127.0.0.1", ...nodeIPs]);
  const outputs: string[] = [];
  const matches: string[] = [];
  let masq = false;
  const run = (table: string, chain: string, d: string): boolean => {
    for (const r of tables.get(table)?.get(chain) ?? []) {
      if (r.jump === undefined) continue;
      if (r.src && !addrMatches(r.src, src)) continue;
      if (r.srcType && (local.has(src) ? "LOCAL" : "") !== r.srcType) continue;
      if (r.proto && r.proto !== proto) continue;
      if (r.dst && !addrMatches(r.dst, d)) continue;
      if (r.dstType && (local.has(d) ? "LOCAL" : "") !== r.dstType) continue;
      if (r.dport && r.dport !== String(dport)) continue;
      if (r.stateful) continue;
      matches.push(r.raw);
      if (r.jump === "KUBE-MARK-MASQ") masq = true;
      else if (r.jump === "ACCEPT" || r.jump === "REJECT" || r.jump === "DROP") {
        outputs.push(r.jump);
        return true;
      } else if (r.jump === "DNAT") {
        outputs.push(r.dnat!);
        return true;
      } else if (run(table, r.jump, d) && !r.probability) return true;
    }
    return false;
  };
  run("nat", "KUBE-SERVICES", dst);
  const d = outputs.length > 0 ? outputs[0].split(":")[0] : dst;
  for (const c of ["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL"]) run("filter", c, d);
  return { output: outputs.join(", "), masq, matches };
}

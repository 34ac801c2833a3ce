// kubewire's own cluster config (`apiVersion: kubewire.dev/v1alpha1`, `kind: Cluster`): the
// nodes and their underlay addresses, the pod and Service ranges, the CNI backend and kube-proxy
// mode. Read by hand over the YAML nodes (as the manifests are) so every error has a line.

import { readFileSync } from "node:fs";
import { type Document, isScalar, LineCounter, parseAllDocuments } from "yaml";
import {
  asIpv4,
  cidrContains,
  formatCidr,
  formatIpv4,
  type Ipv4Addr,
  type Ipv4Cidr,
  parseCidr,
  parseIpv4,
  prefixMask,
} from "../wire/index.js";
import { Cursor, type ReadContext } from "./manifest/cursor.js";
import type { Diagnostic, Position } from "./manifest/diagnostics.js";
import { readLabels } from "./manifest/kinds/meta.js";
import { readEnum } from "./manifest/kinds/values.js";
import { checkName } from "./manifest/names.js";
import { YAML_OPTIONS } from "./manifest/parse.js";

export const CLUSTER_API_VERSION = "kubewire.dev/v1alpha1";
export const CNI_BACKENDS = ["vxlan", "host-gw", "routed"] as const;
export const PROXY_MODES = ["iptables", "nftables"] as const;
/** Outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8, as flannel subtracts from the underlay MTU. */
export const VXLAN_OVERHEAD = 50;

export type CniBackend = (typeof CNI_BACKENDS)[number];
export type ProxyMode = (typeof PROXY_MODES)[number];

export interface NodeConfig {
  name: string;
  /** The node's address on the underlay (its eth0). */
  address: Ipv4Addr;
  podCIDR: Ipv4Cidr;
  /** As given, plus kubelet's kubernetes.io/hostname and kubernetes.io/os. */
  labels: Record<string, string>;
  /** False when the podCIDR was allocated from clusterCIDR rather than written. */
  podCIDRGiven: boolean;
  source: Position;
}

export interface ClusterConfig {
  name: string;
  seed: number;
  clusterCIDR: Ipv4Cidr;
  serviceCIDR: Ipv4Cidr;
  nodeCIDRMaskSize: number;
  nodes: NodeConfig[];
  underlay: { cidr: Ipv4Cidr; mtu: number; gateway?: Ipv4Addr };
  cni: { backend: CniBackend; vni: number; port: number; mtu: number };
  kubeProxy: { mode: ProxyMode; masqueradeBit: number; clusterDomain: string };
  source: Position;
}

export interface ConfigResult {
  /** Present when there are no errors. */
  config?: ClusterConfig;
  diagnostics: Diagnostic[];
}

export const CONFIG_DEFAULTS = {
  name: "kubewire",
  seed: 1,
  clusterCIDR: "10.244.0.0/16",
  serviceCIDR: "10.96.0.0/12",
  nodeCIDRMaskSize: 24,
  underlayCIDR: "192.168.50.0/24",
  underlayMtu: 1500,
  backend: "vxlan" as CniBackend,
  vni: 1,
  vxlanPort: 8472,
  proxyMode: "iptables" as ProxyMode,
  masqueradeBit: 14,
  clusterDomain: "cluster.local",
};

const TOP_FIELDS = ["apiVersion", "kind", "name", "seed", "clusterCIDR", "serviceCIDR", "nodeCIDRMaskSize", "nodes", "underlay", "cni", "kubeProxy"];

/** Parses a cluster config from YAML text (one document). */
export function parseClusterConfig(text: string, file = "<inline>"): ConfigResult {
  const lineCounter = new LineCounter();
  const diagnostics: Diagnostic[] = [];
  const docs = parseAllDocuments(text, YAML_OPTIONS(lineCounter));
  const nonEmpty = docs.filter((d) => !(d.contents === null || (isScalar(d.contents) && d.contents.value === null)));
  for (const d of docs)
    for (const e of d.errors) {
      const { line, col } = lineCounter.linePos(e.pos[0]);
      diagnostics.push({ file, doc: 0, line, col, severity: "error", code: "yaml-syntax", path: "", message: `YAML: ${e.message}` });
    }
  if (diagnostics.length > 0) return { diagnostics };
  if (nonEmpty.length !== 1) {
    const at = nonEmpty[1] ? lineCounter.linePos(nonEmpty[1].range[0]) : { line: 1, col: 1 };
    const message = nonEmpty.length === 0 ? "the file is empty (expected a kind: Cluster document)" : "expected one document (a kind: Cluster)";
    return { diagnostics: [{ file, doc: 0, ...at, severity: "error", code: "not-an-object", path: "", message }] };
  }
  const document = nonEmpty[0] as Document;
  return readClusterConfigNode(document.contents, { file, lineCounter, document }, diagnostics);
}

/** Loads a cluster config file; a file that cannot be read is a diagnostic. */
export function loadClusterConfig(path: string): ConfigResult {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const message = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : `cannot read: ${(e as Error).message}`;
    return { diagnostics: [{ file: path, doc: 0, line: 1, col: 1, severity: "error", code: "io", path: "", message }] };
  }
  return parseClusterConfig(text, path);
}

/**
 * Reads a config from a YAML node, e.g. a `cluster:` section embedded in a scenario file
 * (`embedded`: apiVersion and kind may then be left out).
 */
export function readClusterConfigNode(
  node: unknown,
  where: { file: string; lineCounter: LineCounter; document: Document; embedded?: boolean; path?: string },
  diagnostics: Diagnostic[] = [],
): ConfigResult {
  const ctx: ReadContext = { file: where.file, doc: 0, lineCounter: where.lineCounter, document: where.document, diagnostics, errors: 0 };
  const root = Cursor.root(ctx, node, 0, where.path ?? "");
  const config = readConfig(root, where.embedded ?? false);
  return ctx.errors === 0 && config ? { config, diagnostics } : { diagnostics };
}

function readConfig(c: Cursor, embedded: boolean): ClusterConfig | undefined {
  if (!c.isMap()) {
    if (!c.present) c.missing("a kind: Cluster map");
    return undefined;
  }
  c.known(TOP_FIELDS);
  const api = c.get("apiVersion");
  if (!embedded || api.present) {
    const v = api.requiredStr(CLUSTER_API_VERSION);
    if (v !== undefined && v !== CLUSTER_API_VERSION)
      api.error("api-version", `"${v}" is not a cluster config version (expected ${CLUSTER_API_VERSION})`);
    const kind = c.get("kind").requiredStr("Cluster");
    if (kind !== undefined && kind !== "Cluster") c.get("kind").error("invalid-value", `"${kind}" is not Cluster`);
  }
  const nameCursor = c.get("name");
  const name = nameCursor.str() ?? CONFIG_DEFAULTS.name;
  const nameProblem = checkName(name, "dns1123-label");
  if (nameProblem) nameCursor.error("invalid-name", nameProblem.message, { hint: nameProblem.hint });
  const seed = c.get("seed").int("a seed", 0, 0xffffffff) ?? CONFIG_DEFAULTS.seed;

  const clusterCIDR = cidr(c.get("clusterCIDR"), CONFIG_DEFAULTS.clusterCIDR);
  const serviceCIDR = cidr(c.get("serviceCIDR"), CONFIG_DEFAULTS.serviceCIDR);
  const u = c.get("underlay");
  if (u.isMap()) u.known(["cidr", "mtu", "gateway"]);
  const underlayCidr = cidr(u.get("cidr"), CONFIG_DEFAULTS.underlayCIDR);
  const ranges = {
    clusterCIDR: { at: c.get("clusterCIDR"), cidr: clusterCIDR },
    serviceCIDR: { at: c.get("serviceCIDR"), cidr: serviceCIDR },
    "underlay.cidr": { at: u.get("cidr"), cidr: underlayCidr },
  };
  checkDisjoint(ranges, "clusterCIDR", "serviceCIDR");
  checkDisjoint(ranges, "clusterCIDR", "underlay.cidr");
  checkDisjoint(ranges, "serviceCIDR", "underlay.cidr");
  const maskCursor = c.get("nodeCIDRMaskSize");
  const nodeCIDRMaskSize = maskCursor.int("a prefix length", clusterCIDR?.len ?? 0, 30) ?? CONFIG_DEFAULTS.nodeCIDRMaskSize;
  const underlayMtu = u.get("mtu").int("an MTU", 68, 65535) ?? CONFIG_DEFAULTS.underlayMtu;

  const cni = readCni(c.get("cni"), underlayMtu);
  const kubeProxy = readKubeProxy(c.get("kubeProxy"));
  if (!clusterCIDR || !underlayCidr) return undefined;
  if (nodeCIDRMaskSize < clusterCIDR.len) {
    maskCursor.error("cidr-size", `/${nodeCIDRMaskSize} podCIDRs do not fit in clusterCIDR ${formatCidr(clusterCIDR)}`);
    return undefined;
  }
  const gatewayCursor = u.get("gateway");
  const gateway = readAddress(gatewayCursor, underlayCidr);
  const nodes = readNodes(c, { clusterCIDR, nodeCIDRMaskSize, underlay: underlayCidr, gateway });
  const underlay: ClusterConfig["underlay"] = { cidr: underlayCidr, mtu: underlayMtu };
  if (gateway !== undefined) underlay.gateway = gateway;
  else if (cni?.backend === "routed" && nodes) {
    const first = asIpv4(underlayCidr.addr + 1);
    if (nodes.some((n) => n.address === first))
      u.error("missing-field", `the routed backend needs a router on the underlay, and its default ${formatIpv4(first)} is a node's address`, {
        hint: "set underlay.gateway to a free address",
      });
    else underlay.gateway = first;
  }
  if (!nodes || !serviceCIDR || !cni || !kubeProxy) return undefined;
  return { name, seed, clusterCIDR, serviceCIDR, nodeCIDRMaskSize, nodes, underlay, cni, kubeProxy, source: c.position() };
}

interface NodeRanges {
  clusterCIDR: Ipv4Cidr;
  nodeCIDRMaskSize: number;
  underlay: Ipv4Cidr;
  gateway?: Ipv4Addr;
}

function readNodes(c: Cursor, r: NodeRanges): NodeConfig[] | undefined {
  const list = c.get("nodes");
  if (!list.present || (list.kind === "seq" && list.items().length === 0)) {
    list.missing("at least one node", "add nodes: [{name: node-1, address: 192.168.50.11}]");
    return undefined;
  }
  if (!list.isSeq()) return undefined;
  const items = list.items();
  const capacity = 2 ** (r.nodeCIDRMaskSize - r.clusterCIDR.len);
  if (items.length > capacity) {
    list.error("cidr-size", `${items.length} nodes, but clusterCIDR ${formatCidr(r.clusterCIDR)} holds only ${capacity} /${r.nodeCIDRMaskSize} podCIDRs`, {
      hint: "widen clusterCIDR or raise nodeCIDRMaskSize",
    });
    return undefined;
  }
  const nodes: NodeConfig[] = [];
  const cursors: Cursor[] = [];
  const names = new Map<string, Cursor>();
  const addresses = new Map<number, Cursor>();
  const subnetSize = 2 ** (32 - r.nodeCIDRMaskSize);
  for (const [i, n] of items.entries()) {
    if (!n.isMap()) continue;
    n.known(["name", "address", "podCIDR", "labels"]);
    const nameCursor = n.get("name");
    const name = nameCursor.requiredStr("a node name");
    if (name !== undefined) {
      const problem = checkName(name, "dns1123-subdomain");
      if (problem) nameCursor.error("invalid-name", problem.message, { hint: problem.hint });
      const dup = names.get(name);
      if (dup) nameCursor.error("duplicate-value", `node name "${name}" is used twice`, { related: dup.position() });
      names.set(name, nameCursor);
    }
    const addressCursor = n.get("address");
    if (!addressCursor.present) addressCursor.missing(`the node's IPv4 address in the underlay ${formatCidr(r.underlay)}`);
    const address = readAddress(addressCursor, r.underlay);
    if (address !== undefined) {
      const dup = addresses.get(address);
      if (dup)
        addressCursor.error("duplicate-address", `address ${formatIpv4(address)} is already another node's`, { related: dup.position() });
      else if (address === r.gateway)
        addressCursor.error("duplicate-address", `address ${formatIpv4(address)} is the underlay gateway's`);
      addresses.set(address, addressCursor);
    }
    const podCIDRCursor = n.get("podCIDR");
    let podCIDR: Ipv4Cidr | undefined = { addr: asIpv4(r.clusterCIDR.addr + i * subnetSize), len: r.nodeCIDRMaskSize };
    if (podCIDRCursor.present) podCIDR = readPodCIDR(podCIDRCursor, r);
    const labels = { "kubernetes.io/hostname": name ?? "", "kubernetes.io/os": "linux", ...readLabels(n.get("labels")) };
    if (name === undefined || address === undefined || podCIDR === undefined) continue;
    nodes.push({ name, address, podCIDR, labels, podCIDRGiven: podCIDRCursor.present, source: n.position() });
    cursors.push(n);
  }
  checkPodCIDRsDisjoint(nodes, cursors);
  return nodes.length === items.length && c.ctx.errors === 0 ? nodes : undefined;
}

function readPodCIDR(c: Cursor, r: NodeRanges): Ipv4Cidr | undefined {
  const podCIDR = cidr(c, undefined);
  if (!podCIDR) return undefined;
  if (podCIDR.len !== r.nodeCIDRMaskSize) {
    c.error("cidr-size", `${formatCidr(podCIDR)} is a /${podCIDR.len} (expected a /${r.nodeCIDRMaskSize}, the nodeCIDRMaskSize)`, {
      hint: `use a /${r.nodeCIDRMaskSize}, or set nodeCIDRMaskSize: ${podCIDR.len}`,
    });
    return undefined;
  }
  if (!contains(r.clusterCIDR, podCIDR)) {
    c.error("cidr-outside", `${formatCidr(podCIDR)} is outside the clusterCIDR ${formatCidr(r.clusterCIDR)}`, {
      hint: "pod CIDRs are carved out of clusterCIDR; pick one inside it or leave podCIDR out",
    });
    return undefined;
  }
  return podCIDR;
}

function checkPodCIDRsDisjoint(nodes: NodeConfig[], cursors: Cursor[]): void {
  for (let i = 0; i < nodes.length; i++)
    for (let j = 0; j < i; j++) {
      if (!overlaps(nodes[i].podCIDR, nodes[j].podCIDR)) continue;
      // Report at a podCIDR that was written; an allocated one has no line of its own.
      const [at, other] = nodes[i].podCIDRGiven ? [i, j] : [j, i];
      const how = nodes[other].podCIDRGiven ? "" : " (allocated in order from clusterCIDR)";
      cursors[at].get("podCIDR").error(
        "cidr-overlap",
        `${formatCidr(nodes[at].podCIDR)} overlaps node ${nodes[other].name}'s podCIDR ${formatCidr(nodes[other].podCIDR)}${how}`,
        { related: nodes[other].podCIDRGiven ? cursors[other].get("podCIDR").position() : undefined, hint: "give every node its own podCIDR, or leave them all out" },
      );
    }
}

function readCni(c: Cursor, underlayMtu: number): ClusterConfig["cni"] | undefined {
  if (c.present && !c.isMap()) return undefined;
  c.known(["backend", "vni", "port", "mtu"]);
  const backendCursor = c.get("backend");
  const backend = backendCursor.present ? readEnum(backendCursor, CNI_BACKENDS, "a CNI backend") : CONFIG_DEFAULTS.backend;
  const vni = c.get("vni").int("a VXLAN network identifier", 0, 0xffffff) ?? CONFIG_DEFAULTS.vni;
  const port = c.get("port").int("a UDP port", 1, 65535) ?? CONFIG_DEFAULTS.vxlanPort;
  if (backend === undefined) return undefined;
  const overhead = backend === "vxlan" ? VXLAN_OVERHEAD : 0;
  const mtuCursor = c.get("mtu");
  const mtu = mtuCursor.int("an MTU", 68, 65535) ?? underlayMtu - overhead;
  if (mtu + overhead > underlayMtu)
    mtuCursor.error("invalid-value", `a pod MTU of ${mtu} does not fit the underlay MTU of ${underlayMtu}${overhead ? ` (VXLAN adds ${overhead} bytes)` : ""}`, {
      hint: `use at most ${underlayMtu - overhead}, or leave mtu out`,
    });
  return { backend, vni, port, mtu };
}

function readKubeProxy(c: Cursor): ClusterConfig["kubeProxy"] | undefined {
  if (c.present && !c.isMap()) return undefined;
  c.known(["mode", "masqueradeBit", "clusterDomain"]);
  const modeCursor = c.get("mode");
  const mode = modeCursor.present ? readEnum(modeCursor, PROXY_MODES, "a kube-proxy mode") : CONFIG_DEFAULTS.proxyMode;
  const masqueradeBit = c.get("masqueradeBit").int("a mark bit", 0, 31) ?? CONFIG_DEFAULTS.masqueradeBit;
  const domainCursor = c.get("clusterDomain");
  const clusterDomain = domainCursor.str() ?? CONFIG_DEFAULTS.clusterDomain;
  const problem = checkName(clusterDomain, "dns1123-subdomain");
  if (problem) domainCursor.error("invalid-name", problem.message);
  return mode === undefined ? undefined : { mode, masqueradeBit, clusterDomain };
}

/** A CIDR field, or its default when absent. */
function cidr(c: Cursor, fallback: string | undefined): Ipv4Cidr | undefined {
  const s = c.str() ?? fallback;
  if (s === undefined) return undefined;
  const r = parseCidr(s);
  if (r.ok) return r.value;
  c.error("invalid-cidr", r.error);
  return undefined;
}

/** An IPv4 address that must be a host address of `within`. */
function readAddress(c: Cursor, within: Ipv4Cidr): Ipv4Addr | undefined {
  const s = c.str();
  if (s === undefined) return undefined;
  const r = parseIpv4(s);
  if (!r.ok) {
    c.error("invalid-ip", r.error);
    return undefined;
  }
  if (!cidrContains(within, r.value)) {
    c.error("address-outside", `${s} is outside the underlay ${formatCidr(within)}`, {
      hint: "node addresses and the gateway are on the underlay subnet; change the address or underlay.cidr",
    });
    return undefined;
  }
  const broadcast = (within.addr | (~prefixMask(within.len) >>> 0)) >>> 0;
  if (within.len < 31 && (r.value === within.addr || r.value === broadcast)) {
    c.error("address-outside", `${s} is the ${r.value === within.addr ? "network" : "broadcast"} address of ${formatCidr(within)}, not a host address`);
    return undefined;
  }
  return r.value;
}

type Ranges = Record<string, { at: Cursor; cidr: Ipv4Cidr | undefined }>;

/** Two ranges must not overlap; the error goes to the one written (the other may be a default). */
function checkDisjoint(ranges: Ranges, first: string, second: string): void {
  const a = ranges[first].cidr;
  const b = ranges[second].cidr;
  if (!a || !b || !overlaps(a, b)) return;
  const [name, other] = ranges[first].at.present || !ranges[second].at.present ? [first, second] : [second, first];
  ranges[name].at.error("cidr-overlap", `${formatCidr(ranges[name].cidr!)} overlaps ${other} ${formatCidr(ranges[other].cidr!)}`, {
    hint: `the pod, Service and underlay ranges must not share addresses; pick a ${name} outside ${formatCidr(ranges[other].cidr!)}`,
  });
}

const overlaps = (a: Ipv4Cidr, b: Ipv4Cidr): boolean => cidrContains(a, b.addr) || cidrContains(b, a.addr);
const contains = (outer: Ipv4Cidr, inner: Ipv4Cidr): boolean => inner.len >= outer.len && cidrContains(outer, inner.addr);

// The state of one namespace (a node, a pod, the gateway, an external host) in the words of the
// Linux tools: `ip route`, `ip neigh`, `bridge fdb`, `ip addr`, `conntrack -L`, `iptables-save`
// and `nft list ruleset`; and the nginx.conf of the L7 controllers (`nginx -T`).

import {
  type Cluster,
  compileGateway,
  compileIngress,
  type Gateway,
  gatewayLabels,
  INGRESS_NGINX_LABELS,
  type K8sObject,
  type L7Backend,
  type L7Router,
  matchesLabels,
  type PodRuntime,
} from "../k8s/index.js";
import { Bridge, type NetNamespace, VxlanDevice } from "../net/index.js";
import { netfilterOf } from "../netfilter/index.js";
import { dataplaneOf } from "./dataplane.js";
import { nearest } from "./yaml.js";

export const DUMP_KINDS = ["routes", "neigh", "fdb", "addresses", "conntrack", "iptables", "nft", "ingress"] as const;
export type DumpKind = (typeof DUMP_KINDS)[number];

/** The tool each dump imitates, for headers and help. */
export const DUMP_TOOLS: Record<DumpKind, string> = {
  routes: "ip route",
  neigh: "ip neigh",
  fdb: "bridge fdb",
  addresses: "ip addr",
  conntrack: "conntrack -L",
  iptables: "iptables-save",
  nft: "nft list ruleset",
  ingress: "nginx -T",
};

export type DumpResult = { ok: true; text: string } | { ok: false; message: string; hint?: string };

/** Every namespace name of the cluster: nodes, pods (NAME or NS/NAME), the gateway, external hosts. */
export function namespaceNames(c: Cluster): string[] {
  return c.namespaces().map((ns) => ns.name);
}

/** A namespace by node name, pod name (NAME, NS/NAME, pod/…), "gateway" or external host name. */
export function findNamespace(c: Cluster, name: string): NetNamespace | undefined {
  const n = name.replace(/^(node|pod|external)\//, "");
  const node = c.nodes.get(n);
  if (node) return node.ns;
  const pod = c.pods.get(n.includes("/") ? n : `default/${n}`);
  if (pod) return pod.ns;
  return c.namespaces().find((ns) => ns.name === n);
}

/** What the ingress dump needs of a running L7 controller (ingress-nginx, or one Gateway's). */
export interface L7ControllerView {
  /** "ingress-nginx" or "Gateway default/web". */
  readonly name: string;
  readonly router: L7Router;
  /** Whether the pod is one of the controller's (runs its proxy). */
  runsOn(pod: PodRuntime): boolean;
}

/**
 * `objects`: the scenario's manifests; `controllers`: the L7 controllers the run started. The
 * ingress dump prints the controllers' route tables, or compiles them from the objects when the
 * run started none.
 */
export function dump(c: Cluster, where: string, kind: DumpKind, objects: readonly K8sObject[] = [], controllers: readonly L7ControllerView[] = []): DumpResult {
  const ns = findNamespace(c, where);
  if (!ns) {
    const names = namespaceNames(c);
    const guess = nearest(where, names);
    return { ok: false, message: `no node, pod or host "${where}"${guess ? ` (did you mean "${guess}"?)` : ""}`, hint: `known: ${names.join(", ")}` };
  }
  const lines = (l: string[]): DumpResult => ({ ok: true, text: l.length ? `${l.join("\n")}\n` : "" });
  switch (kind) {
    case "routes":
      return lines(ns.dumpRoutes());
    case "neigh":
      return lines(ns.dumpNeighbours());
    case "addresses":
      return lines(ns.dumpAddresses());
    case "fdb": {
      const out: string[] = [];
      for (const d of ns.devices.values()) if (d instanceof Bridge || d instanceof VxlanDevice) out.push(...d.dumpFdb());
      return lines(out);
    }
    case "conntrack": {
      const nf = netfilterOf(ns);
      if (!nf) return { ok: false, message: `${ns.name} has no netfilter installed, so no conntrack table`, hint: "kube-proxy installs netfilter on the nodes" };
      return lines(nf.list());
    }
    case "iptables":
    case "nft": {
      const text = c.nodes.has(ns.name) ? dataplaneOf(c)?.rules(ns.name, kind) : undefined;
      if (text === undefined)
        return {
          ok: false,
          message: `no ${kind === "nft" ? "nftables" : "iptables"} rules for ${ns.name}`,
          hint: c.nodes.has(ns.name) ? `kube-proxy writes them on nodes (this cluster's mode: ${c.config.kubeProxy.mode})` : "rules are dumped per node: --node NODE",
        };
      return { ok: true, text: text.endsWith("\n") ? text : `${text}\n` };
    }
    case "ingress":
      return dumpIngress(c, ns.name, controllers.length ? controllers : controllersOf(objects));
  }
}

/** The certificate name the dump shows where a Secret is missing (the proxy presents its fake certificate). */
const DUMP_FALLBACK = { cert: "", key: "", origin: "fallback (Kubernetes Ingress Controller Fake Certificate)" };

/** The ready endpoints (pod IP:port) of a backend's Service port, from the cluster's EndpointSlices. */
export function readyEndpoints(c: Cluster, b: L7Backend): string[] {
  const key = `${b.namespace}/${b.service}`;
  const s = c.services.get(key);
  const sp = s?.svc.spec.ports.find((p) => (typeof b.port === "number" ? p.port === b.port : p.name === b.port));
  if (!sp) return [];
  const out: string[] = [];
  for (const slice of c.endpointSlices(key)) {
    const port = slice.ports.find((p) => p.name === sp.name && p.protocol === sp.protocol)?.port;
    if (port === undefined) continue;
    for (const ep of slice.endpoints) if (ep.conditions.ready) for (const a of ep.addresses) out.push(`${a}:${port}`);
  }
  return out;
}

/** The controllers a cluster would run for the objects, recognised by the labels of their pods. */
function controllersOf(objects: readonly K8sObject[]): L7ControllerView[] {
  const out: L7ControllerView[] = [];
  const labelled = (name: string, labels: Record<string, string>, router: L7Router): L7ControllerView => ({ name, router, runsOn: (p) => matchesLabels(labels, p.labels) });
  if (objects.some((o) => o.kind === "Ingress")) out.push(labelled("ingress-nginx", { ...INGRESS_NGINX_LABELS }, compileIngress(objects, { fallback: DUMP_FALLBACK })));
  for (const gw of objects.filter((o): o is Gateway => o.kind === "Gateway")) {
    const { name, namespace } = gw.metadata;
    out.push(labelled(`Gateway ${namespace}/${name}`, gatewayLabels(namespace, name), compileGateway(objects, gw, { fallback: DUMP_FALLBACK })));
  }
  return out;
}

/**
 * The route tables of ingress-nginx and of each Gateway, for a node that runs one of their pods
 * (every node while the cluster runs no controller pods).
 */
function dumpIngress(c: Cluster, node: string, controllers: readonly L7ControllerView[]): DumpResult {
  if (!c.nodes.has(node)) return { ok: false, message: `${node} is not a node`, hint: "the L7 controllers' route tables are dumped per node: --node NODE" };
  if (controllers.length === 0) return { ok: false, message: "the scenario has no Ingress and no Gateway", hint: "add networking.k8s.io/v1 Ingresses or gateway.networking.k8s.io/v1 Gateways to its manifests" };
  const pods = [...c.pods.values()].filter((p) => !p.deleted);
  const texts: string[] = [];
  const elsewhere: string[] = [];
  for (const ctl of controllers) {
    const own = pods.filter((p) => ctl.runsOn(p));
    if (own.length && !own.some((p) => p.node.name === node)) {
      elsewhere.push(`${ctl.name} on ${[...new Set(own.map((p) => p.node.name))].join(", ")}`);
      continue;
    }
    const warnings = ctl.router.warnings.map((w) => `# warning: ${w.object} ${w.field}: ${w.message}${w.where ? ` (${w.where})` : ""}`);
    texts.push([...warnings, ctl.router.describe((b) => readyEndpoints(c, b))].join("\n"));
  }
  if (texts.length === 0) return { ok: false, message: `no L7 controller pod runs on ${node}`, hint: elsewhere.join("; ") };
  return { ok: true, text: texts.join("\n") };
}

// The state of one namespace (a node, a pod, the gateway, an external host) in the words of the
// Linux tools: `ip route`, `ip neigh`, `bridge fdb`, `ip addr`, `conntrack -L`, `iptables-save`
// and `nft list ruleset`.

import type { Cluster } from "../k8s/index.js";
import { Bridge, type NetNamespace, VxlanDevice } from "../net/index.js";
import { netfilterOf } from "../netfilter/index.js";
import { dataplaneOf } from "./dataplane.js";
import { nearest } from "./yaml.js";

export const DUMP_KINDS = ["routes", "neigh", "fdb", "addresses", "conntrack", "iptables", "nft"] as const;
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

export function dump(c: Cluster, where: string, kind: DumpKind): DumpResult {
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
  }
}

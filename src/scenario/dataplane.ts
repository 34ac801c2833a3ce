// The data plane a scenario's cluster runs besides the CNI: kube-proxy on every node (netfilter
// with its iptables or nftables rules, flanneld's masquerade rules beside them), kept in step
// with Services and EndpointSlices.

import { type Cluster, KubeProxy } from "../k8s/index.js";
import { IptablesEngine } from "../netfilter/index.js";

/** What the data plane offers to dumps: a node's rules as iptables-save / nft list ruleset. */
export interface Dataplane {
  readonly proxy: KubeProxy;
  /**
   * `iptables-save` or `nft list ruleset` of a node; undefined when the node has no such rules (an
   * iptables-mode kube-proxy writes no nftables table).
   */
  rules(node: string, format: "iptables" | "nft"): string | undefined;
}

const planes = new WeakMap<Cluster, Dataplane>();

export function installDataplane(cluster: Cluster): Dataplane {
  const proxy = KubeProxy.start(cluster);
  const plane: Dataplane = {
    proxy,
    rules(node, format) {
      const p = proxy.nodes.get(node);
      if (!p) return undefined;
      if (format === "iptables" && p.mode === "nftables") {
        // In nftables mode iptables-save shows only what others (flanneld) wrote.
        const others = new IptablesEngine();
        for (const t of p.hostRules) others.restore(t, { noflush: true });
        return others.save({ header: false });
      }
      if (format === "nft" && p.mode === "iptables") return undefined;
      return p.dump();
    },
  };
  planes.set(cluster, plane);
  return plane;
}

export const dataplaneOf = (cluster: Cluster): Dataplane | undefined => planes.get(cluster);

// flanneld's --ip-masq rules (flannel pkg/trafficmngr/iptables: MasqRules, ForwardRules): pod
// traffic leaving the cluster network is masqueraded, pod-to-pod traffic is not, and traffic
// kube-proxy marked is left to kube-proxy; plus FLANNEL-FWD accepting the pod network in FORWARD.

export interface FlannelMasqOptions {
  /** The flannel network (the cluster CIDR), e.g. "10.244.0.0/16". */
  network: string;
  /** This node's lease (its podCIDR), e.g. "10.244.1.0/24". */
  subnet: string;
  /** iptables supports MASQUERADE --random-fully (default true). */
  randomFully?: boolean;
  /** --iptables-forward-rules (default true). */
  forwardRules?: boolean;
}

export interface FlannelRule {
  table: "nat" | "filter";
  /** "-I" (at the top) or "-A". */
  action: "-I" | "-A";
  chain: string;
  spec: string;
}

/** kube-proxy's masquerade mark, left alone to avoid a double NAT. */
const KUBE_PROXY_MARK = "0x4000/0x4000";

export function flannelMasqRules(o: FlannelMasqOptions): FlannelRule[] {
  const n = o.network;
  const masq = `-j MASQUERADE${(o.randomFully ?? true) ? " --random-fully" : ""}`;
  const c = '-m comment --comment "flanneld masq"';
  const rules: FlannelRule[] = [
    // Ahead of every other POSTROUTING rule.
    { table: "nat", action: "-I", chain: "POSTROUTING", spec: `${c} -j FLANNEL-POSTRTG` },
    { table: "nat", action: "-A", chain: "FLANNEL-POSTRTG", spec: `-m mark --mark ${KUBE_PROXY_MARK} ${c} -j RETURN` },
    // Traffic within the overlay is not NATed.
    { table: "nat", action: "-A", chain: "FLANNEL-POSTRTG", spec: `-s ${n} -d ${n} ${c} -j RETURN` },
    // Pods going anywhere else (but multicast) are.
    { table: "nat", action: "-A", chain: "FLANNEL-POSTRTG", spec: `-s ${n} ! -d 224.0.0.0/4 ${c} ${masq}` },
    // External traffic arriving for this node's pods keeps its source.
    { table: "nat", action: "-A", chain: "FLANNEL-POSTRTG", spec: `! -s ${n} -d ${o.subnet} ${c} -j RETURN` },
    // The host reaching other nodes' pods through flannel is masqueraded.
    { table: "nat", action: "-A", chain: "FLANNEL-POSTRTG", spec: `! -s ${n} -d ${n} ${c} ${masq}` },
  ];
  if (o.forwardRules ?? true) {
    const f = '-m comment --comment "flanneld forward"';
    rules.push(
      { table: "filter", action: "-I", chain: "FORWARD", spec: `${f} -j FLANNEL-FWD` },
      { table: "filter", action: "-A", chain: "FLANNEL-FWD", spec: `-s ${n} ${f} -j ACCEPT` },
      { table: "filter", action: "-A", chain: "FLANNEL-FWD", spec: `-d ${n} ${f} -j ACCEPT` },
    );
  }
  return rules;
}

/**
 * What flanneld applies on a fresh node: its chains created (CreateIP4Chain, i.e. -N or flush) and
 * the rules through iptables-restore --noflush (ipTablesBootstrap), "-I" inserting at the top.
 */
export function flannelMasqText(o: FlannelMasqOptions): string {
  const rules = flannelMasqRules(o);
  const out: string[] = [];
  for (const [table, chain] of [
    ["nat", "FLANNEL-POSTRTG"],
    ["filter", "FLANNEL-FWD"],
  ] as const) {
    const mine = rules.filter((r) => r.table === table);
    if (mine.length === 0) continue;
    out.push(`*${table}`, `:${chain} - [0:0]`, ...mine.map((r) => `${r.action} ${r.chain} ${r.spec}`), "COMMIT");
  }
  return `${out.join("\n")}\n`;
}

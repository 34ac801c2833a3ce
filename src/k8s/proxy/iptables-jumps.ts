// What kube-proxy's iptables mode sets up outside its iptables-restore input
// (pkg/proxy/iptables/proxier.go: iptablesJumpChains, iptablesKubeletJumpChains, and the
// ipt.Monitor canary): the jumps from the built-in chains into its own, each ensured with
// `iptables -N` and `iptables -I CHAIN 1` on a full sync, so the last ensured comes first.

export interface JumpChain {
  table: "filter" | "nat";
  dst: string;
  src: "INPUT" | "FORWARD" | "OUTPUT" | "PREROUTING" | "POSTROUTING";
  comment: string;
  extra: string[];
}

const NEW = ["-m", "conntrack", "--ctstate", "NEW"];

export const IPTABLES_JUMP_CHAINS: readonly JumpChain[] = [
  { table: "filter", dst: "KUBE-EXTERNAL-SERVICES", src: "INPUT", comment: "kubernetes externally-visible service portals", extra: NEW },
  { table: "filter", dst: "KUBE-EXTERNAL-SERVICES", src: "FORWARD", comment: "kubernetes externally-visible service portals", extra: NEW },
  { table: "filter", dst: "KUBE-NODEPORTS", src: "INPUT", comment: "kubernetes health check service ports", extra: [] },
  { table: "filter", dst: "KUBE-SERVICES", src: "FORWARD", comment: "kubernetes service portals", extra: NEW },
  { table: "filter", dst: "KUBE-SERVICES", src: "OUTPUT", comment: "kubernetes service portals", extra: NEW },
  { table: "filter", dst: "KUBE-FORWARD", src: "FORWARD", comment: "kubernetes forwarding rules", extra: [] },
  { table: "filter", dst: "KUBE-PROXY-FIREWALL", src: "INPUT", comment: "kubernetes load balancer firewall", extra: NEW },
  { table: "filter", dst: "KUBE-PROXY-FIREWALL", src: "OUTPUT", comment: "kubernetes load balancer firewall", extra: NEW },
  { table: "filter", dst: "KUBE-PROXY-FIREWALL", src: "FORWARD", comment: "kubernetes load balancer firewall", extra: NEW },
  { table: "nat", dst: "KUBE-SERVICES", src: "OUTPUT", comment: "kubernetes service portals", extra: [] },
  { table: "nat", dst: "KUBE-SERVICES", src: "PREROUTING", comment: "kubernetes service portals", extra: [] },
  { table: "nat", dst: "KUBE-POSTROUTING", src: "POSTROUTING", comment: "kubernetes postrouting rules", extra: [] },
];

/** Duplicates of kubelet's (pkg/kubelet/kubelet_network_linux.go): kube-proxy creates them too. */
export const IPTABLES_KUBELET_JUMP_CHAINS: readonly JumpChain[] = [
  { table: "filter", dst: "KUBE-FIREWALL", src: "INPUT", comment: "", extra: [] },
  { table: "filter", dst: "KUBE-FIREWALL", src: "OUTPUT", comment: "", extra: [] },
];

/** ipt.Monitor's canary chain, created in these tables when kube-proxy starts. */
export const KUBE_PROXY_CANARY = "KUBE-PROXY-CANARY";
export const CANARY_TABLES = ["mangle", "nat", "filter"] as const;

/** The rule spec an EnsureRule writes: extra args, the comment if any, the jump. */
export function jumpRuleSpec(j: JumpChain): string {
  const args = [...j.extra];
  if (j.comment !== "") args.push("-m", "comment", "--comment", `"${j.comment}"`);
  args.push("-j", j.dst);
  return args.join(" ");
}

/**
 * EnsureChain + EnsureRule(Prepend) for every jump, and the canary chains, as an iptables-restore
 * --noflush input. `exists(table, chain)` says which chains are there already (no -N for those).
 * Meant for a node kube-proxy has not set up yet: rules already present would be inserted again.
 */
export function iptablesJumpsText(exists: (table: string, chain: string) => boolean = () => false): string {
  const perTable = new Map<string, string[]>([
    ["mangle", []],
    ["filter", []],
    ["nat", []],
  ]);
  const created = new Set<string>();
  const ensureChain = (table: string, chain: string) => {
    const k = `${table}/${chain}`;
    if (created.has(k) || exists(table, chain)) return;
    created.add(k);
    perTable.get(table)!.push(`-N ${chain}`);
  };
  for (const t of CANARY_TABLES) ensureChain(t, KUBE_PROXY_CANARY);
  for (const j of [...IPTABLES_JUMP_CHAINS, ...IPTABLES_KUBELET_JUMP_CHAINS]) {
    ensureChain(j.table, j.dst);
    perTable.get(j.table)!.push(`-I ${j.src} 1 ${jumpRuleSpec(j)}`);
  }
  const out: string[] = [];
  for (const [t, lines] of perTable) if (lines.length > 0) out.push(`*${t}`, ...lines, "COMMIT");
  return `${out.join("\n")}\n`;
}

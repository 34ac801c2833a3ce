// `nft list ruleset` text for the verdict maps of map dispatch: one map per run of service rules
// (`type ipv4_addr . inet_proto . inet_service : verdict`), the chain that looks packets up in
// it (`ip daddr . meta l4proto . th dport vmap @MAP`), and the chains its verdicts name. This is
// what kube-proxy's nftables mode builds; the layout follows nft's listing (tabs, elements
// continued on lines indented by three tabs and five spaces).

import { formatIpv4 } from "../../wire/index.js";
import type { MapSegment, Program } from "../iptables/compile.js";
import type { TableName } from "../types.js";
import { mapVerdict } from "./segments.js";

export interface NftPrintOptions {
  /** Table family and name: "ip kubewire" by default. */
  family?: string;
  table?: string;
}

export interface NftMapElement {
  daddr: number;
  proto: number;
  port: number;
  /** "jump KUBE-SVC-…", "goto …", "accept", "drop", "return". */
  verdict: string;
}

export interface NftMap {
  /** Map name: "<table>-<chain>" plus "-N" for the Nth run of a chain. */
  name: string;
  /** The chain the lookup stands in: "<table>-<chain>". */
  chain: string;
  elements: NftMapElement[];
}

const protoName = (p: number): string => (p === 6 ? "tcp" : p === 17 ? "udp" : `${p}`);

/** The elements of each segment, in rule order (first match), with the verdict of each rule. */
export function nftMaps(segments: readonly MapSegment[], programs: (table: TableName) => Program | undefined): NftMap[] {
  const seen = new Map<string, number>();
  return segments.map((seg) => {
    const prog = programs(seg.table)!;
    const chain = `${seg.table}-${seg.chain}`;
    const n = seen.get(chain) ?? 0;
    seen.set(chain, n + 1);
    const elements = seg.map
      .entries()
      .sort((a, b) => a.value - b.value)
      .map((e) => ({ daddr: e.daddr, proto: e.proto, port: e.port, verdict: mapVerdict(prog.rules[e.value]!.target)! }));
    return { name: n === 0 ? chain : `${chain}-${n}`, chain, elements };
  });
}

/** `nft list ruleset`-style text for the maps. */
export function formatNftRuleset(maps: readonly NftMap[], opts: NftPrintOptions = {}): string {
  const out: string[] = [`table ${opts.family ?? "ip"} ${opts.table ?? "kubewire"} {`];
  const blocks: string[][] = [];
  for (const m of maps) {
    const lines = [`\tmap ${m.name} {`, "\t\ttype ipv4_addr . inet_proto . inet_service : verdict"];
    if (m.elements.length > 0) {
      const items = m.elements.map((e) => `${formatIpv4(e.daddr)} . ${protoName(e.proto)} . ${e.port} : ${e.verdict}`);
      lines.push(`\t\telements = { ${items.join(",\n\t\t\t     ")} }`);
    }
    lines.push("\t}");
    blocks.push(lines);
  }
  const targets = new Set<string>();
  for (const m of maps) for (const e of m.elements) if (e.verdict.startsWith("jump ") || e.verdict.startsWith("goto ")) targets.add(e.verdict.slice(5));
  for (const t of [...targets].sort()) blocks.push([`\tchain ${t} {`, "\t}"]);
  const byChain = new Map<string, string[]>();
  for (const m of maps) byChain.set(m.chain, [...(byChain.get(m.chain) ?? []), m.name]);
  for (const [chain, names] of byChain) blocks.push([`\tchain ${chain} {`, ...names.map((n) => `\t\tip daddr . meta l4proto . th dport vmap @${n}`), "\t}"]);
  blocks.forEach((b, i) => {
    if (i > 0) out.push("");
    out.push(...b);
  });
  out.push("}");
  return `${out.join("\n")}\n`;
}

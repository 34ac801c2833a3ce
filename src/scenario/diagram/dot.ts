// The topology as Graphviz DOT: a cluster box per node (its pods inside), the underlay as an
// ellipse, VXLAN tunnels dashed, Services as hexagons pointing at their endpoints, and a traced
// packet's path in red, its hops numbered.

import type { DeviceBox, Topology } from "./topology.js";

/** A quoted DOT string; `\n` in labels is DOT's line break, so backslashes pass through. */
const q = (s: string) => `"${s.replace(/"/g, '\\"')}"`;
const devLabel = (d: DeviceBox) => q([d.name, ...d.addrs].join("\\n"));

export function toDot(t: Topology, path: readonly string[] = []): string {
  const o: string[] = [];
  o.push(`digraph ${q(t.name)} {`);
  o.push("  graph [rankdir=TB, compound=true, fontname=Helvetica, fontsize=11, newrank=true];");
  o.push("  node [shape=box, style=rounded, fontname=Helvetica, fontsize=10];");
  o.push("  edge [dir=none, fontname=Helvetica, fontsize=9];");
  for (const [i, n] of t.nodes.entries()) {
    o.push(`  subgraph ${q(`cluster_node_${i}`)} {`);
    o.push(`    label=${q(`node ${n.name}\\n${n.address}  podCIDR ${n.podCIDR}`)}; style=rounded; color=gray40;`);
    for (const p of n.pods) {
      o.push(`    subgraph ${q(`cluster_pod_${p.key}`)} {`);
      o.push(`      label=${q(`pod ${p.key}${p.ready ? "" : " (not ready)"}\\n${p.containers.join(", ")}`)}; style="rounded,filled"; fillcolor=aliceblue; color=steelblue;`);
      o.push(`      ${q(p.eth0.id)} [label=${devLabel(p.eth0)}];`);
      o.push("    }");
      o.push(`    ${q(p.hostVeth.id)} [label=${devLabel(p.hostVeth)}];`);
    }
    if (n.bridge) o.push(`    ${q(n.bridge.id)} [label=${devLabel(n.bridge)}, shape=box, style="rounded,filled", fillcolor=lightyellow];`);
    if (n.vxlan) o.push(`    ${q(n.vxlan.id)} [label=${q(`${n.vxlan.name}\\nVNI ${n.vxlan.vni}\\n${n.vxlan.addrs.join("\\n")}`)}, style="rounded,filled", fillcolor=honeydew];`);
    o.push(`    ${q(n.eth0.id)} [label=${devLabel(n.eth0)}];`);
    o.push("  }");
    for (const p of n.pods) {
      o.push(`  ${q(p.eth0.id)} -> ${q(p.hostVeth.id)} [label="veth"];`);
      if (n.bridge) o.push(`  ${q(p.hostVeth.id)} -> ${q(n.bridge.id)};`);
    }
    if (n.bridge) o.push(`  ${q(n.bridge.id)} -> ${q(n.vxlan ? n.vxlan.id : n.eth0.id)} [style=dotted, label="route"];`);
    if (n.vxlan) o.push(`  ${q(n.vxlan.id)} -> ${q(n.eth0.id)} [style=dotted, label="encap"];`);
    o.push(`  ${q(n.eth0.id)} -> "underlay";`);
  }
  o.push(`  "underlay" [shape=ellipse, label=${q(`underlay ${t.underlay}`)}, style=filled, fillcolor=gray92];`);
  for (const h of t.hosts) {
    o.push(`  ${q(h.eth0.id)} [label=${q(`${h.role === "gateway" ? "router" : "host"} ${h.name}\\neth0 ${h.address}`)}, shape=box3d];`);
    o.push(`  "underlay" -> ${q(h.eth0.id)};`);
  }
  const vx = t.nodes.filter((n) => n.vxlan);
  for (let i = 0; i < vx.length; i++)
    for (let j = i + 1; j < vx.length; j++)
      o.push(`  ${q(vx[i].vxlan!.id)} -> ${q(vx[j].vxlan!.id)} [style=dashed, color=darkgreen, constraint=false, label=${q(`VXLAN UDP ${vx[i].vxlan!.port}`)}];`);
  for (const s of t.services) {
    const id = `svc/${s.key}`;
    o.push(`  ${q(id)} [shape=hexagon, style=filled, fillcolor=mistyrose, label=${q([`Service ${s.key} (${s.type})`, s.clusterIP ? `ClusterIP ${s.clusterIP}` : "headless", ...s.loadBalancer.map((a) => `LoadBalancer ${a}`), ...s.ports].join("\\n"))}];`);
    for (const e of s.endpoints) {
      const pod = t.nodes.flatMap((n) => n.pods).find((p) => p.key === e);
      if (pod) o.push(`  ${q(id)} -> ${q(pod.eth0.id)} [style=dashed, color=indianred, dir=forward, lhead=${q(`cluster_pod_${pod.key}`)}];`);
    }
  }
  const hops = dedupe(path);
  for (let i = 1; i < hops.length; i++)
    o.push(`  ${q(hops[i - 1])} -> ${q(hops[i])} [color=red, penwidth=2, dir=forward, constraint=false, label=${q(String(i))}, fontcolor=red];`);
  for (const h of new Set(hops)) o.push(`  ${q(h)} [color=red, penwidth=2];`);
  o.push("}");
  return `${o.join("\n")}\n`;
}

/** Consecutive repeats (rx then tx on one device) count once. */
export function dedupe(path: readonly string[]): string[] {
  return path.filter((p, i) => i === 0 || path[i - 1] !== p);
}

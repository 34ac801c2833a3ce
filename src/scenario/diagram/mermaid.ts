// The topology as a Mermaid flowchart (renders on GitHub): a subgraph per node with its pods,
// the underlay, VXLAN tunnels, Services and a traced path (red, numbered links).

import { dedupe } from "./dot.js";
import type { DeviceBox, Topology } from "./topology.js";

const id = (s: string) => s.replace(/[^A-Za-z0-9_]/g, "_");
const text = (s: string) => s.replace(/"/g, "#quot;");
const label = (d: DeviceBox) => `${id(d.id)}["${text([d.name, ...d.addrs].join("<br/>"))}"]`;

export function toMermaid(t: Topology, path: readonly string[] = []): string {
  const o: string[] = ["flowchart TB"];
  const links: string[] = [];
  for (const n of t.nodes) {
    o.push(`  subgraph ${id(`node_${n.name}`)}["node ${text(n.name)} ${n.address} (podCIDR ${n.podCIDR})"]`);
    for (const p of n.pods) {
      o.push(`    subgraph ${id(`pod_${p.key}`)}["pod ${text(p.key)}"]`);
      o.push(`      ${label(p.eth0)}`);
      o.push("    end");
      o.push(`    ${label(p.hostVeth)}`);
      links.push(`  ${id(p.eth0.id)} ---|veth| ${id(p.hostVeth.id)}`);
      if (n.bridge) links.push(`  ${id(p.hostVeth.id)} --- ${id(n.bridge.id)}`);
    }
    if (n.bridge) o.push(`    ${label(n.bridge)}`);
    if (n.vxlan) o.push(`    ${id(n.vxlan.id)}["${text(`${n.vxlan.name} VNI ${n.vxlan.vni}`)}<br/>${n.vxlan.addrs.join("<br/>")}"]`);
    o.push(`    ${label(n.eth0)}`);
    o.push("  end");
    if (n.bridge) links.push(`  ${id(n.bridge.id)} -.-|route| ${id(n.vxlan ? n.vxlan.id : n.eth0.id)}`);
    if (n.vxlan) links.push(`  ${id(n.vxlan.id)} -.-|encap| ${id(n.eth0.id)}`);
    links.push(`  ${id(n.eth0.id)} --- underlay`);
  }
  o.push(`  underlay(["underlay ${t.underlay}"])`);
  for (const h of t.hosts) {
    o.push(`  ${id(h.eth0.id)}[["${h.role === "gateway" ? "router" : "host"} ${text(h.name)}<br/>eth0 ${h.address}"]]`);
    links.push(`  underlay --- ${id(h.eth0.id)}`);
  }
  const vx = t.nodes.filter((n) => n.vxlan);
  for (let i = 0; i < vx.length; i++)
    for (let j = i + 1; j < vx.length; j++) links.push(`  ${id(vx[i].vxlan!.id)} <-.->|VXLAN UDP ${vx[i].vxlan!.port}| ${id(vx[j].vxlan!.id)}`);
  for (const s of t.services) {
    const sid = id(`svc_${s.key}`);
    o.push(`  ${sid}{{"Service ${text(s.key)} (${s.type})<br/>${s.clusterIP ? `ClusterIP ${s.clusterIP}` : "headless"}<br/>${s.loadBalancer.map((a) => `LoadBalancer ${a}<br/>`).join("")}${s.ports.map(text).join("<br/>")}"}}`);
    for (const e of s.endpoints) {
      const pod = t.nodes.flatMap((n) => n.pods).find((p) => p.key === e);
      if (pod) links.push(`  ${sid} -.-> ${id(pod.eth0.id)}`);
    }
  }
  o.push(...links);
  const hops = dedupe(path);
  const first = links.length;
  for (let i = 1; i < hops.length; i++) o.push(`  ${id(hops[i - 1])} ==>|${i}| ${id(hops[i])}`);
  if (hops.length > 1) o.push(`  linkStyle ${Array.from({ length: hops.length - 1 }, (_, i) => first + i).join(",")} stroke:red,stroke-width:2px`);
  return `${o.join("\n")}\n`;
}

// Topology diagrams: DOT, Mermaid or hand-laid-out SVG, optionally with a traced packet's path.

import type { Cluster } from "../../k8s/index.js";
import { toDot } from "./dot.js";
import { toMermaid } from "./mermaid.js";
import { toSvg } from "./svg.js";
import { topology } from "./topology.js";

export const DIAGRAM_FORMATS = ["svg", "dot", "mermaid"] as const;
export type DiagramFormat = (typeof DIAGRAM_FORMATS)[number];

/** `path`: capture interface names (`client/eth0`, `node-1/cni0` …) in the order a packet crossed them. */
export function renderDiagram(c: Cluster, name: string, format: DiagramFormat, path: readonly string[] = []): string {
  const t = topology(c, name);
  return format === "dot" ? toDot(t, path) : format === "mermaid" ? toMermaid(t, path) : toSvg(t, path);
}

export { toDot } from "./dot.js";
export { toMermaid } from "./mermaid.js";
export { toSvg } from "./svg.js";
export * from "./topology.js";

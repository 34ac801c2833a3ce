// The topology as SVG, laid out by hand (no Graphviz needed): Services on top, one column per
// node (pods, the host ends of their veths, cni0, flannel.1, eth0), the underlay line below with
// the gateway and external hosts, VXLAN tunnels dashed, a traced path in red with numbered hops.

import { dedupe } from "./dot.js";
import type { Topology } from "./topology.js";

const PAD = 20;
const POD_W = 110;
const GAP = 40;
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

interface Pt {
  x: number;
  y: number;
}

/** A device's box: where path segments start and end. */
interface Box extends Pt {
  w: number;
  h: number;
}

/** The segment between the centres of two boxes, cut at their borders. */
function clip(a: Box, b: Box): [Pt, Pt] {
  const ca = { x: a.x + a.w / 2, y: a.y + a.h / 2 };
  const cb = { x: b.x + b.w / 2, y: b.y + b.h / 2 };
  const dx = cb.x - ca.x;
  const dy = cb.y - ca.y;
  const t = (bx: Box) => Math.min(dx === 0 ? Infinity : bx.w / 2 / Math.abs(dx), dy === 0 ? Infinity : bx.h / 2 / Math.abs(dy));
  const ta = t(a);
  const tb = t(b);
  return [
    { x: ca.x + dx * ta, y: ca.y + dy * ta },
    { x: cb.x - dx * tb, y: cb.y - dy * tb },
  ];
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function toSvg(t: Topology, path: readonly string[] = []): string {
  const body: string[] = [];
  const at = new Map<string, Pt>();
  const boxes = new Map<string, Box>();
  const text = (x: number, y: number, s: string, size = 11, anchor = "middle", extra = "") =>
    body.push(`<text x="${x}" y="${y}" font-size="${size}" text-anchor="${anchor}" ${FONT}${extra}>${esc(s)}</text>`);
  const rect = (x: number, y: number, w: number, h: number, fill: string, stroke = "#555", extra = "") =>
    body.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="6" fill="${fill}" stroke="${stroke}"${extra}/>`);
  const line = (a: Pt, b: Pt, extra = 'stroke="#555"') => body.push(`<line x1="${a.x}" y1="${a.y}" x2="${b.x}" y2="${b.y}" ${extra}/>`);

  const top = PAD + (t.services.length ? 100 : 0);
  let x = PAD;
  let nodeBottom = top;
  const podTop = new Map<string, Pt>();
  for (const n of t.nodes) {
    const w = Math.max(280, n.pods.length * POD_W + 20);
    const h = 330;
    rect(x, top, w, h, "#f7f7f7", "#888");
    text(x + 10, top + 18, `node ${n.name}  ${n.address}  podCIDR ${n.podCIDR}`, 12, "start", ' font-weight="bold"');
    const cniY = top + 170;
    n.pods.forEach((p, i) => {
      const px = x + 10 + i * POD_W + (w - 20 - n.pods.length * POD_W) / 2;
      const cx = px + (POD_W - 10) / 2;
      rect(px, top + 34, POD_W - 10, 64, p.ready ? "#e8f1fb" : "#f3e3e3", "#4682b4");
      text(cx, top + 50, p.name.length > 16 ? `${p.name.slice(0, 15)}…` : p.name, 11, "middle", ' font-weight="bold"');
      text(cx, top + 66, p.ip, 10);
      text(cx, top + 90, "eth0", 9);
      at.set(p.eth0.id, { x: cx, y: top + 98 });
      boxes.set(p.eth0.id, { x: px, y: top + 34, w: POD_W - 10, h: 64 });
      podTop.set(p.key, { x: cx, y: top + 34 });
      rect(cx - 48, top + 120, 96, 22, "#fff");
      text(cx, top + 135, p.hostVeth.name, 9);
      at.set(p.hostVeth.id, { x: cx, y: top + 131 });
      boxes.set(p.hostVeth.id, { x: cx - 48, y: top + 120, w: 96, h: 22 });
      line({ x: cx, y: top + 98 }, { x: cx, y: top + 120 });
      if (n.bridge) line({ x: cx, y: top + 142 }, { x: cx, y: cniY });
    });
    const mid = x + w / 2;
    if (n.bridge) {
      rect(x + 10, cniY, w - 20, 26, "#fffbe0");
      text(mid, cniY + 17, `${n.bridge.name} ${n.bridge.addrs.join(" ")}`, 10);
      at.set(n.bridge.id, { x: mid, y: cniY + 13 });
      boxes.set(n.bridge.id, { x: x + 10, y: cniY, w: w - 20, h: 26 });
    }
    const ethY = top + 290;
    if (n.vxlan) {
      rect(mid - 70, top + 222, 140, 38, "#eaf7ea", "#2e7d32");
      text(mid, top + 237, `${n.vxlan.name} VNI ${n.vxlan.vni}`, 10);
      text(mid, top + 252, n.vxlan.addrs.join(" "), 9);
      at.set(n.vxlan.id, { x: mid, y: top + 241 });
      boxes.set(n.vxlan.id, { x: mid - 70, y: top + 222, w: 140, h: 38 });
      if (n.bridge) line({ x: mid, y: cniY + 26 }, { x: mid, y: top + 222 }, 'stroke="#555" stroke-dasharray="3,3"');
      line({ x: mid, y: top + 260 }, { x: mid, y: ethY }, 'stroke="#555" stroke-dasharray="3,3"');
    } else if (n.bridge) line({ x: mid, y: cniY + 26 }, { x: mid, y: ethY }, 'stroke="#555" stroke-dasharray="3,3"');
    rect(mid - 70, ethY, 140, 26, "#fff");
    text(mid, ethY + 17, `eth0 ${n.eth0.addrs.join(" ")}`, 10);
    at.set(n.eth0.id, { x: mid, y: ethY + 13 });
    boxes.set(n.eth0.id, { x: mid - 70, y: ethY, w: 140, h: 26 });
    at.set(`${n.name}/eth0@underlay`, { x: mid, y: ethY + 26 });
    nodeBottom = Math.max(nodeBottom, top + h);
    x += w + GAP;
  }
  const underY = nodeBottom + 40;
  const hostW = 150;
  const width = Math.max(x - GAP + PAD, PAD * 2 + t.hosts.length * (hostW + 20));
  for (const n of t.nodes) line(at.get(`${n.name}/eth0@underlay`)!, { x: at.get(n.eth0.id)!.x, y: underY });
  body.push(`<line x1="${PAD}" y1="${underY}" x2="${width - PAD}" y2="${underY}" stroke="#333" stroke-width="3"/>`);
  text(PAD, underY - 6, `underlay ${t.underlay}`, 10, "start");
  t.hosts.forEach((hb, i) => {
    const hx = PAD + i * (hostW + 20);
    line({ x: hx + hostW / 2, y: underY }, { x: hx + hostW / 2, y: underY + 30 });
    rect(hx, underY + 30, hostW, 40, hb.role === "gateway" ? "#eee" : "#f0e8f8");
    text(hx + hostW / 2, underY + 46, `${hb.role === "gateway" ? "router" : "host"} ${hb.name}`, 11, "middle", ' font-weight="bold"');
    text(hx + hostW / 2, underY + 61, `eth0 ${hb.address}`, 10);
    at.set(hb.eth0.id, { x: hx + hostW / 2, y: underY + 50 });
    boxes.set(hb.eth0.id, { x: hx, y: underY + 30, w: hostW, h: 40 });
  });
  const vx = t.nodes.filter((n) => n.vxlan);
  for (let i = 1; i < vx.length; i++) {
    const a = at.get(vx[i - 1].vxlan!.id)!;
    const b = at.get(vx[i].vxlan!.id)!;
    body.push(`<path d="M${a.x + 70},${a.y} C${(a.x + b.x) / 2},${a.y + 40} ${(a.x + b.x) / 2},${a.y + 40} ${b.x - 70},${b.y}" fill="none" stroke="#2e7d32" stroke-dasharray="6,4"/>`);
    text((a.x + b.x) / 2, a.y + 44, `VXLAN UDP ${vx[i].vxlan!.port}`, 9, "middle", ' fill="#2e7d32"');
  }
  t.services.forEach((s, i) => {
    const sx = PAD + i * 230;
    rect(sx, PAD, 210, 64, "#fdecea", "#c0392b");
    text(sx + 105, PAD + 16, `Service ${s.key} (${s.type})`, 11, "middle", ' font-weight="bold"');
    text(sx + 105, PAD + 32, `${s.clusterIP ? `ClusterIP ${s.clusterIP}` : "headless"}${s.loadBalancer.length ? `  LB ${s.loadBalancer.join(" ")}` : ""}`, 10);
    text(sx + 105, PAD + 48, s.ports.join(", "), 9);
    for (const e of s.endpoints) {
      const p = podTop.get(e);
      if (p) line({ x: sx + 105, y: PAD + 64 }, p, 'stroke="#c0392b" stroke-dasharray="4,3"');
    }
  });
  // The traced path: an arrow from box to box (a cni0 box spans the node, so it is entered
  // and left where the pod above it is), a numbered dot on each device.
  const hops = dedupe(path).filter((h) => boxes.has(h));
  const onUnderlay = new Set([...t.nodes.map((n) => n.eth0.id), ...t.hosts.map((h) => h.eth0.id)]);
  for (let i = 1; i < hops.length; i++) {
    const a = { ...boxes.get(hops[i - 1])! };
    const b = { ...boxes.get(hops[i])! };
    // A wide box (cni0) is met below the device it connects to.
    if (a.w > 150) Object.assign(a, { x: at.get(hops[i])!.x - 40, w: 80 });
    if (b.w > 150) Object.assign(b, { x: at.get(hops[i - 1])!.x - 40, w: 80 });
    if (onUnderlay.has(hops[i - 1]) && onUnderlay.has(hops[i])) {
      // Between hosts of the underlay the frame goes down to the wire and up again.
      const edge = (bx: Box) => (bx.y > underY ? bx.y : bx.y + bx.h);
      const pts = [
        [a.x + a.w / 2, edge(a)],
        [a.x + a.w / 2, underY],
        [b.x + b.w / 2, underY],
        [b.x + b.w / 2, edge(b)],
      ];
      body.push(`<polyline points="${pts.map((p) => p.join(",")).join(" ")}" fill="none" stroke="red" stroke-width="2.5" marker-end="url(#arrow)"/>`);
      continue;
    }
    const [p, q] = clip(a, b);
    body.push(`<line x1="${p.x.toFixed(1)}" y1="${p.y.toFixed(1)}" x2="${q.x.toFixed(1)}" y2="${q.y.toFixed(1)}" stroke="red" stroke-width="2.5" marker-end="url(#arrow)"/>`);
  }
  // A device crossed twice (eth0 on the way in and out of a tunnel) gets both numbers.
  const numbers = new Map<string, number[]>();
  for (const [i, h] of hops.entries()) numbers.set(h, [...(numbers.get(h) ?? []), i + 1]);
  for (const [h, ns] of numbers) {
    const bx = boxes.get(h)!;
    const label = ns.join(",");
    const r = label.length > 2 ? 4 + label.length * 2.6 : 7;
    body.push(`<rect x="${bx.x + bx.w - 2 - r}" y="${bx.y - 5}" width="${2 * r}" height="14" rx="7" fill="red"/>`);
    text(bx.x + bx.w - 2, bx.y + 5.5, label, 9, "middle", ' fill="white"');
  }
  const height = underY + (t.hosts.length ? 90 : 30);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="red"/></marker></defs>',
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width - PAD}" y="${height - 8}" font-size="10" text-anchor="end" ${FONT} fill="#888">${esc(`${t.name} (${t.backend})`)}</text>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

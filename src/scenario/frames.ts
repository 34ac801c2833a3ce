// One-line descriptions of captured frames for packet traces (cold path: a trace describes a few
// dozen frames): ARP, IPv4 with UDP/TCP/ICMP, and VXLAN with its inner frame, tcpdump-style.

import { arp, ethernet, formatIpv4, icmp, ipv4, tcp, udp, vxlan } from "../wire/index.js";
import { icmpName } from "./steps/observe.js";

export type FrameClass = "arp" | "icmp-error" | "ip" | "other";

export interface FrameInfo {
  readonly cls: FrameClass;
  /** `10.244.0.2.40000 > 10.96.0.10.80: udp 5`, `ARP who-has 10.244.0.1 tell 10.244.0.2` … */
  readonly text: string;
}

const VXLAN_PORTS = new Set([vxlan.VXLAN_PORT_LINUX, vxlan.VXLAN_PORT_IANA]);

export function describeFrame(b: Uint8Array, head: number, tail: number, depth = 0): FrameInfo {
  if (tail - head < 14) return { cls: "other", text: "runt frame" };
  const type = ethernet.etherType(b, head);
  const o = head + 14;
  if (type === 0x0806) {
    if (tail - o < 28) return { cls: "arp", text: "ARP (truncated)" };
    const op = arp.op(b, o);
    const text = op === 1 ? `ARP who-has ${formatIpv4(arp.tpa(b, o))} tell ${formatIpv4(arp.spa(b, o))}` : `ARP ${formatIpv4(arp.spa(b, o))} is-at ${fmtMac(b, o + 8)}`;
    return { cls: "arp", text };
  }
  if (type !== 0x0800) return { cls: "other", text: `ethertype 0x${type.toString(16).padStart(4, "0")}` };
  return describeIpv4(b, o, tail, depth);
}

function describeIpv4(b: Uint8Array, o: number, tail: number, depth: number): FrameInfo {
  if (tail - o < 20) return { cls: "other", text: "IPv4 (truncated)" };
  const src = formatIpv4(ipv4.srcAddr(b, o));
  const dst = formatIpv4(ipv4.dstAddr(b, o));
  const proto = ipv4.protocol(b, o);
  const l4 = o + ipv4.headerLength(b, o);
  const ttl = ` ttl ${ipv4.ttl(b, o)}`;
  if (proto === 17 && tail - l4 >= 8) {
    const sp = udp.srcPort(b, l4);
    const dp = udp.dstPort(b, l4);
    const base = `${src}.${sp} > ${dst}.${dp}: udp ${udp.length(b, l4) - 8}${ttl}`;
    if (depth === 0 && VXLAN_PORTS.has(dp) && tail - l4 >= 16 + 14) {
      const inner = describeFrame(b, l4 + 16, tail, 1);
      return { cls: inner.cls, text: `${src} > ${dst}: vxlan vni ${vxlan.vni(b, l4 + 8)}${ttl} [${inner.text}]` };
    }
    return { cls: "ip", text: base };
  }
  if (proto === 6 && tail - l4 >= 20) return { cls: "ip", text: `${src}.${tcp.srcPort(b, l4)} > ${dst}.${tcp.dstPort(b, l4)}: tcp${ttl}` };
  if (proto === 1 && tail - l4 >= 8) {
    const t = icmp.msgType(b, l4);
    if (icmp.isError(t)) {
      const q = l4 + 8;
      const about = tail - q >= 20 ? ` about ${formatIpv4(ipv4.srcAddr(b, q))} > ${formatIpv4(ipv4.dstAddr(b, q))}` : "";
      return { cls: "icmp-error", text: `${src} > ${dst}: icmp ${icmpName(t, icmp.code(b, l4))}${about}${ttl}` };
    }
    const what = t === 8 ? "echo request" : t === 0 ? "echo reply" : `type ${t}`;
    return { cls: "ip", text: `${src} > ${dst}: icmp ${what}${ttl}` };
  }
  return { cls: "ip", text: `${src} > ${dst}: proto ${proto}${ttl}` };
}

function fmtMac(b: Uint8Array, o: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(b[o + i].toString(16).padStart(2, "0"));
  return parts.join(":");
}

/** Does the frame carry `needle` (the traced payload) anywhere: plain, NATed, encapsulated or quoted? */
export function frameCarries(b: Uint8Array, head: number, tail: number, needle: Uint8Array): boolean {
  return Buffer.from(b.buffer, b.byteOffset + head, tail - head).indexOf(needle) >= 0;
}

// Normalised views of captured frames, for comparing kubewire's capture with the Linux twin's
// hop by hop: the fields both should agree on, with what legitimately differs (timestamps,
// ephemeral ports, IP IDs, random MACs unless pinned) left out or made relative.

import { readCapture } from "../../src/capture/index.js";
import { arp, ethernet, formatIpv4, formatMac, icmp, ipv4, udp } from "../../src/wire/index.js";

export interface FrameSummary {
  ethSrc: string;
  ethDst: string;
  kind: "arp" | "ipv4" | "other";
  arp?: { op: number; spa: string; tpa: string; sha: string; tha: string };
  ip?: { src: string; dst: string; ttl: number; df: boolean; proto: number; tos: number; len: number };
  udp?: { sport: number; dport: number; len: number };
  /** VXLAN (UDP 4789 or 8472): the VNI and the inner frame. */
  vxlan?: { vni: number; inner: FrameSummary };
  icmp?: {
    type: number;
    code: number;
    mtu?: number;
    /** The quoted datagram of an error: its addresses, protocol, TTL and (UDP) ports. */
    quoted?: { src: string; dst: string; proto: number; ttl: number; sport?: number; dport?: number; len: number };
  };
}

export function summarise(frame: Uint8Array): FrameSummary {
  const b = frame;
  const s: FrameSummary = { ethSrc: formatMac(ethernet.srcAddr(b, 0)), ethDst: formatMac(ethernet.dstAddr(b, 0)), kind: "other" };
  const type = ethernet.etherType(b, 0);
  if (type === 0x0806) {
    s.kind = "arp";
    s.arp = { op: arp.op(b, 14), spa: formatIpv4(arp.spa(b, 14)), tpa: formatIpv4(arp.tpa(b, 14)), sha: formatMac(arp.sha(b, 14)), tha: formatMac(arp.tha(b, 14)) };
  } else if (type === 0x0800) {
    s.kind = "ipv4";
    const o = 14;
    s.ip = {
      src: formatIpv4(ipv4.srcAddr(b, o)),
      dst: formatIpv4(ipv4.dstAddr(b, o)),
      ttl: ipv4.ttl(b, o),
      df: ipv4.dontFrag(b, o),
      proto: ipv4.protocol(b, o),
      tos: b[o + 1],
      len: ipv4.totalLen(b, o),
    };
    const l4 = o + ipv4.headerLength(b, o);
    if (s.ip.proto === 17) {
      s.udp = { sport: udp.srcPort(b, l4), dport: udp.dstPort(b, l4), len: udp.length(b, l4) };
      if ((s.udp.dport === 8472 || s.udp.dport === 4789) && b.length >= l4 + 16 + 14)
        s.vxlan = { vni: (b[l4 + 12] << 16) | (b[l4 + 13] << 8) | b[l4 + 14], inner: summarise(b.subarray(l4 + 16)) };
    }
    if (s.ip.proto === 1) {
      const t = icmp.msgType(b, l4);
      s.icmp = { type: t, code: icmp.code(b, l4) };
      if (t === 3 && s.icmp.code === 4) s.icmp.mtu = icmp.nextHopMtu(b, l4);
      if (icmp.isError(t)) {
        const q = l4 + 8;
        const ql4 = q + ipv4.headerLength(b, q);
        s.icmp.quoted = {
          src: formatIpv4(ipv4.srcAddr(b, q)),
          dst: formatIpv4(ipv4.dstAddr(b, q)),
          proto: ipv4.protocol(b, q),
          ttl: ipv4.ttl(b, q),
          len: ipv4.totalLen(b, q),
        };
        if (ipv4.protocol(b, q) === 17) {
          s.icmp.quoted.sport = udp.srcPort(b, ql4);
          s.icmp.quoted.dport = udp.dstPort(b, ql4);
        }
      }
    }
  }
  return s;
}

/** Every frame of a capture file, summarised; with pcapng, grouped by interface name. */
export function summariseFile(file: string): Map<string, FrameSummary[]> {
  const cap = readCapture(file);
  if (cap.errors.length) throw new Error(`${file}: ${cap.errors.map((e) => e.what).join("; ")}`);
  const out = new Map<string, FrameSummary[]>();
  for (const r of cap.records) {
    const name = r.interfaceName ?? cap.interfaces[r.interfaceId]?.name ?? "";
    const list = out.get(name) ?? [];
    list.push(summarise(r.data));
    out.set(name, list);
  }
  return out;
}

/** Drops what is expected to differ between two stacks: ephemeral source ports become "eph". */
export function withoutEphemeral(list: FrameSummary[]): unknown[] {
  return list.map((f) => {
    const c = structuredClone(f) as FrameSummary & { udp?: { sport: number | string } };
    if (c.udp && c.udp.sport >= 32768) (c.udp as { sport: number | string }).sport = "eph";
    if (c.icmp?.quoted?.sport !== undefined && c.icmp.quoted.sport >= 32768) (c.icmp.quoted as { sport?: number | string }).sport = "eph";
    return c;
  });
}

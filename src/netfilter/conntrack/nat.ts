// NAT bindings and their application (net/netfilter/nf_nat_core.c): nf_nat_setup_info with
// get_unique_tuple (keep the original tuple when free, else the range's least-clashing choice,
// ports searched as nf_nat_l4proto_unique_tuple does), nf_nat_alloc_null_binding, nf_nat_packet,
// nf_nat_inet_fn (the nat table only for a connection's first packet) and the ICMP error
// translation of nf_nat_proto.c's nf_nat_icmp_reply_translation.

import { Hook, Verdict as V, type Verdict } from "../../net/index.js";
import type { Packet } from "../../packet/index.js";
import type { Rng } from "../../sim/index.js";
import { formatIpv4, icmp } from "../../wire/index.js";
import { CtInfo, type ManipType, type NatApi, type NatRange, type NfContext } from "../types.js";
import { type Conntrack, ctinfoDir } from "./core.js";
import { icmpErrorManip, MANIP_DST, MANIP_SRC, manipPkt } from "./nat_proto.js";
import { IPS } from "./table.js";
import { hashTuple, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, invertTuple, Tuple } from "./tuple.js";

/** NF_NAT_MAX_ATTEMPTS: ports tried per round before the window shrinks. */
const MAX_ATTEMPTS = 128;
const NAT_MASK = IPS.SRC_NAT | IPS.DST_NAT;

/** HOOK2MANIP: POSTROUTING and INPUT change the source, PREROUTING and OUTPUT the destination. */
export const hook2manip = (hook: Hook): number => (hook === Hook.PostRouting || hook === Hook.LocalIn ? MANIP_SRC : MANIP_DST);

const CURR = new Tuple();
const NEW = new Tuple();
const REPLY = new Tuple();
const INV = new Tuple();
const NULL_RANGE: NatRange = { minAddr: 0, maxAddr: 0, minPort: 0, maxPort: 0 };

const fmtEnd = (proto: number, addr: number, port: number): string =>
  proto === IPPROTO_TCP || proto === IPPROTO_UDP ? `${formatIpv4(addr)}:${port}` : proto === IPPROTO_ICMP ? `${formatIpv4(addr)} id ${port}` : formatIpv4(addr);

export class Nat implements NatApi {
  private readonly rng: Rng;
  /** The entry whose binding a rule just made, and by what (for the trace of its first rewrite). */
  private boundSlot = -1;
  private boundBy: string | undefined;

  constructor(readonly ct: Conntrack) {
    this.rng = ct.ns.rng.derive("nf_nat");
  }

  /** nf_nat_setup_info for a rule's DNAT/SNAT/MASQUERADE (see NatApi). */
  setupNat(ctx: NfContext, range: NatRange, manip: ManipType, by?: string): Verdict {
    const s = ctx.pkt.ct;
    if (s < 0) return V.Accept;
    const m = manip === "src" ? MANIP_SRC : MANIP_DST;
    if (this.initialized(s, m)) return V.Drop; // WARN_ON(nf_nat_initialized()) in the kernel
    return this.setupInfo(s, range, m, by);
  }

  /** nf_nat_initialized: this side of the connection has its binding (real or null). */
  initialized(s: number, m: number): boolean {
    return (this.ct.table.status[s] & (m === MANIP_SRC ? IPS.SRC_NAT_DONE : IPS.DST_NAT_DONE)) !== 0;
  }

  /** nf_nat_alloc_null_binding: the identity mapping, which still resolves a source-port clash. */
  allocNullBinding(s: number, hook: Hook): Verdict {
    const m = hook2manip(hook);
    const t = this.ct.table;
    const ro = (s * 2 + 1) * 4;
    const addr = (m === MANIP_SRC ? t.tup[ro + 1] : t.tup[ro]) >>> 0;
    NULL_RANGE.minAddr = NULL_RANGE.maxAddr = addr;
    return this.setupInfo(s, NULL_RANGE, m, undefined);
  }

  /**
   * nf_nat_ipv4_fn → nf_nat_inet_fn: ICMP errors RELATED to a flow are translated; the first
   * packet of a connection consults the nat table (`lookup`) until this side is bound, else gets a
   * null binding; then every packet is rewritten per the binding (nf_nat_packet).
   */
  hook(ctx: NfContext, lookup: ((ctx: NfContext) => Verdict) | null): Verdict {
    const pkt = ctx.pkt;
    const s = pkt.ct;
    if (s < 0) return V.Accept;
    const ctinfo = pkt.ctinfo;
    const related = ctinfo === CtInfo.Related || ctinfo === CtInfo.RelatedReply;
    if (related && pkt.buf[pkt.l3 + 9] === IPPROTO_ICMP) return this.icmpReplyTranslation(pkt, ctx.hook) ? V.Accept : V.Drop;
    if (ctinfo === CtInfo.New || related) {
      const m = hook2manip(ctx.hook);
      if (!this.initialized(s, m)) {
        if (lookup !== null) {
          const v = lookup(ctx);
          if (v !== V.Accept) return v;
        }
        if (!this.initialized(s, m)) {
          const v = this.allocNullBinding(s, ctx.hook);
          if (v !== V.Accept) return v;
        }
      }
    }
    return this.packet(pkt, ctx.hook);
  }

  /** nf_nat_packet: rewrites this hook's side if the binding changed it for this direction. */
  packet(pkt: Packet, hook: Hook): Verdict {
    const s = pkt.ct;
    const dir = ctinfoDir(pkt.ctinfo);
    const m = hook2manip(hook);
    let bit: number = m === MANIP_SRC ? IPS.SRC_NAT : IPS.DST_NAT;
    if (dir === 1) bit ^= NAT_MASK;
    if ((this.ct.table.status[s] & bit) === 0) return V.Accept;
    // The target is the inverse of the other direction's tuple.
    const tup = this.ct.table.tup;
    const o = (s * 2 + (1 - dir)) * 4;
    const proto = tup[o + 3];
    const addr = (m === MANIP_SRC ? tup[o + 1] : tup[o]) >>> 0;
    const port = proto === IPPROTO_ICMP || m === MANIP_DST ? (tup[o + 2] >>> 16) & 0xffff : tup[o + 2] & 0xffff;
    if (this.ct.ns.sim.trace.on) this.traceManip(pkt, s, dir, m, addr, port);
    manipPkt(pkt.buf, pkt.l3, pkt.l4, pkt.tail, m, addr, port);
    return V.Accept;
  }

  /**
   * nf_nat_icmp_reply_translation: the quoted datagram is put back as its sender sent it (the
   * other direction's tuple, opposite manip), the outer header as the reply to it. False: drop.
   */
  icmpReplyTranslation(pkt: Packet, hook: Hook): boolean {
    const b = pkt.buf;
    const l4 = pkt.l4;
    const end = pkt.tail;
    const s = pkt.ct;
    if (end - l4 < icmp.ICMP_HEADER_LEN + 20) return false;
    if (!icmp.verifyChecksum(b, l4, end)) return false;
    const st = this.ct.table.status[s];
    if (b[l4] === icmp.IcmpType.Redirect) {
      if ((st & (IPS.SRC_NAT_DONE | IPS.DST_NAT_DONE)) !== (IPS.SRC_NAT_DONE | IPS.DST_NAT_DONE)) return false;
      if ((st & NAT_MASK) !== 0) return false;
    }
    const dir = ctinfoDir(pkt.ctinfo);
    const m = hook2manip(hook);
    let bit: number = m === MANIP_SRC ? IPS.SRC_NAT : IPS.DST_NAT;
    if (dir === 1) bit ^= NAT_MASK;
    if ((st & bit) === 0) return true;
    const tup = this.ct.table.tup;
    const o = (s * 2 + (1 - dir)) * 4;
    const proto = tup[o + 3];
    const inner = m === MANIP_SRC ? MANIP_DST : MANIP_SRC;
    const innerAddr = (inner === MANIP_SRC ? tup[o] : tup[o + 1]) >>> 0;
    const innerPort = proto === IPPROTO_ICMP || inner === MANIP_SRC ? (tup[o + 2] >>> 16) & 0xffff : tup[o + 2] & 0xffff;
    const outerAddr = (m === MANIP_SRC ? tup[o + 1] : tup[o]) >>> 0;
    if (this.ct.ns.sim.trace.on) this.traceManip(pkt, s, dir, m, outerAddr, -1);
    icmpErrorManip(b, pkt.l3, l4, end, inner, innerAddr, innerPort, m, outerAddr);
    return true;
  }

  private setupInfo(s: number, range: NatRange, m: number, by: string | undefined): Verdict {
    const t = this.ct.table;
    if ((t.status[s] & IPS.CONFIRMED) !== 0) return V.Accept;
    t.getTuple(s, 1, REPLY);
    invertTuple(CURR, REPLY);
    NEW.copyFrom(CURR);
    if (!this.uniqueTuple(NEW, range, s, m)) return V.Drop;
    if (!NEW.equals(CURR)) {
      invertTuple(REPLY, NEW);
      t.setTuple(s, 1, REPLY);
      t.status[s] |= m === MANIP_SRC ? IPS.SRC_NAT : IPS.DST_NAT;
      if (this.ct.ns.sim.trace.on) {
        this.boundSlot = s;
        this.boundBy = by;
      }
    }
    t.status[s] |= m === MANIP_SRC ? IPS.SRC_NAT_DONE : IPS.DST_NAT_DONE;
    return V.Accept;
  }

  /** get_unique_tuple: rewrites `tp` (the current tuple) into a unique one in `range`. False: none left. */
  private uniqueTuple(tp: Tuple, range: NatRange, s: number, m: number): boolean {
    const protoSpecified = range.minPort !== 0 || range.maxPort !== 0;
    const randomAll = range.random === true || range.randomFully === true;
    // 1) A source mapping keeps the original tuple when it is in range and free.
    //    (find_appropriate_src, reusing another connection's mapping of the same source, is not modelled.)
    if (m === MANIP_SRC && !randomAll && inRange(tp, range) && !this.used(tp, s)) return true;
    // 2) The address: the only one, or a hash of the addresses over the range.
    if (range.minAddr !== 0 || range.maxAddr !== 0) {
      const min = range.minAddr >>> 0;
      const max = range.maxAddr >>> 0;
      let a = min;
      if (max > min) {
        const j = hashTuple(0, tp.saddr, range.persistent ? 0 : tp.daddr, 0, 0) >>> 0;
        a = min + Math.floor((j * (max - min + 1)) / 0x100000000);
      }
      if (m === MANIP_SRC) tp.saddr = a;
      else tp.daddr = a;
    }
    // 3) The port (or echo id), only if not already in range and unique.
    if (!randomAll) {
      if (protoSpecified) {
        if (l4InRange(tp, m, range) && (range.minPort === range.maxPort || !this.used(tp, s))) return true;
      } else if (!this.used(tp, s)) return true;
    }
    return this.l4UniqueTuple(tp, range, m, s, protoSpecified, randomAll);
  }

  /** nf_nat_l4proto_unique_tuple: tries ports from a random offset, in rounds of shrinking size. */
  private l4UniqueTuple(tp: Tuple, range: NatRange, m: number, s: number, protoSpecified: boolean, randomAll: boolean): boolean {
    const proto = tp.proto;
    let min: number;
    let size: number;
    const icmpId = proto === IPPROTO_ICMP;
    if (icmpId) {
      min = protoSpecified ? range.minPort : 0;
      size = protoSpecified ? range.maxPort - range.minPort + 1 : 65536;
    } else if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
      if (!protoSpecified) {
        if (m === MANIP_DST) return !this.used(tp, s); // a destination's port is never changed
        const port = m === MANIP_SRC ? tp.sport : tp.dport;
        if (port < 1024) {
          // Loose convention: below 512 is credential passing.
          min = port < 512 ? 1 : 600;
          size = port < 512 ? 511 : 1023 - 600 + 1;
        } else {
          min = 1024;
          size = 65535 - 1024 + 1;
        }
      } else {
        min = Math.min(range.minPort, range.maxPort);
        size = Math.max(range.minPort, range.maxPort) - min + 1;
      }
    } else return !this.used(tp, s);
    let off = randomAll || m !== MANIP_DST ? this.rng.u32() & 0xffff : 0;
    let attempts = Math.min(size, MAX_ATTEMPTS);
    for (;;) {
      for (let i = 0; i < attempts; i++, off++) {
        const v = min + (off % size);
        if (icmpId || m === MANIP_SRC) tp.sport = v;
        else tp.dport = v;
        if (!this.used(tp, s)) return true;
      }
      if (attempts >= size || attempts < 16) return false;
      attempts >>= 1;
      off = this.rng.u32() & 0xffff;
    }
  }

  /** nf_nat_used_tuple: another entry already has the reply tuple this tuple would need. */
  private used(tp: Tuple, s: number): boolean {
    if (!invertTuple(INV, tp)) return false;
    const ref = this.ct.lookup(INV);
    return ref >= 0 && ref >> 1 !== s;
  }

  private traceManip(pkt: Packet, s: number, dir: number, m: number, addr: number, port: number): void {
    const b = pkt.buf;
    const l3 = pkt.l3;
    const l4 = pkt.l4;
    const proto = b[l3 + 9];
    const oldAddr = ((b[l3 + (m === MANIP_SRC ? 12 : 16)] << 24) | (b[l3 + (m === MANIP_SRC ? 13 : 17)] << 16) | (b[l3 + (m === MANIP_SRC ? 14 : 18)] << 8) | b[l3 + (m === MANIP_SRC ? 15 : 19)]) >>> 0;
    let oldPort = -1;
    if (port >= 0 && (proto === IPPROTO_TCP || proto === IPPROTO_UDP)) oldPort = m === MANIP_SRC ? (b[l4] << 8) | b[l4 + 1] : (b[l4 + 2] << 8) | b[l4 + 3];
    else if (port >= 0 && proto === IPPROTO_ICMP) oldPort = (b[l4 + 4] << 8) | b[l4 + 5];
    const p = port >= 0 ? proto : 0;
    const from = fmtEnd(p, oldAddr, oldPort);
    const to = fmtEnd(p, addr, port);
    const type = m === MANIP_SRC ? "snat" : "dnat";
    const by = s === this.boundSlot && dir === 0 ? this.boundBy : dir === 1 ? "reply" : undefined;
    if (s === this.boundSlot && dir === 0) this.boundSlot = -1;
    const sim = this.ct.ns.sim;
    sim.trace.emit({ t: sim.sched.now, ns: this.ct.ns.name, kind: "nat", type, from, to, by });
    (pkt.notes ??= []).push(`${type.toUpperCase()} ${from} -> ${to}${by ? ` (${by})` : ""}`);
  }
}

/** in_range for a source mapping: the address (if mapped) and the port (if specified) are in range. */
function inRange(tp: Tuple, range: NatRange): boolean {
  if ((range.minAddr !== 0 || range.maxAddr !== 0) && (tp.saddr < range.minAddr >>> 0 || tp.saddr > range.maxAddr >>> 0)) return false;
  if (range.minPort === 0 && range.maxPort === 0) return true;
  return l4InRange(tp, MANIP_SRC, range);
}

/** l4proto_in_range: the port (TCP/UDP) or echo id (ICMP) of this side is in the range. */
function l4InRange(tp: Tuple, m: number, range: NatRange): boolean {
  let v: number;
  if (tp.proto === IPPROTO_ICMP) v = tp.sport;
  else if (tp.proto === IPPROTO_TCP || tp.proto === IPPROTO_UDP) v = m === MANIP_SRC ? tp.sport : tp.dport;
  else return true;
  return v >= range.minPort && v <= range.maxPort;
}

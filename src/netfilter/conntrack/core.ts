// Connection tracking of one namespace (net/netfilter/nf_conntrack_core.c): nf_conntrack_in
// (resolve_normal_ct, init_conntrack, the table-full path with early_drop), __nf_conntrack_confirm,
// ICMP errors made RELATED (nf_conntrack_inet_error), and expiry on the virtual clock: lazily on
// lookup and in gc() (the gc worker's job), which dumps run, so no timer keeps a run alive.

import type { NetDevice, NetNamespace } from "../../net/index.js";
import { Hook, Verdict } from "../../net/index.js";
import type { Packet } from "../../packet/index.js";
import { DropReason } from "../../sim/index.js";
import { icmp, ipv4 } from "../../wire/index.js";
import { CtInfo } from "../types.js";
import { type CtTimeouts, defaultTimeouts, genericPacket, icmpError, icmpPacket, udpError, udpPacket } from "./proto.js";
import { TCP_ACCEPT_KILL, TCP_INVALID, TCP_REPEAT, tcpError, tcpNew, tcpPacket } from "./proto_tcp.js";
import { ConntrackTable, IPS } from "./table.js";
import { formatTuple, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, invertTuple, pktToTuple, Tuple } from "./tuple.js";

/** Default nf_conntrack_max (a 4 GiB node's value; kube-proxy raises it to 32768 per core, min 131072). */
export const NF_CONNTRACK_MAX_DEFAULT = 262144;
/** Entries early_drop looks at near the new tuple's home (NF_CT_EVICTION_RANGE: 8 buckets of ~1 entry). */
const EVICTION_RANGE = 8;

export const CT_STATE_NAMES = ["ESTABLISHED", "RELATED", "NEW", "ESTABLISHED", "RELATED"] as const;

export interface ConntrackStats {
  found: number;
  invalid: number;
  insert: number;
  insertFailed: number;
  drop: number;
  earlyDrop: number;
}

// Scratch tuples for the per-packet path (single-threaded: the run is synchronous).
const T = new Tuple();
const R = new Tuple();
const Q = new Tuple();

export class Conntrack {
  readonly table: ConntrackTable;
  /** net.netfilter.nf_conntrack_checksum: verify L4 checksums at PREROUTING. */
  checksum = true;
  readonly timeouts: CtTimeouts = defaultTimeouts();
  readonly stats: ConntrackStats = { found: 0, invalid: 0, insert: 0, insertFailed: 0, drop: 0, earlyDrop: 0 };
  // Orphans: entries allocated but not in the hash (unconfirmed, or killed while a packet held
  // them). Linux frees them with the skb's last reference; here they go once their packet has
  // moved on (its ct field changed) or virtual time has moved, unless held (br_netfilter's ARP wait).
  private readonly orphanSlot: number[] = [];
  private readonly orphanPkt: Packet[] = [];
  private readonly orphanTime: number[] = [];
  private readonly orphanHeld: boolean[] = [];
  /** Earliest expiry seen by the last gc(): no sweep is worth doing before then. */
  private nextExpiry = 0;

  constructor(
    readonly ns: NetNamespace,
    max = NF_CONNTRACK_MAX_DEFAULT,
  ) {
    this.table = new ConntrackTable(max, ns.rng.derive("nf_conntrack_hash_rnd").u32() | 0);
  }

  /** net.netfilter.nf_conntrack_max. */
  get max(): number {
    return this.table.max;
  }
  set max(n: number) {
    this.table.max = n;
  }

  private get now(): number {
    return this.ns.sim.sched.now;
  }

  /** Live entries in the table (net.netfilter.nf_conntrack_count), after expiring the dead. */
  count(): number {
    this.gc();
    return this.table.count;
  }

  /**
   * nf_conntrack_in: attaches the packet to its entry (pkt.ct, pkt.ctinfo), creating an
   * unconfirmed one for a new flow. Invalid packets get no entry and are accepted (the rules may
   * drop `--ctstate INVALID`). Full table: dropped on `dev` with CT_TABLE_FULL, returns Stolen.
   */
  in(hook: Hook, pkt: Packet, dev: NetDevice | null): Verdict {
    if (pkt.ct >= 0 || pkt.ctinfo === CtInfo.Untracked) return Verdict.Accept;
    const b = pkt.buf;
    const l3 = pkt.l3;
    const l4 = pkt.l4;
    const end = pkt.tail;
    const verify = this.checksum && hook === Hook.PreRouting;
    if (ipv4.fragOffset(b, l3) !== 0) return this.invalid(pkt); // needs defrag, which is not modelled
    const proto = b[l3 + 9];
    if (proto === IPPROTO_ICMP) {
      if (icmpError(b, l4, end, verify)) return this.invalid(pkt);
      if (icmp.isError(b[l4])) return this.icmpErrorMessage(pkt);
    } else if (proto === IPPROTO_UDP) {
      if (udpError(b, l3, l4, end, verify)) return this.invalid(pkt);
    } else if (proto === IPPROTO_TCP) {
      if (tcpError(b, l3, l4, end, verify)) return this.invalid(pkt);
    }
    if (!pktToTuple(b, l3, l4, end, T)) return this.invalid(pkt);
    const t = this.table;
    const now = this.now;
    for (let attempt = 0; attempt < 2; attempt++) {
      let ref = this.lookup(T);
      let isNew = false;
      if (ref < 0) {
        const s = this.initConntrack(T, pkt, dev);
        if (s === -1) return this.invalid(pkt);
        if (s === -2) return Verdict.Stolen;
        ref = s * 2;
        isNew = true;
      } else this.stats.found++;
      const s = ref >> 1;
      const dir = ref & 1;
      const st = t.status[s];
      const ctinfo = dir === 1 ? CtInfo.EstablishedReply : st & IPS.SEEN_REPLY ? CtInfo.Established : st & IPS.EXPECTED ? CtInfo.Related : CtInfo.New;
      let kill = false;
      if (proto === IPPROTO_UDP) udpPacket(t, s, now, this.timeouts);
      else if (proto === IPPROTO_TCP) {
        if (isNew && !tcpNew(t, s, b, l4, end)) {
          this.dropOrphan(s);
          return this.invalid(pkt);
        }
        const r = tcpPacket(t, s, dir, b, l4, end, now);
        if (r === TCP_REPEAT) {
          this.kill(s, null);
          continue;
        }
        if (r === TCP_INVALID) {
          if (isNew) this.dropOrphan(s);
          return this.invalid(pkt);
        }
        kill = r === TCP_ACCEPT_KILL;
      } else if (proto === IPPROTO_ICMP) {
        if (!icmpPacket(t, s, now, this.timeouts)) {
          if (isNew) this.dropOrphan(s);
          return this.invalid(pkt);
        }
      } else genericPacket(t, s, now, this.timeouts);
      if (ctinfo === CtInfo.EstablishedReply) t.status[s] |= IPS.SEEN_REPLY;
      pkt.ct = s;
      pkt.ctinfo = ctinfo;
      if (kill) this.kill(s, pkt);
      if (this.ns.sim.trace.on) this.traceCt(pkt, CT_STATE_NAMES[ctinfo], T, dir === 1 ? "reply" : undefined);
      return Verdict.Accept;
    }
    return this.invalid(pkt);
  }

  /**
   * __nf_conntrack_confirm at the last hook (POSTROUTING, INPUT): puts a new entry in the hash.
   * Only the original direction confirms. A clash with an entry inserted meanwhile is resolved as
   * nf_ct_resolve_clash does for UDP (same tuples: use the existing entry), else dropped.
   */
  confirm(pkt: Packet): Verdict {
    const s = pkt.ct;
    if (s < 0) return Verdict.Accept;
    const t = this.table;
    const st = t.status[s];
    if ((st & IPS.CONFIRMED) !== 0 || (st & IPS.INUSE) === 0) return Verdict.Accept;
    if (pkt.ctinfo >= CtInfo.EstablishedReply) return Verdict.Accept;
    if ((st & IPS.DYING) !== 0) {
      if ((st & IPS.UNHASHED) !== 0) return Verdict.Accept; // killed after confirmation: nothing to insert
      this.stats.insertFailed++;
      return Verdict.Drop;
    }
    t.getTuple(s, 0, T);
    t.getTuple(s, 1, R);
    const a = this.lookup(T);
    const c = a >= 0 ? a : this.lookup(R);
    if (c >= 0) {
      const other = c >> 1;
      t.getTuple(other, 0, Q);
      if (T.proto === IPPROTO_UDP && Q.equals(T) && t.getTuple(other, 1, Q).equals(R)) {
        this.dropOrphan(s);
        pkt.ct = other;
        return Verdict.Accept;
      }
      this.stats.insertFailed++;
      return Verdict.Drop;
    }
    this.removeOrphan(s);
    t.link(s);
    this.stats.insert++;
    return Verdict.Accept;
  }

  /** True when pkt.ct still names a live entry this packet belongs to (loopback, nf_ct_attach). */
  attachedValid(pkt: Packet): boolean {
    const s = pkt.ct;
    const t = this.table;
    if (s < 0 || s >= t.cap || (t.status[s] & IPS.INUSE) === 0) return false;
    const related = pkt.ctinfo === CtInfo.Related || pkt.ctinfo === CtInfo.RelatedReply;
    // nf_ct_attach: an ICMP error, or the RST of REJECT --reject-with tcp-reset, carries the entry of what it answers.
    if (related) return pkt.buf[pkt.l3 + 9] === IPPROTO_ICMP || (pkt.buf[pkt.l3 + 9] === IPPROTO_TCP && (pkt.buf[pkt.l4 + 13] & 0x04) !== 0);
    if (!pktToTuple(pkt.buf, pkt.l3, pkt.l4, pkt.tail, T)) return false;
    return t.getTuple(s, pkt.ctinfo >= CtInfo.EstablishedReply ? 1 : 0, Q).equals(T);
  }

  /** The live ref of a tuple, deleting it if expired (nf_ct_is_expired → nf_ct_gc_expired). */
  lookup(tuple: Tuple): number {
    const ref = this.table.findTuple(tuple);
    if (ref < 0) return -1;
    const s = ref >> 1;
    if (this.table.expires[s] <= this.now) {
      this.table.delete(s);
      return -1;
    }
    return ref;
  }

  /** Marks the unconfirmed entry of a packet waiting (br_netfilter's ARP wait) as still held. */
  hold(pkt: Packet, held: boolean): void {
    const i = this.orphanSlot.indexOf(pkt.ct);
    if (i >= 0 && this.orphanPkt[i] === pkt) this.orphanHeld[i] = held;
  }

  /**
   * The gc worker: deletes expired entries, and the orphans of packets that are gone. Returns the
   * number of entries deleted. For callers outside packet processing (dumps, counts, tests): an
   * unconfirmed entry not held is then dead, its packet having been dropped or consumed.
   */
  gc(): number {
    this.reapOrphans(Number.POSITIVE_INFINITY);
    return this.sweep();
  }

  /** Deletes the expired entries of the hash and notes when the next one expires. */
  private sweep(): number {
    const t = this.table;
    const now = this.now;
    let n = 0;
    let next = Number.POSITIVE_INFINITY;
    for (let s = 0; s < t.cap; s++) {
      if ((t.status[s] & IPS.CONFIRMED) === 0) continue;
      const e = t.expires[s];
      if (e <= now) {
        t.delete(s);
        n++;
      } else if (e < next) next = e;
    }
    this.nextExpiry = next;
    return n;
  }

  /** Deletes an entry from the hash and frees it, or leaves it dying for the packet that holds it. */
  kill(s: number, holder: Packet | null): void {
    const t = this.table;
    if ((t.status[s] & IPS.INUSE) === 0) return;
    if (holder === null) {
      this.removeOrphan(s);
      t.delete(s);
      return;
    }
    const wasHashed = (t.status[s] & IPS.CONFIRMED) !== 0;
    t.unlink(s);
    t.status[s] |= IPS.DYING | (wasHashed ? IPS.UNHASHED : 0);
    if (this.orphanSlot.indexOf(s) < 0) this.addOrphan(s, holder);
  }

  private invalid(pkt: Packet): Verdict {
    pkt.ct = -1;
    pkt.ctinfo = 0;
    this.stats.invalid++;
    if (this.ns.sim.trace.on && pktToTuple(pkt.buf, pkt.l3, pkt.l4, pkt.tail, Q)) this.traceCt(pkt, "INVALID", Q);
    return Verdict.Accept;
  }

  /** init_conntrack: a new unconfirmed entry, or -1 (no reply tuple: invalid), -2 (table full: dropped). */
  private initConntrack(tuple: Tuple, pkt: Packet, dev: NetDevice | null): number {
    if (!invertTuple(R, tuple)) return -1;
    const t = this.table;
    if (this.orphanSlot.length !== 0) this.reapOrphans(this.now);
    if (t.count >= t.max && !this.makeRoom(tuple)) {
      this.stats.drop++;
      const sim = this.ns.sim;
      const msg = "nf_conntrack: table full, dropping packet";
      if (sim.trace.on) sim.trace.emit({ t: sim.sched.now, ns: this.ns.name, kind: "log", text: msg });
      if (dev !== null) dev.drop(pkt, DropReason.CT_TABLE_FULL, msg);
      else pkt.free();
      return -2;
    }
    const s = t.alloc();
    t.setTuple(s, 0, tuple);
    t.setTuple(s, 1, R);
    this.addOrphan(s, pkt);
    return s;
  }

  /** The table is full: reap what the gc worker would have, then early_drop a non-assured entry near the new one. */
  private makeRoom(tuple: Tuple): boolean {
    const t = this.table;
    const now = this.now;
    this.reapOrphans(now);
    if (t.count < t.max) return true;
    if (now >= this.nextExpiry) this.sweep();
    if (t.count < t.max) return true;
    const home = t.homeOf(tuple);
    for (let i = 0, seen = 0; seen < EVICTION_RANGE && i < t.indexSize; i++) {
      const ref = t.refAt(home + i);
      if (ref < 0) continue;
      seen++;
      const s = ref >> 1;
      if (t.expires[s] <= now || (t.status[s] & IPS.ASSURED) === 0) {
        if (t.expires[s] > now) this.stats.earlyDrop++;
        t.delete(s);
        return true;
      }
    }
    return false;
  }

  /**
   * nf_conntrack_icmpv4_error → nf_conntrack_inet_error: an ICMP error quoting a tracked flow is
   * RELATED to it (RELATED_REPLY when the quoted packet went in the original direction and the
   * error comes back). The outer destination must be the flow's endpoint in that direction.
   */
  private icmpErrorMessage(pkt: Packet): Verdict {
    const b = pkt.buf;
    const end = pkt.tail;
    const q = pkt.l4 + icmp.ICMP_HEADER_LEN;
    if (icmp.checkQuote(b, pkt.l4, end) !== undefined) return this.invalid(pkt);
    if (ipv4.fragOffset(b, q) !== 0) return this.invalid(pkt);
    if (!pktToTuple(b, q, q + ipv4.headerLength(b, q), end, Q)) return this.invalid(pkt);
    if (!invertTuple(T, Q)) return this.invalid(pkt);
    let ref = this.lookup(T);
    if (ref < 0) ref = this.findOrphan(T); // nf_ct_attach: errors about a not yet confirmed flow
    if (ref < 0) return this.invalid(pkt);
    const s = ref >> 1;
    const dir = ref & 1;
    if ((this.table.tup[ref * 4 + 1] >>> 0) !== ipv4.dstAddr(b, pkt.l3)) return this.invalid(pkt);
    pkt.ct = s;
    pkt.ctinfo = dir === 1 ? CtInfo.RelatedReply : CtInfo.Related;
    if (this.ns.sim.trace.on) this.traceCt(pkt, "RELATED", T, `icmp type ${b[pkt.l4]} code ${b[pkt.l4 + 1]}`);
    return Verdict.Accept;
  }

  private findOrphan(tuple: Tuple): number {
    const t = this.table;
    for (let i = 0; i < this.orphanSlot.length; i++) {
      const s = this.orphanSlot[i];
      if ((t.status[s] & IPS.DYING) !== 0) continue;
      if (t.getTuple(s, 0, Q).equals(tuple)) return s * 2;
      if (t.getTuple(s, 1, Q).equals(tuple)) return s * 2 + 1;
    }
    return -1;
  }

  private addOrphan(s: number, pkt: Packet): void {
    this.orphanSlot.push(s);
    this.orphanPkt.push(pkt);
    this.orphanTime.push(this.now);
    this.orphanHeld.push(false);
  }

  private removeOrphan(s: number): void {
    const i = this.orphanSlot.indexOf(s);
    if (i < 0) return;
    const last = this.orphanSlot.length - 1;
    this.orphanSlot[i] = this.orphanSlot[last];
    this.orphanPkt[i] = this.orphanPkt[last];
    this.orphanTime[i] = this.orphanTime[last];
    this.orphanHeld[i] = this.orphanHeld[last];
    this.orphanSlot.pop();
    this.orphanPkt.pop();
    this.orphanTime.pop();
    this.orphanHeld.pop();
  }

  private dropOrphan(s: number): void {
    this.removeOrphan(s);
    this.table.delete(s);
  }

  /** Frees orphans whose packet has let go of them: its ct changed, or time moved on (`before`). */
  private reapOrphans(before: number): void {
    for (let i = this.orphanSlot.length - 1; i >= 0; i--) {
      if (this.orphanHeld[i]) continue;
      const s = this.orphanSlot[i];
      if (this.orphanPkt[i].ct === s && this.orphanTime[i] >= before) continue;
      this.dropOrphan(s);
    }
  }

  private traceCt(pkt: Packet, state: string, tuple: Tuple, detail?: string): void {
    const sim = this.ns.sim;
    const text = formatTuple(tuple);
    sim.trace.emit({ t: sim.sched.now, ns: this.ns.name, kind: "ct", state, tuple: text, detail });
    (pkt.notes ??= []).push(`ct ${state} ${text}${detail ? ` ${detail}` : ""}`);
  }
}

/** Whether a ctinfo is of the reply direction (CTINFO2DIR). */
export const ctinfoDir = (ctinfo: number): number => (ctinfo >= CtInfo.EstablishedReply && ctinfo !== CtInfo.Untracked ? 1 : 0);

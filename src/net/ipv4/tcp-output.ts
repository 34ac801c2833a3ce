// TCP output (net/ipv4/tcp_output.c): tcp_transmit_skb writes a segment straight into a pooled
// packet (header and options at offsets, Linux's option layout, the payload copied from the write
// queue), tcp_write_xmit sends what the congestion and receive windows and Nagle allow, and the
// ACK, FIN, probe and reset senders. A stateless RST answers segments that find no socket.
// SACK-permitted is offered in the SYN as Linux does, but no SACK blocks are ever sent (nor read).

import type { Packet } from "../../packet/index.js";
import { type Ipv4Addr, ipv4, tcp, writeU16, writeU32 } from "../../wire/index.js";
import type { NetNamespace } from "../core/netns.js";
import { type IpHeaderOpts, ipOutput, routeOutput } from "./output.js";
import {
  after,
  CA_LOSS,
  seqAdd,
  seqSub,
  TCP_ATO_MIN,
  TCP_DELACK_MAX,
  TCP_DELACK_MIN,
  TCP_RTO_MAX,
  TCPOLEN_TSTAMP_ALIGNED,
  type TcpSock,
  TcpState,
  TX_FIN,
  TX_PSH,
  TX_RETRANS,
  TX_SYN,
} from "./tcp-sock.js";
import { tcpTable } from "./tcp-table.js";
import { tcpSelectWindow } from "./tcp-window.js";

const { FIN, SYN, RST, PSH, ACK } = tcp.TcpFlags;
/** Room in front of a segment for the IPv4 and Ethernet headers (and an encapsulation). */
const HEADROOM = 128;
/** What the transmit timer is armed for (icsk_pending). */
export const ICSK_TIME_RETRANS = 1;
export const ICSK_TIME_PROBE0 = 3;

/** Timestamp clock (tcp_clock_ms) plus the connection's random offset. */
export const tcpTsval = (sk: TcpSock): number => (Math.floor(sk.ns.sim.sched.now / 1e6) + sk.ts_offset) >>> 0;

/**
 * tcp_sync_mss: the data per segment for a path MTU: MTU − 40, no more than the peer's MSS,
 * less the timestamp option, bounded to half the largest window the peer offered.
 */
export function tcpSyncMss(sk: TcpSock, pmtu: number): void {
  let mss = pmtu - 40;
  if (mss > sk.mss_clamp) mss = sk.mss_clamp;
  if (mss < 48) mss = 48;
  mss -= sk.tcp_header_len - 20;
  const cutoff = sk.max_window > 536 ? sk.max_window >>> 1 : sk.max_window;
  if (cutoff && mss > cutoff) mss = Math.max(cutoff, 68 - sk.tcp_header_len);
  sk.pmtu = pmtu;
  sk.mss_cache = mss;
}

/** Length of the SYN / SYN-ACK options: MSS, SACK-permitted + timestamps, NOP + window scale. */
function synOptionsLen(sk: TcpSock): number {
  return 4 + (sk.tstamp_ok ? 12 : sk.sack_ok ? 4 : 0) + (sk.wscale_ok ? 4 : 0);
}

/** tcp_options_write for a SYN: `02 04 mss | 04 02 08 0a tsval tsecr | 01 03 03 ws` as Linux lays them out. */
function writeSynOptions(sk: TcpSock, b: Uint8Array, p: number, tsecr: number): void {
  b[p] = 2;
  b[p + 1] = 4;
  writeU16(b, p + 2, sk.advmss);
  p += 4;
  if (sk.tstamp_ok) {
    b[p] = sk.sack_ok ? 4 : 1;
    b[p + 1] = sk.sack_ok ? 2 : 1;
    b[p + 2] = 8;
    b[p + 3] = 10;
    writeU32(b, p + 4, tcpTsval(sk));
    writeU32(b, p + 8, tsecr);
    p += 12;
  } else if (sk.sack_ok) {
    b[p] = 1;
    b[p + 1] = 1;
    b[p + 2] = 4;
    b[p + 3] = 2;
    p += 4;
  }
  if (sk.wscale_ok) {
    b[p] = 1;
    b[p + 1] = 3;
    b[p + 2] = 3;
    b[p + 3] = sk.rcv_wscale;
  }
}

/**
 * tcp_transmit_skb: builds and sends one segment [seq, seq+len) with `flags`, ACKing rcv_nxt
 * when ACK is set. The payload comes from the write queue. Returns false if IP refused it (the
 * segment then counts as lost and the retransmission timer recovers it).
 */
export function tcpTransmit(sk: TcpSock, seq: number, len: number, flags: number): boolean {
  const ns = sk.ns;
  const syn = (flags & SYN) !== 0;
  const optLen = syn ? synOptionsLen(sk) : sk.tstamp_ok ? TCPOLEN_TSTAMP_ALIGNED : 0;
  const hl = 20 + optLen;
  const p = ns.sim.pool.alloc(HEADROOM, hl + len);
  if (len > 0) sk.sndCopy(seq, len, p.buf, p.put(len));
  const o = p.push(hl);
  const b = p.buf;
  writeU16(b, o, sk.sport);
  writeU16(b, o + 2, sk.dport);
  writeU32(b, o + 4, seq);
  writeU32(b, o + 8, flags & ACK ? sk.rcv_nxt : 0);
  b[o + 12] = (hl >>> 2) << 4;
  b[o + 13] = flags;
  // A SYN's window is never scaled (RFC 7323 §2.2); TIME_WAIT repeats what was left of the last
  // one (tw_rcv_wnd); others go through tcp_select_window.
  const win =
    syn ? Math.min(sk.rcv_wnd, 65535) : sk.state === TcpState.TIME_WAIT ? Math.min(sk.rcv_wnd >>> sk.rcv_wscale, 65535) : tcpSelectWindow(sk);
  writeU16(b, o + 14, win);
  b[o + 16] = b[o + 17] = b[o + 18] = b[o + 19] = 0;
  if (syn) writeSynOptions(sk, b, o + 20, flags & ACK ? sk.ts_recent : 0);
  else if (sk.tstamp_ok) {
    b[o + 20] = 1;
    b[o + 21] = 1;
    b[o + 22] = 8;
    b[o + 23] = 10;
    writeU32(b, o + 24, tcpTsval(sk));
    writeU32(b, o + 28, sk.ts_recent);
  }
  let rt = sk.rt;
  if (rt === null) {
    const r = routeOutput(ns, sk.daddr, sk.saddr);
    if (typeof r === "string") {
      p.free();
      sk.softErr = r;
      return false;
    }
    sk.rt = rt = r;
  }
  tcp.fillChecksum(b, o, sk.saddr, sk.daddr, hl + len);
  // A SYN-ACK leaves from the request socket with IP ID 0; a socket numbers the rest (inet_id).
  const opts = sk.ipOpts;
  if (syn && flags & ACK) opts.id = 0;
  else {
    opts.id = sk.inetId;
    sk.inetId = (sk.inetId + 1) & 0xffff;
  }
  sk.mib.outSegs++;
  if (flags & ACK) tcpEventAckSent(sk);
  return ipOutput(ns, p, sk.daddr as Ipv4Addr, tcp.TCP_PROTOCOL, rt, opts) === undefined;
}

/** tcp_event_ack_sent: an ACK went out, so no delayed ACK is owed; quickack credit is spent. */
function tcpEventAckSent(sk: TcpSock): void {
  if (sk.ack_pending) {
    if (sk.quick > 0 && --sk.quick === 0) sk.ato = TCP_ATO_MIN;
    sk.ack_pending = false;
  }
  sk.ack_now = false;
  sk.delackTimer.clear();
}

/** tcp_event_data_sent: a reply within ato of the last data received counts as ping-pong. */
function tcpEventDataSent(sk: TcpSock, now: number): void {
  sk.lsndtime = now;
  if (now - sk.lrcvtime < sk.ato && sk.pingpong < 255) sk.pingpong++;
}

/** tcp_send_ack. */
export function tcpSendAck(sk: TcpSock): void {
  if (sk.state === TcpState.CLOSE) return;
  tcpTransmit(sk, sk.snd_nxt, 0, ACK);
}

/** tcp_send_delayed_ack: ACK within ato (40 ms at first), bounded by the RTT and 200 ms in ping-pong. */
export function tcpSendDelayedAck(sk: TcpSock): void {
  const now = sk.ns.sim.sched.now;
  let ato = sk.ato;
  if (ato > TCP_DELACK_MIN) {
    let maxAto = sk.pingpong > 0 ? TCP_DELACK_MAX : 500e6;
    if (sk.srtt_us) {
      const rtt = Math.max((sk.srtt_us >>> 3) * 1e3, TCP_DELACK_MIN);
      if (rtt < maxAto) maxAto = rtt;
    }
    ato = Math.min(ato, maxAto);
  }
  ato = Math.min(ato, TCP_DELACK_MAX);
  let timeout = now + ato;
  const t = sk.delackTimer;
  if (t.pending) {
    // An ACK about to be sent by the timer anyway goes now.
    if (t.expires <= now + ato / 4) return tcpSendAck(sk);
    if (timeout > t.expires) timeout = t.expires;
  }
  t.arm(timeout);
}

/** tcp_xmit_probe_skb: an ACK with an old sequence number (snd_una − 1), which the peer must answer. */
export function tcpXmitProbe(sk: TcpSock): void {
  tcpTransmit(sk, seqAdd(sk.snd_una, -1), 0, ACK);
}

/** tcp_send_active_reset: RST|ACK from a socket being aborted. */
export function tcpSendActiveReset(sk: TcpSock): void {
  sk.mib.outRsts++;
  tcpTransmit(sk, sk.snd_nxt, 0, RST | ACK);
}

/** Arms the retransmission timer for rto (with its backoff) from now (tcp_reset_xmit_timer). */
export function tcpResetXmitTimer(sk: TcpSock, kind: number, when: number): void {
  sk.xmitTimerKind = kind;
  sk.xmitTimer.arm(sk.ns.sim.sched.now + Math.min(when, TCP_RTO_MAX));
}

/** tcp_rearm_rto: the timer runs while anything is unacknowledged. */
export function tcpRearmRto(sk: TcpSock): void {
  if (sk.txCount === 0) {
    if (sk.xmitTimerKind === ICSK_TIME_RETRANS) sk.xmitTimer.stop();
    return;
  }
  tcpResetXmitTimer(sk, ICSK_TIME_RETRANS, sk.rto);
}

/** tcp_retransmit_skb for the k-th unacknowledged segment: same boundaries, flags, a fresh ACK. */
export function tcpRetransmitSkb(sk: TcpSock, k: number): void {
  const i = sk.txAt(k);
  const f = sk.txFlags[i];
  let len = sk.txLen[i];
  let flags: number = ACK;
  if (f & TX_SYN) {
    flags = sk.state === TcpState.SYN_SENT ? SYN : SYN | ACK;
    len = 0;
  } else if (f & TX_FIN) {
    flags |= FIN;
    len--;
  }
  if (f & TX_PSH) flags |= PSH;
  if (sk.retrans_stamp < 0) sk.retrans_stamp = sk.txTime[i];
  sk.txFlags[i] = f | TX_RETRANS;
  sk.total_retrans++;
  sk.mib.retransSegs++;
  tcpTransmit(sk, sk.txSeq[i], len, flags);
}

/** Whether the state allows sending data and FIN (after the handshake, before our FIN is acknowledged). */
const canSend = (s: number): boolean =>
  s === TcpState.ESTABLISHED || s === TcpState.CLOSE_WAIT || s === TcpState.FIN_WAIT1 || s === TcpState.CLOSING || s === TcpState.LAST_ACK;

/**
 * tcp_write_xmit: retransmits what is marked lost, then sends new data in MSS-sized segments
 * while the congestion window (packets in flight) and the peer's window allow, holding a partial
 * segment back under Nagle (with Minshall's rule). The FIN rides on the segment that empties
 * the queue. PSH marks the segment that empties the queue, or one per half window of a long write.
 */
export function tcpWriteXmit(sk: TcpSock): void {
  if (!canSend(sk.state)) return;
  while (sk.rtxNext < sk.lostEnd) {
    if (sk.packetsInFlight >= sk.snd_cwnd) return;
    tcpRetransmitSkb(sk, sk.rtxNext++);
  }
  const now = sk.ns.sim.sched.now;
  const mss = sk.mss_cache;
  const wndEnd = seqAdd(sk.snd_una, sk.snd_wnd);
  const hadInFlight = sk.txCount > 0;
  let sent = false;
  for (;;) {
    const avail = seqSub(sk.write_seq, sk.snd_nxt);
    const finPending = sk.fin_queued && !sk.fin_sent;
    if (avail <= 0 && !finPending) break;
    if (sk.packetsInFlight >= sk.snd_cwnd) break;
    const len = Math.min(avail, mss);
    const fin = finPending && len === avail;
    const end = seqAdd(sk.snd_nxt, len + (fin ? 1 : 0));
    if (after(end, wndEnd)) {
      // Receive-window limited: probe the window when nothing else will bring an ACK.
      if (sk.txCount === 0 && !sk.xmitTimer.pending) tcpResetXmitTimer(sk, ICSK_TIME_PROBE0, sk.rto);
      break;
    }
    if (len < mss && !fin && !sk.nodelay && sk.txCount > 0 && after(sk.snd_sml, sk.snd_una)) break;
    let flags: number = ACK;
    let txf = 0;
    const dataEnd = seqAdd(sk.snd_nxt, len);
    if (len > 0 && (dataEnd === sk.write_seq || after(dataEnd, seqAdd(sk.pushed_seq, sk.max_window >>> 1)))) {
      flags |= PSH;
      txf |= TX_PSH;
      sk.pushed_seq = dataEnd;
    }
    if (fin) {
      flags |= FIN;
      txf |= TX_FIN;
      sk.fin_sent = true;
    }
    const seq = sk.snd_nxt;
    sk.snd_nxt = end;
    sk.txPush(seq, len + (fin ? 1 : 0), txf, now);
    if (len < mss) sk.snd_sml = dataEnd;
    tcpTransmit(sk, seq, len, flags);
    if (len > 0) tcpEventDataSent(sk, now);
    sent = true;
  }
  if (sent && (!hadInFlight || sk.xmitTimerKind === ICSK_TIME_PROBE0)) tcpRearmRto(sk);
}

/**
 * Sends the SYN of an active open (tcp_connect) or the SYN-ACK of a passive one; the segment
 * takes one sequence number and sits in the retransmission ring.
 */
export function tcpSendSyn(sk: TcpSock): void {
  const now = sk.ns.sim.sched.now;
  const active = sk.state === TcpState.SYN_SENT;
  sk.snd_nxt = seqAdd(sk.iss, 1);
  sk.txPush(sk.iss, 1, TX_SYN, now);
  tcpTransmit(sk, sk.iss, 0, active ? SYN : SYN | ACK);
  tcpResetXmitTimer(sk, ICSK_TIME_RETRANS, sk.rto);
}

/**
 * The MSS shrank (path MTU): split unacknowledged segments longer than the new MSS and mark every
 * unacknowledged segment lost (tcp_simple_retransmit), so they go again at the new size.
 */
export function tcpResegmentForMss(sk: TcpSock): void {
  const mss = sk.mss_cache;
  const seqs: number[] = [];
  const lens: number[] = [];
  const flags: number[] = [];
  const times: number[] = [];
  for (let k = 0; k < sk.txCount; k++) {
    const i = sk.txAt(k);
    let seq = sk.txSeq[i];
    let len = sk.txLen[i];
    const f = sk.txFlags[i];
    const fin = f & TX_FIN ? 1 : 0;
    let data = len - fin;
    while (data > mss) {
      seqs.push(seq);
      lens.push(mss);
      flags.push(f & ~(TX_FIN | TX_PSH));
      times.push(sk.txTime[i]);
      seq = seqAdd(seq, mss);
      data -= mss;
      len -= mss;
    }
    seqs.push(seq);
    lens.push(len);
    flags.push(f);
    times.push(sk.txTime[i]);
  }
  sk.txCount = sk.txHead = 0;
  for (let k = 0; k < seqs.length; k++) sk.txPush(seqs[k], lens[k], flags[k], times[k]);
  sk.lostEnd = sk.txCount;
  sk.rtxNext = 0;
  if (sk.ca_state !== CA_LOSS) {
    sk.high_seq = sk.snd_nxt;
    sk.ca_state = CA_LOSS;
  }
}

/**
 * tcp_v4_send_reset: the answer to a segment that found no socket (or an invalid one): RST with
 * seq = its ACK number, or RST|ACK acknowledging what it occupied when it had no ACK. Window 0,
 * no options, from the address it was sent to. Never answers a RST.
 */
export function tcpV4SendReset(ns: NetNamespace, pkt: Packet): void {
  const b = pkt.buf;
  const l3 = pkt.l3;
  const th = pkt.l4;
  const fl = b[th + 13];
  if (fl & RST) return;
  const saddr = ipv4.dstAddr(b, l3);
  const daddr = ipv4.srcAddr(b, l3);
  const rt = routeOutput(ns, daddr, saddr);
  if (typeof rt === "string") return;
  const p = ns.sim.pool.alloc(HEADROOM, 20);
  const o = p.put(20);
  const r = p.buf;
  writeU16(r, o, tcp.dstPort(b, th));
  writeU16(r, o + 2, tcp.srcPort(b, th));
  if (fl & ACK) {
    writeU32(r, o + 4, tcp.ackNumber(b, th));
    writeU32(r, o + 8, 0);
    r[o + 13] = RST;
  } else {
    const dataLen = pkt.tail - th - tcp.headerLength(b, th);
    writeU32(r, o + 4, 0);
    writeU32(r, o + 8, (tcp.seqNumber(b, th) + dataLen + (fl & SYN ? 1 : 0) + (fl & FIN ? 1 : 0)) >>> 0);
    r[o + 13] = RST | ACK;
  }
  r[o + 12] = 5 << 4;
  writeU16(r, o + 14, 0);
  writeU32(r, o + 16, 0);
  tcp.fillChecksum(r, o, saddr, daddr, 20);
  const t = tcpTable(ns);
  t.mib.outRsts++;
  t.mib.outSegs++;
  const opts: IpHeaderOpts = RST_IP_OPTS;
  opts.tos = b[l3 + 1] & ~3;
  ipOutput(ns, p, daddr as Ipv4Addr, tcp.TCP_PROTOCOL, rt, opts);
}

const RST_IP_OPTS: IpHeaderOpts = { df: true, tos: 0 };

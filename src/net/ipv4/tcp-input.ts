// TCP input (net/ipv4/tcp_ipv4.c, tcp_input.c): tcp_v4_rcv validates and demultiplexes a
// segment to a connection, a listener or a TIME_WAIT socket (tcp-minisocks.ts), or nobody (RST,
// as Linux answers a closed port);
// tcp_rcv_state_process runs the state machine; tcp_v4_err takes ICMP errors (fragmentation
// needed lowers the MSS and retransmits; unreachables fail a connect or become a soft error).
// Not modelled: simultaneous open, SYN cookies, urgent data, SACK blocks received.

import type { Packet } from "../../packet/index.js";
import { DropReason } from "../../sim/index.js";
import { formatIpv4, ipv4, tcp } from "../../wire/index.js";
import type { NetDevice } from "../core/device.js";
import type { NetNamespace } from "../core/netns.js";
import { tcpAck } from "./tcp-ack.js";
import { tcpAckSndCheck, tcpDataQueue, tcpEnterQuickackMode } from "./tcp-data.js";
import { tcpListenRcv, tcpTimewaitRcv } from "./tcp-minisocks.js";
import { opt, parseOptions } from "./tcp-options.js";
import { tcpResegmentForMss, tcpRetransmitSkb, tcpSendAck, tcpSyncMss, tcpV4SendReset, tcpWriteXmit } from "./tcp-output.js";
import {
  after,
  before,
  seqAdd,
  TCP_INIT_CWND,
  TCP_MSS_DEFAULT,
  TCP_TIMEOUT_FALLBACK,
  TcpEvent,
  type TcpSock,
  TcpState,
} from "./tcp-sock.js";
import { lookupEstablished, lookupListener, tcpTable } from "./tcp-table.js";
import { tcpDone, tcpReset, tcpTimeWait } from "./tcp-timers.js";
import { tcpInitBufferSpace, tcpInitializeRcvMss, tcpReceiveWindow, } from "./tcp-window.js";

const { FIN, SYN, RST, ACK } = tcp.TcpFlags;

/** tcp_v4_rcv: checksum, lookup, and the state machine of whichever socket the segment belongs to. */
export function tcpV4Rcv(ns: NetNamespace, dev: NetDevice, pkt: Packet): void {
  const b = pkt.buf;
  const l3 = pkt.l3;
  const th = pkt.l4;
  if (tcp.check(b, th, pkt.tail) !== undefined) return dev.drop(pkt, DropReason.PKT_TOO_SMALL, "tcp header");
  const saddr = ipv4.srcAddr(b, l3);
  const daddr = ipv4.dstAddr(b, l3);
  if (!tcp.verifyChecksum(b, th, saddr, daddr, pkt.tail - th)) return dev.drop(pkt, DropReason.TCP_CSUM);
  if (daddr >>> 28 === 0xe || ns.isBroadcast(daddr)) return dev.drop(pkt, DropReason.OTHERHOST, "tcp to broadcast");
  const t = tcpTable(ns);
  t.mib.inSegs++;
  const sport = tcp.srcPort(b, th);
  const dport = tcp.dstPort(b, th);
  const sim = ns.sim;
  if (sim.trace.on) sim.trace.emit({ t: sim.sched.now, ns: ns.name, dev: dev.name, kind: "local", proto: "tcp", daddr: formatIpv4(daddr), dport });
  const sk = lookupEstablished(t, saddr, sport, daddr, dport);
  if (sk !== null) {
    if (sk.state === TcpState.TIME_WAIT) return tcpTimewaitRcv(ns, t, sk, dev, pkt);
    return tcpRcvStateProcess(sk, dev, pkt);
  }
  const l = lookupListener(t, daddr, dport);
  if (l !== null && !l.closed) return tcpListenRcv(l, dev, pkt);
  tcpV4SendReset(ns, pkt);
  dev.drop(pkt, DropReason.NO_SOCKET, `tcp ${formatIpv4(daddr)}:${dport}`);
}

/** tcp_sequence: the segment overlaps the window we offered. */
function tcpSequence(sk: TcpSock, seq: number, endSeq: number): boolean {
  return !before(endSeq, sk.rcv_wup) && !after(seq, seqAdd(sk.rcv_nxt, tcpReceiveWindow(sk)));
}

/** tcp_rcv_state_process (and tcp_rcv_established, tcp_check_req) for a socket with a 4-tuple. */
function tcpRcvStateProcess(sk: TcpSock, dev: NetDevice, pkt: Packet): void {
  const b = pkt.buf;
  const th = pkt.l4;
  const fl = b[th + 13];
  const hl = tcp.headerLength(b, th);
  const seq = tcp.seqNumber(b, th);
  const ack = tcp.ackNumber(b, th);
  const dataOff = th + hl;
  const dataLen = pkt.tail - dataOff;
  parseOptions(b, th, hl);
  if (sk.state === TcpState.SYN_SENT) return tcpRcvSynSent(sk, pkt, fl, seq, ack);
  if (sk.state === TcpState.SYN_RECV) {
    if (fl & SYN && !(fl & (ACK | RST)) && seq === sk.irs) {
      // The SYN again: our SYN-ACK was lost; send it again (inet_rtx_syn_ack).
      if (sk.txCount > 0) tcpRetransmitSkb(sk, 0);
      sk.syn_retrans = true;
      return pkt.free();
    }
    if (fl & ACK && !(fl & RST) && ack !== seqAdd(sk.iss, 1)) {
      tcpV4SendReset(sk.ns, pkt);
      return pkt.free();
    }
  }
  const fin = (fl & FIN) !== 0;
  const endSeq = seqAdd(seq, dataLen + (fl & SYN ? 1 : 0) + (fin ? 1 : 0));
  // PAWS (RFC 7323 §5, tcp_paws_discard): a segment with data whose timestamp is older than the
  // latest one is an old duplicate; pure ACKs pass (tcp_disordered_ack).
  if (sk.tstamp_ok && opt.tstamp && !(fl & RST) && endSeq !== seq && ((sk.ts_recent - opt.tsval) | 0) > 1 && sk.state !== TcpState.SYN_RECV) {
    tcpEnterQuickackMode(sk);
    tcpSendAck(sk);
    return dev.drop(pkt, DropReason.TCP_INVALID, "PAWS");
  }
  if (!tcpSequence(sk, seq, endSeq)) {
    if (!(fl & RST)) {
      if (before(seq, sk.rcv_nxt)) tcpEnterQuickackMode(sk);
      tcpSendAck(sk);
    }
    return dev.drop(pkt, DropReason.TCP_INVALID, "out of window");
  }
  if (fl & RST) {
    // RFC 5961 §3: only an exact RST resets; one elsewhere in the window gets a challenge ACK.
    if (seq === sk.rcv_nxt) {
      if (sk.state === TcpState.SYN_RECV) tcpDone(sk);
      else tcpReset(sk);
    } else tcpSendAck(sk);
    return dev.drop(pkt, DropReason.TCP_RESET);
  }
  if (fl & SYN) {
    tcpSendAck(sk);
    return dev.drop(pkt, DropReason.TCP_INVALID, "SYN in a synchronized state");
  }
  if (!(fl & ACK)) return pkt.free();
  // tcp_replace_ts_recent: the newest timestamp of a segment at the left edge; never backwards.
  if (sk.tstamp_ok && opt.tstamp && !after(seq, sk.rcv_wup) && ((opt.tsval - sk.ts_recent) | 0) >= 0) sk.ts_recent = opt.tsval;
  if (sk.state === TcpState.SYN_RECV && !tcpSynRecvAck(sk, dev, pkt)) return;
  if (tcpAck(sk, seq, ack, tcp.window(b, th), dataLen, opt.tstamp ? opt.tsecr : 0) < 0) return dev.drop(pkt, DropReason.TCP_INVALID, "ACK of unsent data");
  const finAcked = sk.fin_sent && sk.snd_una === sk.snd_nxt;
  switch (sk.state) {
    case TcpState.FIN_WAIT1:
      if (finAcked) {
        sk.state = TcpState.FIN_WAIT2;
        // An orphan waits tcp_fin_timeout for the peer's FIN.
        if (sk.orphan) sk.skTimer.arm(sk.ns.sim.sched.now + tcpTable(sk.ns).sysctl.finTimeout);
      }
      break;
    case TcpState.CLOSING:
      if (finAcked) {
        tcpTimeWait(sk);
        return pkt.free();
      }
      break;
    case TcpState.LAST_ACK:
      if (finAcked) {
        tcpDone(sk);
        return pkt.free();
      }
      break;
  }
  switch (sk.state) {
    case TcpState.CLOSE_WAIT:
    case TcpState.CLOSING:
    case TcpState.LAST_ACK:
      // The peer's FIN came already: whatever follows it is not data.
      pkt.free();
      break;
    case TcpState.FIN_WAIT1:
    case TcpState.FIN_WAIT2:
      // RFC 1122: data arriving after close() (nobody will read it) is answered with RST.
      if (sk.orphan && dataLen > 0 && after(seqAdd(seq, dataLen), sk.rcv_nxt)) {
        tcpV4SendReset(sk.ns, pkt);
        tcpDone(sk);
        return pkt.free();
      }
      tcpDataQueue(sk, pkt, seq, dataOff, dataLen, fin);
      break;
    default:
      tcpDataQueue(sk, pkt, seq, dataOff, dataLen, fin);
  }
  if (sk.state === TcpState.CLOSE) return;
  tcpWriteXmit(sk);
  tcpAckSndCheck(sk);
}

/**
 * The ACK completing a passive open (tcp_check_req → tcp_v4_syn_recv_sock): the socket becomes
 * ESTABLISHED and joins the listener's accept queue. Returns false (segment consumed) when the
 * accept queue is full: the ACK is dropped, the SYN-ACK will be retransmitted.
 */
function tcpSynRecvAck(sk: TcpSock, dev: NetDevice, pkt: Packet): boolean {
  const l = sk.parent;
  if (l?.closed) {
    // The listener is gone: the handshake finds nobody (RST, as a closed port).
    tcpV4SendReset(sk.ns, pkt);
    tcpDone(sk);
    pkt.free();
    return false;
  }
  if (l?.acceptQueueFull) {
    dev.drop(pkt, DropReason.NOT_SPECIFIED, "listen overflow");
    return false;
  }
  tcpEstablished(sk);
  if (l !== null) {
    // A server accepting (Node's accepts and starts reading at once) is as good as a waiting reader.
    sk.readerWaiting = !l.paused;
    l.synRecv--;
    l.acceptQueue.push(sk);
    l.wake(TcpEvent.ACCEPT);
  }
  return true;
}

/** tcp_init_transfer: buffers, the initial window, the RTO fallback, keepalive. */
function tcpEstablished(sk: TcpSock): void {
  sk.state = TcpState.ESTABLISHED;
  if (sk.syn_retrans && sk.srtt_us === 0) sk.rto = TCP_TIMEOUT_FALLBACK;
  tcpInitBufferSpace(sk);
  sk.snd_cwnd = TCP_INIT_CWND;
  if (sk.keepalive) sk.skTimer.arm(sk.ns.sim.sched.now + sk.keepaliveTime);
}

/** tcp_rcv_synsent_state_process: the SYN-ACK (or a RST) answering our SYN. */
function tcpRcvSynSent(sk: TcpSock, pkt: Packet, fl: number, seq: number, ack: number): void {
  const b = pkt.buf;
  const th = pkt.l4;
  if (!(fl & ACK)) return pkt.free();
  if (!after(ack, sk.iss) || after(ack, sk.snd_nxt)) {
    if (!(fl & RST)) tcpV4SendReset(sk.ns, pkt);
    return pkt.free();
  }
  if (fl & RST) {
    tcpReset(sk);
    return pkt.free();
  }
  if (!(fl & SYN)) return pkt.free();
  sk.tstamp_ok = sk.tstamp_ok && opt.tstamp;
  sk.sack_ok = sk.sack_ok && opt.sackOk;
  if (opt.wscale < 0 || !sk.wscale_ok) {
    sk.wscale_ok = false;
    sk.snd_wscale = sk.rcv_wscale = 0;
    sk.window_clamp = Math.min(sk.window_clamp, 65535);
  } else sk.snd_wscale = opt.wscale;
  sk.mss_clamp = opt.mss || TCP_MSS_DEFAULT;
  if (sk.tstamp_ok) {
    sk.tcp_header_len = 32;
    sk.advmss -= 12;
    sk.ts_recent = opt.tsval;
  } else sk.tcp_header_len = 20;
  sk.irs = seq;
  sk.rcv_nxt = sk.rcv_wup = sk.copied_seq = seqAdd(seq, 1);
  // The SYN-ACK's window is not scaled (RFC 7323 §2.2): snd_wscale applies from the next segment.
  const wscale = sk.snd_wscale;
  sk.snd_wscale = 0;
  sk.snd_wl1 = seqAdd(seq, -1);
  tcpAck(sk, seq, ack, tcp.window(b, th), 0, opt.tstamp ? opt.tsecr : 0);
  sk.snd_wscale = wscale;
  sk.snd_wl1 = seq;
  sk.max_window = sk.snd_wnd;
  tcpSyncMss(sk, sk.pmtu);
  tcpInitializeRcvMss(sk);
  tcpEstablished(sk);
  sk.wake(TcpEvent.CONNECT);
  tcpSendAck(sk);
  tcpWriteXmit(sk);
  pkt.free();
}

const ICMP_UNREACH_ERRNO = ["ENETUNREACH", "EHOSTUNREACH", "ENOPROTOOPT", "ECONNREFUSED", "EMSGSIZE", "EOPNOTSUPP", "ENETUNREACH", "EHOSTDOWN", "ENONET", "ECONNREFUSED", "ECONNREFUSED", "ENETUNREACH", "EHOSTUNREACH", "EHOSTUNREACH"];

/**
 * tcp_v4_err: an ICMP error quoting one of our segments. Fragmentation needed lowers the path
 * MTU and the MSS and retransmits at the new size; while connecting any unreachable is fatal;
 * on an established connection it is remembered (sk_err_soft) for a later timeout to report.
 */
export function tcpV4Err(ns: NetNamespace, pkt: Packet, q: number, type: number, code: number, info: number): void {
  const b = pkt.buf;
  const l4 = q + ipv4.headerLength(b, q);
  if (pkt.tail - l4 < 8) return;
  const t = tcpTable(ns);
  const sk = lookupEstablished(t, ipv4.dstAddr(b, q), tcp.dstPort(b, l4), ipv4.srcAddr(b, q), tcp.srcPort(b, l4));
  if (sk === null || sk.state === TcpState.TIME_WAIT || sk.state === TcpState.CLOSE) return;
  const seq = tcp.seqNumber(b, l4);
  if (before(seq, sk.snd_una) || after(seq, sk.snd_nxt)) return;
  let err: string;
  if (type === 3) {
    if (code === 4) {
      // tcp_v4_mtu_reduced: a smaller path MTU means smaller segments, sent again now.
      if (info >= 68 && info < sk.pmtu) {
        const old = sk.mss_cache;
        tcpSyncMss(sk, info);
        if (sk.mss_cache < old && sk.txCount > 0) {
          tcpResegmentForMss(sk);
          tcpWriteXmit(sk);
        }
      }
      return;
    }
    err = ICMP_UNREACH_ERRNO[code] ?? "EHOSTUNREACH";
  } else if (type === 11) err = "EHOSTUNREACH";
  else if (type === 12) err = "EPROTO";
  else return;
  if (sk.state === TcpState.SYN_SENT) {
    sk.err = err;
    t.mib.attemptFails++;
    tcpDone(sk);
    return sk.wake(TcpEvent.ERROR);
  }
  if (sk.state === TcpState.SYN_RECV) return tcpDone(sk);
  sk.softErr = err;
}

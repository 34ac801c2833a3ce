// Receiving data (net/ipv4/tcp_input.c): tcp_data_queue with its out-of-order queue (packets kept
// as they came, trimmed at delivery), tcp_fin, the delayed-ACK engine of tcp_event_data_recv
// (quickack at the start of a connection, ato adapting to the inter-arrival time) and the ACK
// decision of __tcp_ack_snd_check: every second full segment, in quickack mode, or after 40 ms.

import type { Packet } from "../../packet/index.js";
import { tcpSendAck, tcpSendDelayedAck } from "./tcp-output.js";
import {
  after,
  before,
  SKB_TRUESIZE_OVERHEAD,
  seqAdd,
  seqSub,
  TCP_ATO_MIN,
  TCP_MAX_QUICKACKS,
  TcpEvent,
  type TcpSock,
  TcpState,
} from "./tcp-sock.js";
import { tcpTimeWait } from "./tcp-timers.js";
import { tcpGrowWindow, tcpMeasureRcvMss, tcpReceiveWindow, tcpSelectWindowRaw } from "./tcp-window.js";

/** tcp_incr_quickack: ACK the next segments at once (up to half a window of them, at most 16). */
function tcpIncrQuickack(sk: TcpSock, max: number): void {
  let quickacks = Math.floor(sk.rcv_wnd / (2 * sk.rcv_mss));
  if (quickacks === 0) quickacks = 2;
  quickacks = Math.min(quickacks, max);
  if (quickacks > sk.quick) sk.quick = quickacks;
}

/** tcp_enter_quickack_mode: after a gap or a duplicate, ACK at once and leave ping-pong. */
export function tcpEnterQuickackMode(sk: TcpSock): void {
  tcpIncrQuickack(sk, TCP_MAX_QUICKACKS);
  sk.pingpong = 0;
  sk.ato = TCP_ATO_MIN;
}

/** tcp_event_data_recv: new in-order data; adapt ato to the inter-arrival time, grow the window. */
function tcpEventDataRecv(sk: TcpSock, len: number): void {
  const now = sk.ns.sim.sched.now;
  sk.ack_pending = true;
  tcpMeasureRcvMss(sk, len);
  if (sk.ato === 0) {
    tcpIncrQuickack(sk, TCP_MAX_QUICKACKS);
    sk.ato = TCP_ATO_MIN;
  } else {
    const m = now - sk.lrcvtime;
    if (m <= TCP_ATO_MIN / 2) sk.ato = sk.ato / 2 + TCP_ATO_MIN / 2;
    else if (m < sk.ato) sk.ato = Math.min(sk.ato / 2 + m, sk.rto);
    else if (m > sk.rto) tcpIncrQuickack(sk, TCP_MAX_QUICKACKS);
  }
  sk.lrcvtime = now;
  if (len >= 128) tcpGrowWindow(sk, len);
}

/** tcp_fin: the peer closed its side. */
function tcpFin(sk: TcpSock): void {
  sk.ack_pending = true;
  sk.fin_rcvd = true;
  switch (sk.state) {
    case TcpState.SYN_RECV:
    case TcpState.ESTABLISHED:
      sk.state = TcpState.CLOSE_WAIT;
      // inet_csk_enter_pingpong_mode: the ACK of a FIN waits for the application's reply.
      if (sk.pingpong < 1) sk.pingpong = 1;
      break;
    case TcpState.FIN_WAIT1:
      // Simultaneous close.
      tcpSendAck(sk);
      sk.state = TcpState.CLOSING;
      break;
    case TcpState.FIN_WAIT2:
      tcpSendAck(sk);
      tcpTimeWait(sk);
      break;
  }
  ofoPurge(sk);
  sk.wake(TcpEvent.EOF);
}

function ofoPurge(sk: TcpSock): void {
  for (let i = 0; i < sk.ofoPkts.length; i++) {
    sk.rmem_alloc -= sk.ofoEnd[i] - sk.ofoSeq[i] + SKB_TRUESIZE_OVERHEAD;
    sk.ofoPkts[i].free();
  }
  sk.ofoPkts.length = sk.ofoOff.length = sk.ofoSeq.length = sk.ofoEnd.length = sk.ofoFin.length = 0;
}

/**
 * tcp_data_queue: payload b[off, off+len) of a segment at `seq` (with FIN when `fin`). In order:
 * queued for the reader, then whatever the out-of-order queue now continues. Old or out of
 * window: dropped with an immediate ACK. Ahead of rcv_nxt: kept out of order. Takes the packet.
 */
export function tcpDataQueue(sk: TcpSock, pkt: Packet, seq: number, off: number, len: number, fin: boolean): void {
  const endSeq = seqAdd(seq, len + (fin ? 1 : 0));
  if (seq !== sk.rcv_nxt) {
    if (!after(endSeq, sk.rcv_nxt) || !before(seq, seqAdd(sk.rcv_nxt, tcpReceiveWindow(sk)))) {
      // A retransmission of what we have, or beyond the window: tell the sender where we are.
      tcpEnterQuickackMode(sk);
      sk.ack_pending = true;
      return pkt.free();
    }
    if (after(seq, sk.rcv_nxt)) return tcpDataQueueOfo(sk, pkt, seq, off, len, fin);
    const d = seqSub(sk.rcv_nxt, seq);
    off += d;
    len -= d;
    seq = sk.rcv_nxt;
  }
  if (len > 0 && tcpReceiveWindow(sk) === 0) {
    tcpEnterQuickackMode(sk);
    sk.ack_pending = true;
    return pkt.free();
  }
  if (len > 0) sk.rcvQueue(pkt, off, off + len);
  else pkt.free();
  sk.rcv_nxt = seqAdd(seq, len);
  if (len > 0) tcpEventDataRecv(sk, len);
  if (fin) {
    sk.rcv_nxt = seqAdd(sk.rcv_nxt, 1);
    tcpFin(sk);
  }
  if (sk.ofoPkts.length > 0) {
    tcpOfoQueue(sk);
    // RFC 5681 §4.2: ACK at once when a gap is filled.
    if (sk.ofoPkts.length === 0) sk.ack_now = true;
  }
  if (len > 0) sk.wake(TcpEvent.READ);
}

/** tcp_data_queue_ofo: keep a segment ahead of rcv_nxt, sorted; one already covered is dropped. */
function tcpDataQueueOfo(sk: TcpSock, pkt: Packet, seq: number, off: number, len: number, fin: boolean): void {
  sk.ack_pending = true;
  const end = seqAdd(seq, len);
  const n = sk.ofoPkts.length;
  let i = n;
  while (i > 0 && after(sk.ofoSeq[i - 1], seq)) i--;
  if (i > 0 && !after(end, sk.ofoEnd[i - 1]) && !(fin && !sk.ofoFin[i - 1] && end === sk.ofoEnd[i - 1])) return pkt.free();
  // Drop queued segments the new one covers entirely.
  let j = i;
  while (j < sk.ofoPkts.length && !after(sk.ofoEnd[j], end)) j++;
  for (let k = i; k < j; k++) {
    sk.rmem_alloc -= sk.ofoEnd[k] - sk.ofoSeq[k] + SKB_TRUESIZE_OVERHEAD;
    sk.ofoPkts[k].free();
  }
  sk.ofoPkts.splice(i, j - i, pkt);
  sk.ofoOff.splice(i, j - i, off);
  sk.ofoSeq.splice(i, j - i, seq);
  sk.ofoEnd.splice(i, j - i, end);
  sk.ofoFin.splice(i, j - i, fin);
  sk.rmem_alloc += len + SKB_TRUESIZE_OVERHEAD;
}

/** tcp_ofo_queue: move segments that now continue the in-order data to the receive queue. */
function tcpOfoQueue(sk: TcpSock): void {
  while (sk.ofoPkts.length > 0 && !after(sk.ofoSeq[0], sk.rcv_nxt)) {
    const pkt = sk.ofoPkts.shift()!;
    let off = sk.ofoOff.shift()!;
    const seq = sk.ofoSeq.shift()!;
    const end = sk.ofoEnd.shift()!;
    const fin = sk.ofoFin.shift()!;
    sk.rmem_alloc -= seqSub(end, seq) + SKB_TRUESIZE_OVERHEAD;
    if (!after(end, sk.rcv_nxt) && !(fin && end === sk.rcv_nxt)) {
      pkt.free();
      continue;
    }
    off += seqSub(sk.rcv_nxt, seq);
    const len = seqSub(end, sk.rcv_nxt);
    if (len > 0) sk.rcvQueue(pkt, off, off + len);
    else pkt.free();
    sk.rcv_nxt = end;
    if (fin) {
      sk.rcv_nxt = seqAdd(sk.rcv_nxt, 1);
      tcpFin(sk);
      break;
    }
  }
}

/**
 * __tcp_ack_snd_check: ACK now after more than one full segment when the window keeps up, in
 * quickack mode, when something was out of order or asked for it; otherwise a delayed ACK.
 */
export function tcpAckSndCheck(sk: TcpSock): void {
  if (!sk.ack_pending || sk.state === TcpState.CLOSE || sk.state === TcpState.TIME_WAIT) return;
  if (
    (seqSub(sk.rcv_nxt, sk.rcv_wup) > sk.rcv_mss && tcpSelectWindowRaw(sk) >= sk.rcv_wnd) ||
    (sk.quick > 0 && sk.pingpong === 0) ||
    sk.ack_now ||
    sk.ofoPkts.length > 0
  )
    return tcpSendAck(sk);
  tcpSendDelayedAck(sk);
}

/**
 * tcp_cleanup_rbuf's window update: after the reader freed space, ACK at once if the window we
 * could offer is at least twice what the peer has left.
 */
export function tcpCleanupRbuf(sk: TcpSock, copied: number): void {
  if (copied <= 0 || sk.fin_rcvd) return;
  if (sk.state !== TcpState.ESTABLISHED && sk.state !== TcpState.FIN_WAIT1 && sk.state !== TcpState.FIN_WAIT2) return;
  let timeToAck = false;
  // A delayed ACK owed for more than one full segment goes now (the reader caught up).
  if (sk.ack_pending && seqSub(sk.rcv_nxt, sk.rcv_wup) > sk.rcv_mss) timeToAck = true;
  if (!timeToAck) {
    const now = seqSub(seqAdd(sk.rcv_wup, sk.rcv_wnd), sk.rcv_nxt);
    if (2 * now <= sk.window_clamp) {
      const w = tcpSelectWindowRaw(sk);
      if (w && w >= 2 * now) timeToAck = true;
    }
  }
  if (timeToAck) tcpSendAck(sk);
}

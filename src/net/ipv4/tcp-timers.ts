// TCP timers (net/ipv4/tcp_timer.c) on the virtual clock: retransmission with exponential
// backoff and Linux's give-up rules (tcp_write_timeout: SYN retries by count after the linear
// SYN timeouts, data retries by the time tcp_retries2 models), the zero-window probe, the delayed
// ACK, TIME_WAIT (60 s), the orphaned FIN_WAIT2 timeout and keepalive; and the ends of a
// connection (tcp_done, tcp_time_wait, tcp_reset).

import {
  ICSK_TIME_PROBE0,
  ICSK_TIME_RETRANS,
  tcpResetXmitTimer,
  tcpRetransmitSkb,
  tcpSendAck,
  tcpSendActiveReset,
  tcpWriteXmit,
  tcpXmitProbe,
} from "./tcp-output.js";
import {
  CA_LOSS,
  TCP_ATO_MIN,
  TCP_RTO_MAX,
  TCP_RTO_MIN,
  TCP_TIMEWAIT_LEN,
  TcpEvent,
  type TcpSock,
  TcpState,
} from "./tcp-sock.js";
import { ehashRemove, tcpTable } from "./tcp-table.js";
import { tcpReceiveWindow } from "./tcp-window.js";

/** tcp_retries1: after this many retransmissions the cached route is dropped (dst_negative_advice). */
const TCP_RETRIES1 = 3;
/** tcp_syn_linear_timeouts: SYN retransmissions at the initial RTO before backing off. */
const TCP_SYN_LINEAR_TIMEOUTS = 4;
/** tcp_orphan_retries 0 means 8 while the peer answers. */
const TCP_ORPHAN_RETRIES = 8;
const TCP_KEEPALIVE_INTVL = 75e9;
const TCP_KEEPALIVE_PROBES = 9;

/** Installs the timer handlers on a new socket (tcp_init_xmit_timers). */
export function tcpInitTimers(sk: TcpSock): void {
  sk.xmitTimer.handler = tcpWriteTimer;
  sk.delackTimer.handler = tcpDelackTimer;
  sk.skTimer.handler = tcpKeepaliveTimer;
}

/** tcp_write_timer_handler: retransmission or zero-window probe. */
function tcpWriteTimer(sk: TcpSock): void {
  if (sk.state === TcpState.CLOSE) return;
  if (sk.xmitTimerKind === ICSK_TIME_PROBE0) return tcpProbeTimer(sk);
  if (sk.xmitTimerKind === ICSK_TIME_RETRANS) tcpRetransmitTimer(sk);
}

/** tcp_model_timeout: how long `boundary` exponentially backed-off retransmissions take from rto_base. */
function tcpModelTimeout(boundary: number, rtoBase: number): number {
  const thresh = 31 - Math.clz32(Math.floor(TCP_RTO_MAX / rtoBase));
  if (boundary <= thresh) return ((2 << boundary) - 1) * rtoBase;
  return ((2 << thresh) - 1) * rtoBase + (boundary - thresh) * TCP_RTO_MAX;
}

/** retransmits_timed_out: the first retransmission of this episode was sent that long ago. */
function retransmitsTimedOut(sk: TcpSock, boundary: number): boolean {
  if (sk.retransmits === 0 || sk.retrans_stamp < 0) return false;
  return sk.ns.sim.sched.now - sk.retrans_stamp >= tcpModelTimeout(boundary, TCP_RTO_MIN);
}

/** tcp_write_timeout: true when the connection has been given up. */
function tcpWriteTimeout(sk: TcpSock): boolean {
  const sysctl = tcpTable(sk.ns).sysctl;
  let expired: boolean;
  if (sk.state === TcpState.SYN_SENT) expired = sk.retransmits >= sysctl.synRetries + TCP_SYN_LINEAR_TIMEOUTS;
  else if (sk.state === TcpState.SYN_RECV) {
    if (sk.retransmits >= sysctl.synackRetries) {
      // An unanswered passive open is forgotten without a RST (the request sock expires).
      tcpDone(sk);
      return true;
    }
    return false;
  } else {
    if (retransmitsTimedOut(sk, TCP_RETRIES1)) sk.rt = null;
    expired = retransmitsTimedOut(sk, sk.orphan ? TCP_ORPHAN_RETRIES : sysctl.retries2);
  }
  if (expired) tcpWriteErr(sk);
  return expired;
}

/** tcp_write_err: the error is ETIMEDOUT unless an ICMP error said more (sk_err_soft). */
function tcpWriteErr(sk: TcpSock): void {
  sk.err = sk.softErr ?? "ETIMEDOUT";
  tcpDone(sk);
  sk.wake(TcpEvent.ERROR);
}

/**
 * tcp_enter_loss: every unacknowledged segment is presumed lost; slow start again from one
 * segment with ssthresh at half the window (Reno).
 */
export function tcpEnterLoss(sk: TcpSock): void {
  if (sk.ca_state !== CA_LOSS) sk.snd_ssthresh = Math.max(sk.snd_cwnd >>> 1, 2);
  sk.snd_cwnd = 1;
  sk.snd_cwnd_cnt = 0;
  sk.lostEnd = sk.txCount;
  sk.rtxNext = 0;
  sk.dupacks = 0;
  sk.high_seq = sk.snd_nxt;
  sk.ca_state = CA_LOSS;
}

/** tcp_retransmit_timer: retransmit the oldest segment, double the RTO. */
function tcpRetransmitTimer(sk: TcpSock): void {
  if (sk.txCount === 0) return;
  if (tcpWriteTimeout(sk)) return;
  const handshake = sk.state === TcpState.SYN_SENT || sk.state === TcpState.SYN_RECV;
  if (!handshake) tcpEnterLoss(sk);
  else sk.syn_retrans = true;
  tcpRetransmitSkb(sk, 0);
  if (sk.rtxNext === 0 && sk.lostEnd > 0) sk.rtxNext = 1;
  sk.retransmits++;
  // SYNs keep the initial RTO for the first tcp_syn_linear_timeouts retransmissions.
  if (sk.state !== TcpState.SYN_SENT || sk.retransmits > TCP_SYN_LINEAR_TIMEOUTS) {
    sk.backoff++;
    sk.rto = Math.min(sk.rto * 2, TCP_RTO_MAX);
  }
  tcpResetXmitTimer(sk, ICSK_TIME_RETRANS, sk.rto);
}

/**
 * tcp_probe_timer / tcp_send_probe0: the peer's window is closed and nothing is in flight. Send
 * what fits if the window opened a little (tcp_write_wakeup), else a probe; back off up to 120 s.
 */
function tcpProbeTimer(sk: TcpSock): void {
  if (sk.txCount > 0 || (sk.write_seq === sk.snd_nxt && !(sk.fin_queued && !sk.fin_sent))) {
    sk.probes_out = 0;
    sk.backoff = 0;
    return;
  }
  if (sk.probes_out >= tcpTable(sk.ns).sysctl.retries2) return tcpWriteErr(sk);
  const before = sk.txCount;
  if (sk.snd_wnd > 0) {
    // tcp_write_wakeup: send the part of the next segment that fits the window.
    const saved = sk.mss_cache;
    sk.mss_cache = Math.min(saved, sk.snd_wnd - ((sk.snd_nxt - sk.snd_una) | 0));
    if (sk.mss_cache > 0) {
      const nodelay = sk.nodelay;
      sk.nodelay = true;
      tcpWriteXmit(sk);
      sk.nodelay = nodelay;
    }
    sk.mss_cache = saved;
  }
  if (sk.txCount === before) tcpXmitProbe(sk);
  if (sk.txCount > 0) return;
  sk.probes_out++;
  if (sk.backoff < tcpTable(sk.ns).sysctl.retries2) sk.backoff++;
  const base = Math.max(sk.rto, TCP_RTO_MIN);
  tcpResetXmitTimer(sk, ICSK_TIME_PROBE0, Math.min(base * 2 ** sk.backoff, TCP_RTO_MAX));
}

/** tcp_delack_timer_handler: the owed ACK goes; a missed delayed ACK inflates ato outside ping-pong. */
function tcpDelackTimer(sk: TcpSock): void {
  if (!sk.ack_pending || sk.state === TcpState.CLOSE) return;
  if (sk.pingpong === 0) sk.ato = Math.min(sk.ato * 2, sk.rto);
  else {
    sk.pingpong = 0;
    sk.ato = TCP_ATO_MIN;
  }
  tcpSendAck(sk);
}

/** The socket timer (sk_timer): TIME_WAIT expiry, the orphaned FIN_WAIT2 timeout, keepalive. */
function tcpKeepaliveTimer(sk: TcpSock): void {
  const now = sk.ns.sim.sched.now;
  if (sk.state === TcpState.TIME_WAIT || sk.state === TcpState.FIN_WAIT2) return tcpDone(sk);
  if (!sk.keepalive || sk.state !== TcpState.ESTABLISHED) return;
  if (sk.txCount > 0 || sk.write_seq !== sk.snd_nxt) return sk.skTimer.arm(now + sk.keepaliveTime);
  const idle = now - Math.max(sk.lrcvtime, sk.rcv_tstamp);
  if (idle < sk.keepaliveTime) return sk.skTimer.arm(now + sk.keepaliveTime - idle);
  if (sk.probes_out >= TCP_KEEPALIVE_PROBES) {
    tcpSendActiveReset(sk);
    return tcpWriteErr(sk);
  }
  tcpXmitProbe(sk);
  sk.probes_out++;
  sk.skTimer.arm(now + TCP_KEEPALIVE_INTVL);
}

/** tcp_done: the connection is closed; it leaves the hash and its timers stop. */
export function tcpDone(sk: TcpSock): void {
  const wasSynRecv = sk.state === TcpState.SYN_RECV;
  sk.state = TcpState.CLOSE;
  sk.xmitTimer.stop();
  sk.delackTimer.stop();
  sk.skTimer.stop();
  ehashRemove(tcpTable(sk.ns), sk);
  const parent = sk.parent;
  if (parent !== null) {
    if (wasSynRecv) parent.synRecv--;
    const i = parent.acceptQueue.indexOf(sk);
    if (i >= 0) parent.acceptQueue.splice(i, 1);
    sk.parent = null;
  }
  sk.txCount = sk.lostEnd = sk.rtxNext = 0;
  if (sk.orphan || sk.user === null) sk.purgeQueues();
  sk.wake(TcpEvent.CLOSE);
}

/** tcp_time_wait: both FINs are acknowledged; the 4-tuple stays reserved for 60 s. */
export function tcpTimeWait(sk: TcpSock): void {
  sk.rcv_wnd = tcpReceiveWindow(sk);
  sk.state = TcpState.TIME_WAIT;
  sk.xmitTimer.stop();
  sk.delackTimer.stop();
  sk.txCount = sk.lostEnd = sk.rtxNext = 0;
  sk.skTimer.arm(sk.ns.sim.sched.now + TCP_TIMEWAIT_LEN);
  sk.wake(TcpEvent.CLOSE);
}

/** tcp_reset: a valid RST: ECONNREFUSED while connecting, EPIPE in CLOSE_WAIT, else ECONNRESET. */
export function tcpReset(sk: TcpSock): void {
  if (sk.state === TcpState.CLOSE) return;
  sk.err = sk.state === TcpState.SYN_SENT ? "ECONNREFUSED" : sk.state === TcpState.CLOSE_WAIT ? "EPIPE" : "ECONNRESET";
  const t = tcpTable(sk.ns);
  if (sk.state === TcpState.SYN_SENT) t.mib.attemptFails++;
  else if (sk.state === TcpState.ESTABLISHED || sk.state === TcpState.CLOSE_WAIT) t.mib.estabResets++;
  tcpDone(sk);
  sk.wake(TcpEvent.ERROR);
}


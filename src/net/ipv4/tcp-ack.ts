// Processing of incoming acknowledgments (net/ipv4/tcp_input.c:tcp_ack): the send window update,
// cleaning the retransmission ring, RTT samples (Karn's rule; timestamps otherwise) into the
// RFC 6298 estimator as Linux runs it (tcp_rtt_estimator, rto = srtt + max(4·mdev, 200 ms)), and
// congestion control: slow start, Reno AIMD, fast retransmit after three duplicate ACKs with
// NewReno partial-ACK recovery. Not modelled: SACK scoreboards, RACK/TLP, CUBIC/BBR, PRR.

import { tcpRearmRto, tcpRetransmitSkb, tcpSendAck, tcpSyncMss, tcpTsval } from "./tcp-output.js";
import {
  after,
  before,
  CA_OPEN,
  CA_RECOVERY,
  seqAdd,
  seqSub,
  TCP_RTO_MAX,
  TCP_RTO_MIN,
  TcpEvent,
  type TcpSock,
  TX_RETRANS,
} from "./tcp-sock.js";

/** tcp_rto_min in µs. */
const RTO_MIN_US = TCP_RTO_MIN / 1e3;
/** Duplicate ACKs that trigger fast retransmit (tp->reordering). */
const DUPTHRESH = 3;

/** tcp_rtt_estimator: srtt_us holds 8×SRTT, mdev_us 4×the mean deviation, rttvar_us ≥ rto_min. */
export function tcpRttEstimator(sk: TcpSock, mrtt: number): void {
  let m = mrtt;
  let srtt = sk.srtt_us;
  if (srtt !== 0) {
    m -= srtt >>> 3;
    srtt += m;
    if (m < 0) {
      m = -m;
      m -= sk.mdev_us >>> 2;
      if (m > 0) m >>= 3;
    } else m -= sk.mdev_us >>> 2;
    sk.mdev_us += m;
    if (sk.mdev_us > sk.mdev_max_us) {
      sk.mdev_max_us = sk.mdev_us;
      if (sk.mdev_max_us > sk.rttvar_us) sk.rttvar_us = sk.mdev_max_us;
    }
    if (after(sk.snd_una, sk.rtt_seq)) {
      if (sk.mdev_max_us < sk.rttvar_us) sk.rttvar_us -= (sk.rttvar_us - sk.mdev_max_us) >>> 2;
      sk.rtt_seq = sk.snd_nxt;
      sk.mdev_max_us = RTO_MIN_US;
    }
  } else {
    srtt = m << 3;
    sk.mdev_us = m << 1;
    sk.rttvar_us = Math.max(sk.mdev_us, RTO_MIN_US);
    sk.mdev_max_us = sk.rttvar_us;
    sk.rtt_seq = sk.snd_nxt;
  }
  sk.srtt_us = Math.max(1, srtt);
}

/** tcp_set_rto: srtt + rttvar, in whole jiffies (1 ms), at most 120 s. */
export function tcpSetRto(sk: TcpSock): void {
  const us = (sk.srtt_us >>> 3) + sk.rttvar_us;
  sk.rto = Math.min(Math.ceil(us / 1e3) * 1e6, TCP_RTO_MAX);
}

/** tcp_reno_cong_avoid: slow start below ssthresh, then one segment per window of ACKs. */
function tcpCongAvoid(sk: TcpSock, acked: number, priorInFlight: number): void {
  // tcp_is_cwnd_limited: an application-limited sender does not grow its window.
  if (sk.snd_cwnd < sk.snd_ssthresh ? sk.snd_cwnd >= 2 * priorInFlight : priorInFlight < sk.snd_cwnd) return;
  if (sk.snd_cwnd < sk.snd_ssthresh) {
    const cwnd = Math.min(sk.snd_cwnd + acked, sk.snd_ssthresh);
    acked -= cwnd - sk.snd_cwnd;
    sk.snd_cwnd = cwnd;
    if (acked <= 0) return;
  }
  sk.snd_cwnd_cnt += acked;
  if (sk.snd_cwnd_cnt >= sk.snd_cwnd) {
    const delta = Math.floor(sk.snd_cwnd_cnt / sk.snd_cwnd);
    sk.snd_cwnd_cnt -= delta * sk.snd_cwnd;
    sk.snd_cwnd += delta;
  }
}

/**
 * tcp_ack for a segment carrying ACK `ack`, sequence `seq`, window field `win`, `dataLen` bytes.
 * Returns -1 when the segment must be dropped (it acknowledges what was never sent, or is far
 * too old), 0 for an old ACK (the segment's data still counts), 1 otherwise.
 */
export function tcpAck(sk: TcpSock, seq: number, ack: number, win: number, dataLen: number, tsecr: number): number {
  const prior = sk.snd_una;
  if (before(ack, prior)) {
    if (before(ack, seqAdd(prior, -sk.max_window))) {
      tcpSendAck(sk);
      return -1;
    }
    return 0;
  }
  if (after(ack, sk.snd_nxt)) return -1;
  const now = sk.ns.sim.sched.now;
  // Something answered: keepalive and window probes start over, soft errors are forgotten.
  sk.rcv_tstamp = now;
  sk.probes_out = 0;
  sk.softErr = null;
  // tcp_ack_update_window
  const nwin = win * 2 ** sk.snd_wscale;
  let winUpdate = false;
  if (after(ack, prior) || after(seq, sk.snd_wl1) || (seq === sk.snd_wl1 && (nwin > sk.snd_wnd || nwin === 0))) {
    winUpdate = true;
    sk.snd_wl1 = seq;
    if (sk.snd_wnd !== nwin) {
      sk.snd_wnd = nwin;
      if (nwin > sk.max_window) {
        sk.max_window = nwin;
        tcpSyncMss(sk, sk.pmtu);
      }
    }
  }
  const priorInFlight = sk.packetsInFlight;
  if (ack === prior) {
    // A duplicate ACK: no data, no window change, something outstanding (FLAG_NOT_DUP unset).
    if (!winUpdate && dataLen === 0 && sk.txCount > 0) tcpDupAck(sk);
    return 1;
  }
  // tcp_clean_rtx_queue
  let pkts = 0;
  let firstSent = -1;
  let retransAcked = false;
  while (sk.txCount > 0) {
    const i = sk.txAt(0);
    const end = seqAdd(sk.txSeq[i], sk.txLen[i]);
    if (after(end, ack)) {
      // Partly acknowledged: the rest stays as a shorter segment (tcp_trim_head).
      sk.txLen[i] = seqSub(end, ack);
      sk.txSeq[i] = ack;
      break;
    }
    if (sk.txFlags[i] & TX_RETRANS) retransAcked = true;
    else if (firstSent < 0) firstSent = sk.txTime[i];
    sk.txShift();
    pkts++;
  }
  const dataAcked = Math.min(Math.max(seqSub(ack, sk.sndSeq), 0), sk.sndBytes);
  if (dataAcked > 0) {
    sk.sndRelease(dataAcked);
    sk.bytesAcked += dataAcked;
  }
  sk.snd_una = ack;
  // RTT: from the oldest newly acknowledged segment never retransmitted, else from the timestamp echo.
  let rttUs = -1;
  if (firstSent >= 0 && !retransAcked) rttUs = Math.max(0, Math.floor((now - firstSent) / 1e3));
  else if (sk.tstamp_ok && tsecr !== 0) rttUs = Math.max(1, (tcpTsval(sk) - tsecr) | 0) * 1e3;
  if (rttUs >= 0) {
    tcpRttEstimator(sk, rttUs);
    tcpSetRto(sk);
  }
  sk.backoff = 0;
  sk.retransmits = 0;
  sk.retrans_stamp = -1;
  if (sk.ca_state !== CA_OPEN) {
    if (!before(ack, sk.high_seq)) {
      if (sk.ca_state === CA_RECOVERY) sk.snd_cwnd = sk.snd_ssthresh;
      sk.ca_state = CA_OPEN;
      sk.dupacks = 0;
      sk.lostEnd = sk.rtxNext = 0;
    } else if (sk.ca_state === CA_RECOVERY) {
      // NewReno partial ACK: the next hole is lost too; deflate by what was acknowledged.
      sk.snd_cwnd = Math.max(sk.snd_ssthresh, sk.snd_cwnd - pkts + 1);
      if (sk.txCount > 0) tcpRetransmitSkb(sk, 0);
    }
  } else sk.dupacks = 0;
  if (sk.ca_state !== CA_RECOVERY) tcpCongAvoid(sk, pkts, priorInFlight);
  tcpRearmRto(sk);
  if (sk.sndWait) sk.wake(TcpEvent.WRITE);
  return 1;
}

/** A duplicate ACK (tcp_add_reno_sack): the third starts fast retransmit and recovery. */
function tcpDupAck(sk: TcpSock): void {
  sk.dupacks++;
  // In recovery the window is not inflated: new data waits for the holes (no PRR).
  if (sk.ca_state !== CA_OPEN || sk.dupacks < DUPTHRESH) return;
  sk.snd_ssthresh = Math.max(sk.snd_cwnd >>> 1, 2);
  sk.snd_cwnd = sk.snd_ssthresh;
  sk.snd_cwnd_cnt = 0;
  sk.high_seq = sk.snd_nxt;
  sk.ca_state = CA_RECOVERY;
  tcpRetransmitSkb(sk, 0);
  tcpRearmRto(sk);
}

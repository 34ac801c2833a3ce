// The TCP control block (struct tcp_sock, include/linux/tcp.h) with Linux's field names: the
// send side (snd_una, snd_nxt, snd_wnd, the write queue as a byte stream, the transmitted
// segments as a ring for retransmission), the receive side (rcv_nxt, rcv_wnd, rcv_ssthresh, the
// receive and out-of-order queues holding the packets themselves), RTT and RTO state, timers; the
// retransmission ring is its base class (tcp-rtx.ts).
// No Node streams here: the socket above (TcpSocket) is told about events through `user`.

import type { Packet } from "../../packet/index.js";
import type { NetNamespace } from "../core/netns.js";
import type { IpHeaderOpts, OutputRoute } from "./output.js";
import {
  CA_OPEN,
  newTcpMib,
  SKB_TRUESIZE_OVERHEAD,
  SkTimer,
  seqAdd,
  seqSub,
  TCP_DEFAULT_SCALING_RATIO,
  TCP_INIT_CWND,
  TCP_MSS_DEFAULT,
  TCP_TIMEOUT_INIT,
  type TcpMib,
  TcpState,
  type TcpUser,
  tcpStateName,
} from "./tcp-defs.js";
import { TcpRtxRing } from "./tcp-rtx.js";
import type { TcpListener } from "./tcp-table.js";

export * from "./tcp-defs.js";

export class TcpSock extends TcpRtxRing {
  state: TcpState = TcpState.CLOSE;
  saddr = 0;
  daddr = 0;
  sport = 0;
  dport = 0;
  /** Established-hash chain (inet_ehash bucket) and key. */
  hashNext: TcpSock | null = null;
  hashKey = -1;
  hashed = false;
  /** Holds a local port in the bind table. */
  bound = false;
  /** The listener a passive open came from, until accepted. */
  parent: TcpListener | null = null;
  /** Orphaned (close() called): the kernel finishes the close on its own. */
  orphan = false;
  /** Cached output route (sk_dst_cache) and the IP header options reused per segment. */
  rt: OutputRoute | null = null;
  readonly ipOpts: IpHeaderOpts = { df: true, ttl: undefined, tos: 0, id: 0 };
  /** IP ID of the next segment (inet_id), seeded. */
  inetId = 0;
  /** The namespace's TCP counters, held here so the segment path needs no table lookup. */
  mib: TcpMib = newTcpMib();

  // Send sequence space.
  iss = 0;
  snd_una = 0;
  snd_nxt = 0;
  snd_wnd = 0;
  snd_wl1 = 0;
  max_window = 0;
  /** End of the data written by the application (write_seq). */
  write_seq = 0;
  /** End of the last small segment sent (snd_sml, for Nagle with Minshall's rule). */
  snd_sml = 0;
  /** Sequence up to which data was pushed (pushed_seq). */
  pushed_seq = 0;
  /** Current MSS for data: the peer's MSS, the path MTU, minus the timestamp option (mss_cache). */
  mss_cache = TCP_MSS_DEFAULT;
  /** The peer's MSS option (rx_opt.mss_clamp). */
  mss_clamp = TCP_MSS_DEFAULT;
  /** MSS we advertise (advmss): MTU − 40, less 12 once timestamps are agreed on the active side. */
  advmss = TCP_MSS_DEFAULT;
  /** Path MTU this socket last synced to (icsk_pmtu_cookie). */
  pmtu = 1500;
  tstamp_ok = false;
  sack_ok = false;
  wscale_ok = false;
  snd_wscale = 0;
  rcv_wscale = 0;
  ts_recent = 0;
  ts_offset = 0;
  /** Segment header length in use: 20, or 32 with timestamps (tcp_header_len). */
  tcp_header_len = 20;
  nodelay = false;
  /** FIN requested by shutdown(SHUT_WR); sent once the queued data is out. */
  fin_queued = false;
  fin_sent = false;
  /** Sequence number of our FIN once queued. */
  fin_seq = 0;

  // Congestion control: slow start and AIMD (Reno), NewReno recovery without SACK.
  snd_cwnd = TCP_INIT_CWND;
  snd_ssthresh = 0x7fffffff;
  snd_cwnd_cnt = 0;
  ca_state = CA_OPEN;
  dupacks = 0;
  high_seq = 0;

  // RTT (µs, scaled as Linux: srtt_us is 8×, mdev_us 4×) and the retransmission timeout (ns).
  srtt_us = 0;
  mdev_us = 0;
  mdev_max_us = 0;
  rttvar_us = 0;
  rtt_seq = 0;
  rto = TCP_TIMEOUT_INIT;
  backoff = 0;
  retransmits = 0;
  /** When the oldest segment being retransmitted was first sent (retrans_stamp); −1 when none. */
  retrans_stamp = -1;
  total_retrans = 0;
  /** The SYN (or SYN-ACK) was retransmitted: no RTT from the handshake (TCP_TIMEOUT_FALLBACK). */
  syn_retrans = false;
  probes_out = 0;

  // Receive sequence space and window (tcp_select_window and friends).
  irs = 0;
  rcv_nxt = 0;
  rcv_wup = 0;
  rcv_wnd = 0;
  copied_seq = 0;
  rcv_ssthresh = 0;
  window_clamp = 0;
  rcvbuf = 131072;
  scaling_ratio = TCP_DEFAULT_SCALING_RATIO;
  /** Truesize of the queued receive data (sk_rmem_alloc). */
  rmem_alloc = 0;
  /** The application is waiting in read: in-order data will be taken at once. */
  readerWaiting = false;
  /** The peer's FIN arrived (RCV_SHUTDOWN); its sequence number. */
  fin_rcvd = false;
  // icsk_ack: delayed-ACK state.
  ack_pending = false;
  ack_now = false;
  quick = 0;
  pingpong = 0;
  ato = 0;
  lrcvtime = 0;
  rcv_mss = TCP_MSS_DEFAULT;
  /** Last time we sent data (lsndtime) and received an ACK (rcv_tstamp). */
  lsndtime = 0;
  rcv_tstamp = 0;

  /** The write queue: application chunks covering [snd_una, write_seq) (after the SYN). */
  readonly sndChunks: Buffer[] = [];
  sndHead = 0;
  /** Offset in sndChunks[sndHead] of the byte at snd_una. */
  sndHeadOff = 0;
  /** Bytes in the write queue (write_seq − sndSeq). */
  sndBytes = 0;
  /** Sequence number of the first byte in the write queue. */
  sndSeq = 0;
  /** The owner waits for room in the send buffer (a WRITE event when ACKs free some). */
  sndWait = false;

  // The receive queue: packets with their unread payload [rcvOff, rcvEnd) in pkt.buf.
  readonly rcvPkts: (Packet | null)[] = [];
  readonly rcvOff: number[] = [];
  readonly rcvEnd: number[] = [];
  rcvHead = 0;
  /** Unread bytes in the receive queue. */
  rcvBytes = 0;
  // Out-of-order queue, sorted by sequence: packet, payload offset, seq and end seq.
  readonly ofoPkts: Packet[] = [];
  readonly ofoOff: number[] = [];
  readonly ofoSeq: number[] = [];
  readonly ofoEnd: number[] = [];
  readonly ofoFin: boolean[] = [];

  // Timers.
  readonly xmitTimer: SkTimer;
  readonly delackTimer: SkTimer;
  /** TIME_WAIT, FIN_WAIT2 and keepalive share this slot, as Linux's sk_timer. */
  readonly skTimer: SkTimer;
  readonly userTimer: SkTimer;
  /** What xmitTimer is armed for (ICSK_TIME_RETRANS or ICSK_TIME_PROBE0). */
  xmitTimerKind = 0;

  // The owner and pending events.
  user: TcpUser | null = null;
  events = 0;
  private wakePending = false;
  /** Error to report (sk_err) as an errno name, and a soft error (sk_err_soft). */
  err: string | null = null;
  softErr: string | null = null;
  /** Counters for the socket's user (bytesWritten, bytesRead as net.Socket). */
  bytesAcked = 0;
  bytesReceived = 0;
  /** Keepalive (SO_KEEPALIVE) and its idle time in ns. */
  keepalive = false;
  keepaliveTime = 7200e9;

  constructor(readonly ns: NetNamespace) {
    super();
    this.xmitTimer = new SkTimer(this);
    this.delackTimer = new SkTimer(this);
    this.skTimer = new SkTimer(this);
    this.userTimer = new SkTimer(this);
  }

  /** Queues `ev` for the owner; one scheduler task delivers all events pending at this instant. */
  wake(ev: number): void {
    this.events |= ev;
    if (this.wakePending) return;
    this.wakePending = true;
    this.ns.sim.sched.enqueue(skWake, this);
  }

  /** @internal */
  deliverEvents(): void {
    this.wakePending = false;
    const ev = this.events;
    this.events = 0;
    if (ev !== 0 && this.user !== null) this.user.tcpEvent(ev);
  }

  /** Appends application data to the write queue (tcp_sendmsg without the copy: the chunk is kept). */
  sndAppend(chunk: Buffer): void {
    this.sndChunks.push(chunk);
    this.sndBytes += chunk.length;
    this.write_seq = seqAdd(this.write_seq, chunk.length);
  }

  /** Copies write-queue bytes [seq, seq+len) into dst at off. */
  sndCopy(seq: number, len: number, dst: Uint8Array, off: number): void {
    let skip = seqSub(seq, this.sndSeq) + this.sndHeadOff;
    let i = this.sndHead;
    const chunks = this.sndChunks;
    while (skip >= chunks[i].length) skip -= chunks[i++].length;
    while (len > 0) {
      const c = chunks[i++];
      const n = Math.min(len, c.length - skip);
      c.copy(dst, off, skip, skip + n);
      off += n;
      len -= n;
      skip = 0;
    }
  }

  /** Releases `n` acknowledged bytes from the head of the write queue. */
  sndRelease(n: number): void {
    this.sndBytes -= n;
    this.sndSeq = seqAdd(this.sndSeq, n);
    const chunks = this.sndChunks;
    n += this.sndHeadOff;
    while (this.sndHead < chunks.length && n >= chunks[this.sndHead].length) {
      n -= chunks[this.sndHead].length;
      chunks[this.sndHead++] = EMPTY;
    }
    this.sndHeadOff = n;
    if (this.sndHead === chunks.length) {
      chunks.length = 0;
      this.sndHead = 0;
    } else if (this.sndHead > 64 && this.sndHead * 2 > chunks.length) {
      chunks.copyWithin(0, this.sndHead);
      chunks.length -= this.sndHead;
      this.sndHead = 0;
    }
  }

  /** Queues in-order payload for the reader (tcp_queue_rcv). */
  rcvQueue(pkt: Packet, off: number, end: number): void {
    this.rcvPkts.push(pkt);
    this.rcvOff.push(off);
    this.rcvEnd.push(end);
    this.rcvBytes += end - off;
    this.rmem_alloc += end - off + SKB_TRUESIZE_OVERHEAD;
  }

  /**
   * Copies up to `max` unread bytes out of the receive queue into dst at off (the copy to user
   * space of tcp_recvmsg), freeing the packets consumed. Returns the bytes copied.
   */
  rcvCopy(dst: Uint8Array, off: number, max: number): number {
    const n = Math.min(max, this.rcvBytes);
    let at = 0;
    while (at < n) {
      const h = this.rcvHead;
      const pkt = this.rcvPkts[h]!;
      const o = this.rcvOff[h];
      const take = Math.min(n - at, this.rcvEnd[h] - o);
      pkt.buf.copy(dst, off + at, o, o + take);
      at += take;
      if (o + take === this.rcvEnd[h]) {
        pkt.free();
        this.rmem_alloc -= SKB_TRUESIZE_OVERHEAD;
        this.rcvPkts[h] = null;
        this.rcvHead++;
      } else this.rcvOff[h] = o + take;
    }
    this.rmem_alloc -= n;
    this.rcvBytes -= n;
    this.copied_seq = seqAdd(this.copied_seq, n);
    this.bytesReceived += n;
    this.rcvCompact();
    return n;
  }

  /** Up to `max` unread bytes in a new Buffer (what a Node stream is given). */
  rcvRead(max: number): Buffer {
    const out = Buffer.allocUnsafe(Math.min(max, this.rcvBytes));
    this.rcvCopy(out, 0, out.length);
    return out;
  }

  private rcvCompact(): void {
    const h = this.rcvHead;
    if (h === this.rcvPkts.length) {
      this.rcvPkts.length = this.rcvOff.length = this.rcvEnd.length = 0;
      this.rcvHead = 0;
    } else if (h > 64 && h * 2 > this.rcvPkts.length) {
      this.rcvPkts.copyWithin(0, h);
      this.rcvOff.copyWithin(0, h);
      this.rcvEnd.copyWithin(0, h);
      this.rcvPkts.length = this.rcvOff.length = this.rcvEnd.length = this.rcvPkts.length - h;
      this.rcvHead = 0;
    }
  }

  /** Frees every queued packet (the socket is being destroyed). */
  purgeQueues(): void {
    for (let i = this.rcvHead; i < this.rcvPkts.length; i++) this.rcvPkts[i]?.free();
    for (const p of this.ofoPkts) p.free();
    this.rcvPkts.length = this.rcvOff.length = this.rcvEnd.length = 0;
    this.ofoPkts.length = this.ofoOff.length = this.ofoSeq.length = this.ofoEnd.length = this.ofoFin.length = 0;
    this.rcvHead = 0;
    this.rcvBytes = 0;
    this.rmem_alloc = 0;
    this.sndChunks.length = 0;
    this.sndHead = this.sndHeadOff = this.sndBytes = 0;
    this.txCount = this.lostEnd = this.rtxNext = 0;
  }

  /** "10.244.1.2:40000 -> 10.244.1.3:80 ESTABLISHED" */
  override toString(): string {
    const a = (x: number) => `${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`;
    return `${a(this.saddr)}:${this.sport} -> ${a(this.daddr)}:${this.dport} ${tcpStateName(this.state)}`;
  }
}

const EMPTY = Buffer.alloc(0);

function skWake(sk: TcpSock): void {
  sk.deliverEvents();
}

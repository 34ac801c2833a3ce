// The receive window as Linux computes it (net/ipv4/tcp_output.c, tcp_input.c): the initial
// window and scale from the receive buffer (tcp_select_initial_window), the clamp reserved at
// connection set-up (tcp_init_buffer_space), the skb->len/truesize ratio learned from the first
// full segment (tcp_measure_rcv_mss), rcv_ssthresh growing per segment (tcp_grow_window), and the
// window each segment advertises (tcp_select_window: never shrinking, rounded to the scale).
// Not modelled: receive-buffer autotuning (tcp_rcv_space_adjust), so rcvbuf stays at tcp_rmem[1].

import { SKB_TRUESIZE_OVERHEAD, seqAdd, seqSub, TCP_MIN_MSS, TCP_MSS_DEFAULT, TCP_RMEM_TO_WIN_SCALE, type TcpSock } from "./tcp-sock.js";

const U16_MAX = 65535;
const TCP_MAX_WSCALE = 14;
/** SOCK_MIN_RCVBUF / 2 (2K + the skb overhead, halved). */
const MIN_WINDOW_CLAMP = (2048 + 2 * 576) >> 1;

/** __tcp_win_from_space: the payload a buffer of `space` bytes holds at the socket's scaling ratio. */
export const tcpWinFromSpace = (sk: TcpSock, space: number): number => Math.floor((space * sk.scaling_ratio) / (1 << TCP_RMEM_TO_WIN_SCALE));

/** tcp_full_space. */
export const tcpFullSpace = (sk: TcpSock): number => tcpWinFromSpace(sk, sk.rcvbuf);

/**
 * tcp_space: what is left of the receive buffer, as window. While the application waits in
 * read (a flowing Node stream, a blocked recv()), in-order data is as good as copied out: Linux's
 * reader drains the queue between segments, kubewire's at the end of the instant.
 */
export function tcpSpace(sk: TcpSock): number {
  let rmem = sk.rmem_alloc;
  if (sk.readerWaiting) rmem -= sk.rcvBytes + SKB_TRUESIZE_OVERHEAD * (sk.rcvPkts.length - sk.rcvHead);
  return tcpWinFromSpace(sk, sk.rcvbuf - rmem);
}

/** tcp_receive_window: what is left of the window we advertised last. */
export function tcpReceiveWindow(sk: TcpSock): number {
  const w = seqSub(seqAdd(sk.rcv_wup, sk.rcv_wnd), sk.rcv_nxt);
  return Math.max(w, 0);
}

const ilog2 = (x: number): number => 31 - Math.clz32(x);

/**
 * tcp_select_initial_window: the window of the SYN (or SYN-ACK), rounded down to a multiple of
 * the MSS, and the window scale chosen for the largest buffer the socket may grow to. Sets
 * sk.rcv_wnd, sk.window_clamp and sk.rcv_wscale.
 */
export function tcpSelectInitialWindow(sk: TcpSock, space: number, mss: number, wscaleOk: boolean, rmemMax: number, rmem2: number): void {
  let clamp = sk.window_clamp || U16_MAX * 2 ** TCP_MAX_WSCALE;
  space = Math.min(clamp, Math.max(space, 0));
  if (space > mss) space -= space % mss;
  sk.rcv_wnd = space;
  let wscale = 0;
  if (wscaleOk) {
    let s = Math.max(space, rmem2, rmemMax);
    s = Math.min(s, clamp);
    wscale = Math.max(0, Math.min(ilog2(s) - 15, TCP_MAX_WSCALE));
  }
  sk.rcv_wscale = wscale;
  clamp = Math.min(U16_MAX * 2 ** wscale, clamp);
  sk.window_clamp = clamp;
}

/** tcp_init_buffer_space (tcp_app_win = 31): the clamp reserves one segment of the full space. */
export function tcpInitBufferSpace(sk: TcpSock): void {
  const maxwin = tcpFullSpace(sk);
  if (sk.window_clamp >= maxwin) {
    sk.window_clamp = maxwin;
    if (maxwin > 4 * sk.advmss) sk.window_clamp = Math.max(maxwin, 4 * sk.advmss);
  }
  if (sk.window_clamp > 2 * sk.advmss && sk.window_clamp + sk.advmss > maxwin) sk.window_clamp = Math.max(2 * sk.advmss, maxwin - sk.advmss);
  sk.rcv_ssthresh = Math.min(sk.rcv_ssthresh, sk.window_clamp);
}

/** tcp_initialize_rcv_mss: a guess of the peer's MSS, low until a segment tells. */
export function tcpInitializeRcvMss(sk: TcpSock): void {
  let hint = Math.min(sk.advmss, sk.mss_cache);
  hint = Math.min(hint, sk.rcv_wnd >>> 1, TCP_MSS_DEFAULT);
  sk.rcv_mss = Math.max(hint, TCP_MIN_MSS);
}

/** tcp_set_window_clamp (growing or shrinking with the measured ratio). */
function tcpSetWindowClamp(sk: TcpSock, val: number): void {
  const old = sk.window_clamp;
  const clamp = Math.max(MIN_WINDOW_CLAMP, val);
  if (clamp === old) return;
  sk.window_clamp = clamp;
  if (clamp < old) {
    // __tcp_adjust_rcv_ssthresh
    sk.rcv_ssthresh = Math.min(sk.rcv_ssthresh, clamp);
  } else {
    sk.rcv_ssthresh = Math.max(Math.min(sk.rcv_wnd, clamp), sk.rcv_ssthresh);
  }
}

/**
 * tcp_measure_rcv_mss: the first full-sized segment sets rcv_mss and the scaling ratio
 * (skb->len / skb->truesize), which moves the window clamp.
 */
export function tcpMeasureRcvMss(sk: TcpSock, len: number): void {
  if (len >= sk.rcv_mss) {
    if (len !== sk.rcv_mss) {
      const old = sk.scaling_ratio;
      sk.scaling_ratio = Math.floor((len << TCP_RMEM_TO_WIN_SCALE) / (len + SKB_TRUESIZE_OVERHEAD)) || 1;
      if (old !== sk.scaling_ratio) {
        tcpSetWindowClamp(sk, tcpWinFromSpace(sk, sk.rcvbuf));
        if (sk.window_clamp < sk.rcv_ssthresh) sk.rcv_ssthresh = sk.window_clamp;
      }
    }
    sk.rcv_mss = Math.min(len, sk.advmss);
  }
}

/**
 * tcp_grow_window: a well-formed segment (payload ≥ 128 bytes) lets rcv_ssthresh grow by two
 * segments, within the clamp and the free buffer.
 */
export function tcpGrowWindow(sk: TcpSock, len: number): void {
  const room = Math.min(sk.window_clamp, tcpSpace(sk)) - sk.rcv_ssthresh;
  if (room <= 0) return;
  let incr: number;
  if (tcpWinFromSpace(sk, SKB_TRUESIZE_OVERHEAD + len) <= len) incr = 2 * sk.advmss;
  else incr = 2 * sk.rcv_mss;
  incr = Math.max(incr, 2 * len);
  sk.rcv_ssthresh += Math.min(room, incr);
  sk.quick |= 1;
}

/** __tcp_select_window: the window the free buffer allows now, before the never-shrink rule. */
export function tcpSelectWindowRaw(sk: TcpSock): number {
  let mss = sk.rcv_mss;
  let free = tcpSpace(sk);
  const allowed = tcpFullSpace(sk);
  const full = Math.min(sk.window_clamp, allowed);
  const scale = 1 << sk.rcv_wscale;
  if (mss > full) {
    mss = full;
    if (mss <= 0) return 0;
  }
  if (free < full >> 1) {
    sk.quick = 0;
    free -= free % scale;
    if (free < allowed >> 4 || free < mss) return 0;
  }
  if (free > sk.rcv_ssthresh) free = sk.rcv_ssthresh;
  if (sk.rcv_wscale) return Math.ceil(free / scale) * scale;
  // Without scaling Linux rounds the window to the MSS so it lines up with segments.
  let window = sk.rcv_wnd;
  if (window <= free - mss || window > free) window = Math.floor(free / mss) * mss;
  else if (mss === full && free > window + (full >> 1)) window = free;
  return window;
}

/**
 * tcp_select_window: the window field of an outgoing segment. The offered window never shrinks
 * (the right edge never moves left); it is remembered as rcv_wnd from rcv_wup = rcv_nxt.
 */
export function tcpSelectWindow(sk: TcpSock): number {
  const cur = tcpReceiveWindow(sk);
  let win = tcpSelectWindowRaw(sk);
  if (win < cur) win = Math.ceil(cur / (1 << sk.rcv_wscale)) * (1 << sk.rcv_wscale);
  sk.rcv_wnd = win;
  sk.rcv_wup = sk.rcv_nxt;
  if (sk.rcv_wscale === 0) win = Math.min(win, U16_MAX);
  else win = Math.min(win >>> sk.rcv_wscale, U16_MAX);
  return win;
}

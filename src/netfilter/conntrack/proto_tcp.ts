// The TCP connection tracker (net/netfilter/nf_conntrack_proto_tcp.c): the state table
// tcp_conntracks, window tracking after Guido van Rooij's "Real Stateful TCP Packet Filtering"
// (tcp_in_window), the default timeouts, tcp_error's sanity checks and tcp_new's pick-up of
// connections seen mid-stream. Out-of-window segments come out INVALID, as kube-proxy expects.

import { ipv4, tcp } from "../../wire/index.js";
import { type ConntrackTable, IPS, PRIV_WORDS } from "./table.js";

/** enum tcp_conntrack. */
export const TcpState = {
  None: 0,
  SynSent: 1,
  SynRecv: 2,
  Established: 3,
  FinWait: 4,
  CloseWait: 5,
  LastAck: 6,
  TimeWait: 7,
  Close: 8,
  SynSent2: 9,
} as const;
export const TCP_STATE_NAMES = ["NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2"];
const sIV = 10; // TCP_CONNTRACK_MAX: invalid
const sIG = 11; // TCP_CONNTRACK_IGNORE

const S = 1e9;
/** tcp_timeouts (net.netfilter.nf_conntrack_tcp_timeout_*), in ns, indexed by state. */
export const TCP_TIMEOUTS = [0, 120 * S, 60 * S, 5 * 86400 * S, 120 * S, 60 * S, 30 * S, 120 * S, 10 * S, 120 * S];
const TIMEOUT_RETRANS = 300 * S;
const TIMEOUT_UNACK = 300 * S;
/** nf_conntrack_tcp_max_retrans. */
const MAX_RETRANS = 3;

// What the segment carries (enum tcp_bit_set).
const SYN_SET = 0;
const SYNACK_SET = 1;
const FIN_SET = 2;
const ACK_SET = 3;
const RST_SET = 4;
const NONE_SET = 5;

// ip_ct_tcp_state.flags
const F_WINDOW_SCALE = 0x01;
const F_SACK_PERM = 0x02;
const F_CLOSE_INIT = 0x04;
const F_BE_LIBERAL = 0x08;
const F_DATA_UNACKNOWLEDGED = 0x10;
const F_MAXACK_SET = 0x20;

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;
const URG = 0x20;

/* tcp_conntracks[dir][index][state], flattened: dir * 60 + index * 10 + state. */
// prettier-ignore
const T = Uint8Array.from([
  // ORIGINAL   sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
  /* syn    */  1,   1,   sIG, sIG, sIG, sIG, sIG, 1,   1,   9,
  /* synack */  sIV, sIV, sIG, sIG, sIG, sIG, sIG, sIG, sIG, 2,
  /* fin    */  sIV, sIV, 4,   4,   6,   6,   6,   7,   8,   sIV,
  /* ack    */  3,   sIV, 3,   3,   5,   5,   7,   7,   8,   sIV,
  /* rst    */  sIV, 8,   8,   8,   8,   8,   8,   8,   8,   8,
  /* none   */  sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV,
  // REPLY
  /* syn    */  sIV, 9,   sIV, sIV, sIV, sIV, sIV, sIV, sIV, 9,
  /* synack */  sIV, 2,   sIG, sIG, sIG, sIG, sIG, sIG, sIG, 2,
  /* fin    */  sIV, sIV, 4,   4,   6,   6,   6,   7,   8,   sIV,
  /* ack    */  sIV, sIG, 2,   3,   5,   5,   7,   7,   8,   sIG,
  /* rst    */  sIV, 8,   8,   8,   8,   8,   8,   8,   8,   8,
  /* none   */  sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV,
]);

/** tcp_valid_flags: the SYN/FIN/RST/ACK/URG combinations a segment may carry. */
const VALID_FLAGS = new Uint8Array(0x40);
for (const f of [SYN, SYN | URG, SYN | ACK, RST, RST | ACK, FIN | ACK, FIN | ACK | URG, ACK, ACK | URG]) VALID_FLAGS[f] = 1;

// Private words of an entry (ct->proto.tcp): seen[dir] at dir * 5: end, maxend, maxwin, maxack,
// scale | flags << 8; then last_seq, last_ack, last_end, last_win, a packed word and the state.
const W_LAST_SEQ = 10;
const W_LAST_ACK = 11;
const W_LAST_END = 12;
const W_LAST_WIN = 13;
const W_LAST = 14; // last_dir | last_index << 1 | last_wscale << 4 | last_flags << 8 | retrans << 16
const W_STATE = 15;

const before = (a: number, b: number): boolean => ((a - b) | 0) < 0;
const after = (a: number, b: number): boolean => ((b - a) | 0) < 0;

export const TCP_ACCEPT = 1;
export const TCP_INVALID = 0;
/** Reopen of a closed connection: kill the entry and look up again (-NF_REPEAT). */
export const TCP_REPEAT = -1;
/** The only answer was a RST: accept, then kill the entry (nf_ct_kill_acct). */
export const TCP_ACCEPT_KILL = 2;

export const tcpState = (t: ConntrackTable, s: number): number => t.priv[s * PRIV_WORDS + W_STATE];

/** tcp_error: true when the segment is malformed or (at PREROUTING) its checksum is bad. */
export function tcpError(b: Uint8Array, l3: number, l4: number, end: number, verifyCsum: boolean): boolean {
  const len = end - l4;
  if (len < tcp.TCP_HEADER_LEN) return true;
  const doff = tcp.headerLength(b, l4);
  if (doff < tcp.TCP_HEADER_LEN || len < doff) return true;
  if (verifyCsum && !tcp.verifyChecksum(b, l4, ipv4.srcAddr(b, l3), ipv4.dstAddr(b, l3), len)) return true;
  // tcp_error: ECE, CWR and PSH play no part in validity (TCPHDR_ECE|TCPHDR_CWR|TCPHDR_PSH masked off).
  return VALID_FLAGS[b[l4 + 13] & 0x37] === 0;
}

function conntrackIndex(flags: number): number {
  if (flags & RST) return RST_SET;
  if (flags & SYN) return flags & ACK ? SYNACK_SET : SYN_SET;
  if (flags & FIN) return FIN_SET;
  if (flags & ACK) return ACK_SET;
  return NONE_SET;
}

/** segment_seq_plus_len: the sequence number after this segment (SYN and FIN count one). */
function segmentEnd(b: Uint8Array, l4: number, end: number): number {
  const f = b[l4 + 13];
  return (tcp.seqNumber(b, l4) + (end - l4) - tcp.headerLength(b, l4) + (f & SYN ? 1 : 0) + (f & FIN ? 1 : 0)) >>> 0;
}

/** tcp_options: window scale and SACK-permitted into seen[d] (scale and flags reset first). */
function parseOptions(p: Uint32Array, o: number, b: Uint8Array, l4: number): void {
  let scale = 0;
  let flags = 0;
  const hend = l4 + tcp.headerLength(b, l4);
  let i = l4 + tcp.TCP_HEADER_LEN;
  while (i < hend) {
    const kind = b[i];
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    if (i + 1 >= hend) break;
    const size = b[i + 1];
    if (size < 2 || i + size > hend) break;
    if (kind === 4 && size === 2) flags |= F_SACK_PERM;
    else if (kind === 3 && size === 3) {
      scale = Math.min(b[i + 2], 14);
      flags |= F_WINDOW_SCALE;
    }
    i += size;
  }
  p[o + 4] = scale | (flags << 8);
}

/** tcp_sack: the highest right edge of the SACK blocks, or `ack` if none is higher. */
function highestSack(b: Uint8Array, l4: number, ack: number): number {
  const hend = l4 + tcp.headerLength(b, l4);
  let i = l4 + tcp.TCP_HEADER_LEN;
  let sack = ack;
  while (i < hend) {
    const kind = b[i];
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    if (i + 1 >= hend) break;
    const size = b[i + 1];
    if (size < 2 || i + size > hend) break;
    if (kind === 5 && size >= 10 && (size - 2) % 8 === 0) {
      for (let q = i + 2; q < i + size; q += 8) {
        const right = ((b[q + 4] << 24) | (b[q + 5] << 16) | (b[q + 6] << 8) | b[q + 7]) >>> 0;
        if (after(right, sack)) sack = right;
      }
      return sack;
    }
    i += size;
  }
  return sack;
}

/** tcp_new: initialises a new entry from its first segment. False: cannot start a connection. */
export function tcpNew(t: ConntrackTable, s: number, b: Uint8Array, l4: number, end: number): boolean {
  const flags = b[l4 + 13];
  const state = T[conntrackIndex(flags) * 10 + TcpState.None];
  if (state >= sIV) return false;
  const p = t.priv;
  const o = s * PRIV_WORDS;
  p.fill(0, o, o + PRIV_WORDS);
  const segEnd = segmentEnd(b, l4, end);
  const win = tcp.window(b, l4) || 1;
  p[o] = segEnd;
  p[o + 2] = win;
  if (state === TcpState.SynSent) {
    p[o + 1] = segEnd;
    parseOptions(p, o, b, l4);
  } else {
    // Picked up mid-stream (nf_conntrack_tcp_loose): its history is lost; be liberal.
    p[o + 1] = (segEnd + win) >>> 0;
    p[o + 4] = (F_SACK_PERM | F_BE_LIBERAL) << 8;
    p[o + 5 + 4] = (F_SACK_PERM | F_BE_LIBERAL) << 8;
  }
  p[o + W_LAST] = NONE_SET << 1;
  return true;
}

/** tcp_in_window: checks the segment against both directions' windows and updates them. */
function inWindow(p: Uint32Array, o: number, state: number, dir: number, index: number, b: Uint8Array, l4: number, end: number): boolean {
  const so = o + dir * 5; // sender
  const ro = o + (1 - dir) * 5; // receiver
  const f = b[l4 + 13];
  let seq = tcp.seqNumber(b, l4);
  let ack = tcp.ackNumber(b, l4);
  let win = tcp.window(b, l4);
  let segEnd = segmentEnd(b, l4, end);
  let sack = (p[ro + 4] >>> 8) & F_SACK_PERM ? highestSack(b, l4, ack) : ack;

  if (p[so + 2] === 0) {
    if (f & SYN) {
      // SYN-ACK in reply to a SYN, or a SYN from the reply direction (simultaneous open).
      p[so] = p[so + 1] = segEnd;
      p[so + 2] = win === 0 ? 1 : win;
      parseOptions(p, so, b, l4);
      // RFC 7323: window scaling only when both sides offered it.
      if (!(((p[so + 4] >>> 8) & F_WINDOW_SCALE) && ((p[ro + 4] >>> 8) & F_WINDOW_SCALE))) {
        p[so + 4] &= ~0xff;
        p[ro + 4] &= ~0xff;
      }
      if (!(f & ACK)) return true;
    } else {
      p[so] = segEnd;
      const swin = (win << (p[so + 4] & 0xff)) >>> 0;
      p[so + 2] = swin === 0 ? 1 : swin;
      p[so + 1] = (segEnd + p[so + 2]) >>> 0;
      if (p[ro + 2] === 0) p[ro] = p[ro + 1] = sack;
    }
  } else if (((state === TcpState.SynSent && dir === 0) || (state === TcpState.SynRecv && dir === 1)) && after(segEnd, p[so])) {
    // RFC 793: a reinitialised TCP need only use sequence numbers larger than recently used.
    p[so] = p[so + 1] = segEnd;
    p[so + 2] = win === 0 ? 1 : win;
    parseOptions(p, so, b, l4);
  }

  if (!(f & ACK)) ack = sack = p[ro];
  else if ((f & (ACK | RST)) === (ACK | RST) && ack === 0) ack = sack = p[ro];

  if (seq === segEnd && (!(f & RST) || (seq === 0 && state === TcpState.SynSent))) seq = segEnd = p[so];

  const maxAckWindow = Math.max(p[so + 2], 66000); // MAXACKWINDOW
  const ok =
    before(seq, (p[so + 1] + 1) >>> 0) &&
    after(segEnd, (p[so] - p[ro + 2] - 1) >>> 0) &&
    before(sack, (p[ro] + 1) >>> 0) &&
    after(sack, (p[ro] - maxAckWindow - 1) >>> 0);
  if (!ok) return ((p[so + 4] >>> 8) & F_BE_LIBERAL) !== 0;

  if (!(f & SYN)) win = (win << (p[so + 4] & 0xff)) >>> 0;
  const swin = (win + (sack - ack)) >>> 0;
  if (p[so + 2] < swin) p[so + 2] = swin;
  if (after(segEnd, p[so])) {
    p[so] = segEnd;
    p[so + 4] |= F_DATA_UNACKNOWLEDGED << 8;
  }
  if (f & ACK) {
    if (!((p[so + 4] >>> 8) & F_MAXACK_SET)) {
      p[so + 3] = ack;
      p[so + 4] |= F_MAXACK_SET << 8;
    } else if (after(ack, p[so + 3])) p[so + 3] = ack;
  }
  if (p[ro + 2] !== 0 && after(segEnd, p[so + 1])) p[ro + 2] = (p[ro + 2] + segEnd - p[so + 1]) >>> 0;
  if (after((sack + win) >>> 0, (p[ro + 1] - 1) >>> 0)) {
    p[ro + 1] = (sack + win) >>> 0;
    if (win === 0) p[ro + 1] = (p[ro + 1] + 1) >>> 0;
  }
  if (ack === p[ro]) p[ro + 4] &= ~(F_DATA_UNACKNOWLEDGED << 8);

  if (index === ACK_SET) {
    const last = p[o + W_LAST];
    if ((last & 1) === dir && p[o + W_LAST_SEQ] === seq && p[o + W_LAST_ACK] === ack && p[o + W_LAST_END] === segEnd && p[o + W_LAST_WIN] === win) {
      const retrans = Math.min(((last >>> 16) & 0xff) + 1, 255);
      p[o + W_LAST] = (last & 0xffff) | (retrans << 16);
    } else {
      p[o + W_LAST] = (last & 0xfffe & ~(0xff << 16)) | dir;
      p[o + W_LAST_SEQ] = seq;
      p[o + W_LAST_ACK] = ack;
      p[o + W_LAST_END] = segEnd;
      p[o + W_LAST_WIN] = win;
    }
  }
  return true;
}

/**
 * tcp_packet: moves the entry through the state table, checks the window and refreshes the
 * timeout. Returns TCP_ACCEPT, TCP_INVALID (-NF_ACCEPT), TCP_REPEAT or TCP_ACCEPT_KILL.
 */
export function tcpPacket(t: ConntrackTable, s: number, dir: number, b: Uint8Array, l4: number, end: number, now: number): number {
  const p = t.priv;
  const o = s * PRIV_WORDS;
  const f = b[l4 + 13];
  let oldState = p[o + W_STATE];
  const index = conntrackIndex(f);
  let newState = T[dir * 60 + index * 10 + oldState];
  const last = p[o + W_LAST];
  const lastDir = last & 1;
  const lastIndex = (last >>> 1) & 7;
  let skipWindow = false;

  let ignore = newState === sIG;
  if (newState === TcpState.SynSent && oldState >= TcpState.TimeWait) {
    // RFC 1122: a SYN may reopen a connection in TIME_WAIT; so may one after an abort. Else ignore it.
    if ((((p[o + dir * 5 + 4] | p[o + (1 - dir) * 5 + 4]) >>> 8) & F_CLOSE_INIT) !== 0 || (lastDir === dir && lastIndex === RST_SET))
      return TCP_REPEAT;
    ignore = true;
  }
  if (ignore) {
    if (index === SYNACK_SET && lastIndex === SYN_SET && lastDir !== dir && tcp.ackNumber(b, l4) === p[o + W_LAST_END]) {
      // The SYN/ACK answers a SYN we ignored: client and server are in sync, we get in sync.
      oldState = TcpState.SynSent;
      newState = TcpState.SynRecv;
      const lo = o + lastDir * 5;
      p[lo] = p[lo + 1] = p[o + W_LAST_END];
      p[lo + 2] = p[o + W_LAST_WIN] === 0 ? 1 : p[o + W_LAST_WIN];
      p[lo + 4] = ((last >>> 4) & 0xf) | (((last >>> 8) & 0xff) << 8);
      p.fill(0, o + dir * 5, o + dir * 5 + 5);
    } else {
      // Annotate the ignored segment; a SYN in the original direction also keeps its options.
      let keep = last & 0xfff0;
      if (index === SYN_SET && dir === 0) {
        const sc = scratchOptions(b, l4);
        keep = ((sc & 0xf) << 4) | (((sc >>> 8) & (F_WINDOW_SCALE | F_SACK_PERM)) << 8);
      }
      p[o + W_LAST] = dir | (index << 1) | keep | (last & (0xff << 16));
      p[o + W_LAST_SEQ] = tcp.seqNumber(b, l4);
      p[o + W_LAST_END] = segmentEnd(b, l4, end);
      p[o + W_LAST_WIN] = tcp.window(b, l4);
      return TCP_ACCEPT;
    }
  } else if (newState === sIV) return TCP_INVALID;
  else if (newState === TcpState.Close && index === RST_SET) {
    const ro = o + (1 - dir) * 5;
    if ((p[ro + 4] >>> 8) & F_MAXACK_SET && before(tcp.seqNumber(b, l4), p[ro + 3])) return TCP_INVALID;
    const st = t.status[s];
    if (
      (((st & IPS.SEEN_REPLY) !== 0 && lastIndex === SYN_SET) || ((st & IPS.ASSURED) === 0 && lastIndex === ACK_SET)) &&
      tcp.ackNumber(b, l4) === p[o + W_LAST_END]
    )
      skipWindow = true; // a RST answering a SYN or ACK we let through: no window check
  }

  if (!skipWindow && !inWindow(p, o, oldState, dir, index, b, l4, end)) return TCP_INVALID;

  p[o + W_LAST] = (p[o + W_LAST] & ~0xf) | dir | (index << 1);
  p[o + W_STATE] = newState;
  if (oldState !== newState && newState === TcpState.FinWait) p[o + dir * 5 + 4] |= F_CLOSE_INIT << 8;

  const retrans = (p[o + W_LAST] >>> 16) & 0xff;
  let timeout = TCP_TIMEOUTS[newState];
  if (retrans >= MAX_RETRANS && timeout > TIMEOUT_RETRANS) timeout = TIMEOUT_RETRANS;
  else if ((((p[o + 4] | p[o + 9]) >>> 8) & F_DATA_UNACKNOWLEDGED) !== 0 && timeout > TIMEOUT_UNACK) timeout = TIMEOUT_UNACK;

  const st = t.status[s];
  if ((st & IPS.SEEN_REPLY) === 0) {
    // If the only reply is a RST, there is no connection to speak of.
    if (f & RST) return TCP_ACCEPT_KILL;
  } else if ((st & IPS.ASSURED) === 0 && (oldState === TcpState.SynRecv || oldState === TcpState.Established) && newState === TcpState.Established) {
    t.status[s] = st | IPS.ASSURED;
  }
  t.expires[s] = now + timeout;
  return TCP_ACCEPT;
}

/** tcp_options into a scratch value: scale | flags << 8, for the ignored-SYN annotation. */
function scratchOptions(b: Uint8Array, l4: number): number {
  scratch[4] = 0;
  parseOptions(scratch, 0, b, l4);
  return scratch[4];
}
const scratch = new Uint32Array(5);

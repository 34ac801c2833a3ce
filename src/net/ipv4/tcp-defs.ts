// TCP's vocabulary (include/net/tcp.h, tcp_states.h): connection states, the constants the
// timers and windows are made of, the sysctls, sequence-space arithmetic, the events a socket's
// owner receives, and the lazily re-armed timer slot every socket has.

import type { Timer } from "../../sim/index.js";
import type { TcpSock } from "./tcp-sock.js";

/** Connection states, numbered as include/net/tcp_states.h. */
export const TcpState = {
  ESTABLISHED: 1,
  SYN_SENT: 2,
  SYN_RECV: 3,
  FIN_WAIT1: 4,
  FIN_WAIT2: 5,
  TIME_WAIT: 6,
  CLOSE: 7,
  CLOSE_WAIT: 8,
  LAST_ACK: 9,
  LISTEN: 10,
  CLOSING: 11,
} as const;
export type TcpState = (typeof TcpState)[keyof typeof TcpState];

const STATE_NAMES: string[] = [];
for (const [k, v] of Object.entries(TcpState)) STATE_NAMES[v] = k;
/** "ESTABLISHED", "TIME_WAIT" … as `ss` prints them (with '-' for '_'). */
export const tcpStateName = (s: number): string => STATE_NAMES[s] ?? `UNKNOWN_${s}`;

// Times in ns on the virtual clock (include/net/tcp.h).
export const TCP_TIMEOUT_INIT = 1e9;
export const TCP_TIMEOUT_FALLBACK = 3e9;
export const TCP_RTO_MIN = 200e6;
export const TCP_RTO_MAX = 120e9;
export const TCP_DELACK_MIN = 40e6;
export const TCP_DELACK_MAX = 200e6;
export const TCP_ATO_MIN = 40e6;
export const TCP_TIMEWAIT_LEN = 60e9;
export const TCP_INIT_CWND = 10;
export const TCP_MAX_QUICKACKS = 16;
export const TCP_MSS_DEFAULT = 536;
export const TCP_MIN_MSS = 88;
export const TCPOLEN_TSTAMP_ALIGNED = 12;
/** TCP_RMEM_TO_WIN_SCALE: scaling_ratio is a fraction of 256. */
export const TCP_RMEM_TO_WIN_SCALE = 8;
/** TCP_DEFAULT_SCALING_RATIO: assume half of the receive buffer's memory is payload. */
export const TCP_DEFAULT_SCALING_RATIO = 128;
/**
 * Memory an skb costs beyond its payload (skb->truesize − skb->len). Linux's depends on the
 * driver; 1024 reproduces the scaling_ratio a 6.x kernel measures on a veth (147 for 1398-byte
 * segments, 149 for 1448), hence its receive windows.
 */
export const SKB_TRUESIZE_OVERHEAD = 1024;

/** Per-namespace TCP sysctls (net.ipv4.tcp_*, net.core.rmem_max) at their Linux defaults. */
export interface TcpSysctls {
  rmem: [number, number, number];
  wmem: [number, number, number];
  rmemMax: number;
  synRetries: number;
  synackRetries: number;
  retries2: number;
  finTimeout: number;
  timestamps: boolean;
  sack: boolean;
  windowScaling: boolean;
}

export const defaultTcpSysctls = (): TcpSysctls => ({
  rmem: [4096, 131072, 33554432],
  wmem: [4096, 16384, 4194304],
  rmemMax: 4194304,
  synRetries: 6,
  synackRetries: 5,
  retries2: 15,
  finTimeout: 60e9,
  timestamps: true,
  sack: true,
  windowScaling: true,
});

/** The namespace's TCP counters (the Tcp: line of /proc/net/snmp). */
export interface TcpMib {
  inSegs: number;
  outSegs: number;
  retransSegs: number;
  outRsts: number;
  attemptFails: number;
  estabResets: number;
}

export const newTcpMib = (): TcpMib => ({ inSegs: 0, outSegs: 0, retransSegs: 0, outRsts: 0, attemptFails: 0, estabResets: 0 });

// Sequence-space comparisons (before()/after() in include/net/tcp.h).
export const before = (a: number, b: number): boolean => ((a - b) | 0) < 0;
export const after = (a: number, b: number): boolean => ((b - a) | 0) < 0;
export const seqAdd = (a: number, n: number): number => (a + n) >>> 0;
/** a − b in sequence space, signed. */
export const seqSub = (a: number, b: number): number => (a - b) | 0;

/** Events from the stack to the owner of a socket, delivered from a scheduler task. */
export const TcpEvent = {
  CONNECT: 1,
  READ: 2,
  EOF: 4,
  ERROR: 8,
  WRITE: 16,
  CLOSE: 32,
  ACCEPT: 64,
  TIMEOUT: 128,
} as const;

/** The owner of a socket or a listener (the Duplex, the server): told of events, never reentered. */
export interface TcpUser {
  tcpEvent(events: number): void;
}

/**
 * A timer slot of a socket (icsk_retransmit_timer, icsk_delack_timer, the TIME_WAIT timer …):
 * re-arming later only moves `expires` (the pending timer fires, sees it, re-arms), so a busy
 * connection does not allocate a scheduler timer per ACK.
 */
export class SkTimer {
  timer: Timer | null = null;
  expires = Number.POSITIVE_INFINITY;
  handler: (sk: TcpSock) => void = noop;

  constructor(readonly sk: TcpSock) {}

  get pending(): boolean {
    return this.expires !== Number.POSITIVE_INFINITY;
  }

  arm(at: number): void {
    this.expires = at;
    const t = this.timer;
    if (t?.pending) {
      if (t.at <= at) return;
      t.cancel();
    }
    this.timer = this.sk.ns.sim.sched.at(at, skTimerFire, this);
  }

  /** Cancels the timer and its scheduler entry. */
  stop(): void {
    this.expires = Number.POSITIVE_INFINITY;
    if (this.timer?.pending) this.timer.cancel();
    this.timer = null;
  }

  /**
   * Cancels lazily: the scheduler entry stays to be reused by the next arm() (the delayed-ACK
   * timer is cleared by nearly every ACK sent and armed again by the next segment).
   */
  clear(): void {
    this.expires = Number.POSITIVE_INFINITY;
  }
}

function noop(): void {}

function skTimerFire(t: SkTimer): void {
  t.timer = null;
  if (t.expires === Number.POSITIVE_INFINITY) return;
  if (t.expires > t.sk.ns.sim.sched.now) return t.arm(t.expires);
  t.expires = Number.POSITIVE_INFINITY;
  t.handler(t.sk);
}

/** Flags of a transmitted segment in the retransmission ring. */
export const TX_RETRANS = 1;
export const TX_SYN = 2;
export const TX_FIN = 4;
export const TX_PSH = 8;

/** The congestion state (icsk_ca_state), reduced to what slow start + Reno/NewReno need. */
export const CA_OPEN = 0;
export const CA_RECOVERY = 3;
export const CA_LOSS = 4;

// Real-time mode: with a real underlay the virtual clock follows the wall clock. The driver runs
// the deterministic scheduler in step with process.hrtime: a virtual timer fires when its wall
// time comes (one setTimeout armed for the earliest), a datagram from the socket is injected at the
// virtual instant matching its arrival, and traffic code awaits virtual sleeps and conditions.
// Deterministic mode (sched.run) stays the default everywhere else; nothing here is used by it.

import type { Scheduler } from "../../sim/index.js";
import { tcpSocketActivity } from "../ipv4/tcp-socket.js";
import type { UdpUnderlay, UnderlayClock } from "./udp-link.js";

export interface RealtimeOptions {
  /** Stops the driver when it aborts. */
  signal?: AbortSignal;
  /** Process signals that stop the driver (the CLI passes SIGINT and SIGTERM). Default none. */
  stopOn?: readonly NodeJS.Signals[];
}

interface Waiter {
  pred: () => boolean;
  resolve: (ok: boolean) => void;
  timer: { cancel(): void } | null;
}

export class RealtimeDriver implements UnderlayClock {
  private wallStart = 0n;
  private virtStart = 0;
  private wallTimer: NodeJS.Timeout | null = null;
  private armedAt = Number.POSITIVE_INFINITY;
  private immediate: NodeJS.Immediate | null = null;
  /** Rounds of Node's queues in a row that changed nothing (see drainSoon). */
  private quiet = 0;
  private readonly waiters = new Set<Waiter>();
  private readonly stopListeners: (() => void)[] = [];
  private stopped: Promise<void>;
  private resolveStopped!: () => void;
  private ended = false;
  running = false;

  constructor(
    readonly sched: Scheduler,
    private readonly opts: RealtimeOptions = {},
  ) {
    this.stopped = new Promise((r) => (this.resolveStopped = r));
  }

  /** Lets `underlay` inject its datagrams at the current wall instant. */
  attach(...underlays: UdpUnderlay[]): this {
    for (const u of underlays) u.clock = this;
    return this;
  }

  /** The virtual time that corresponds to the wall clock now (ns). */
  wallNow(): number {
    if (!this.running) return this.sched.now;
    return this.virtStart + Number(process.hrtime.bigint() - this.wallStart);
  }

  /** Starts following the wall clock from the current virtual time. Idempotent. */
  start(): this {
    if (this.running) return this;
    this.running = true;
    if (this.ended) {
      this.ended = false;
      this.stopped = new Promise((r) => (this.resolveStopped = r));
    }
    this.wallStart = process.hrtime.bigint();
    this.virtStart = this.sched.now;
    const { signal, stopOn } = this.opts;
    if (signal) {
      if (signal.aborted) queueMicrotask(() => this.stop());
      const onAbort = () => this.stop();
      signal.addEventListener("abort", onAbort, { once: true });
      this.stopListeners.push(() => signal.removeEventListener("abort", onAbort));
    }
    for (const sig of stopOn ?? []) {
      const onSig = () => this.stop();
      process.on(sig, onSig);
      this.stopListeners.push(() => process.off(sig, onSig));
    }
    this.kick();
    return this;
  }

  /** Stops: no more wall timers, waiters resolve false, run() returns. Idempotent. */
  stop(): void {
    if (!this.running) return;
    this.catchUp();
    this.running = false;
    if (this.wallTimer) clearTimeout(this.wallTimer);
    this.wallTimer = null;
    this.armedAt = Number.POSITIVE_INFINITY;
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = null;
    for (const w of [...this.waiters]) this.settle(w, false);
    for (const off of this.stopListeners.splice(0)) off();
    this.ended = true;
    this.resolveStopped();
  }

  /** Resolves when the driver stops. */
  get done(): Promise<void> {
    return this.stopped;
  }

  /**
   * Runs in real time until `traffic` (a function of the driver, or a promise) settles, returning
   * its value, or until the driver is stopped (signal, abort, stop()), returning undefined; without
   * traffic, until stopped. Exceptions in traffic propagate. The driver is stopped on return.
   */
  async run<T>(traffic?: ((rt: this) => Promise<T> | T) | Promise<T>): Promise<T | undefined> {
    this.start();
    if (traffic === undefined) {
      await this.stopped;
      return undefined;
    }
    try {
      const p = Promise.resolve(typeof traffic === "function" ? traffic(this) : traffic);
      this.drainSoon();
      return await Promise.race([p, this.stopped.then(() => undefined)]);
    } finally {
      this.stop();
    }
  }

  /** Fires every timer whose wall time has come; virtual time becomes the wall clock's now. */
  catchUp(): void {
    if (!this.running) return;
    this.sched.run(this.wallNow());
  }

  /** Runs what is queued at this instant, wakes satisfied waiters, re-arms the wall timer. */
  kick(): void {
    if (!this.running) return;
    this.runNow();
    this.drainSoon();
  }

  private runNow(): void {
    this.sched.run(this.sched.now);
    if (this.waiters.size > 0) for (const w of [...this.waiters]) if (w.pred()) this.settle(w, true);
    this.arm();
  }

  /** Runs `fn` at the current wall instant (it may send: what it queues runs right after). */
  step<T>(fn: () => T): T {
    this.catchUp();
    try {
      return fn();
    } finally {
      this.kick();
    }
  }

  /** Resolves after `ms` of virtual (= wall) time. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.catchUp();
      this.sched.after(Math.max(0, ms) * 1e6, resolveLater, this, resolve);
      this.kick();
    });
  }

  /** Resolves true when `pred` holds (checked after every event), false after `timeoutMs` or on stop. */
  waitFor(pred: () => boolean, timeoutMs: number): Promise<boolean> {
    this.catchUp();
    this.kick();
    if (pred()) return Promise.resolve(true);
    if (!this.running) return Promise.resolve(false);
    return new Promise((resolve) => {
      const w: Waiter = { pred, resolve, timer: null };
      w.timer = this.sched.after(Math.max(0, timeoutMs) * 1e6, expire, this, w);
      this.waiters.add(w);
      this.arm();
    });
  }

  /** @internal */
  settle(w: Waiter, ok: boolean): void {
    if (!this.waiters.delete(w)) return;
    w.timer?.cancel();
    w.resolve(ok);
    this.drainSoon();
  }

  /**
   * After the current macrotask, runs what Node's own queues put into the scheduler meanwhile: the
   * traffic code its promises resumed, TCP sockets' stream callbacks (DESIGN.md decision 8). As
   * tcp-settle.ts does in deterministic mode, rounds go on until two in a row change nothing.
   */
  drainSoon(): void {
    this.quiet = 0;
    if (this.immediate !== null || !this.running) return;
    this.immediate = setImmediate(this.settleRound);
  }

  private readonly settleRound = (): void => {
    this.immediate = null;
    if (!this.running) return;
    const steps = this.sched.steps;
    const act = tcpSocketActivity();
    this.catchUp();
    this.runNow();
    if (this.sched.steps !== steps || tcpSocketActivity() !== act) this.quiet = 0;
    else this.quiet++;
    if (this.quiet < 2 && this.immediate === null) this.immediate = setImmediate(this.settleRound);
  };

  private arm(): void {
    const next = this.sched.nextTimerAt;
    if (next === this.armedAt || !this.running) return;
    if (this.wallTimer) clearTimeout(this.wallTimer);
    this.wallTimer = null;
    this.armedAt = next;
    if (next === Number.POSITIVE_INFINITY) return;
    const ms = Math.max(0, (next - this.wallNow()) / 1e6);
    this.wallTimer = setTimeout(() => {
      this.wallTimer = null;
      this.armedAt = Number.POSITIVE_INFINITY;
      this.catchUp();
      this.kick();
    }, Math.ceil(ms));
  }
}

function resolveLater(driver: RealtimeDriver, resolve: () => void): void {
  resolve();
  // The continuation runs as a microtask after this macrotask; drain what it queues.
  driver.drainSoon();
}

function expire(driver: RealtimeDriver, w: Waiter): void {
  w.timer = null;
  driver.settle(w, w.pred());
}

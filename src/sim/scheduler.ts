// The deterministic scheduler: a run-to-completion queue for frame hand-offs between devices
// (FIFO, at the current instant) and timers (ARP retransmits, conntrack and FDB ageing, link
// delay) ordered by (time, insertion). Time only moves when the queue is empty.

/** A task takes up to two arguments; any (a: A, b: B) => void is one (never accepts them all). */
export type Task = (a: never, b: never) => void;
type Call = (a: unknown, b: unknown) => void;

/** A timer handle: cancel() before it fires and it never runs. */
export class Timer {
  /** Position in the heap, -1 once fired or cancelled. */
  index = -1;
  constructor(
    public at: number,
    readonly seq: number,
    public fn: Task,
    public a: unknown,
    public b: unknown,
    private readonly sched: Scheduler,
  ) {}

  get pending(): boolean {
    return this.index >= 0;
  }

  cancel(): void {
    if (this.index >= 0) this.sched.removeTimer(this);
  }
}

export class Scheduler {
  /** Virtual time now, in nanoseconds. */
  now = 0;
  // The ready queue as a ring of parallel arrays: no allocation per hand-off.
  private fns: (Task | undefined)[] = new Array(1024);
  private as: unknown[] = new Array(1024);
  private bs: unknown[] = new Array(1024);
  private qHead = 0;
  private qLen = 0;
  private heap: Timer[] = [];
  private seq = 0;
  /** Hand-offs and timers run so far (for progress reporting and runaway detection). */
  steps = 0;

  /** Runs fn(a, b) at the current instant, after everything already queued. */
  enqueue(fn: Task, a?: unknown, b?: unknown): void {
    if (this.qLen === this.fns.length) this.grow();
    const i = (this.qHead + this.qLen) & (this.fns.length - 1);
    this.fns[i] = fn;
    this.as[i] = a;
    this.bs[i] = b;
    this.qLen++;
  }

  /** Runs fn(a, b) at virtual time `at` (ns). */
  at(at: number, fn: Task, a?: unknown, b?: unknown): Timer {
    const t = new Timer(Math.max(at, this.now), this.seq++, fn, a, b, this);
    this.heap.push(t);
    t.index = this.heap.length - 1;
    this.siftUp(t.index);
    return t;
  }

  /** Runs fn(a, b) after `delay` nanoseconds. */
  after(delay: number, fn: Task, a?: unknown, b?: unknown): Timer {
    return this.at(this.now + delay, fn, a, b);
  }

  /** True when nothing is queued and no timer is pending. */
  get idle(): boolean {
    return this.qLen === 0 && this.heap.length === 0;
  }

  /** Time of the next timer, or Infinity. */
  get nextTimerAt(): number {
    return this.heap.length ? this.heap[0].at : Number.POSITIVE_INFINITY;
  }

  get pendingTimers(): number {
    return this.heap.length;
  }

  /** Runs the ready queue until it is empty, without moving time. Returns tasks run. */
  drain(): number {
    let n = 0;
    while (this.qLen > 0) {
      const i = this.qHead;
      const fn = this.fns[i]!;
      const a = this.as[i];
      const b = this.bs[i];
      this.fns[i] = undefined;
      this.as[i] = undefined;
      this.bs[i] = undefined;
      this.qHead = (i + 1) & (this.fns.length - 1);
      this.qLen--;
      n++;
      (fn as Call)(a, b);
    }
    this.steps += n;
    return n;
  }

  /**
   * Runs until `until` (virtual ns): drains the queue, then fires timers in order, moving time to
   * each. Time ends at `until` if given (even if no timer is there), else where the last timer ran.
   */
  run(until = Number.POSITIVE_INFINITY): void {
    for (;;) {
      this.drain();
      if (this.heap.length === 0 || this.heap[0].at > until) break;
      const t = this.popTimer();
      this.now = t.at;
      this.steps++;
      (t.fn as Call)(t.a, t.b);
    }
    if (until !== Number.POSITIVE_INFINITY && until > this.now) this.now = until;
  }

  /** Runs for `duration` ns of virtual time from now. */
  runFor(duration: number): void {
    this.run(this.now + duration);
  }

  /** Drains the queue and fires timers due up to now only. */
  runNow(): void {
    this.run(this.now);
  }

  /** @internal */
  removeTimer(t: Timer): void {
    const i = t.index;
    const last = this.heap.pop()!;
    t.index = -1;
    if (last !== t) {
      this.heap[i] = last;
      last.index = i;
      this.siftDown(i);
      this.siftUp(last.index);
    }
  }

  private popTimer(): Timer {
    const top = this.heap[0];
    this.removeTimer(top);
    return top;
  }

  private less(x: Timer, y: Timer): boolean {
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }

  private siftUp(i: number): void {
    const h = this.heap;
    const t = h[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(t, h[p])) break;
      h[i] = h[p];
      h[i].index = i;
      i = p;
    }
    h[i] = t;
    t.index = i;
  }

  private siftDown(i: number): void {
    const h = this.heap;
    const n = h.length;
    const t = h[i];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.less(h[c + 1], h[c])) c++;
      if (!this.less(h[c], t)) break;
      h[i] = h[c];
      h[i].index = i;
      i = c;
    }
    h[i] = t;
    t.index = i;
  }

  private grow(): void {
    const n = this.fns.length;
    const fns = new Array(n * 2);
    const as = new Array(n * 2);
    const bs = new Array(n * 2);
    for (let k = 0; k < this.qLen; k++) {
      const i = (this.qHead + k) & (n - 1);
      fns[k] = this.fns[i];
      as[k] = this.as[i];
      bs[k] = this.bs[i];
    }
    this.fns = fns;
    this.as = as;
    this.bs = bs;
    this.qHead = 0;
  }
}

// A progress bar for long runs: drawn on a terminal only, once a run has taken longer than a
// moment, redrawn in place and erased when done. Elsewhere (pipes, CI logs) it prints nothing.

import type { Io } from "./io.js";

const SHOW_AFTER_MS = 300;
const WIDTH = 24;

export class Progress {
  private readonly started = Date.now();
  private drawn = false;

  constructor(
    private readonly io: Io,
    private readonly enabled: boolean,
  ) {}

  /** Step `done` of `total` is starting; `label` says which. */
  update(done: number, total: number, label: string): void {
    if (!this.enabled || !this.io.tty || Date.now() - this.started < SHOW_AFTER_MS) return;
    const filled = total === 0 ? WIDTH : Math.round((done / total) * WIDTH);
    const bar = `[${"#".repeat(filled)}${".".repeat(WIDTH - filled)}] ${done}/${total} `;
    const cols = (process.stdout.columns ?? 80) - bar.length - 1;
    this.io.out(`\r\x1b[2K${bar}${label.length > cols ? `${label.slice(0, Math.max(0, cols - 1))}…` : label}`);
    this.drawn = true;
  }

  /** Erases the bar, if it was drawn. */
  clear(): void {
    if (this.drawn) this.io.out("\r\x1b[2K");
    this.drawn = false;
  }
}

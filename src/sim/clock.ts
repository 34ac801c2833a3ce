// Virtual time in nanoseconds. A number holds 2^53 ns ≈ 104 days exactly, far beyond any run.

export const NS_PER_US = 1_000;
export const NS_PER_MS = 1_000_000;
export const NS_PER_SEC = 1_000_000_000;

export const ms = (n: number): number => n * NS_PER_MS;
export const sec = (n: number): number => n * NS_PER_SEC;

/** Formats virtual nanoseconds as seconds with nanosecond digits: "1.000000250". */
export function formatTime(ns: number): string {
  const s = Math.floor(ns / NS_PER_SEC);
  return `${s}.${String(ns - s * NS_PER_SEC).padStart(9, "0")}`;
}

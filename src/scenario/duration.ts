// Durations as Go and Kubernetes write them (`5s`, `500ms`, `1m30s`), in virtual nanoseconds.

const UNITS: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;

/** `1m30s` → 90e9; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === "") return undefined;
  if (s === "0") return 0;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const at = PART.lastIndex;
    const m = PART.exec(s);
    if (!m || m.index !== at) return undefined;
    total += Number(m[1]) * UNITS[m[2]];
  }
  return Math.round(total);
}

/** 1500000 → "1.5ms", 5e9 → "5s": the shortest readable form. */
export function formatDuration(ns: number): string {
  if (ns === 0) return "0s";
  const pick = ns >= 1e9 ? (["s", 1e9] as const) : ns >= 1e6 ? (["ms", 1e6] as const) : ns >= 1e3 ? (["µs", 1e3] as const) : (["ns", 1] as const);
  const v = ns / pick[1];
  return `${Number.isInteger(v) ? v : Number(v.toFixed(3))}${pick[0]}`;
}

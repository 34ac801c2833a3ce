// The test oracle: runs tshark (Wireshark 4.0) on a capture and returns what it dissected.
// Every test that writes a capture ends with `expect(tsharkProblems(file)).toEqual([])`.
import { spawnSync } from "node:child_process";

export interface TsharkOptions {
  /** Decode-as rules (-d), e.g. ["udp.port==8472,vxlan"] for flannel's VXLAN port. */
  decodeAs?: string[];
  /** Preferences (-o), e.g. { "ip.defragment": false }. */
  prefs?: Record<string, string | number | boolean>;
  /**
   * Validate IPv4, UDP and TCP checksums (default true), so a wrong one is an expert error.
   * tshark leaves them unchecked by default; ICMP is always checked.
   */
  checksums?: boolean;
  /** A display filter (-Y): only matching frames are returned. */
  filter?: string;
  /**
   * Return what tshark printed even when it exits non-zero, as it does on a capture cut short
   * (it still dissects the whole frames before the cut). Default false: such a run throws.
   */
  allowErrors?: boolean;
}

export interface TsharkRun {
  stdout: string;
  /** Without the "Running as user root" warning. */
  stderr: string;
  status: number | null;
}

/** Expert severities as tshark encodes them (epan/proto.h PI_COMMENT … PI_ERROR). */
export const EXPERT_SEVERITY = {
  comment: 0x00100000,
  chat: 0x00200000,
  note: 0x00400000,
  warning: 0x00600000,
  error: 0x00800000,
} as const;
export type ExpertSeverity = keyof typeof EXPERT_SEVERITY;

/** A tshark run that takes longer than this is stuck (a big capture takes seconds). */
const TSHARK_TIMEOUT_MS = 60_000;
const CHECKSUM_PREFS = ["ip.check_checksum:TRUE", "udp.check_checksum:TRUE", "tcp.check_checksum:TRUE"];
const ROOT_WARNING = /^Running as user "root" and group "root"\. This could be dangerous\.\n?/m;

function commonArgs(file: string, o: TsharkOptions): string[] {
  // -n: no name resolution (no DNS lookups, addresses printed as they are on the wire).
  const args = ["-n", "-r", file];
  if (o.checksums !== false) for (const p of CHECKSUM_PREFS) args.push("-o", p);
  for (const [k, v] of Object.entries(o.prefs ?? {})) args.push("-o", `${k}:${v === true ? "TRUE" : v === false ? "FALSE" : v}`);
  for (const d of o.decodeAs ?? []) args.push("-d", d);
  if (o.filter) args.push("-Y", o.filter);
  return args;
}

/** Runs tshark on `file` with the common options and `extra` arguments. */
export function runTshark(file: string, extra: string[], opts: TsharkOptions = {}): TsharkRun {
  const args = [...commonArgs(file, opts), ...extra];
  const r = spawnSync("tshark", args, { encoding: "utf8", maxBuffer: 1 << 30, timeout: TSHARK_TIMEOUT_MS });
  if (r.error) throw new Error(`tshark could not run (${r.error.message}); install it: apt-get install -y tshark`);
  const run = { stdout: r.stdout, stderr: r.stderr.replace(ROOT_WARNING, ""), status: r.status };
  if (run.status !== 0 && !opts.allowErrors)
    throw new Error(`tshark ${args.join(" ")} exited with ${run.status}: ${run.stderr.trim()}`);
  return run;
}

type JsonPacket = { _source: { layers: Record<string, unknown> } };

function parseJson(run: TsharkRun): JsonPacket[] {
  const text = run.stdout.trim();
  if (text === "") return [];
  return JSON.parse(text) as JsonPacket[];
}

/**
 * The dissection of every frame (-T json), one layers object per frame: { frame: {...}, eth:
 * {...}, ip: {...}, ... }. A protocol present twice (outer and inner Ethernet/IPv4 of a VXLAN
 * frame) is an array [outer, inner] (--no-duplicate-keys), as is a repeated field.
 */
export function tsharkJson(file: string, opts: TsharkOptions = {}): Record<string, unknown>[] {
  return parseJson(runTshark(file, ["-T", "json", "--no-duplicate-keys"], opts)).map((p) => p._source.layers);
}

/** The values of `fields` per frame, every occurrence in order (["10.0.0.1", "10.244.1.2"]); [] when absent. */
export function tsharkFieldLists(file: string, fields: string[], opts: TsharkOptions = {}): Record<string, string[]>[] {
  const extra = ["-T", "json"];
  for (const f of fields) extra.push("-e", f);
  return parseJson(runTshark(file, extra, opts)).map((p) => {
    const layers = p._source.layers as Record<string, string[]>;
    return Object.fromEntries(fields.map((f) => [f, layers[f] ?? []]));
  });
}

/**
 * The values of `fields` per frame as tshark -T fields prints them: occurrences joined with ","
 * and "" when absent. E.g. tsharkFields(f, ["frame.len", "ip.ttl"]) → [{ "frame.len": "98", "ip.ttl": "64" }].
 */
export function tsharkFields(file: string, fields: string[], opts: TsharkOptions = {}): Record<string, string>[] {
  return tsharkFieldLists(file, fields, opts).map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.join(",")])),
  );
}

/** Number of frames tshark reads (after the filter, if any). */
export function tsharkCount(file: string, opts: TsharkOptions = {}): number {
  return tsharkFieldLists(file, ["frame.number"], opts).length;
}

export interface TsharkProblem {
  frame: number;
  malformed: boolean;
  /** Expert messages at or above the threshold, e.g. "Bad checksum [should be 0x6674]". */
  messages: string[];
  protocol: string;
  info: string;
}

export interface TsharkProblemOptions extends TsharkOptions {
  /** Lowest expert severity reported: "error" (default) or "warning" (e.g. TCP resets, retransmissions). */
  minSeverity?: ExpertSeverity;
}

/**
 * Frames tshark finds malformed or flags with an expert item at or above `minSeverity`
 * (default: errors, which include bad checksums and malformed packets). [] when all is well.
 */
export function tsharkProblems(file: string, opts: TsharkProblemOptions = {}): TsharkProblem[] {
  const threshold = EXPERT_SEVERITY[opts.minSeverity ?? "error"];
  const filter = `(_ws.malformed || _ws.expert.severity >= ${threshold})${opts.filter ? ` && (${opts.filter})` : ""}`;
  const fields = ["frame.number", "_ws.malformed", "_ws.expert.severity", "_ws.expert.message", "_ws.col.Protocol", "_ws.col.Info"];
  return tsharkFieldLists(file, fields, { ...opts, filter }).map((r) => {
    const severities = r["_ws.expert.severity"].map(Number);
    const messages = r["_ws.expert.message"];
    // Severities and messages come in step, one pair per expert item.
    const kept = severities.length === messages.length ? messages.filter((_, i) => severities[i] >= threshold) : messages;
    return {
      frame: Number(r["frame.number"][0]),
      malformed: r["_ws.malformed"].length > 0,
      messages: kept,
      protocol: r["_ws.col.Protocol"].join(","),
      info: r["_ws.col.Info"].join(","),
    };
  });
}

/** One line per problem, for a readable assertion failure. */
export const formatTsharkProblems = (ps: TsharkProblem[]): string =>
  ps.map((p) => `frame ${p.frame} ${p.protocol}${p.malformed ? " MALFORMED" : ""}: ${p.messages.join("; ")} (${p.info})`).join("\n");

/**
 * capinfos -M (Wireshark's file summary): "Key: value" lines, e.g. "Capture hardware",
 * "Number of packets", "Number of interfaces in file", "Number of decryption secrets in file".
 * Per-interface details are in `text`.
 */
export function capinfos(file: string): { info: Record<string, string>; text: string } {
  const r = spawnSync("capinfos", ["-M", file], { encoding: "utf8", timeout: TSHARK_TIMEOUT_MS });
  if (r.error) throw new Error(`capinfos could not run (${r.error.message}); it comes with tshark (wireshark-common)`);
  const text = r.stdout;
  const info: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^(\S[^:]*):\s+(.*)$/.exec(line);
    if (m) info[m[1]] = m[2].trim();
  }
  return { info, text };
}

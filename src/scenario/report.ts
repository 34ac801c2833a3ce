// What a run leaves behind besides the capture: the step summary printed at the end, the human
// trace (formatTraceEvent lines under a header per step) and the JSON trace.

import { dropReasonName, formatTime, formatTraceEvent, type TraceEvent } from "../sim/index.js";
import type { Scenario, StepOutcome } from "./model.js";
import type { StepMark } from "./runtime.js";

/** The summary of every step, then a total line. */
export function formatSummary(scenario: Scenario, outcomes: readonly StepOutcome[]): string {
  const lines: string[] = [];
  const failed = outcomes.filter((o) => !o.pass).length;
  lines.push(`${scenario.name}: ${outcomes.length} step${outcomes.length === 1 ? "" : "s"}, ${outcomes.length - failed} passed${failed ? `, ${failed} FAILED` : ""}`);
  for (const o of outcomes) {
    const label = o.name ? `${o.name} (${o.title})` : o.title;
    lines.push(`  ${o.pass ? "PASS" : "FAIL"} ${String(o.index).padStart(2)}. ${label}`);
    lines.push(`          ${o.observed}`);
    if (!o.pass) lines.push(`          why: ${o.why}`);
  }
  return lines.join("\n");
}

/** One formatTraceEvent line per event, under a header per step. */
export function formatTraceText(scenario: Scenario, events: readonly TraceEvent[], marks: readonly StepMark[], outcomes: readonly StepOutcome[]): string {
  const out: string[] = [`# kubewire trace of scenario ${scenario.name} (${scenario.file})`, "# time(s) namespace [device] event"];
  let m = 0;
  if (marks.length === 0 || marks[0].event > 0) out.push("## set-up");
  for (let i = 0; i < events.length; i++) {
    while (m < marks.length && marks[m].event === i) header(out, marks[m++], outcomes);
    out.push(formatTraceEvent(events[i]));
  }
  while (m < marks.length) header(out, marks[m++], outcomes);
  return `${out.join("\n")}\n`;
}

function header(out: string[], mark: StepMark, outcomes: readonly StepOutcome[]): void {
  const o = outcomes.find((x) => x.index === mark.step);
  out.push(`## step ${mark.step} at ${formatTime(mark.t)}: ${o ? `${o.name ? `${o.name}: ` : ""}${o.title} [${o.pass ? "PASS" : "FAIL"}]` : ""}`);
}

/** A JSON array, one entry per line: step markers `{"step": n, …}` and the events, drop reasons by name. */
export function formatTraceJson(scenario: Scenario, events: readonly TraceEvent[], marks: readonly StepMark[], outcomes: readonly StepOutcome[]): string {
  const rows: string[] = [JSON.stringify({ scenario: scenario.name, file: scenario.file })];
  let m = 0;
  const mark = () => {
    const k = marks[m++];
    const o = outcomes.find((x) => x.index === k.step);
    rows.push(JSON.stringify({ step: k.step, t: k.t, name: o?.name, title: o?.title, pass: o?.pass, observed: o?.observed, why: o?.why || undefined }));
  };
  for (let i = 0; i < events.length; i++) {
    while (m < marks.length && marks[m].event === i) mark();
    const e = events[i];
    rows.push(JSON.stringify(e.kind === "drop" ? { ...e, reason: dropReasonName(e.reason) } : e));
  }
  while (m < marks.length) mark();
  return `[\n${rows.join(",\n")}\n]\n`;
}

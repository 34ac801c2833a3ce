// `kubewire run`: builds each scenario's cluster, runs its steps with capture and tracing on every
// interface, writes the pcapng (and optionally per-interface pcaps and traces) and prints a
// summary of every step. Exit code 1 when a step fails.

import { appendFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatSummary, formatTraceJson, formatTraceText, type Scenario, ScenarioRun } from "../../scenario/index.js";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Io, load, parse, UsageError } from "../io.js";
import { Progress } from "../progress.js";

export const RUN_HELP = `Usage: kubewire run <scenario.yaml | folder>... [options]

Builds the scenario's cluster, runs its traffic steps on the virtual clock with capture and
tracing on every interface, and prints what every step did (PASS/FAIL). A folder runs every
scenario.yaml in it and in its subfolders (one level). Warnings about a scenario (an Ingress
naming a missing Service …) are printed first and do not stop its run.

Options:
  --out DIR            where files go (default: out)
  --per-interface      also one classic pcap per interface, in DIR/<name>/
  --trace              also the human trace, DIR/<name>.trace.txt
  --trace-json FILE    also the JSON trace (with several scenarios: FILE is a folder)
  --no-tls-keys        leave the TLS session keys out of the pcapng (by default they go in
                       as a Decryption Secrets Block, so Wireshark shows the HTTP inside HTTPS)
  --keylog FILE        also append the TLS session keys to FILE (SSLKEYLOGFILE format)
  --quiet              print only failures and errors
  -h, --help           this help

Writes DIR/<name>.pcapng: one interface per device, named <node>/<dev> and <pod>/eth0, trace
notes as packet comments. Exit code: 0 all steps passed, 1 a step failed, 2 bad input,
3 kubewire itself failed.
`;

export interface RunCommandOptions {
  out: string;
  perInterface: boolean;
  trace: boolean;
  traceJson?: string;
  quiet: boolean;
  /** TLS session keys into the pcapng (default true). */
  tlsKeys?: boolean;
  /** Also append the TLS session keys to this file. */
  keylog?: string;
}

export async function runCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse("run", argv, {
    out: { type: "string" },
    "per-interface": { type: "boolean" },
    trace: { type: "boolean" },
    "trace-json": { type: "string" },
    quiet: { type: "boolean", short: "q" },
    "no-tls-keys": { type: "boolean" },
    keylog: { type: "string" },
  });
  if (values.help) {
    io.out(RUN_HELP);
    return EXIT_OK;
  }
  if (positionals.length === 0) throw new UsageError("no scenario given", "run");
  const files = positionals.flatMap((p) => scenarioFiles(p));
  const opts: RunCommandOptions = {
    out: (values.out as string | undefined) ?? "out",
    perInterface: values["per-interface"] === true,
    trace: values.trace === true,
    traceJson: values["trace-json"] as string | undefined,
    quiet: values.quiet === true,
    tlsKeys: values["no-tls-keys"] !== true,
    keylog: values.keylog as string | undefined,
  };
  if (opts.keylog) checkWritable(opts.keylog, "--keylog", "run");
  let code = EXIT_OK;
  for (const f of files) code = Math.max(code, await runFile(io, f, opts, files.length > 1));
  return code;
}

/** A file the run appends to (the TLS key log): refused up front, not in the middle of a handshake. */
function checkWritable(file: string, flag: string, command: string): void {
  try {
    appendFileSync(file, "");
  } catch (e) {
    throw new UsageError(`${flag} ${file}: cannot write: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, command);
  }
}

/** The scenario files a path stands for: itself, or the scenario.yaml files of a folder and its subfolders. */
export function scenarioFiles(path: string): string[] {
  if (!existsSync(path)) throw new UsageError(`${path}: no such file or folder`, "run");
  if (!statSync(path).isDirectory()) return [path];
  if (existsSync(join(path, "scenario.yaml"))) return [join(path, "scenario.yaml")];
  const found = readdirSync(path, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(path, e.name, "scenario.yaml")))
    .map((e) => join(path, e.name, "scenario.yaml"))
    .sort();
  if (found.length === 0) throw new UsageError(`${path}: no scenario.yaml in this folder or its subfolders`, "run");
  return found;
}

/** Runs one scenario file and writes its outputs; returns the exit code. */
export async function runFile(io: Io, file: string, o: RunCommandOptions, several = false): Promise<number> {
  const scenario = load(io, file, !o.quiet);
  if (!scenario) return EXIT_USAGE;
  const r = await runToFiles(io, scenario, o, several);
  if (!o.quiet) io.out(`${formatSummary(scenario, r.run.outcomes)}\n${r.written.map((w) => `  wrote ${w}`).join("\n")}\n`);
  else for (const x of r.run.outcomes.filter((x) => !x.pass)) io.out(`${scenario.name}: FAIL step ${x.index} ${x.name ?? x.title}: ${x.why}\n`);
  return r.run.pass ? EXIT_OK : EXIT_FAILED;
}

/** Runs a scenario (its http steps on Node's queues, the others as the synchronous runner does) and writes its files. */
export async function runToFiles(io: Io, scenario: Scenario, o: RunCommandOptions, several = false): Promise<{ run: ScenarioRun; written: string[] }> {
  mkdirSync(o.out, { recursive: true });
  const pcapng = join(o.out, `${scenario.name}.pcapng`);
  const perInterfaceDir = o.perInterface ? join(o.out, scenario.name) : undefined;
  if (perInterfaceDir) mkdirSync(perInterfaceDir, { recursive: true });
  const progress = new Progress(io, !o.quiet);
  const total = scenario.steps.length;
  const run = new ScenarioRun(scenario, {
    pcapng,
    perInterfaceDir,
    tlsKeys: o.tlsKeys,
    sslKeyLogFile: o.keylog,
    onStep: (step, outcome) => {
      if (!outcome) progress.update(step.index - 1, total, `${scenario.name}: ${step.name ?? step.type.title(step.spec)}`);
    },
  });
  try {
    await run.runAllAsync();
  } finally {
    run.finish();
    progress.clear();
  }
  const written = [pcapng];
  if (perInterfaceDir) written.push(`${perInterfaceDir}/ (one pcap per interface)`);
  if (o.keylog) written.push(`${o.keylog} (TLS keys)`);
  if (o.trace) {
    const f = join(o.out, `${scenario.name}.trace.txt`);
    writeFileSync(f, formatTraceText(scenario, run.events, run.marks, run.outcomes));
    written.push(f);
  }
  if (o.traceJson) {
    let f = o.traceJson;
    if (several) {
      mkdirSync(o.traceJson, { recursive: true });
      f = join(o.traceJson, `${scenario.name}.trace.json`);
    }
    writeFileSync(f, formatTraceJson(scenario, run.events, run.marks, run.outcomes));
    written.push(f);
  }
  return { run, written };
}

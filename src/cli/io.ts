// What a command writes to and how it fails: commands return an exit code (0 fine, 1 a step
// failed, 2 bad input or usage, 3 kubewire failed) and print through an Io, so tests can run them in-process.

import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { type Diagnostic, formatDiagnostics, hasErrors } from "../k8s/index.js";
import { type LoadResult, loadScenario, type Scenario } from "../scenario/index.js";

export interface Io {
  out(s: string): void;
  err(s: string): void;
  /** stdout is a terminal (progress bars). */
  readonly tty: boolean;
}

export const processIo: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  tty: process.stdout.isTTY === true,
};

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** kubewire itself failed (a bug, not the input). */
export const EXIT_INTERNAL = 3;

export class UsageError extends Error {
  override name = "UsageError";
  constructor(
    message: string,
    readonly command: string,
  ) {
    super(message);
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** node:util parseArgs, strict, with its errors as UsageErrors naming the command. */
export function parse(command: string, argv: string[], options: Options): ParsedArgs {
  try {
    const r = parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
    return { values: r.values as ParsedArgs["values"], positionals: r.positionals };
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, "."), command);
  }
}

/** Loads a scenario; prints its diagnostics (errors, or warnings with `warnings`); undefined on errors. */
export function load(io: Io, path: string, warnings = false): Scenario | undefined {
  const file = scenarioPath(path);
  const r: LoadResult = loadScenario(file);
  report(io, file, r.diagnostics, warnings);
  return r.scenario;
}

export function report(io: Io, file: string, ds: readonly Diagnostic[], warnings: boolean): void {
  const shown = warnings ? ds : ds.filter((d) => d.severity === "error");
  if (shown.length > 0) io.err(`${formatDiagnostics(shown)}\n`);
  const errors = ds.filter((d) => d.severity === "error").length;
  if (hasErrors(ds)) io.err(`kubewire: ${file}: ${errors} error${errors === 1 ? "" : "s"}; nothing was run\n`);
}

/** A scenario file, or a folder holding a scenario.yaml. */
export function scenarioPath(p: string): string {
  const inside = join(p, "scenario.yaml");
  return existsSync(p) && statSync(p).isDirectory() && existsSync(inside) ? inside : p;
}

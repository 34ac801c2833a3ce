// `kubewire examples`: regenerates the capture of every example (what `npm start` runs).
// Deterministic: the same examples give byte-identical pcapng files, except where TLS is captured
// (OpenSSL's randoms cannot be seeded: the same frames, sizes and flow, other bytes).

import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { loadScenario } from "../../scenario/index.js";
import { EXIT_OK, type Io, parse } from "../io.js";
import { runFile, scenarioFiles } from "./run.js";

export const EXAMPLES_HELP = `Usage: kubewire examples [FOLDER] [--out DIR]

Runs every FOLDER/*/scenario.yaml (default FOLDER: examples) and writes DIR/<name>.pcapng
(default DIR: pcaps), and removes the .pcapng files there that no example writes any more.
The same examples give the same files byte for byte, except those with HTTPS: TLS randoms come
from OpenSSL, so there only the frames, sizes and flow repeat.
Exit code 1 if a step of an example fails.
`;

export async function examplesCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse("examples", argv, { out: { type: "string" }, quiet: { type: "boolean", short: "q" } });
  if (values.help) {
    io.out(EXAMPLES_HELP);
    return EXIT_OK;
  }
  const out = (values.out as string | undefined) ?? "pcaps";
  const files = (positionals.length ? positionals : ["examples"]).flatMap((p) => scenarioFiles(p));
  const started = Date.now();
  let code = EXIT_OK;
  for (const f of files) code = Math.max(code, await runFile(io, f, { out, perInterface: false, trace: false, quiet: values.quiet === true }, true));
  const names = new Set(files.map((f) => loadScenario(f).scenario?.name).filter((n) => n !== undefined));
  for (const f of readdirSync(out)) {
    if (!f.endsWith(".pcapng") || names.has(f.slice(0, -".pcapng".length))) continue;
    rmSync(join(out, f));
    io.out(`removed ${join(out, f)} (no example writes it)\n`);
  }
  io.out(`\n${files.length} example${files.length === 1 ? "" : "s"} → ${out}/ in ${((Date.now() - started) / 1000).toFixed(1)} s${code ? " (some steps FAILED)" : ""}\n`);
  return code;
}

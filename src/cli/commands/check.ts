// `kubewire check`: reads and checks scenarios (the file, its cluster, its manifests, the names
// its steps use) without running them.

import { EXIT_OK, EXIT_USAGE, type Io, load, parse, UsageError } from "../io.js";
import { scenarioFiles } from "./run.js";

export const CHECK_HELP = `Usage: kubewire check <scenario.yaml | folder>...

Checks scenario files without running them: YAML syntax, fields, the cluster config, the
manifests and every name the steps use. Prints errors and warnings as file:line:col.
`;

export function checkCommand(argv: string[], io: Io): number {
  const { values, positionals } = parse("check", argv, {});
  if (values.help) {
    io.out(CHECK_HELP);
    return EXIT_OK;
  }
  if (positionals.length === 0) throw new UsageError("no scenario given", "check");
  let code = EXIT_OK;
  for (const f of positionals.flatMap((p) => scenarioFiles(p))) {
    const s = load(io, f, true);
    if (s) io.out(`${f}: ok (${s.name}: ${s.config.nodes.length} node${s.config.nodes.length === 1 ? "" : "s"}, ${s.objects.length} objects, ${s.steps.length} steps)\n`);
    else code = EXIT_USAGE;
  }
  return code;
}

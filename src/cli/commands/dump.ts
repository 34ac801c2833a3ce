// `kubewire dump`: a node's (or pod's) tables in the words of the Linux tools, after the
// scenario's traffic or, with --before, right after set-up.

import { DUMP_KINDS, DUMP_TOOLS, type DumpKind, dump, namespaceNames, ScenarioRun } from "../../scenario/index.js";
import { EXIT_OK, EXIT_USAGE, type Io, load, parse, UsageError } from "../io.js";

export const DUMP_HELP = `Usage: kubewire dump <scenario.yaml> --node NAME <what> [--before]

Prints a table of one node (or pod, gateway, external host) as the Linux tool would:
${DUMP_KINDS.map((k) => `  ${k.padEnd(10)} ${DUMP_TOOLS[k]}`).join("\n")}

The scenario's traffic runs first, so neighbours, FDB entries and conntrack entries are there;
--before dumps right after set-up instead.

Options:
  --node NAME    a node; also a pod (NAME or NAMESPACE/NAME), "gateway" or an external host
  --before       dump before the traffic steps run
  -h, --help     this help
`;

export async function dumpCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse("dump", argv, { node: { type: "string", short: "n" }, before: { type: "boolean" } });
  if (values.help) {
    io.out(DUMP_HELP);
    return EXIT_OK;
  }
  const [file, what, ...rest] = positionals;
  if (!file) throw new UsageError("no scenario given", "dump");
  if (!what) throw new UsageError(`say what to dump: ${DUMP_KINDS.join(", ")}`, "dump");
  if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`, "dump");
  if (!(DUMP_KINDS as readonly string[]).includes(what)) throw new UsageError(`"${what}" is not something to dump (expected ${DUMP_KINDS.join(", ")})`, "dump");
  const node = values.node as string | undefined;
  const scenario = load(io, file);
  if (!scenario) return EXIT_USAGE;
  const run = new ScenarioRun(scenario);
  if (!node) {
    run.finish();
    throw new UsageError(`--node is required (one of: ${namespaceNames(run.cluster).join(", ")})`, "dump");
  }
  if (!values.before) await run.runAllAsync();
  run.finish();
  const r = dump(run.cluster, node, what as DumpKind, run.objects, run.l7);
  if (!r.ok) {
    io.err(`kubewire dump: ${r.message}\n${r.hint ? `  hint: ${r.hint}\n` : ""}`);
    return EXIT_USAGE;
  }
  io.out(r.text);
  return EXIT_OK;
}

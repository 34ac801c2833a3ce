// `kubewire diagram`: the cluster's topology as SVG, Graphviz DOT or Mermaid, optionally with the
// path of one traced packet drawn on it.

import { writeFileSync } from "node:fs";
import { DIAGRAM_FORMATS, type DiagramFormat, parseHost, parseTarget, renderDiagram, requestPath, ScenarioRun, tracePacket } from "../../scenario/index.js";
import { EXIT_OK, EXIT_USAGE, type Io, load, parse, UsageError } from "../io.js";

export const DIAGRAM_HELP = `Usage: kubewire diagram <scenario.yaml> [--format svg|dot|mermaid] [--out FILE] [--from SOURCE --to HOST:PORT]

Draws the topology after set-up: nodes, cni0, the pods' veths, flannel.1 tunnels, the underlay
with its gateway and external hosts, Services and their endpoints.

Options:
  --format F       svg (laid out by kubewire, no Graphviz needed), dot or mermaid; default svg
  --out FILE       write to FILE instead of stdout
  --from, --to     also trace one datagram (as kubewire trace) and draw the path of the request
  --after-traffic  run the scenario's traffic steps first (pods added or deleted by them show)
  -h, --help       this help
`;

export async function diagramCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse("diagram", argv, {
    format: { type: "string", short: "f" },
    out: { type: "string", short: "o" },
    from: { type: "string" },
    to: { type: "string" },
    "after-traffic": { type: "boolean" },
  });
  if (values.help) {
    io.out(DIAGRAM_HELP);
    return EXIT_OK;
  }
  const [file, ...rest] = positionals;
  if (!file) throw new UsageError("no scenario given", "diagram");
  if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`, "diagram");
  const format = (values.format as string | undefined) ?? "svg";
  if (!(DIAGRAM_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format ${format}: expected ${DIAGRAM_FORMATS.join(", ")}`, "diagram");
  if (Boolean(values.from) !== Boolean(values.to)) throw new UsageError("--from and --to go together", "diagram");
  const scenario = load(io, file);
  if (!scenario) return EXIT_USAGE;
  const run = new ScenarioRun(scenario);
  if (values["after-traffic"]) await run.runAllAsync();
  let path: string[] = [];
  if (values.from && values.to) {
    const from = parseHost(values.from as string);
    if (!from.ok) throw new UsageError(`--from: ${from.message}`, "diagram");
    const to = parseTarget(values.to as string);
    if (!to.ok) throw new UsageError(`--to: ${to.message}`, "diagram");
    const r = tracePacket(run, from.value, to.value);
    if (!r.ok) {
      run.finish();
      io.err(`kubewire diagram: ${r.message}\n${r.hint ? `  hint: ${r.hint}\n` : ""}`);
      return EXIT_USAGE;
    }
    path = requestPath(r.trace).map((h) => `${h.ns}/${h.dev}`);
  }
  run.finish();
  const text = renderDiagram(run.cluster, scenario.name, format as DiagramFormat, path);
  if (values.out) {
    writeFileSync(values.out as string, text);
    io.out(`wrote ${values.out}\n`);
  } else io.out(text);
  return EXIT_OK;
}

// `kubewire trace`: sends one UDP datagram after the scenario's set-up (or its traffic) and
// prints every step it takes, like ovn-trace.

import { formatPacketTrace, parseHost, parseTarget, ScenarioRun, TRACE_LEVELS, type TraceLevel, tracePacket } from "../../scenario/index.js";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Io, load, parse, UsageError } from "../io.js";

export const TRACE_HELP = `Usage: kubewire trace <scenario.yaml> --from SOURCE --to HOST:PORT[/udp] [options]

Builds the scenario's cluster, then sends one UDP datagram and prints every frame that carried
it and every decision taken on the way (route, netfilter rule, conntrack, NAT, encap/decap,
delivery or drop), for the request and for the echo's reply.

  SOURCE     a pod (NAME, NAMESPACE/NAME, pod/NAMESPACE/NAME), node/NAME or external/NAME
  HOST       an IPv4 address, a pod, svc/NAME, lb/NAME, node/NAME or external/NAME

Options:
  --level L          detailed (every event, with times), summary (a line per namespace) or
                     minimal (stable text for regression tests); default summary
  --after-traffic    run the scenario's traffic steps first
  --payload TEXT     the datagram's payload (default "kubewire-trace")
  --container NAME   the sending container, for a pod
  -h, --help         this help

Exit code: 0 delivered, 1 not delivered, 2 bad input.
`;

export async function traceCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse("trace", argv, {
    from: { type: "string" },
    to: { type: "string" },
    level: { type: "string" },
    "after-traffic": { type: "boolean" },
    payload: { type: "string" },
    container: { type: "string" },
  });
  if (values.help) {
    io.out(TRACE_HELP);
    return EXIT_OK;
  }
  const [file, ...rest] = positionals;
  if (!file) throw new UsageError("no scenario given", "trace");
  if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`, "trace");
  if (!values.from || !values.to) throw new UsageError("--from and --to are required", "trace");
  const level = (values.level as string | undefined) ?? "summary";
  if (!(TRACE_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--level ${level}: expected ${TRACE_LEVELS.join(", ")}`, "trace");
  const from = parseHost(values.from as string);
  if (!from.ok) throw new UsageError(`--from: ${from.message}`, "trace");
  const to = parseTarget(values.to as string);
  if (!to.ok) throw new UsageError(`--to: ${to.message}${to.hint ? ` (${to.hint})` : ""}`, "trace");
  const scenario = load(io, file);
  if (!scenario) return EXIT_USAGE;
  const run = new ScenarioRun(scenario);
  if (values["after-traffic"]) await run.runAllAsync();
  const r = tracePacket(run, from.value, to.value, { payload: values.payload as string | undefined, container: values.container as string | undefined });
  run.finish();
  if (!r.ok) {
    io.err(`kubewire trace: ${r.message}\n${r.hint ? `  hint: ${r.hint}\n` : ""}`);
    return EXIT_USAGE;
  }
  io.out(formatPacketTrace(r.trace, level as TraceLevel));
  return r.trace.delivery ? EXIT_OK : EXIT_FAILED;
}

// The kubewire command line: run scenarios, check them, dump a node's tables, trace one packet,
// draw the topology. main() resolves to the exit code; the bin (main.ts) sets it. Commands that run
// a scenario are asynchronous (its http steps run on Node's queues); the others answer at once.

import { readFileSync } from "node:fs";
import { nearest } from "../scenario/index.js";
import { checkCommand } from "./commands/check.js";
import { diagramCommand } from "./commands/diagram.js";
import { dumpCommand } from "./commands/dump.js";
import { examplesCommand } from "./commands/examples.js";
import { nodeCommand, peerCommandsCommand } from "./commands/node.js";
import { runCommand } from "./commands/run.js";
import { traceCommand } from "./commands/trace.js";
import { EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, type Io, processIo, UsageError } from "./io.js";

const COMMANDS: Record<string, { run: (argv: string[], io: Io) => number | Promise<number>; summary: string }> = {
  run: { run: runCommand, summary: "run a scenario: pcapng of every interface, traces, PASS/FAIL per step" },
  check: { run: checkCommand, summary: "check scenario files without running them" },
  dump: { run: dumpCommand, summary: "a node's routes, neighbours, FDB, addresses, conntrack, iptables or nft rules" },
  trace: { run: traceCommand, summary: "follow one packet through the cluster, like ovn-trace" },
  diagram: { run: diagramCommand, summary: "the topology as SVG, Graphviz DOT or Mermaid" },
  examples: { run: examplesCommand, summary: "regenerate pcaps/ from examples/ (npm start)" },
  node: { run: nodeCommand, summary: "run some of a scenario's nodes here, in real time, over a real UDP underlay" },
  "peer-commands": { run: peerCommandsCommand, summary: "the ip/bridge commands that make a Linux host one of the nodes" },
};

export const MAIN_HELP = `kubewire: a userspace, packet-level emulator of the Kubernetes network data plane.

Usage: kubewire <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(14)} ${c.summary}`)
  .join("\n")}

Run "kubewire <command> --help" for a command's options. Scenario files are described in
examples/README.md.
`;

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** Runs the command line `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    if (command === "help" && rest[0] && COMMANDS[rest[0]]) return COMMANDS[rest[0]].run(["--help"], io);
    io.out(MAIN_HELP);
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (command === "--version" || command === "-V") {
    io.out(`kubewire ${version()}\n`);
    return EXIT_OK;
  }
  const c = COMMANDS[command];
  if (!c) {
    const near = nearest(command, Object.keys(COMMANDS));
    io.err(`kubewire: unknown command "${command}"${near ? ` (did you mean "${near}"?)` : ""}\n\n${MAIN_HELP}`);
    return EXIT_USAGE;
  }
  try {
    return await c.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`kubewire ${e.command}: ${e.message}\nRun "kubewire ${e.command} --help" for usage.\n`);
      return EXIT_USAGE;
    }
    // Not the input's fault: kubewire itself failed. The stack helps whoever fixes it.
    io.err(`kubewire ${command}: internal error: ${(e as Error).message}\n${process.env.KUBEWIRE_DEBUG ? `${(e as Error).stack}\n` : "(set KUBEWIRE_DEBUG=1 for the stack)\n"}`);
    return EXIT_INTERNAL;
  }
}

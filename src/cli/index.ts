// The CLI's public surface: main() for embedding and tests, the commands and their help.
export { MAIN_HELP, main } from "./cli.js";
export { CHECK_HELP, checkCommand } from "./commands/check.js";
export { DIAGRAM_HELP, diagramCommand } from "./commands/diagram.js";
export { DUMP_HELP, dumpCommand } from "./commands/dump.js";
export { EXAMPLES_HELP, examplesCommand } from "./commands/examples.js";
export { NODE_HELP, nodeCommand, PEER_COMMANDS_HELP, peerCommandsCommand, runNodes } from "./commands/node.js";
export { RUN_HELP, runCommand, runFile, runToFiles, scenarioFiles } from "./commands/run.js";
export { TRACE_HELP, traceCommand } from "./commands/trace.js";
export { EXIT_FAILED, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, type Io, processIo, UsageError } from "./io.js";

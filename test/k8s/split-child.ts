// A kubewire process for the split-cluster tests: the `kubewire node` command as its own program
// (node --import tsx test/k8s/split-child.ts <scenario> --node … --endpoint … --control).
import { nodeCommand } from "../../src/cli/commands/node.js";
import { processIo } from "../../src/cli/io.js";

process.exitCode = nodeCommand(process.argv.slice(2), processIo);

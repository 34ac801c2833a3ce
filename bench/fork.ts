// The child side of the harness's runPairs: `fork.ts <file> <suite>` imports bench/<file>.bench.ts,
// times the pair of its exported `pairs` named by the suite, and sends the result to the parent.
// Not a bench file itself (run.ts runs *.bench.ts only).

import { type FloorPair, runPairHere } from "./harness.js";

const [file, suite] = process.argv.slice(2);
const mod = (await import(new URL(`./${file}.bench.ts`, import.meta.url).href)) as { pairs?: FloorPair[] };
const pair = mod.pairs?.find((p) => p.suite === suite);
if (!pair) throw new Error(`bench/${file}.bench.ts exports no pair "${suite}" in \`pairs\``);
if (!process.send) throw new Error("bench/fork.ts runs as a child of the harness (runPairs), with an IPC channel");
const result = await runPairHere(file, pair);
// Exit once the result is sent: a case may leave handles open (files, sockets) that would keep the child alive.
process.send(result, () => process.exit(0));

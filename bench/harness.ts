// Figure-versus-floor benchmarks on benny. Every figure is timed beside its floor (the least the
// same work could cost: a bare copy, a bare loop) in the same run, so the ratio survives a noisy
// or slower machine. benchmark.js times whole calls, so each case runs `ops` operations per call
// and ns/op is the call's median time divided by `ops`: per-call overhead vanishes at ~20 ns.
//
// Each pair runs in a process of its own, as JMH forks one JVM per benchmark: the parent starts
// bench/fork.ts with the same node and loader (tsx) and the bench file's name and the pair's
// suite; the child imports that bench file, takes the pair from its exported `pairs`, times it and
// sends the result back. In one process, a function shared by two suites (a floor, vxlanEncap)
// carries both suites' type feedback into the second, so figures depended on suite order. In its
// own process, each case's `make` runs once and benny gets that one closure: benny calls the
// function it is given three times (and times the third), and three closures of one function cost
// V8 its specialisation to the closure's context (the VXLAN template floor ran 12.9 ns that way,
// 7.9 ns in a process of its own, in the same minutes).

import { fork } from "node:child_process";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import b from "benny";

/** One timed case: `make()` sets up and returns the function that performs `ops` operations. */
export interface BenchCase {
  name: string;
  ops: number;
  make: () => () => void;
}

/** A figure and its floor; `target` is the figure's budget in ns/op, when there is one. */
export interface FloorPair {
  suite: string;
  figure: BenchCase;
  floor: BenchCase;
  target?: number;
}

export interface PairResult {
  suite: string;
  figure: string;
  floor: string;
  figureNs: number;
  floorNs: number;
  ratio: number;
  figureRme: number;
  floorRme: number;
  target?: number;
}

export const RESULTS_DIR = fileURLToPath(new URL("./results/", import.meta.url));

/** Options for benchmark.js: enough samples for a stable median without a long run. */
const CASE_OPTIONS = { minTime: 1, maxTime: 3, minSamples: 10 };
/**
 * Rounds per pair (BENCH_ROUNDS, default 2): figure and floor alternate, and each keeps its best
 * round, so a neighbour's burst of CPU lands on one round rather than on one side of the ratio.
 */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2) || 2);

type CaseStats = { details: { median: number; relativeMarginOfError: number } };

/** The child side of runPairs (bench/fork.ts). */
const FORK_ENTRY = fileURLToPath(new URL("./fork.ts", import.meta.url));

/**
 * Runs each pair in a child process of its own (bench/fork.ts), one after the other, and returns
 * ns/op (the median sample, per operation) and the ratio figure/floor. `file` names the bench
 * file (bench/<file>.bench.ts), which must export the pairs as `pairs`.
 */
export async function runPairs(file: string, pairs: FloorPair[]): Promise<PairResult[]> {
  const out: PairResult[] = [];
  for (const p of pairs) out.push(await forkPair(file, p.suite));
  return out;
}

/** Starts bench/fork.ts for one pair with this process's node and flags (tsx's loader) and waits for its result. */
function forkPair(file: string, suite: string): Promise<PairResult> {
  return new Promise((resolve, reject) => {
    let result: PairResult | undefined;
    const child = fork(FORK_ENTRY, [file, suite], { execArgv: process.execArgv, stdio: ["inherit", "inherit", "inherit", "ipc"] });
    child.on("message", (m) => {
      result = m as PairResult;
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (result && code === 0) resolve(result);
      else reject(new Error(`bench ${file}: "${suite}" exited with ${signal ?? `code ${code}`}${result ? "" : " before its result"}`));
    });
  });
}

/**
 * Times one pair in this process (the child's job): each case's `make` runs once and benny gets
 * its closure in every round; raw results of each round are saved as JSON.
 */
export async function runPairHere(file: string, p: FloorPair): Promise<PairResult> {
  const figure = p.figure.make();
  const floor = p.floor.make();
  let fig: CaseStats | undefined;
  let flo: CaseStats | undefined;
  for (let round = 1; round <= ROUNDS; round++) {
    const slug = `${file}.${p.suite.replace(/[^a-z0-9]+/gi, "-").replace(/-$/, "")}`;
    const summary = await b.suite(
      `${file}: ${p.suite} (round ${round}/${ROUNDS})`,
      b.configure({ cases: CASE_OPTIONS }),
      b.add(p.figure.name, () => figure),
      b.add(p.floor.name, () => floor),
      b.cycle(),
      b.save({ file: ROUNDS === 1 ? slug : `${slug}.round${round}`, folder: RESULTS_DIR, details: true, format: "json" }),
    );
    const [f, l] = summary.results as unknown as CaseStats[];
    if (!fig || f.details.median < fig.details.median) fig = f;
    if (!flo || l.details.median < flo.details.median) flo = l;
  }
  const figureNs = (fig!.details.median * 1e9) / p.figure.ops;
  const floorNs = (flo!.details.median * 1e9) / p.floor.ops;
  return {
    suite: p.suite,
    figure: p.figure.name,
    floor: p.floor.name,
    figureNs,
    floorNs,
    ratio: figureNs / floorNs,
    figureRme: fig!.details.relativeMarginOfError,
    floorRme: flo!.details.relativeMarginOfError,
    target: p.target,
  };
}

/** The machine, for the saved results. */
export const environment = () => ({
  node: process.version,
  cpu: cpus()[0]?.model ?? "unknown",
  cpus: cpus().length,
  date: new Date().toISOString(),
});

/** A small table: suite, figure ns/op, floor ns/op, ratio, target. */
export function printTable(rows: PairResult[]): void {
  const f = (n: number) => n.toFixed(1).padStart(8);
  console.log(`\n${"suite".padEnd(34)} ${"ns/op".padStart(8)} ${"floor".padStart(8)} ${"ratio".padStart(6)}  target`);
  for (const r of rows) {
    const target = r.target === undefined ? "" : `≤ ${r.target} ns ${r.figureNs <= r.target ? "ok" : "MISSED"}`;
    console.log(`${r.suite.padEnd(34)} ${f(r.figureNs)} ${f(r.floorNs)} ${r.ratio.toFixed(2).padStart(6)}  ${target}`);
  }
}

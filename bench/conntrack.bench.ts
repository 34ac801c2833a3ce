// Conntrack lookup hit at 10k, 100k and 1M entries, each beside its floor: one open-addressing
// probe into a bare Int32Array of the same size as the table's index, at a precomputed hash
// (the cache miss any hash table pays, and nothing else). Queries walk a shuffled set of the
// table's tuples, both directions, so the access pattern is a real one: random across the table.
// Runnable alone: `npx tsx bench/conntrack.bench.ts [10k|100k|1M]`.

import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { ConntrackTable, hashTuple, Tuple } from "../src/netfilter/index.js";
import { environment, type FloorPair, printTable, RESULTS_DIR, runPairs } from "./harness.js";

/** Lookups per timed call. */
const N = 100_000;
/** Distinct queries cycled through (a power of two). */
const Q = 1 << 16;
/** Where results land, so a JIT cannot discard the work. */
export const sink = { value: 0 };

interface Loaded {
  table: ConntrackTable;
  qs: Int32Array;
  qd: Int32Array;
  qp: Int32Array;
  qh: Int32Array;
}

/** A table of `n` UDP entries (client → Service DNATed to an endpoint) and Q queries that hit. */
function load(n: number): Loaded {
  const table = new ConntrackTable(n, 0x5eed);
  table.reserve(n);
  const o = new Tuple();
  const r = new Tuple();
  const tuple = (i: number, dir: number, t: Tuple): Tuple => {
    if (dir === 0) Object.assign(t, { saddr: (0x0a000000 + i) >>> 0, daddr: 0x0a600000 + (i % 4096), sport: 1024 + ((i * 7) % 60000), dport: 53, proto: 17 });
    else Object.assign(t, { saddr: 0x0af40000 + (i % 65536), daddr: (0x0a000000 + i) >>> 0, sport: 53, dport: 1024 + ((i * 7) % 60000), proto: 17 });
    return t;
  };
  for (let i = 0; i < n; i++) {
    const s = table.alloc();
    table.setTuple(s, 0, tuple(i, 0, o));
    table.setTuple(s, 1, tuple(i, 1, r));
    table.link(s);
  }
  const qs = new Int32Array(Q);
  const qd = new Int32Array(Q);
  const qp = new Int32Array(Q);
  const qh = new Int32Array(Q);
  let x = 0x9e3779b9;
  for (let j = 0; j < Q; j++) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + j) | 0;
    tuple((x >>> 0) % n, j & 1, o);
    qs[j] = o.saddr;
    qd[j] = o.daddr;
    qp[j] = o.ports;
    qh[j] = hashTuple(table.seed, o.saddr | 0, o.daddr | 0, o.ports, 17);
    if (table.findTuple(o) < 0) throw new Error("bench setup: a query misses");
  }
  return { table, qs, qd, qp, qh };
}

function pair(label: string, n: number, target?: number): FloorPair {
  let loaded: Loaded | null = null;
  const get = () => (loaded ??= load(n));
  return {
    suite: `conntrack lookup hit, ${label} entries`,
    target,
    figure: {
      name: "ConntrackTable.find",
      ops: N,
      make: () => {
        const { table, qs, qd, qp } = get();
        return () => {
          let acc = 0;
          for (let i = 0, j = 0; i < N; i++, j = (j + 1) & (Q - 1)) acc ^= table.find(qs[j], qd[j], qp[j], 17);
          sink.value ^= acc;
        };
      },
    },
    floor: {
      name: "one probe, bare Int32Array, hash given",
      ops: N,
      make: () => {
        const { table, qh } = get();
        // The same size as the table's index: [hash, ref] pairs.
        const size = table.indexSize;
        const arr = new Int32Array(size * 2);
        for (let i = 0; i < arr.length; i++) arr[i] = i;
        const mask = size - 1;
        return () => {
          let acc = 0;
          for (let i = 0, j = 0; i < N; i++, j = (j + 1) & (Q - 1)) acc ^= arr[2 * (qh[j] & mask) + 1];
          sink.value ^= acc;
        };
      },
    },
  };
}

export const pairs: FloorPair[] = [pair("10k", 10_000), pair("100k", 100_000, 50), pair("1M", 1_000_000)];

/** Runs the pairs whose suite name contains one of `filters` (all when none, or when "conntrack" is given). */
export default async function run(filters: string[] = []): Promise<void> {
  const all = filters.length === 0 || filters.includes("conntrack");
  const selected = pairs.filter((p) => all || filters.some((f) => p.suite.includes(` ${f} `)));
  if (selected.length === 0) return;
  const rows = await runPairs("conntrack", selected);
  printTable(rows);
  writeFileSync(`${RESULTS_DIR}conntrack.json`, `${JSON.stringify({ ...environment(), results: rows }, null, 2)}\n`);
  console.log(`\nSaved to: ${RESULTS_DIR}conntrack.json`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await run(process.argv.slice(2));

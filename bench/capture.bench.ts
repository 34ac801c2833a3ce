// pcapng write throughput of 64-byte packets, beside its floor: a bare copy of the packet and a
// 32-byte header (the EPB's size) into a staging buffer of the same size, with the same writeSync
// calls. Once to a file in os.tmpdir() (the figure that matters), once to /dev/null (encoding alone).

import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DEFAULT_BUFFER_SIZE, PcapngWriter } from "../src/capture/index.js";
import { environment, type FloorPair, type PairResult, printTable, RESULTS_DIR, runPairs } from "./harness.js";

/** Packets per timed call. */
const N = 10_000;
const FRAME_LEN = 64;
/** EPB header (28 bytes) plus trailer (4): what the floor copies beside each frame. */
const EPB_OVERHEAD = 32;
/** The target: 2 million packets/s to a file. */
const TARGET_NS = 500;
/** A file is cut back to empty past this size, so a long run does not fill the disk. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

const frame = new Uint8Array(FRAME_LEN).map((_, i) => i);
const open: number[] = [];
let dir = "";

/** A target opened for appending, so cutting it back to empty restarts it at offset 0. */
function openTarget(where: "file" | "null", name: string): number {
  if (where === "null") return openSync("/dev/null", "w");
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), "kubewire-bench-"));
    // The harness's child process exits after its pair, without run()'s cleanup.
    const made = dir;
    process.once("exit", () => rmSync(made, { recursive: true, force: true }));
  }
  const fd = openSync(join(dir, name), "a");
  open.push(fd);
  return fd;
}

function writerCase(where: "file" | "null"): FloorPair["figure"] {
  return {
    name: `PcapngWriter.writePacket (${FRAME_LEN} B)`,
    ops: N,
    make: () => {
      const fd = openTarget(where, "writer.pcapng");
      const w = new PcapngWriter(fd);
      const ifId = w.addInterface({ name: "node-1/eth0" });
      let t = 0;
      let cut = MAX_FILE_BYTES;
      return () => {
        for (let i = 0; i < N; i++) w.writePacket(ifId, (t += 1000), frame);
        if (where === "file" && w.bytesWritten > cut) {
          ftruncateSync(fd, 0);
          cut = w.bytesWritten + MAX_FILE_BYTES;
        }
      };
    },
  };
}

function floorCase(where: "file" | "null"): FloorPair["floor"] {
  return {
    name: `copy ${FRAME_LEN} B + ${EPB_OVERHEAD} B header, same writeSync`,
    ops: N,
    make: () => {
      const fd = openTarget(where, "floor.bin");
      const stage = Buffer.allocUnsafe(DEFAULT_BUFFER_SIZE);
      const view = new DataView(stage.buffer, stage.byteOffset, stage.byteLength);
      let pos = 0;
      let written = 0;
      return () => {
        for (let i = 0; i < N; i++) {
          if (pos + EPB_OVERHEAD + FRAME_LEN > stage.length) {
            let off = 0;
            while (off < pos) off += writeSync(fd, stage, off, pos - off);
            written += pos;
            pos = 0;
          }
          // The header as eight constant words: the cheapest 32 bytes there are.
          for (let k = 0; k < EPB_OVERHEAD; k += 4) view.setUint32(pos + k, 6, true);
          stage.set(frame, pos + EPB_OVERHEAD);
          pos += EPB_OVERHEAD + FRAME_LEN;
        }
        if (where === "file" && written > MAX_FILE_BYTES) {
          ftruncateSync(fd, 0);
          written = 0;
        }
      };
    },
  };
}

export const pairs: FloorPair[] = [
  { suite: "pcapng write 64 B to a file", target: TARGET_NS, figure: writerCase("file"), floor: floorCase("file") },
  { suite: "pcapng write 64 B to /dev/null", figure: writerCase("null"), floor: floorCase("null") },
];

/** Runs the pairs whose suite name contains one of `filters` (all when none, or when "capture" is given). */
export default async function run(filters: string[] = []): Promise<PairResult[]> {
  const all = filters.length === 0 || filters.includes("capture");
  const selected = pairs.filter((p) => all || filters.some((f) => p.suite.includes(f)));
  if (selected.length === 0) return [];
  let rows: PairResult[];
  try {
    rows = await runPairs("capture", selected);
  } finally {
    for (const fd of open.splice(0)) closeSync(fd);
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = "";
  }
  printTable(rows);
  for (const r of rows)
    console.log(`${r.suite}: ${(1e3 / r.figureNs).toFixed(2)} M packets/s (${r.figureNs.toFixed(1)} ns/packet), floor ${(1e3 / r.floorNs).toFixed(2)} M packets/s, ratio ${r.ratio.toFixed(2)}`);
  writeFileSync(`${RESULTS_DIR}capture.json`, `${JSON.stringify({ ...environment(), results: rows }, null, 2)}\n`);
  console.log(`\nSaved to: ${RESULTS_DIR}capture.json`);
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await run([]);

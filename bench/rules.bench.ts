// First-packet rule matching with 100, 1k and 10k services, each one KUBE-SERVICES rule
// `-d VIP/32 -p udp -m udp --dport P -j KUBE-SVC-…` (whose chain DNATs to an endpoint): the
// iptables walk (linear: ipt_do_table's rule-by-rule scan, ~n/2 rules per packet to a random
// service) and map dispatch (one verdict-map lookup, nftables-style), each beside its floor in
// the same run: for linear, a bare loop comparing two Uint32Array fields per rule over the same
// rules; for the map, one Map.get on a number key.

import { writeFileSync } from "node:fs";
import { EthDevice, Hook, NetNamespace, Verdict } from "../src/net/index.js";
import { IptablesEngine, type NatApi } from "../src/netfilter/index.js";
import type { NfContext } from "../src/netfilter/types.js";
import { buildUdp, PacketPool } from "../src/packet/index.js";
import { Rng, Sim } from "../src/sim/index.js";
import { formatIpv4 } from "../src/wire/index.js";
import { environment, type FloorPair, type PairResult, printTable, RESULTS_DIR, runPairs } from "./harness.js";

/** Where results land, so a JIT cannot discard the work. */
export const sink = { value: 0 };

const SIZES = [100, 1000, 10_000];
/** Distinct packets cycled through (random services, the same sequence for figure and floor). */
const PACKETS = 1024;
const pool = new PacketPool();
const noNat: NatApi = { setupNat: () => Verdict.Accept };

interface Services {
  vips: Uint32Array;
  ports: Uint32Array;
  rules: string;
}

/** n services: VIPs from 10.96.0.0/16 upwards, ports 1..50000, one endpoint each. */
function services(n: number): Services {
  const vips = new Uint32Array(n);
  const ports = new Uint32Array(n);
  const lines = ["*nat", ":KUBE-SERVICES - [0:0]"];
  for (let i = 0; i < n; i++) lines.push(`:KUBE-SVC-${i.toString(36).toUpperCase().padStart(16, "0")} - [0:0]`);
  lines.push("-A PREROUTING -j KUBE-SERVICES");
  for (let i = 0; i < n; i++) {
    vips[i] = (0x0a600000 + i * 7 + 1) >>> 0;
    ports[i] = 1 + ((i * 131) % 50000);
    const chain = `KUBE-SVC-${i.toString(36).toUpperCase().padStart(16, "0")}`;
    lines.push(`-A KUBE-SERVICES -d ${formatIpv4(vips[i])}/32 -p udp -m comment --comment "ns/svc-${i}:dns cluster IP" -m udp --dport ${ports[i]} -j ${chain}`);
    lines.push(`-A ${chain} -p udp -j DNAT --to-destination 10.244.${(i >> 8) & 0xff}.${i & 0xff}:53`);
  }
  lines.push("COMMIT", "");
  return { vips, ports, rules: lines.join("\n") };
}

interface Workload {
  svc: Services;
  /** One packet, rewritten per iteration to the next service's address and port (it stays hot in cache, as a packet just received does). */
  ctx: NfContext;
  dsts: Uint32Array;
  dports: Uint32Array;
  /** Service index of each packet. */
  which: Uint32Array;
  /** Mean rules scanned in KUBE-SERVICES per packet (index + 1). */
  meanScan: number;
}

function workload(n: number): Workload {
  const svc = services(n);
  const sim = new Sim({ seed: 1 });
  const ns = new NetNamespace(sim, "node");
  const eth0 = new EthDevice(ns, "eth0");
  ns.addAddress(eth0, "192.168.0.10/24");
  const rng = new Rng(n);
  const which = new Uint32Array(PACKETS);
  let scanned = 0;
  for (let i = 0; i < PACKETS; i++) {
    const s = rng.int(n);
    which[i] = s;
    scanned += s + 1;
  }
  const pkt = buildUdp(pool, { eth: { src: 1, dst: 2 }, ip: { src: 0x0af40109, dst: svc.vips[0] }, udp: { srcPort: 40000, dstPort: svc.ports[0] }, payload: new Uint8Array(32) });
  const ctx: NfContext = { ns, hook: Hook.PreRouting, pkt, indev: eth0, outdev: null, bridged: false, ctstate: 8 };
  const dsts = Uint32Array.from(which, (s) => svc.vips[s]);
  const dports = Uint32Array.from(which, (s) => svc.ports[s]);
  return { svc, ctx, dsts, dports, which, meanScan: scanned / PACKETS };
}

const workloads = new Map<number, Workload>();
const load = (n: number): Workload => {
  let w = workloads.get(n);
  if (w === undefined) workloads.set(n, (w = workload(n)));
  return w;
};

/** `ops` packets through the nat table: the packet's daddr and dport are set to the next service's first. */
function runner(e: IptablesEngine, w: Workload, ops: number): () => void {
  const { ctx, dsts, dports } = w;
  const b = ctx.pkt.buf;
  const l3 = ctx.pkt.l3;
  const l4 = ctx.pkt.l4;
  let k = 0;
  return () => {
    let acc = 0;
    for (let i = 0; i < ops; i++) {
      const d = dsts[k];
      b[l3 + 16] = d >>> 24;
      b[l3 + 17] = (d >>> 16) & 0xff;
      b[l3 + 18] = (d >>> 8) & 0xff;
      b[l3 + 19] = d & 0xff;
      b[l4 + 2] = dports[k] >>> 8;
      b[l4 + 3] = dports[k] & 0xff;
      acc += e.run("nat", ctx);
      k = (k + 1) & (PACKETS - 1);
    }
    sink.value ^= acc;
  };
}

/** Packets per timed call: about a millisecond of work each. */
const linearOps = (n: number) => Math.max(50, Math.round(2_000_000 / n));
const MAP_OPS = 10_000;

function linearPair(n: number): FloorPair {
  const ops = linearOps(n);
  return {
    suite: `rules linear ${n} services`,
    figure: {
      name: "IptablesEngine.run (linear)",
      ops,
      make: () => {
        const w = load(n);
        const e = new IptablesEngine({ rules: w.svc.rules, nat: noNat });
        return runner(e, w, ops);
      },
    },
    floor: {
      name: "bare loop: 2 Uint32Array compares per rule",
      ops,
      make: () => {
        const w = load(n);
        const { vips, ports } = w.svc;
        const { dsts, dports } = w;
        let k = 0;
        return () => {
          let acc = 0;
          for (let i = 0; i < ops; i++) {
            const d = dsts[k];
            const p = dports[k];
            let j = 0;
            while (j < n && !(vips[j] === d && ports[j] === p)) j++;
            acc += j;
            k = (k + 1) & (PACKETS - 1);
          }
          sink.value ^= acc;
        };
      },
    },
  };
}

function mapPair(n: number): FloorPair {
  return {
    suite: `rules map ${n} services`,
    target: 150,
    figure: {
      name: "IptablesEngine.run (map dispatch)",
      ops: MAP_OPS,
      make: () => {
        const w = load(n);
        const e = new IptablesEngine({ rules: w.svc.rules, nat: noNat, dispatch: "map" });
        return runner(e, w, MAP_OPS);
      },
    },
    floor: {
      name: "one Map.get on a number key",
      ops: MAP_OPS,
      make: () => {
        const w = load(n);
        const m = new Map<number, number>();
        for (let i = 0; i < n; i++) m.set((w.svc.vips[i] ^ (w.svc.ports[i] << 16)) | 0, i);
        const keys = Int32Array.from(w.which, (s) => (w.svc.vips[s] ^ (w.svc.ports[s] << 16)) | 0);
        let k = 0;
        return () => {
          let acc = 0;
          for (let i = 0; i < MAP_OPS; i++) {
            acc += m.get(keys[k]) ?? 0;
            k = (k + 1) & (PACKETS - 1);
          }
          sink.value ^= acc;
        };
      },
    },
  };
}

export const pairs: FloorPair[] = [...SIZES.map(linearPair), ...SIZES.map(mapPair)];

/** Runs the pairs whose suite name contains one of `filters` (all when none, or when "rules" is given). */
export default async function run(filters: string[] = []): Promise<void> {
  const all = filters.length === 0 || filters.includes("rules");
  const selected = pairs.filter((p) => all || filters.some((f) => p.suite.includes(f)));
  if (selected.length === 0) return;
  const rows = await runPairs("rules", selected);
  printTable(rows);
  const perRule = rows
    .filter((r) => r.suite.startsWith("rules linear"))
    .map((r) => {
      const n = Number(/(\d+) services/.exec(r.suite)![1]);
      const scan = load(n).meanScan;
      return { suite: r.suite, meanRulesScanned: scan, nsPerRule: r.figureNs / scan, floorNsPerRule: r.floorNs / scan };
    });
  console.log(`\n${"linear, per rule scanned".padEnd(34)} ${"rules".padStart(8)} ${"ns/rule".padStart(8)} ${"floor".padStart(8)}`);
  for (const p of perRule) console.log(`${p.suite.padEnd(34)} ${p.meanRulesScanned.toFixed(0).padStart(8)} ${p.nsPerRule.toFixed(2).padStart(8)} ${p.floorNsPerRule.toFixed(2).padStart(8)}`);
  const mapRows = rows.filter((r) => r.suite.startsWith("rules map"));
  const flat = mapRows.length > 1 ? mapRows[mapRows.length - 1].figureNs / mapRows[0].figureNs : undefined;
  if (flat !== undefined) console.log(`\nmap dispatch ${SIZES[SIZES.length - 1]} vs ${SIZES[0]} services: ×${flat.toFixed(2)} (flat is ×1)`);
  writeFileSync(`${RESULTS_DIR}rules.json`, `${JSON.stringify({ ...environment(), results: rows, linearPerRule: perRule, mapFlatness: flat } satisfies Record<string, unknown> & { results: PairResult[] }, null, 2)}\n`);
  console.log(`\nSaved to: ${RESULTS_DIR}rules.json`);
}

if (import.meta.url === `file://${process.argv[1]}`) await run(process.argv.slice(2));

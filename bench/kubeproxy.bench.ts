// kube-proxy on one node: (1) a full rule sync for 1k and 10k Services × 10 endpoints in each mode,
// timed, with its peak heap and the memory it keeps, beside a floor (writing the same text from ready-made lines
// and cutting it back into words: the bytes a sync cannot avoid); (2) a first packet's Service
// lookup through kube-proxy's nat rules as Services grow: iptables mode walks KUBE-SERVICES
// (linear), nftables mode dispatches through a verdict map (flat), each beside its floor.

import { writeFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  type EndpointSlice,
  IptablesProxier,
  iptablesJumpsText,
  nftablesRuleset,
  nftListRuleset,
  type ProxierConfig,
  type ProxyService,
  type Service,
  snapshot,
} from "../src/k8s/index.js";
import { EthDevice, Hook, NetNamespace, Verdict } from "../src/net/index.js";
import { IptablesEngine, type NatApi, type NfContext } from "../src/netfilter/index.js";
import { buildUdp, PacketPool } from "../src/packet/index.js";
import { Rng, Sim } from "../src/sim/index.js";
import { environment, type FloorPair, type PairResult, printTable, RESULTS_DIR, runPairs } from "./harness.js";

export const sink = { value: 0 };
const SOURCE = { file: "bench", doc: 1, line: 1, col: 1 };
const ENDPOINTS = 10;
const CFG: ProxierConfig = { nodeName: "node-1", nodeIPs: ["192.168.0.10"], localDetector: { mode: "ClusterCIDR", cidr: "10.128.0.0/9" } };

/** n UDP Services (ClusterIPs from 10.96.0.1 up, port 53 → 5353), ENDPOINTS endpoints each, half on this node. */
function cluster(n: number): { services: ProxyService[]; slices: EndpointSlice[]; vips: Uint32Array } {
  const services: ProxyService[] = [];
  const slices: EndpointSlice[] = [];
  const vips = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const name = `svc-${i}`;
    vips[i] = (0x0a600001 + i) >>> 0;
    const svc: Service = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: "bench", labels: {}, annotations: {} },
      source: SOURCE,
      spec: {
        type: "ClusterIP",
        clusterIPs: [],
        ports: [{ name: "dns", port: 53, protocol: "UDP", targetPort: 5353 }],
        sessionAffinity: "None",
        internalTrafficPolicy: "Cluster",
        externalIPs: [],
        loadBalancerSourceRanges: [],
        publishNotReadyAddresses: false,
      },
      loadBalancerIngress: [],
    };
    services.push({ svc, clusterIP: `${vips[i] >>> 24}.${(vips[i] >>> 16) & 255}.${(vips[i] >>> 8) & 255}.${vips[i] & 255}` });
    const endpoints = Array.from({ length: ENDPOINTS }, (_, j) => {
      const a = 0x0a800000 + i * ENDPOINTS + j;
      return {
        addresses: [`${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`],
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: j % 2 === 0 ? "node-1" : "node-2",
      };
    });
    slices.push({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: `${name}-abcde`, namespace: "bench", labels: { "kubernetes.io/service-name": name }, annotations: {} },
      source: SOURCE,
      addressType: "IPv4",
      serviceName: name,
      endpoints,
      ports: [{ name: "dns", port: 5353, protocol: "UDP" }],
    });
  }
  return { services, slices, vips };
}

const clusters = new Map<number, ReturnType<typeof cluster>>();
/** The bench's cluster of n Services (shared with the other kube-proxy measurements). */
export const clusterForBench = (n: number) => load(n);
const load = (n: number) => {
  let c = clusters.get(n);
  if (c === undefined) clusters.set(n, (c = cluster(n)));
  return c;
};

const now = () => Number(process.hrtime.bigint());

/** The heap in use now (no collection first): sampled at each phase's end for the peak of a sync. */
const heapNow = (): number => process.memoryUsage().heapUsed;

/**
 * A node as kube-proxy leaves it after its first sync: its proxier and engine (and, in nftables
 * mode, its table text), with the time of each phase and the most heap in use at a phase's end.
 */
function syncNode(n: number, mode: "iptables" | "nftables") {
  const { services, slices } = load(n);
  const cfg: ProxierConfig = mode === "nftables" ? { ...CFG, nodePortAddresses: "primary" } : CFG;
  const t0 = now();
  const proxier = new IptablesProxier(cfg);
  const engine = new IptablesEngine({ dispatch: mode === "nftables" ? "map" : "linear", nat: noNat });
  engine.restore(iptablesJumpsText(), { noflush: true });
  const s = snapshot(services, slices, cfg.nodeName);
  const r = proxier.syncSnapshot(s);
  const t1 = now();
  let peak = heapNow();
  engine.restore(r.text, { noflush: true, counters: true });
  const t2 = now();
  peak = Math.max(peak, heapNow());
  const nft = mode === "nftables" ? nftListRuleset(nftablesRuleset(cfg, s.ports, s.endpoints, proxier.names)) : "";
  const t3 = now();
  peak = Math.max(peak, heapNow());
  // A resync with nothing changed: a partial sync (the top-level chains only).
  const again = proxier.syncSnapshot(snapshot(services, slices, cfg.nodeName));
  engine.restore(again.text, { noflush: true, counters: true });
  const t4 = now();
  return { proxier, engine, text: r.text, nft, peak, phases: { write: t1 - t0, restore: t2 - t1, nft: t3 - t2, resync: t4 - t3, total: t3 - t0 } };
}

/** The floor of a sync: the same lines joined into the same text, cut back into lines and words. */
function floorOf(text: string): () => void {
  const lines = text.split("\n");
  return () => {
    const t = lines.join("\n");
    let words = 0;
    for (const l of t.split("\n")) words += l.split(" ").length;
    sink.value ^= words;
  };
}

let gc: (() => void) | null = null;
function heapUsed(): number {
  if (gc === null) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const SYNC_RUNS = Math.max(3, Number(process.env.BENCH_SYNC_RUNS ?? 5) || 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

type SyncRow = PairResult & { retainedMB: number; peakMB: number; lines: number; phasesMs: Record<string, number> };

/** A sync is seconds of work: timed as the median of alternating runs of figure and floor, not through benny. */
function syncRow(n: number, mode: "iptables" | "nftables"): SyncRow {
  const runs: ReturnType<typeof syncNode>["phases"][] = [];
  const flo: number[] = [];
  const sample = syncNode(n, mode);
  const floor = floorOf(sample.text + sample.nft);
  for (let i = 0; i < SYNC_RUNS; i++) {
    const r = syncNode(n, mode);
    sink.value ^= r.text.length;
    runs.push(r.phases);
    const t = now();
    floor();
    flo.push(now() - t);
  }
  const before = heapUsed();
  const kept = syncNode(n, mode);
  const retainedMB = (heapUsed() - before) / 2 ** 20;
  const peakMB = (kept.peak - before) / 2 ** 20;
  sink.value ^= kept.text.length;
  const figureNs = median(runs.map((r) => r.total));
  const floorNs = median(flo);
  const phasesMs = Object.fromEntries(Object.keys(runs[0]).map((k) => [k, median(runs.map((r) => r[k as keyof typeof r])) / 1e6]));
  return {
    suite: `sync ${mode} ${n / 1000}k×${ENDPOINTS}`,
    figure: mode === "iptables" ? "rules written + iptables-restore (linear)" : "rules + restore (map dispatch) + nft table",
    floor: "same text joined and split into words",
    figureNs,
    floorNs,
    ratio: figureNs / floorNs,
    figureRme: 0,
    floorRme: 0,
    target: n === 10_000 ? 1e9 : undefined,
    retainedMB,
    peakMB,
    lines: sample.text.split("\n").length,
    phasesMs,
  };
}

// ---- first-packet lookup ----

const SIZES = [100, 1000, 10_000];
const PACKETS = 1024;
const pool = new PacketPool();
const noNat: NatApi = { setupNat: () => Verdict.Accept };

interface Workload {
  ctx: NfContext;
  dsts: Uint32Array;
  which: Uint32Array;
}

/** Packets to random Services ("random": cold caches, as a busy node sees), or all to the last Service ("last": the end of KUBE-SERVICES). */
type Pattern = "random" | "last";

function workload(n: number, pattern: Pattern): Workload {
  const sim = new Sim({ seed: 1 });
  const ns = new NetNamespace(sim, "node-1");
  const eth0 = new EthDevice(ns, "eth0");
  ns.addAddress(eth0, "192.168.0.10/24");
  const { vips } = load(n);
  const rng = new Rng(n);
  const which = Uint32Array.from({ length: PACKETS }, () => (pattern === "random" ? rng.int(n) : n - 1));
  const pkt = buildUdp(pool, { eth: { src: 1, dst: 2 }, ip: { src: 0x0a800909, dst: vips[0] }, udp: { srcPort: 40000, dstPort: 53 }, payload: new Uint8Array(32) });
  const ctx: NfContext = { ns, hook: Hook.PreRouting, pkt, indev: eth0, outdev: null, bridged: false, ctstate: 8 };
  return { ctx, dsts: Uint32Array.from(which, (s) => vips[s]), which };
}

/** `ops` first packets through the nat table's PREROUTING, each to the next random Service. */
function runner(e: IptablesEngine, w: Workload, ops: number): () => void {
  const { ctx, dsts } = w;
  const b = ctx.pkt.buf;
  const l3 = ctx.pkt.l3;
  let k = 0;
  return () => {
    let acc = 0;
    for (let i = 0; i < ops; i++) {
      const d = dsts[k];
      b[l3 + 16] = d >>> 24;
      b[l3 + 17] = (d >>> 16) & 0xff;
      b[l3 + 18] = (d >>> 8) & 0xff;
      b[l3 + 19] = d & 0xff;
      acc += e.run("nat", ctx);
      k = (k + 1) & (PACKETS - 1);
    }
    sink.value ^= acc;
  };
}

const lookupOps = (n: number, mode: "iptables" | "nftables") => (mode === "nftables" ? 5000 : Math.max(20, Math.round(1_000_000 / n)));

function lookupPair(n: number, mode: "iptables" | "nftables", pattern: Pattern): FloorPair {
  const ops = lookupOps(n, mode);
  return {
    suite: `first packet ${mode} ${pattern} ${n} svc`,
    figure: {
      name: mode === "iptables" ? "KUBE-SERVICES walk → SVC → SEP (DNAT)" : "verdict map → SVC → SEP (DNAT)",
      ops,
      make: () => runner(syncNode(n, mode).engine, workload(n, pattern), ops),
    },
    floor:
      mode === "iptables"
        ? {
            name: "bare loop over the VIPs (one compare each)",
            ops,
            make: () => {
              const { vips } = load(n);
              const { dsts } = workload(n, pattern);
              let k = 0;
              return () => {
                let acc = 0;
                for (let i = 0; i < ops; i++) {
                  const d = dsts[k];
                  let j = 0;
                  while (j < n && vips[j] !== d) j++;
                  acc += j;
                  k = (k + 1) & (PACKETS - 1);
                }
                sink.value ^= acc;
              };
            },
          }
        : {
            name: "one Map.get on the VIP",
            ops,
            make: () => {
              const { vips } = load(n);
              const m = new Map<number, number>();
              for (let i = 0; i < n; i++) m.set(vips[i] | 0, i);
              const keys = Int32Array.from(workload(n, pattern).dsts, (d) => d | 0);
              let k = 0;
              return () => {
                let acc = 0;
                for (let i = 0; i < ops; i++) {
                  acc += m.get(keys[k]) ?? 0;
                  k = (k + 1) & (PACKETS - 1);
                }
                sink.value ^= acc;
              };
            },
          },
  };
}

export const pairs: FloorPair[] = (["random", "last"] as const).flatMap((pattern) =>
  (["iptables", "nftables"] as const).flatMap((mode) => SIZES.map((n) => lookupPair(n, mode, pattern))),
);

/** Runs the suites whose name contains one of `filters` (all when none). */
export default async function run(filters: string[] = []): Promise<void> {
  const want = (suite: string) => filters.length === 0 || filters.includes("kubeproxy") || filters.some((f) => suite.includes(f));
  const syncs: SyncRow[] = [];
  for (const mode of ["iptables", "nftables"] as const)
    for (const n of [1000, 10_000]) if (want(`sync ${mode} ${n / 1000}k×${ENDPOINTS}`)) syncs.push(syncRow(n, mode));
  const selected = pairs.filter((p) => want(p.suite));
  const rows = [...syncs, ...(selected.length > 0 ? await runPairs("kubeproxy", selected) : [])];
  if (rows.length === 0) return;
  printTable(rows);
  if (syncs.length > 0) {
    const cols = ["write", "restore", "nft", "total", "resync"];
    console.log(`\n${"sync, median ms".padEnd(26)}${cols.map((c) => c.padStart(9)).join("")} ${"lines".padStart(8)} ${"kept MB".padStart(8)} ${"peak MB".padStart(8)}`);
    for (const r of syncs)
      console.log(
        `${r.suite.padEnd(26)}${cols.map((c) => r.phasesMs[c].toFixed(0).padStart(9)).join("")} ${String(r.lines).padStart(8)} ${r.retainedMB.toFixed(1).padStart(8)} ${r.peakMB.toFixed(1).padStart(8)}`,
      );
    console.log("peak MB: the most heap in use at the end of a phase of one sync (write, restore, nft), over the heap before it; kept MB: what stays after it");
  }
  const growth: Record<string, number> = {};
  for (const pattern of ["random", "last"])
    for (const mode of ["iptables", "nftables"]) {
      const r = rows.filter((x) => x.suite.startsWith(`first packet ${mode} ${pattern} `));
      if (r.length < 2) continue;
      growth[`${mode} ${pattern}`] = r[r.length - 1].figureNs / r[0].figureNs;
      console.log(`first packet, ${mode}, ${pattern} Services: ${SIZES[SIZES.length - 1]} vs ${SIZES[0]} Services ×${growth[`${mode} ${pattern}`].toFixed(2)}`);
    }
  writeFileSync(
    `${RESULTS_DIR}kubeproxy.json`,
    `${JSON.stringify({ ...environment(), results: rows, growth } satisfies Record<string, unknown> & { results: PairResult[] }, null, 2)}\n`,
  );
  console.log(`\nSaved to: ${RESULTS_DIR}kubeproxy.json`);
}

if (import.meta.url === `file://${process.argv[1]}`) await run(process.argv.slice(2));

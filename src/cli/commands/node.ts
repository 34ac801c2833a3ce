// `kubewire node`: runs some nodes of a scenario's cluster in this process, in real time, their
// eth0 on real UDP sockets (DESIGN.md decision 7); the other nodes are other kubewire processes or
// Linux hosts. `kubewire peer-commands`: the ip/bridge commands that make a Linux host one of them.

import { createInterface } from "node:readline";
import { Cluster } from "../../k8s/index.js";
// Through k8s/index.js once it exports split.js.
import { type NodeEndpoint, peerCommands, SplitCluster } from "../../k8s/split.js";
import { NetCapture, pingRealtime, type RealtimeDriver, tcpEchoServer, tcpIdle, tcpRequestRealtime, udpRequestRealtime } from "../../net/index.js";
import { Apps, formatSummary, installDataplane, parseDuration, type Scenario, type StepOutcome } from "../../scenario/index.js";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Io, load, parse, UsageError } from "../io.js";
import { describePlan, placeStep, runStepRealtime } from "./node-steps.js";

export const NODE_HELP = `Usage: kubewire node <scenario.yaml> --node NAME --endpoint NAME=HOST:PORT... [options]

Runs some nodes of the scenario's cluster in this process, in real time, with their eth0 on a
real UDP socket: the VXLAN underlay. The other nodes run elsewhere: other kubewire processes
(same scenario), or Linux hosts set up with "kubewire peer-commands". Every process builds the
whole cluster from the same scenario and seed, so pods, addresses and MACs agree everywhere.
The pods' apps run (echo servers on their UDP and TCP ports). Without --control, the scenario's
ping, udp and tcp steps sent from this process's nodes (a pod on one of them, or the node itself)
run here in real time, with its wait steps as wall-clock sleeps, and the run ends when they are
done; the steps sent from the other nodes run in those nodes' processes. A process with no such
steps runs until SIGINT or SIGTERM (or --duration). Steps that change the cluster (restart,
delete, scale, external hosts) and expectations only the receiving side sees (delivered, dropped,
icmp, at, seenFrom; tcp's replyFrom) are not run by kubewire node: use kubewire run. With
--control, the controller sends the traffic and the steps are not run.

Options:
  --node NAME                a node to run here (repeat for several)
  --endpoint NAME=HOST:PORT  NAME's underlay socket, one per node: where a local node binds
                             (port 0: any free port), where a remote node is
  --linux NAME               NAME is a Linux kernel node: accept its datagrams from any source
                             port (its vxlan driver hashes the inner flow into the port)
  --pcap FILE                capture every interface of the local nodes and their pods
  --duration D               stop after D (5s, 1m); default: when this process's steps are
                             done, or with none, on SIGINT or SIGTERM
  --control                  JSON commands on stdin, JSON events and replies on stdout
  -h, --help                 this help

Control commands, one JSON object a line (replies carry the command's "id"):
  {"cmd":"ping","from":POD,"to":IP,"timeoutMs":2000,"ident":1}
  {"cmd":"udp","from":POD,"to":IP,"port":9000,"payload":"hi","srcPort":40000,"timeoutMs":2000}
  {"cmd":"tcp","from":POD,"to":IP,"port":8080,"payload":"hi","srcPort":41000,"timeoutMs":5000}
                          connect, send, read as many bytes back, close; replies with
                          what came back and whether both FINs were exchanged
  {"cmd":"tcp-listen","on":POD,"port":8080,"batch":0}      a TCP echo server in POD (with
                          batch N, the first N bytes come back in one write once all in)
  {"cmd":"tcp-idle","on":POD,"timeoutMs":5000}  waits until no TCP connection of POD waits
                          for a segment (all closed, or in TIME_WAIT): the last ACK is in
  {"cmd":"endpoint","node":NAME,"host":HOST,"port":PORT}   where a remote node is now
  {"cmd":"stats"}                                         underlay counters, drops per interface
  {"cmd":"quit"}
`;

export const PEER_COMMANDS_HELP = `Usage: kubewire peer-commands <scenario.yaml> --node NAME [--dev IF] [--cni0]

Prints the ip and bridge commands that make a Linux host play node NAME of the scenario's
cluster beside kubewire's emulated nodes, as flanneld's vxlan backend would: flannel.1 with the
VTEP MAC kubewire expects, its address, and per other node the permanent neighbour, the FDB entry
and the onlink route. Run them on the host (as root); then run the other nodes with kubewire node.

Options:
  --node NAME   the node the Linux host plays
  --dev IF      the host's underlay interface (default eth0)
  --cni0        also create the CNI bridge cni0 with the node's gateway address
  -h, --help    this help
`;

export function peerCommandsCommand(argv: string[], io: Io): number {
  const { values, positionals } = parse("peer-commands", argv, { node: { type: "string", short: "n" }, dev: { type: "string" }, cni0: { type: "boolean" } });
  if (values.help) {
    io.out(PEER_COMMANDS_HELP);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError("give one scenario file", "peer-commands");
  if (!values.node) throw new UsageError("say which node the Linux host plays: --node NAME", "peer-commands");
  const scenario = load(io, positionals[0]);
  if (!scenario) return EXIT_USAGE;
  try {
    io.out(`${peerCommands(scenario.config, values.node as string, { dev: values.dev as string | undefined, cni0: values.cni0 === true }).join("\n")}\n`);
  } catch (e) {
    io.err(`kubewire peer-commands: ${(e as Error).message}\n`);
    return EXIT_USAGE;
  }
  return EXIT_OK;
}

/** `NAME=HOST:PORT` → [NAME, endpoint]. */
function parseEndpoint(s: string): [string, NodeEndpoint] {
  const m = /^([^=]+)=(.+):(\d+)$/.exec(s);
  if (!m || Number(m[3]) > 65535) throw new UsageError(`--endpoint ${s}: expected NAME=HOST:PORT (e.g. node-2=127.0.0.1:7002)`, "node");
  return [m[1], { host: m[2], port: Number(m[3]) }];
}

/**
 * Starts the nodes and returns at once with EXIT_OK (or the usage error); the run goes on on the
 * event loop until a signal, --duration or "quit", and sets process.exitCode when it fails.
 */
export function nodeCommand(argv: string[], io: Io): number {
  const { values, positionals } = parse("node", argv, {
    node: { type: "string", short: "n", multiple: true },
    endpoint: { type: "string", multiple: true },
    linux: { type: "string", multiple: true },
    pcap: { type: "string" },
    duration: { type: "string" },
    control: { type: "boolean" },
  });
  if (values.help) {
    io.out(NODE_HELP);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError("give one scenario file", "node");
  const local = (values.node as unknown as string[] | undefined) ?? [];
  if (local.length === 0) throw new UsageError("say which nodes run here: --node NAME", "node");
  const endpoints: Record<string, NodeEndpoint> = Object.fromEntries(((values.endpoint as unknown as string[] | undefined) ?? []).map(parseEndpoint));
  for (const n of (values.linux as unknown as string[] | undefined) ?? []) {
    if (!endpoints[n]) throw new UsageError(`--linux ${n}: give its --endpoint too`, "node");
    endpoints[n].anySourcePort = true;
  }
  let duration: number | undefined;
  if (values.duration !== undefined) {
    duration = parseDuration(values.duration as string);
    if (duration === undefined) throw new UsageError(`--duration ${values.duration}: not a duration (5s, 500ms, 1m)`, "node");
  }
  const scenario = load(io, positionals[0]);
  if (!scenario) return EXIT_USAGE;
  runNodes(io, scenario, { local, endpoints, pcap: values.pcap as string | undefined, duration, control: values.control === true }).catch((e: Error) => {
    io.err(`kubewire node: ${e.message}\n`);
    process.exitCode = EXIT_FAILED;
  });
  return EXIT_OK;
}

export interface NodeRunOptions {
  local: string[];
  endpoints: Record<string, NodeEndpoint>;
  pcap?: string;
  /** ns; undefined: until a signal or "quit". */
  duration?: number;
  control: boolean;
}

/** Builds the cluster, splits it, runs the local nodes in real time until stopped. */
export async function runNodes(io: Io, scenario: Scenario, o: NodeRunOptions): Promise<void> {
  const cluster = Cluster.fromManifests(scenario.config, scenario.objects);
  installDataplane(cluster);
  new Apps(cluster, scenario.apps).start();
  const split = await SplitCluster.open(cluster, { local: o.local, endpoints: o.endpoints });
  const capture = o.pcap ? new NetCapture(o.pcap).attachAll(...split.namespaces()) : null;
  const rt = split.realtime({ stopOn: ["SIGINT", "SIGTERM"] });
  const say = (obj: Record<string, unknown>, human: string) => io.out(o.control ? `${JSON.stringify(obj)}\n` : `${human}\n`);
  for (const n of o.local) {
    const ep = split.endpoint(n);
    say({ event: "listening", node: n, host: ep.host, port: ep.port }, `${n}: underlay on udp ${ep.host}:${ep.port}`);
  }
  // Without --control, the traffic steps sent from this process's nodes run here, in real time.
  const mine = o.control ? [] : scenario.steps.filter((st) => placeStep(st, split).run === "here");
  const sends = mine.some((st) => st.type.type !== "wait");
  if (!o.control && scenario.steps.length) io.out(`traffic steps:\n${describePlan(scenario, split).join("\n")}\n`);
  const rl = o.control ? createInterface({ input: process.stdin }) : null;
  if (rl) {
    rl.on("line", (line) => void control(line, split, rt, io).then((stop) => stop && rt.stop()));
    rl.on("close", () => rt.stop());
  }
  const until = o.duration !== undefined ? ` for ${o.duration / 1e9} s` : sends ? " until its traffic steps are done" : " (SIGINT or SIGTERM stops)";
  say({ event: "ready" }, `running ${o.local.join(", ")} in real time${until}`);
  const outcomes: StepOutcome[] = [];
  const steps = async () => {
    for (const st of mine) {
      const r = await runStepRealtime(st, split, rt);
      // A stop (signal, --duration) cuts the step short: it did not finish.
      if (!rt.running) return;
      outcomes.push(r);
      io.out(`${r.pass ? "PASS" : "FAIL"} ${String(r.index).padStart(2)}. ${r.title}: ${r.observed}${r.pass ? "" : ` (${r.why})`}\n`);
    }
  };
  try {
    // With --duration the run lasts that long: the steps run meanwhile, and are cut if not done.
    if (o.duration !== undefined)
      await rt.run((r) => {
        if (sends) void steps();
        return r.sleep(o.duration! / 1e6);
      });
    else await rt.run(sends ? steps : undefined);
  } finally {
    if (rl) {
      rl.close();
      process.stdin.pause();
    }
    capture?.close();
    await split.close();
  }
  if (sends) {
    const summary = { ...scenario, steps: scenario.steps.filter((st) => mine.includes(st)) };
    io.out(`${formatSummary(summary, outcomes)}\n`);
    if (outcomes.length < summary.steps.length) io.out(`${summary.steps.length - outcomes.length} of them did not finish before the run ended\n`);
    if (outcomes.length < summary.steps.length || outcomes.some((r) => !r.pass)) process.exitCode = EXIT_FAILED;
  }
  say({ event: "stopped", ...statsOf(split) }, `stopped; underlay ${JSON.stringify(split.stats())}`);
}

function statsOf(split: SplitCluster): { underlay: Record<string, unknown>; drops: Record<string, Record<string, number>> } {
  const drops: Record<string, Record<string, number>> = {};
  for (const ns of split.namespaces()) for (const d of ns.devices.values()) if (d.drops.total) drops[`${ns.name}/${d.name}`] = d.dropsByName();
  return { underlay: split.stats(), drops };
}

interface Command {
  id?: unknown;
  cmd?: string;
  from?: string;
  to?: string;
  port?: number;
  payload?: string;
  srcPort?: number;
  timeoutMs?: number;
  ident?: number;
  node?: string;
  host?: string;
  on?: string;
  batch?: number;
}

/** One control command; replies on stdout. Returns true for "quit". */
async function control(line: string, split: SplitCluster, rt: RealtimeDriver, io: Io): Promise<boolean> {
  if (!line.trim()) return false;
  let c: Command;
  const reply = (obj: Record<string, unknown>) => io.out(`${JSON.stringify({ id: c?.id, ...obj })}\n`);
  try {
    c = JSON.parse(line) as Command;
  } catch {
    c = {};
    reply({ ok: false, error: `not JSON: ${line.slice(0, 80)}` });
    return false;
  }
  try {
    const from = (ref = String(c.from)) => {
      const node = split.cluster.nodes.get(ref);
      const ns = node ? node.ns : split.cluster.pod(ref).ns;
      const where = node ? node.name : split.cluster.pod(ref).node.name;
      if (!split.isLocal(where)) throw new Error(`${ref} runs on ${where}, not in this process`);
      return ns;
    };
    switch (c.cmd) {
      case "ping":
        reply({ ok: true, ...(await pingRealtime(rt, from(), String(c.to), { timeoutMs: c.timeoutMs, ident: c.ident })) });
        return false;
      case "udp":
        reply({ ok: true, ...(await udpRequestRealtime(rt, from(), String(c.to), Number(c.port), String(c.payload ?? ""), { srcPort: c.srcPort, timeoutMs: c.timeoutMs })) });
        return false;
      case "tcp":
        reply({ ok: true, ...(await tcpRequestRealtime(rt, from(), String(c.to), Number(c.port), String(c.payload ?? ""), { srcPort: c.srcPort, timeoutMs: c.timeoutMs })) });
        return false;
      case "tcp-listen": {
        const server = rt.step(() => tcpEchoServer(from(String(c.on)), Number(c.port), { batch: c.batch }));
        const err = await new Promise<string | undefined>((resolve) => {
          server.once("listening", () => resolve(undefined));
          server.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        });
        reply(err ? { ok: false, error: err } : { ok: true });
        return false;
      }
      case "tcp-idle": {
        const ns = from(String(c.on));
        reply({ ok: await rt.waitFor(() => tcpIdle(ns), c.timeoutMs ?? 5000) });
        return false;
      }
      case "endpoint":
        await split.setEndpoint(String(c.node), { host: String(c.host), port: Number(c.port) });
        reply({ ok: true });
        return false;
      case "stats":
        reply({ ok: true, ...statsOf(split) });
        return false;
      case "quit":
        reply({ ok: true });
        return true;
      default:
        reply({ ok: false, error: `unknown command ${JSON.stringify(c.cmd)} (ping, udp, tcp, tcp-listen, tcp-idle, endpoint, stats, quit)` });
        return false;
    }
  } catch (e) {
    reply({ ok: false, error: (e as Error).message });
    return false;
  }
}

// Split-cluster test helpers: a scenario file for two nodes, a kubewire node process driven over
// its --control channel (JSON lines) or running its own steps, and the single-process baseline run
// of the same traffic.
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Cluster } from "../../src/k8s/index.js";
import { createUdpSocket, NetCapture, ping } from "../../src/net/index.js";
import { Apps, installDataplane, loadScenario, type Scenario } from "../../src/scenario/index.js";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
const CHILD = fileURLToPath(new URL("./split-child.ts", import.meta.url));

export const PODS = `apiVersion: v1
kind: Pod
metadata: {name: client, labels: {app: client}}
spec:
  nodeName: node-1
  containers: [{name: main, image: busybox, ports: [{containerPort: 9100, protocol: UDP}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: neighbour, labels: {app: neighbour}}
spec:
  nodeName: node-1
  containers: [{name: main, image: busybox, ports: [{containerPort: 9000, protocol: UDP}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: server, labels: {app: server}}
spec:
  nodeName: node-2
  containers: [{name: main, image: busybox, ports: [{containerPort: 9000, protocol: UDP}, {containerPort: 7000, protocol: TCP}]}]
`;

const DEFAULT_TRAFFIC = `- ping: {from: client, to: server}
  expect: {reply: true}
`;

/**
 * Writes NAME.yaml (two nodes, vxlan, the pods above with echo apps and `extraManifests`, the
 * given `traffic:` list as YAML text) into `dir`; returns its path.
 */
export function writeScenario(dir: string, traffic = DEFAULT_TRAFFIC, name = "scenario", extraManifests = ""): string {
  writeFileSync(join(dir, "pods.yaml"), PODS);
  if (extraManifests) writeFileSync(join(dir, `${name}-extra.yaml`), extraManifests);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `apiVersion: kubewire.dev/v1alpha1
kind: Scenario
name: split
cluster:
  seed: 11
  nodes:
  - {name: node-1, address: 192.168.50.11}
  - {name: node-2, address: 192.168.50.12}
  cni: {backend: vxlan}
manifests: [pods.yaml${extraManifests ? `, ${name}-extra.yaml` : ""}]
traffic:
${traffic}`,
  );
  return file;
}

export function mustLoad(file: string): Scenario {
  const r = loadScenario(file);
  if (!r.scenario) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  return r.scenario;
}

/** The cluster of a scenario as `kubewire node` builds it: data plane and echo apps. */
export function buildCluster(s: Scenario): Cluster {
  const c = Cluster.fromManifests(s.config, s.objects);
  installDataplane(c);
  new Apps(c, s.apps).start();
  return c;
}

type Json = Record<string, unknown>;

/** A `kubewire node --control` process; every one started is killed by `killAll()`. */
export class NodeProcess {
  static readonly all = new Set<NodeProcess>();
  readonly events: Json[] = [];
  readonly exited: Promise<number | null>;
  stderr = "";
  private nextId = 1;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly child: ChildProcess) {
    NodeProcess.all.add(this);
    createInterface({ input: child.stdout! }).on("line", (l) => {
      try {
        this.events.push(JSON.parse(l) as Json);
      } catch {
        this.events.push({ text: l });
      }
      for (const w of [...this.waiters]) w();
    });
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) =>
      child.on("exit", (code) => {
        NodeProcess.all.delete(this);
        for (const w of [...this.waiters]) w();
        resolve(code);
      }),
    );
  }

  /**
   * Starts `kubewire node SCENARIO ARGS --control` (without --control when `control` is false: its
   * output lines are then events `{text}`), inside network namespace `netns` when given.
   */
  static start(scenario: string, args: string[], netns?: string, control = true): NodeProcess {
    const cmd = [process.execPath, "--import", "tsx", CHILD, scenario, ...args, ...(control ? ["--control"] : [])];
    const child = netns ? spawn("ip", ["netns", "exec", netns, ...cmd], { cwd: REPO, stdio: ["pipe", "pipe", "pipe"] }) : spawn(cmd[0], cmd.slice(1), { cwd: REPO, stdio: ["pipe", "pipe", "pipe"] });
    return new NodeProcess(child);
  }

  get done(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** The first event matching `pred` (already seen or coming), within `ms`. */
  waitEvent(pred: (e: Json) => boolean, ms = 45_000): Promise<Json> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const e = this.events.find(pred);
        if (e) {
          cleanup();
          resolve(e);
        } else if (this.done) {
          cleanup();
          reject(new Error(`node process exited (${this.child.exitCode ?? this.child.signalCode}) before the event:\n${this.stderr}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no such event within ${ms} ms; events: ${JSON.stringify(this.events)}\n${this.stderr}`));
      }, ms);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Sends a control command and waits for its reply. */
  async request(cmd: Json, ms = 10_000): Promise<Json> {
    const id = this.nextId++;
    this.child.stdin!.write(`${JSON.stringify({ id, ...cmd })}\n`);
    return this.waitEvent((e) => e.id === id, ms);
  }

  /** Asks it to quit and waits for it to exit (killing it after `ms`). */
  async quit(ms = 5000): Promise<number | null> {
    if (!this.done) this.child.stdin!.end(`${JSON.stringify({ cmd: "quit" })}\n`);
    const t = setTimeout(() => this.kill(), ms);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (!this.done) this.child.kill(signal);
  }

  static async killAll(): Promise<void> {
    const all = [...NodeProcess.all];
    for (const p of all) p.kill();
    await Promise.all(all.map((p) => p.exited));
  }
}

/** The traffic of the split tests: each way a ping and a UDP request, client (node-1) ↔ server (node-2). */
export const TRAFFIC = [
  { from: "client", to: "server", ident: 0x4b57, port: 9000, srcPort: 40000, payload: "across the underlay" },
  { from: "server", to: "client", ident: 0x4b58, port: 9100, srcPort: 40001, payload: "and back" },
] as const;

/** The traffic in one process on the virtual clock: the baseline the split runs must equal. */
export function baselineRun(s: Scenario, pcap: string): { ping: boolean; udp?: string }[] {
  const c = buildCluster(s);
  const cap = new NetCapture(pcap).attachAll(...c.namespaces());
  const out: { ping: boolean; udp?: string }[] = [];
  for (const t of TRAFFIC) {
    const r: { ping: boolean; udp?: string } = { ping: false };
    ping(c.pod(t.from).ns, c.pod(t.to).ipString, { ident: t.ident }, () => (r.ping = true));
    c.sim.runFor(1e9);
    const sock = createUdpSocket(c.pod(t.from).ns).bind(t.srcPort).connect(t.port, c.pod(t.to).ipString);
    sock.send(t.payload);
    c.sim.runFor(1e9);
    r.udp = sock.received[0]?.msg.toString();
    sock.close();
    out.push(r);
  }
  cap.close();
  return out;
}

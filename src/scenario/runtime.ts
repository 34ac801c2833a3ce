// Running a scenario: the cluster is built, its data plane (kube-proxy) installed, the apps
// started, tracing and capture turned on for every interface, then the steps run in order on the
// virtual clock, each with its outcome recorded. Devices that appear later (new pods, external
// hosts) are captured from the moment they exist.

import { appendFileSync } from "node:fs";
import { Cluster, type L7Controller, startGateways, startIngressNginx } from "../k8s/index.js";
import { NetCapture, runUntilSettled } from "../net/index.js";
import type { Sim, TraceEvent } from "../sim/index.js";
import { Apps } from "./apps.js";
import { installDataplane } from "./dataplane.js";
import type { Scenario, Step, StepOutcome } from "./model.js";
import type { RunContext, StepResult } from "./steps/index.js";

/** Step starts are aligned to this (1 ms). */
const STEP_ALIGN = 1_000_000;

export interface RunOptions {
  /** Write a pcapng of every interface here. */
  pcapng?: string;
  /** Also one classic pcap per interface in this folder. */
  perInterfaceDir?: string;
  /** TLS session keys into the pcapng as Decryption Secrets Blocks (default true). */
  tlsKeys?: boolean;
  /** Also append the TLS session keys to this file (SSLKEYLOGFILE, NSS key log format). */
  sslKeyLogFile?: string;
  /** Called when a step starts (outcome undefined) and when it ends. */
  onStep?: (step: Step, outcome?: StepOutcome) => void;
}

/** Where each step's events begin in the trace. */
export interface StepMark {
  readonly step: number;
  readonly event: number;
  readonly t: number;
}

export class ScenarioRun implements RunContext {
  readonly cluster: Cluster;
  readonly sim: Sim;
  readonly apps: Apps;
  /** ingress-nginx (when there are Ingresses of its class) and one gateway per Gateway. */
  readonly l7: L7Controller[] = [];
  readonly events: TraceEvent[] = [];
  readonly outcomes: StepOutcome[] = [];
  readonly marks: StepMark[] = [];
  private capture: NetCapture | null = null;
  private readonly keylogLines = new Set<string>();
  private readonly stopTrace: () => void;
  private next = 0;

  constructor(
    readonly scenario: Scenario,
    private readonly opts: RunOptions = {},
  ) {
    this.cluster = Cluster.fromManifests(scenario.config, scenario.objects);
    this.sim = this.cluster.sim;
    installDataplane(this.cluster);
    // The L7 controllers take their ports before the apps (which leave a taken port alone).
    const keylog = (line: Buffer) => this.keylog(line);
    const ingress = startIngressNginx(this.cluster, scenario.objects, { onKeylog: keylog });
    if (ingress) this.l7.push(ingress);
    this.l7.push(...startGateways(this.cluster, scenario.objects, { onKeylog: keylog }));
    this.apps = new Apps(this.cluster, scenario.apps);
    this.apps.start();
    this.stopTrace = this.sim.trace.subscribe((e) => this.events.push(e));
    if (opts.pcapng) this.capture = new NetCapture(opts.pcapng, { perInterfaceDir: opts.perInterfaceDir });
    this.captureNewDevices();
    this.cluster.on((e) => {
      if (e.kind === "pod-added") this.captureNewDevices();
    });
    this.sim.run(this.sim.now);
  }

  get objects() {
    return this.scenario.objects;
  }

  /** True when every step run so far passed. */
  get pass(): boolean {
    return this.outcomes.every((o) => o.pass);
  }

  get done(): boolean {
    return this.next >= this.scenario.steps.length;
  }

  captureNewDevices(): void {
    this.capture?.attachAll(...this.cluster.namespaces());
  }

  runUntil(deadline: number, done: () => boolean): void {
    const sched = this.sim.sched;
    for (;;) {
      sched.run(sched.now);
      if (done()) return;
      const next = sched.nextTimerAt;
      if (next > deadline) {
        sched.run(deadline);
        return;
      }
      sched.run(next);
    }
  }

  async settle(deadline: number, done: () => boolean): Promise<void> {
    const sched = this.sim.sched;
    await runUntilSettled(this.sim, { until: sched.now });
    while (!done()) {
      const next = sched.nextTimerAt;
      if (next > deadline) return runUntilSettled(this.sim, { until: deadline });
      await runUntilSettled(this.sim, { until: next });
    }
  }

  keylog(line: Buffer): void {
    // Both ends of a session the proxy terminates log the same secrets: each line once.
    const text = line.toString("latin1");
    if (this.keylogLines.has(text)) return;
    this.keylogLines.add(text);
    if (this.opts.tlsKeys !== false) this.capture?.pcapng.writeDecryptionSecrets(line);
    if (this.opts.sslKeyLogFile) appendFileSync(this.opts.sslKeyLogFile, line);
  }

  /** Runs the next step, with Node's queues in the loop for steps that need them; undefined when there is none left. */
  async stepAsync(): Promise<StepOutcome | undefined> {
    const step = this.scenario.steps[this.next];
    if (!step?.type.runAsync) return this.step();
    const runAsync = step.type.runAsync.bind(step.type);
    let pending: Promise<StepResult> | undefined;
    const outcome = this.step((spec) => {
      pending = runAsync(spec, this);
      return { pass: true, observed: "" };
    });
    if (!outcome || !pending) return outcome;
    let r: StepResult;
    try {
      r = await pending;
    } catch (e) {
      r = { pass: false, observed: "the step could not run", why: (e as Error).message };
    }
    this.captureNewDevices();
    Object.assign(outcome, { pass: r.pass, observed: r.observed, why: r.pass ? "" : (r.why ?? "failed"), end: this.sim.now });
    this.opts.onStep?.(step, outcome);
    return outcome;
  }

  /** Runs every remaining step, the asynchronous ones too. */
  async runAllAsync(): Promise<StepOutcome[]> {
    while (await this.stepAsync());
    return this.outcomes;
  }

  /** Runs the next step; undefined when there is none left. `runner` stands in for the step's run (stepAsync). */
  step(runner?: (spec: never) => StepResult): StepOutcome | undefined {
    const step = this.scenario.steps[this.next++];
    if (!step) return undefined;
    this.opts.onStep?.(step);
    // Steps start on a fresh millisecond, so each one stands apart in the capture's time column.
    if (this.next > 1) this.sim.run((Math.floor(this.sim.now / STEP_ALIGN) + 1) * STEP_ALIGN);
    const start = this.sim.now;
    this.marks.push({ step: step.index, event: this.events.length, t: start });
    let r: StepResult;
    try {
      r = runner ? runner(step.spec as never) : step.type.run(step.spec, this);
    } catch (e) {
      r = { pass: false, observed: "the step could not run", why: (e as Error).message };
    }
    this.captureNewDevices();
    const outcome: StepOutcome = {
      index: step.index,
      type: step.type.type,
      name: step.name,
      title: step.type.title(step.spec),
      pass: r.pass,
      observed: r.observed,
      why: r.pass ? "" : (r.why ?? "failed"),
      start,
      end: this.sim.now,
    };
    this.outcomes.push(outcome);
    if (!runner) this.opts.onStep?.(step, outcome);
    return outcome;
  }

  /** Runs every remaining step. */
  runAll(): StepOutcome[] {
    while (this.step());
    return this.outcomes;
  }

  /** Stops tracing and closes the capture files. */
  finish(): void {
    this.stopTrace();
    this.capture?.close();
    this.capture = null;
  }
}

/** Builds, runs every step (the asynchronous ones too: http) and closes the files. */
export async function runScenarioAsync(scenario: Scenario, opts: RunOptions = {}): Promise<ScenarioRun> {
  const run = new ScenarioRun(scenario, opts);
  try {
    await run.runAllAsync();
  } finally {
    run.finish();
  }
  return run;
}

/** Builds, runs every step and closes the files. */
export function runScenario(scenario: Scenario, opts: RunOptions = {}): ScenarioRun {
  const run = new ScenarioRun(scenario, opts);
  try {
    run.runAll();
  } finally {
    run.finish();
  }
  return run;
}

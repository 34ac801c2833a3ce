// Running a scenario: the cluster is built, its data plane (kube-proxy) installed, the apps
// started, tracing and capture turned on for every interface, then the steps run in order on the
// virtual clock, each with its outcome recorded. Devices that appear later (new pods, external
// hosts) are captured from the moment they exist.

import { Cluster } from "../k8s/index.js";
import { NetCapture } from "../net/index.js";
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
  readonly events: TraceEvent[] = [];
  readonly outcomes: StepOutcome[] = [];
  readonly marks: StepMark[] = [];
  private capture: NetCapture | null = null;
  private readonly stopTrace: () => void;
  private next = 0;

  constructor(
    readonly scenario: Scenario,
    private readonly opts: RunOptions = {},
  ) {
    this.cluster = Cluster.fromManifests(scenario.config, scenario.objects);
    this.sim = this.cluster.sim;
    installDataplane(this.cluster);
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

  /** Runs the next step; undefined when there is none left. */
  step(): StepOutcome | undefined {
    const step = this.scenario.steps[this.next++];
    if (!step) return undefined;
    this.opts.onStep?.(step);
    // Steps start on a fresh millisecond, so each one stands apart in the capture's time column.
    if (this.next > 1) this.sim.run((Math.floor(this.sim.now / STEP_ALIGN) + 1) * STEP_ALIGN);
    const start = this.sim.now;
    this.marks.push({ step: step.index, event: this.events.length, t: start });
    let r: StepResult;
    try {
      r = step.type.run(step.spec, this);
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
    this.opts.onStep?.(step, outcome);
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

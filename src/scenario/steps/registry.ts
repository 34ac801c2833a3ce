// What a step type is. Each type lives in one file of this folder and is listed once in
// steps/index.ts: it reads its own YAML (body and `expect:`), checks its references against a
// dry-run copy of the cluster, and runs on the virtual clock, saying what happened and whether
// that was what was expected. New step types (resolve, tcp, http) are one more file each.

import type { Cluster, K8sObject } from "../../k8s/index.js";
import type { Sim, TraceEvent } from "../../sim/index.js";
import type { Apps } from "../apps.js";
import type { Located, ScenarioCode } from "../model.js";
import type { Cursor } from "../yaml.js";

export interface StepReadContext {
  /** The scenario's default timeout for traffic steps, ns. */
  readonly timeout: number;
}

/** A dry run: steps that change the cluster apply to this copy, so later references are checked against what will exist. */
export interface CheckContext {
  readonly cluster: Cluster;
  /** The scenario's manifest objects (Deployments for `scale`). */
  readonly objects: readonly K8sObject[];
  error(at: Located<unknown>, code: ScenarioCode, message: string, hint?: string): void;
}

/** What a running step may use. */
export interface RunContext {
  readonly cluster: Cluster;
  readonly objects: readonly K8sObject[];
  readonly sim: Sim;
  readonly apps: Apps;
  /** Every trace event of the run so far (a step looks at those after its start). */
  readonly events: readonly TraceEvent[];
  /**
   * Runs the virtual clock until `done()` holds (checked after every instant that had work) or
   * until `deadline` (ns), whichever is first.
   */
  runUntil(deadline: number, done: () => boolean): void;
  /** Starts capturing devices that appeared (new pods, external hosts). */
  captureNewDevices(): void;
  /**
   * As runUntil, with Node's own queues run at every instant (node:http and node:tls over the
   * emulated TCP): the asynchronous runner's clock, for steps with runAsync.
   */
  settle(deadline: number, done: () => boolean): Promise<void>;
  /** A TLS key log line of a session in the run: into the capture's Decryption Secrets Block (and SSLKEYLOGFILE). */
  keylog(line: Buffer): void;
}

export interface StepResult {
  readonly pass: boolean;
  /** What happened, in one line. */
  readonly observed: string;
  /** Why the step failed: the expectation and how the observation differs. */
  readonly why?: string;
}

export interface StepType<S = unknown> {
  /** The key that names the step in YAML: `udp`, `ping`, `wait` … */
  readonly type: string;
  /** One line for help and errors: the fields and what the step does. */
  readonly synopsis: string;
  /** The step takes an `expect:` map. */
  readonly expects: boolean;
  /** The step waits for an outcome and takes a `timeout:`. */
  readonly timed: boolean;
  /** Reads the step's value and its `expect:` (an absent cursor when not given). */
  read(body: Cursor, expect: Cursor, timeout: Cursor, rc: StepReadContext): S | undefined;
  /** Checks names against the dry-run cluster, applying the step's own changes to it. */
  check(spec: S, cx: CheckContext): void;
  run(spec: S, rt: RunContext): StepResult;
  /** Steps that need Node's queues (node:http, node:tls) run here under ScenarioRun.runAllAsync. */
  runAsync?(spec: S, rt: RunContext): Promise<StepResult>;
  /** A one-line title: `udp client → svc/web:80 "hello"`. */
  title(spec: S): string;
}

/** Helps TypeScript keep each file's spec type while the registry holds them all. */
export const defineStep = <S>(t: StepType<S>): StepType<S> => t;

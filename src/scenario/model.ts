// A scenario as read from its file: the cluster, the manifests, the apps the pods run and the
// ordered traffic steps, each with where it was written so later checks can point at it.

import type { ClusterConfig, Diagnostic, DiagnosticCode, K8sObject, Position } from "../k8s/index.js";
import type { StepType } from "./steps/registry.js";

export const SCENARIO_API_VERSION = "kubewire.dev/v1alpha1";

/**
 * What runs in the pods. `echo` (the default): every UDP containerPort of every container has a
 * server bound to it that answers each datagram with its payload. `none`: nothing listens.
 */
export const APPS = ["echo", "none"] as const;
export type AppsMode = (typeof APPS)[number];

/** A value from the file with where it was written (for checks made after parsing). */
export interface Located<T = string> {
  readonly value: T;
  readonly at: Position;
  /** Field path: `traffic[2].udp.to`. */
  readonly path: string;
}

/** One traffic step: its type's spec plus what every step has. */
export interface Step<S = unknown> {
  /** 1-based, in file order. */
  readonly index: number;
  readonly name?: string;
  readonly type: StepType<S>;
  readonly spec: S;
  /** Where the step's map starts. */
  readonly at: Position;
  /** `traffic[i]`. */
  readonly path: string;
}

export interface Scenario {
  /** The scenario file as given (diagnostics and outputs name it so). */
  readonly file: string;
  readonly name: string;
  readonly description?: string;
  readonly config: ClusterConfig;
  /** Every manifest object: files, folders and inline text, in the order given. */
  readonly objects: K8sObject[];
  readonly apps: AppsMode;
  /** Default time a traffic step waits for its outcome, ns. */
  readonly timeout: number;
  readonly steps: Step[];
  /** Warnings found while loading (the run goes ahead). */
  readonly warnings: Diagnostic[];
}

export interface LoadResult {
  /** Present when there are no errors. */
  scenario?: Scenario;
  diagnostics: Diagnostic[];
}

/** Diagnostic codes of scenario files, beyond the manifest reader's own. */
export type ScenarioCode = DiagnosticCode | "unknown-step" | "unknown-pod" | "unknown-target" | "ambiguous-target" | "invalid-duration";

/** The manifest reader types its codes narrowly; scenario codes ride along in the same field. */
export const code = (c: ScenarioCode): DiagnosticCode => c as DiagnosticCode;

/** What a step did, pass or fail, and why; collected into the run's report. */
export interface StepOutcome {
  readonly index: number;
  readonly type: string;
  readonly name?: string;
  /** One line: `udp client → svc/web:80 "hello"`. */
  readonly title: string;
  readonly pass: boolean;
  /** What was observed ("reply \"hello\" from 10.96.0.10:80 after 1.2 ms"). */
  readonly observed: string;
  /** Why it failed (empty when it passed). */
  readonly why: string;
  /** Virtual time at the start and the end of the step, ns. */
  readonly start: number;
  readonly end: number;
}

// Every step type a scenario may use. A new type is one file in this folder and one line here.

import { deleteStep } from "./delete.js";
import { externalHostStep } from "./external-host.js";
import { httpStep } from "./http.js";
import { pingStep } from "./ping.js";
import { readyStep } from "./ready.js";
import type { StepType } from "./registry.js";
import { restartStep } from "./restart.js";
import { scaleStep } from "./scale.js";
import { tcpStep } from "./tcp.js";
import { udpStep } from "./udp.js";
import { waitStep } from "./wait.js";

export const STEP_TYPES: readonly StepType<never>[] = [udpStep, pingStep, restartStep, deleteStep, scaleStep, readyStep, waitStep, externalHostStep, tcpStep, httpStep] as StepType<never>[];

export const stepType = (name: string): StepType<unknown> | undefined => STEP_TYPES.find((t) => t.type === name) as StepType<unknown> | undefined;

export type { CheckContext, RunContext, StepReadContext, StepResult, StepType } from "./registry.js";
export { defineStep } from "./registry.js";

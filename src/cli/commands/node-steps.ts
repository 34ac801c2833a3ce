// The scenario's traffic steps in `kubewire node`: in a split cluster each process runs the ping,
// udp and tcp steps sent from its own nodes (a pod on a local node, or a local node itself), in real
// time, and `wait` steps as wall-clock sleeps; the steps sent from the other nodes are theirs.
// Steps that change the cluster (restart, delete, scale, external hosts …) would change this
// process's copy only, and expectations that need the receiving side's trace (delivered, dropped,
// icmp, at, seenFrom; and tcp's replyFrom) are seen by a single-process run only: those steps are
// listed as not run.

import type { SplitCluster } from "../../k8s/split.js";
import { pingRealtime, type RealtimeDriver, tcpRequestRealtime, udpRequestRealtime } from "../../net/index.js";
import { formatDuration, type HostRef, resolveHost, resolveTarget, type Scenario, type Step, type StepOutcome, type TargetRef } from "../../scenario/index.js";
import { formatIpv4 } from "../../wire/index.js";

/** What of a ping step is read here. */
interface PingFields {
  from: { value: HostRef };
  to: { value: HostRef };
  timeout: number;
  reply?: boolean;
}

/** What of a udp step is read here. */
interface UdpFields {
  from: { value: HostRef };
  to: { value: TargetRef };
  payload: string;
  srcPort?: number;
  timeout: number;
  expect: Record<string, unknown> & { reply?: string | boolean; error?: string; replyFrom?: { addr: string; port?: number } };
}

/** What of a tcp step is read here. */
interface TcpFields {
  from: { value: HostRef };
  to: { value: TargetRef };
  send: string;
  srcPort?: number;
  timeout: number;
  expect: Record<string, unknown> & { connected?: boolean; refused?: boolean; timeout?: boolean; reply?: string | boolean; error?: string };
}

/** Step types that change the cluster. */
const CHANGES = ["restart", "delete", "scale", "ready", "external-host"];

/** Expectations only the receiving side's trace (or a single process's trace) can check. */
const ELSEWHERE_EXPECT: Record<string, string[]> = { udp: ["delivered", "dropped", "icmp", "at", "seenFrom"], tcp: ["dropped", "icmp", "at", "seenFrom", "replyFrom"] };

export type StepPlace =
  /** Runs in this process. */
  | { run: "here" }
  /** Sent from a node another process runs. */
  | { run: "elsewhere"; node: string }
  /** Not run by `kubewire node`; why. */
  | { run: "no"; why: string };

/** Where a step runs in a split cluster. */
export function placeStep(step: Step, split: SplitCluster): StepPlace {
  const type = step.type.type;
  if (type === "wait") return { run: "here" };
  if (CHANGES.includes(type)) return { run: "no", why: `a ${type} step changes the cluster, and each process of a split holds its own copy: use kubewire run` };
  if (type !== "ping" && type !== "udp" && type !== "tcp") return { run: "no", why: `kubewire node runs ping, udp, tcp and wait steps (${type}: use kubewire run)` };
  const spec = step.spec as PingFields | UdpFields | TcpFields;
  if (type !== "ping") {
    const unchecked = ELSEWHERE_EXPECT[type].filter((k) => (spec as UdpFields | TcpFields).expect[k] !== undefined);
    if (unchecked.length) return { run: "no", why: `expect ${unchecked.join(", ")}: seen only by a single-process run (kubewire run)` };
  }
  const from = resolveHost(split.cluster, spec.from.value, true);
  if (!from.ok) return { run: "no", why: from.message };
  const node = from.value.pod?.node.name ?? (from.value.kind === "node" ? from.value.label.replace(/^node /, "") : undefined);
  if (node === undefined) return { run: "no", why: `${from.value.label} is not on a node of the cluster` };
  return split.isLocal(node) ? { run: "here" } : { run: "elsewhere", node };
}

/** Runs one step in real time (placeStep said "here"). */
export async function runStepRealtime(step: Step, split: SplitCluster, rt: RealtimeDriver): Promise<StepOutcome> {
  const start = rt.sched.now;
  const title = step.type.title(step.spec as never);
  const done = (pass: boolean, observed: string, why = ""): StepOutcome => ({ index: step.index, type: step.type.type, name: step.name, title, pass, observed, why, start, end: rt.sched.now });
  const type = step.type.type;
  if (type === "wait") {
    const ns = (step.spec as { ns: number }).ns;
    await rt.sleep(ns / 1e6);
    return done(true, `waited ${formatDuration(ns)} of wall time`);
  }
  const c = split.cluster;
  if (type === "ping") {
    const s = step.spec as PingFields;
    const from = resolveHost(c, s.from.value, true);
    const to = resolveHost(c, s.to.value);
    if (!from.ok || !to.ok) return done(false, "not sent", from.ok ? (to as { message: string }).message : from.message);
    const r = await pingRealtime(rt, from.value.ns!, formatIpv4(to.value.addr), { timeoutMs: s.timeout / 1e6 });
    const observed = r.error ? `error ${r.error}` : r.reply ? `reply from ${r.from} ttl ${r.ttl} after ${r.ms!.toFixed(3)} ms` : "no reply";
    if (s.reply === undefined || s.reply === r.reply) return done(true, observed);
    return done(false, observed, s.reply ? "expected an echo reply, got none" : "expected no reply, got one");
  }
  if (type === "tcp") return runTcp(step.spec as TcpFields, split, rt, done);
  const s = step.spec as UdpFields;
  const from = resolveHost(c, s.from.value, true);
  const to = resolveTarget(c, s.to.value);
  if (!from.ok || !to.ok) return done(false, "not sent", from.ok ? (to as { message: string }).message : from.message);
  const r = await udpRequestRealtime(rt, from.value.ns!, to.value.addr, to.value.port, s.payload, { srcPort: s.srcPort, timeoutMs: s.timeout / 1e6 });
  const seen: string[] = [r.reply !== undefined ? `reply ${JSON.stringify(r.reply)} from ${r.from} after ${r.ms!.toFixed(3)} ms` : "no reply"];
  if (r.error) seen.push(`error ${r.error}`);
  const why: string[] = [];
  const e = s.expect;
  if (e.reply === false && r.reply !== undefined) why.push(`expected no reply, got ${JSON.stringify(r.reply)}`);
  else if (e.reply !== undefined && e.reply !== false && r.reply === undefined) why.push(`expected a reply${typeof e.reply === "string" ? ` ${JSON.stringify(e.reply)}` : ""}, got none`);
  else if (typeof e.reply === "string" && r.reply !== undefined && r.reply !== e.reply) why.push(`expected reply ${JSON.stringify(e.reply)}, got ${JSON.stringify(r.reply)}`);
  if (e.error !== undefined && e.error !== r.error) why.push(`expected error ${e.error}, ${r.error ? `got ${r.error}` : "got none"}`);
  if (e.replyFrom) {
    const want = `${e.replyFrom.addr}${e.replyFrom.port !== undefined ? `:${e.replyFrom.port}` : ""}`;
    const got = r.from ?? "";
    if (!(got === want || (e.replyFrom.port === undefined && got.startsWith(`${e.replyFrom.addr}:`)))) why.push(`expected the reply from ${want}, ${r.from ? `it came from ${r.from}` : "there was none"}`);
  }
  return done(why.length === 0, seen.join("; "), why.join("; "));
}

/** A tcp step: connect, send, read the echo, close (tcpRequestRealtime), and its expectations. */
async function runTcp(s: TcpFields, split: SplitCluster, rt: RealtimeDriver, done: (pass: boolean, observed: string, why?: string) => StepOutcome): Promise<StepOutcome> {
  const from = resolveHost(split.cluster, s.from.value, true);
  const to = resolveTarget(split.cluster, s.to.value);
  if (!from.ok || !to.ok) return done(false, "not sent", from.ok ? (to as { message: string }).message : from.message);
  const r = await tcpRequestRealtime(rt, from.value.ns!, to.value.addr, to.value.port, s.send, { srcPort: s.srcPort, timeoutMs: s.timeout / 1e6 });
  const refused = r.error === "ECONNREFUSED";
  const timedOut = !r.connected && r.error === "timeout";
  const seen: string[] = [r.connected ? `connected to ${r.from}` : refused ? "refused" : timedOut ? "no answer to the SYN" : "not connected"];
  if (r.reply !== undefined) seen.push(`reply ${JSON.stringify(r.reply)}`);
  else if (r.connected && s.send) seen.push("no reply");
  if (r.connected) seen.push(r.closed ? `closed after ${r.ms!.toFixed(3)} ms` : "not closed");
  if (r.error !== undefined && !refused && !timedOut) seen.push(`error ${r.error}`);
  const e = s.expect;
  const why: string[] = [];
  const want = (what: string, expected: boolean | undefined, got: boolean) => {
    if (expected !== undefined && expected !== got) why.push(`expected ${expected ? "" : "no "}${what}`);
  };
  want("connection", e.connected, r.connected);
  want("refusal", e.refused, refused);
  want("timeout", e.timeout, timedOut);
  if (e.reply === false && r.reply !== undefined) why.push(`expected no reply, got ${JSON.stringify(r.reply)}`);
  else if (e.reply !== undefined && e.reply !== false && r.reply === undefined) why.push(`expected a reply${typeof e.reply === "string" ? ` ${JSON.stringify(e.reply)}` : ""}, got none`);
  else if (typeof e.reply === "string" && r.reply !== undefined && r.reply !== e.reply) why.push(`expected reply ${JSON.stringify(e.reply)}, got ${JSON.stringify(r.reply)}`);
  const errno = refused ? "ECONNREFUSED" : r.error === "timeout" ? undefined : r.error;
  if (e.error !== undefined && e.error !== errno) why.push(`expected error ${e.error}, ${errno ? `got ${errno}` : "got none"}`);
  return done(why.length === 0, seen.join("; "), why.join("; "));
}

/** One line per step: where it runs. */
export function describePlan(scenario: Scenario, split: SplitCluster): string[] {
  return scenario.steps.map((st) => {
    const p = placeStep(st, split);
    const where = p.run === "here" ? "runs here" : p.run === "elsewhere" ? `sent from ${p.node}: runs in that node's process` : `not run: ${p.why}`;
    return `  ${String(st.index).padStart(2)}. ${st.type.title(st.spec as never)}: ${where}`;
  });
}

// Field readers shared by the step types: names and addresses checked for syntax where they are
// written, kept with their position for the checks against the cluster.

import { DropReason } from "../../sim/index.js";
import { parseIpv4 } from "../../wire/index.js";
import { parseDuration } from "../duration.js";
import { code, type Located } from "../model.js";
import { type HostRef, parseHost, parseTarget, resolveHost, resolveTarget, type TargetRef } from "../refs.js";
import { type Cursor, nearest, oneOf } from "../yaml.js";
import { ICMP_NAMES, normaliseIcmpName } from "./observe.js";
import type { CheckContext } from "./registry.js";

export const locate = <T>(c: Cursor, value: T): Located<T> => ({ value, at: c.position(), path: c.path });

/** A required string field, located. */
export function readLocated(c: Cursor, expected: string): Located<string> | undefined {
  const s = c.requiredStr(expected);
  return s === undefined ? undefined : locate(c, s);
}

/** A host that sends (a pod, a node, an external host). */
export function readSender(c: Cursor): Located<HostRef> | undefined {
  const s = c.requiredStr("a pod, node or external host (client, ns/client, node/node-1, external/laptop)");
  if (s === undefined) return undefined;
  const h = parseHost(s);
  if (!h.ok) return void c.error(code("invalid-value"), h.message, { hint: h.hint });
  if (h.value.kind === "ip" || h.value.kind === "service" || h.value.kind === "lb")
    return void c.error(code("invalid-value"), `traffic is sent from a pod, a node or an external host, not from ${h.value.kind === "ip" ? "an address" : "a Service"}`, {
      hint: "to send from outside the cluster, add a step `external-host: {name: laptop, address: …}` and use from: external/laptop",
    });
  return locate(c, h.value);
}

/** A host to send to (no port): ping's target. */
export function readHost(c: Cursor): Located<HostRef> | undefined {
  const s = c.requiredStr("a host: a pod, svc/NAME, node/NAME, external/NAME or an IPv4 address");
  if (s === undefined) return undefined;
  const h = parseHost(s);
  if (!h.ok) return void c.error(code("invalid-ip"), h.message, { hint: h.hint });
  return locate(c, h.value);
}

/** HOST:PORT. */
export function readTarget(c: Cursor, protocol: string): Located<TargetRef> | undefined {
  const s = c.kind === "number" ? undefined : c.requiredStr("HOST:PORT, e.g. 10.96.0.10:53, server:9000 or svc/web:80");
  if (c.kind === "number") c.wrongType("HOST:PORT", "a number alone is not a target: write HOST:PORT");
  if (s === undefined) return undefined;
  const t = parseTarget(s, protocol);
  if (!t.ok) return void c.error(code(/address/.test(t.message) ? "invalid-ip" : "invalid-value"), t.message, { hint: t.hint });
  return locate(c, t.value);
}

/** A pod by NAME or NAMESPACE/NAME. */
export function readPodRef(c: Cursor): Located<string> | undefined {
  const s = c.requiredStr("a pod: NAME or NAMESPACE/NAME");
  if (s === undefined) return undefined;
  const name = s.startsWith("pod/") ? s.slice(4) : s;
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$/.test(name))
    return void c.error(code("invalid-name"), `"${s}" is not a pod name`, { hint: "write NAME or NAMESPACE/NAME" });
  return locate(c, name.includes("/") ? name : `default/${name}`);
}

/** A duration (`5s`, `500ms`); a bare number is an error with the fix. */
export function readDuration(c: Cursor, what: string): number | undefined {
  if (!c.present) return undefined;
  if (c.kind === "number") return void c.error(code("invalid-duration"), `${c.describe()} has no unit`, { hint: `write ${c.describe()}s (or ms, m…)` });
  const s = c.str();
  if (s === undefined) return undefined;
  const d = parseDuration(s);
  if (d === undefined) return void c.error(code("invalid-duration"), `"${s}" is not ${what} (expected a duration such as 5s, 500ms or 1m30s)`);
  return d;
}

/** Reports an unresolvable reference found in the dry run. */
export function checkResolved<T>(cx: CheckContext, at: Located<unknown>, r: { ok: true; value: T } | { ok: false; message: string; hint?: string }, c: "unknown-target" | "unknown-pod" = "unknown-target"): T | undefined {
  if (r.ok) return r.value;
  cx.error(at, /ambiguous/.test(r.message) ? "ambiguous-target" : c, r.message, r.hint);
  return undefined;
}

/** An optional payload: a string (numbers written bare are taken as their text). */
export function readPayload(c: Cursor, fallback: string): string {
  if (!c.present) return fallback;
  if (c.kind === "number" || c.kind === "boolean") return c.describe();
  return c.str() ?? fallback;
}

/** An address written in an expectation, with or without a port. */
export interface AddrPort {
  addr: string;
  port?: number;
}

/** `10.244.0.2` or `10.244.0.2:5353`. */
export function readAddrPort(c: Cursor): AddrPort | undefined {
  const s = c.str();
  if (s === undefined) return undefined;
  const m = /^([0-9.]+)(?::([0-9]+))?$/.exec(s);
  const ip = m ? parseIpv4(m[1]) : undefined;
  const port = m?.[2] === undefined ? undefined : Number(m[2]);
  if (!ip?.ok || (port !== undefined && (port < 1 || port > 65535))) {
    c.error(code("invalid-ip"), `"${s}" is not an address (expected IP or IP:PORT, e.g. 10.244.0.2 or 10.96.0.10:53)`, { hint: ip && !ip.ok ? ip.error : undefined });
    return undefined;
  }
  return { addr: m![1], port };
}

export const matchAddr = (want: AddrPort, addr: string, port: number): boolean => want.addr === addr && (want.port === undefined || want.port === port);
export const formatAddr = (a: AddrPort): string => (a.port === undefined ? a.addr : `${a.addr}:${a.port}`);

const REASONS = Object.keys(DropReason);

/** `dropped: REASON` (Linux's SKB_DROP_REASON_* name, prefix optional) or `dropped: true`. */
export function readDropped(c: Cursor): string | true | undefined {
  if (c.kind === "boolean") {
    if (c.scalar === true) return true;
    c.error(code("invalid-value"), "dropped: false says nothing", { hint: "use delivered: true, or leave dropped out" });
    return undefined;
  }
  if (!c.present) return undefined;
  const r = c.str();
  const name = r?.toUpperCase().replace(/^SKB_DROP_REASON_/, "");
  if (name !== undefined && REASONS.includes(name)) return name;
  if (r !== undefined) {
    const guess = nearest(r.toUpperCase(), REASONS);
    c.error(code("invalid-value"), `"${r}" is not a drop reason${guess ? ` (did you mean "${guess}"?)` : ""}`, {
      hint: "drop reasons are Linux's SKB_DROP_REASON_* names, e.g. NO_SOCKET, NETFILTER_DROP, NEIGH_FAILED, IP_INNOROUTES, TTL_EXPIRED",
    });
  }
  return undefined;
}

/** `icmp: port-unreachable` (or iptables' `icmp-port-unreachable`), one of ICMP_NAMES. */
export function readIcmp(c: Cursor): string | undefined {
  if (!c.present) return undefined;
  const r = c.str();
  const n = r === undefined ? undefined : normaliseIcmpName(r);
  if (n !== undefined && n in ICMP_NAMES) return n;
  if (r !== undefined) c.error(code("invalid-value"), `"${r}" is not an ICMP error kubewire knows (expected ${oneOf(Object.keys(ICMP_NAMES))})`);
  return undefined;
}

/** `error: ERRNO`, one of `errnos` (the errors the step's socket reports). */
export function readErrno(c: Cursor, errnos: readonly string[], what: string): string | undefined {
  if (!c.present) return undefined;
  const r = c.str()?.toUpperCase();
  if (r !== undefined && errnos.includes(r)) return r;
  if (r !== undefined) c.error(code("invalid-value"), `"${r}" is not an error ${what} reports here (expected ${oneOf(errnos)})`);
  return undefined;
}

/** What a udp or tcp step sends from and to: the sender, the target, a source port and a container. */
export interface FlowFields {
  from: Located<HostRef>;
  to: Located<TargetRef>;
  srcPort?: number;
  container?: Located<string>;
}

/** Reads `from`, `to`, `srcPort` and `container` of a udp or tcp step; undefined when from or to is wrong. */
export function readFlow(body: Cursor, protocol: "udp" | "tcp"): FlowFields | undefined {
  const from = readSender(body.get("from"));
  const to = readTarget(body.get("to"), protocol);
  const srcPort = body.get("srcPort").int("a port number", 1, 65535, "invalid-port");
  const ctr = body.get("container");
  const container = ctr.present ? ctr.str() : undefined;
  if (!from || !to) return undefined;
  return { from, to, srcPort, container: container === undefined ? undefined : locate(ctr, container) };
}

/** Checks a flow against the cluster: the sender, its container, the target and the pod expected to answer. */
export function checkFlow(cx: CheckContext, s: FlowFields, at: Located<string> | undefined): void {
  const from = checkResolved(cx, s.from, resolveHost(cx.cluster, s.from.value, true));
  if (from?.pod && s.container && !from.pod.containers.has(s.container.value))
    cx.error(s.container, "unknown-target", `pod ${from.pod.key} has no container "${s.container.value}"`, `its containers: ${[...from.pod.containers.keys()].join(", ")}`);
  if (s.container && from && !from.pod) cx.error(s.container, "invalid-value", "container is only for traffic sent from a pod");
  checkResolved(cx, s.to, resolveTarget(cx.cluster, s.to.value));
  if (at) checkResolved(cx, at, resolveHost(cx.cluster, { kind: "pod", name: at.value }), "unknown-pod");
}

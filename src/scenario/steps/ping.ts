// `ping: {from, to}`: one ICMP echo request, as iputils ping sends it; expect `reply: true|false`.

import { ping } from "../../net/index.js";
import { formatIpv4 } from "../../wire/index.js";
import { formatDuration } from "../duration.js";
import type { Located } from "../model.js";
import { formatHost, type HostRef, resolveHost } from "../refs.js";
import { checkResolved, readDuration, readHost, readSender } from "./fields.js";
import { dropsIn, formatDrop, icmpErrorsIn, icmpName } from "./observe.js";
import { defineStep } from "./registry.js";

export interface PingSpec {
  from: Located<HostRef>;
  to: Located<HostRef>;
  timeout: number;
  reply?: boolean;
}

export const pingStep = defineStep<PingSpec>({
  type: "ping",
  synopsis: "ping: {from, to: HOST}; expect: {reply: true|false}",
  expects: true,
  timed: true,
  read(body, expect, timeout, rc) {
    if (!body.isMap()) return undefined;
    body.known(["from", "to"]);
    const from = readSender(body.get("from"));
    const to = readHost(body.get("to"));
    let reply: boolean | undefined;
    if (expect.isMap()) {
      expect.known(["reply"]);
      reply = expect.get("reply").bool();
    }
    const t = readDuration(timeout, "a timeout") ?? rc.timeout;
    if (!from || !to) return undefined;
    return { from, to, timeout: t, reply };
  },
  check(s, cx) {
    checkResolved(cx, s.from, resolveHost(cx.cluster, s.from.value, true));
    checkResolved(cx, s.to, resolveHost(cx.cluster, s.to.value));
  },
  title: (s) => `ping ${formatHost(s.from.value)} → ${formatHost(s.to.value)}`,
  run(s, rt) {
    const from = resolveHost(rt.cluster, s.from.value, true);
    if (!from.ok) return { pass: false, observed: "not sent", why: from.message };
    const to = resolveHost(rt.cluster, s.to.value);
    if (!to.ok) return { pass: false, observed: "not sent", why: to.message };
    const ns = from.value.ns!;
    const start = rt.sim.now;
    const firstEvent = rt.events.length;
    let reply: { from: number; ttl: number; at: number } | undefined;
    const err = ping(ns, formatIpv4(to.value.addr), {}, (r) => {
      reply ??= { from: r.from, ttl: r.ttl, at: r.at };
    });
    if (err === undefined) rt.runUntil(start + s.timeout, () => reply !== undefined);
    const parts: string[] = [];
    if (err) parts.push(`error ${err}`);
    else if (reply) parts.push(`reply from ${formatIpv4(reply.from)} ttl ${reply.ttl}${reply.at > start ? ` after ${formatDuration(reply.at - start)}` : ""}`);
    else parts.push("no reply");
    if (!reply) {
      for (const d of dropsIn(rt.events, firstEvent).slice(0, 3)) parts.push(`dropped at ${formatDrop(d)}`);
      for (const i of icmpErrorsIn(rt.events, firstEvent, ns.name).slice(0, 2)) parts.push(`icmp ${icmpName(i.type, i.code)} from ${i.from}`);
    }
    const observed = parts.join("; ");
    if (s.reply === undefined || s.reply === (reply !== undefined)) return { pass: true, observed };
    return { pass: false, observed, why: s.reply ? "expected an echo reply, got none" : "expected no reply, got one" };
  },
});

// -j DNAT / SNAT / MASQUERADE (net/netfilter/xt_nat.c, nf_nat_masquerade.c; libxt_DNAT.c,
// libxt_SNAT.c, libxt_MASQUERADE.c): the rule only describes the range; binding the connection
// to it is nf_nat_setup_info, reached through the engine's NatApi. MASQUERADE picks the source as
// nf_nat_masquerade_ipv4 does: inet_select_addr(out, nexthop of the route to the destination).

import { Hook, Verdict } from "../../../net/index.js";
import { formatIpv4, parseIpv4 } from "../../../wire/index.js";
import { masqueradeAddress } from "../../conntrack/index.js";
import type { NatRange } from "../../types.js";
import { fail } from "../fail.js";
import { defineTarget, type RuleInfo, type TargetFn, type XtEnv, type XtParam } from "../xt.js";

export interface NatSpec {
  /** NF_NAT_RANGE_MAP_IPS: an address range was given. */
  mapIps: boolean;
  minAddr: number;
  maxAddr: number;
  /** NF_NAT_RANGE_PROTO_SPECIFIED: a port range was given. */
  portSpecified: boolean;
  minPort: number;
  maxPort: number;
  random: boolean;
  randomFully: boolean;
  persistent: boolean;
  /** The --to-destination / --to-source / --to-ports option was given. */
  given: boolean;
}

const initSpec = (): NatSpec => ({
  mapIps: false,
  minAddr: 0,
  maxAddr: 0,
  portSpecified: false,
  minPort: 0,
  maxPort: 0,
  random: false,
  randomFully: false,
  persistent: false,
  given: false,
});

/** "65535" or "1000-2000" → [min, max] (parse_ports). */
function parsePorts(s: string, whole: string): [number, number] {
  const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(s);
  if (!m || Number(m[1]) > 65535 || (m[2] !== undefined && Number(m[2]) > 65535)) fail(`Port "${s}" not valid`, whole, "PORT or PORT-PORT (0-65535)");
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (hi < lo) fail(`Port range "${s}" funky`, whole, "PORT-PORT with the smaller port first");
  return [lo, hi];
}

/** [ipaddr[-ipaddr]][:port[-port]] (parse_to). */
function parseTo(spec: NatSpec, s: string): void {
  const colon = s.indexOf(":");
  let addrs = s;
  if (colon >= 0) {
    [spec.minPort, spec.maxPort] = parsePorts(s.slice(colon + 1), s);
    spec.portSpecified = true;
    addrs = s.slice(0, colon);
    if (addrs === "") return;
  }
  const dash = addrs.indexOf("-");
  const lo = parseIpv4(dash < 0 ? addrs : addrs.slice(0, dash));
  const hi = dash < 0 ? lo : parseIpv4(addrs.slice(dash + 1));
  if (!lo.ok || !hi.ok) return fail(`Bad IP address "${addrs}"`, s, "ADDR[-ADDR][:PORT[-PORT]]");
  if (hi.value < lo.value) fail(`Bad IP range "${addrs}"`, s, "the smaller address first");
  spec.mapIps = true;
  spec.minAddr = lo.value;
  spec.maxAddr = hi.value;
}

/** Ports need a protocol that has them (the "Need TCP, UDP, SCTP or DCCP" check). */
function checkPortProto(spec: NatSpec, rule: RuleInfo, option: string): void {
  const p = rule.proto;
  if (spec.portSpecified && (rule.invProto || !(p === 6 || p === 17 || p === 132 || p === 33 || p === 136)))
    fail("Need TCP, UDP, SCTP or DCCP with port specification", option, "-p tcp or -p udp in the same rule");
}

/** sprint_range: "10.0.0.1-10.0.0.5:80-90", "10.0.0.1", ":80". */
function formatRange(spec: NatSpec): string {
  let s = "";
  if (spec.mapIps) s += formatIpv4(spec.minAddr) + (spec.maxAddr !== spec.minAddr ? `-${formatIpv4(spec.maxAddr)}` : "");
  if (spec.portSpecified) s += `:${spec.minPort}${spec.maxPort !== spec.minPort ? `-${spec.maxPort}` : ""}`;
  return s;
}

function flagsText(spec: NatSpec): string {
  return `${spec.random ? " --random" : ""}${spec.randomFully ? " --random-fully" : ""}${spec.persistent ? " --persistent" : ""}`;
}

/**
 * The range handed to setupNat. An address range of 0.0.0.0-0.0.0.0 means "keep the address"
 * (no NF_NAT_RANGE_MAP_IPS, e.g. `--to-destination :8080`); ports 0/0 mean "keep the port".
 */
function natRange(spec: NatSpec, minAddr: number, maxAddr: number): NatRange {
  return {
    minAddr,
    maxAddr,
    minPort: spec.portSpecified ? spec.minPort : 0,
    maxPort: spec.portSpecified ? spec.maxPort : 0,
    random: spec.random || undefined,
    randomFully: spec.randomFully || undefined,
    persistent: spec.persistent || undefined,
  };
}

function natTarget(name: "DNAT" | "SNAT", option: "--to-destination" | "--to-source", hooks: number): ReturnType<typeof defineTarget> {
  const manip = name === "DNAT" ? "dst" : "src";
  return defineTarget<NatSpec>({
    name,
    options: {
      [option]: { args: 1 },
      "--random": { args: 0 },
      "--persistent": { args: 0 },
      ...(name === "SNAT" ? { "--random-fully": { args: 0 } } : {}),
    },
    tables: ["nat"],
    hooks,
    init: initSpec,
    parse(spec, opt, args) {
      if (opt === option) {
        if (spec.given) fail(`${name}: multiple ${option} not supported`, args[0]);
        parseTo(spec, args[0]);
        spec.given = true;
      } else if (opt === "--random") spec.random = true;
      else if (opt === "--random-fully") spec.randomFully = true;
      else spec.persistent = true;
    },
    final(spec, rule) {
      if (!spec.given) fail(`${name}: option "${option}" must be specified`, `-j ${name}`, `${option} ADDR[-ADDR][:PORT[-PORT]]`);
      checkPortProto(spec, rule, option);
    },
    save: (spec) => ` ${option} ${formatRange(spec)}${flagsText(spec)}`,
    compile(spec, env, where): TargetFn {
      const range = natRange(spec, spec.mapIps ? spec.minAddr : 0, spec.mapIps ? spec.maxAddr : 0);
      return (p) => {
        const nat = env.natFor(p.ctx.ns);
        return nat === null ? Verdict.Accept : nat.setupNat(p.ctx, range, manip, where);
      };
    },
  });
}

export const dnatTarget = natTarget("DNAT", "--to-destination", (1 << Hook.PreRouting) | (1 << Hook.LocalOut));
export const snatTarget = natTarget("SNAT", "--to-source", (1 << Hook.PostRouting) | (1 << Hook.LocalIn));

export const masqueradeTarget = defineTarget<NatSpec>({
  name: "MASQUERADE",
  options: { "--to-ports": { args: 1 }, "--random": { args: 0 }, "--random-fully": { args: 0 } },
  tables: ["nat"],
  hooks: 1 << Hook.PostRouting,
  init: initSpec,
  parse(spec, opt, args) {
    if (opt === "--to-ports") {
      [spec.minPort, spec.maxPort] = parsePorts(args[0], args[0]);
      spec.portSpecified = true;
    } else if (opt === "--random") spec.random = true;
    else spec.randomFully = true;
  },
  final: (spec, rule) => checkPortProto(spec, rule, "--to-ports"),
  save(spec) {
    const ports = spec.portSpecified ? ` --to-ports ${spec.minPort}${spec.maxPort !== spec.minPort ? `-${spec.maxPort}` : ""}` : "";
    return `${ports}${spec.random ? " --random" : ""}${spec.randomFully ? " --random-fully" : ""}`;
  },
  compile(spec, env, where): TargetFn {
    return (p) => masquerade(p, spec, env, where);
  },
});

/** nf_nat_masquerade_ipv4. Runs once per connection (the nat table sees only its first packet). */
function masquerade(p: XtParam, spec: NatSpec, env: XtEnv, where: string): number {
  // "Source address is 0.0.0.0 - locally generated packet that is probably not supposed to be masqueraded."
  if (p.saddr === 0) return Verdict.Accept;
  // inet_select_addr(out, rt_nexthop(rt, daddr), RT_SCOPE_UNIVERSE); loopback's addresses have
  // host scope and are never chosen.
  const out = p.ctx.outdev;
  const newsrc = out === null || out.kind === "loopback" ? 0 : masqueradeAddress(p.ctx);
  if (newsrc === 0) {
    const sim = p.ctx.ns.sim;
    if (sim.trace.on) sim.trace.emit({ t: sim.sched.now, ns: p.ctx.ns.name, kind: "log", text: `${out?.name ?? "?"} ate my IP address (${where})` });
    return Verdict.Drop;
  }
  const nat = env.natFor(p.ctx.ns);
  return nat === null ? Verdict.Accept : nat.setupNat(p.ctx, natRange(spec, newsrc, newsrc), "src", where);
}

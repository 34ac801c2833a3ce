// -j LOG (net/netfilter/xt_LOG.c, nf_log_syslog.c dump_ipv4_packet; libxt_LOG.c): the kernel log
// line "PREFIX IN=eth0 OUT= MAC=… SRC=… DST=… LEN=… …", here a "log" trace event (and the
// engine's onLog callback). A non-terminating target.

import { formatIpv4, ipv4 } from "../../../wire/index.js";
import { fail } from "../fail.js";
import { saveString } from "../values.js";
import { defineTarget, XT_CONTINUE, type XtParam } from "../xt.js";

/** struct xt_log_info.prefix is 30 bytes: 29 characters and the NUL (iptables-nft truncates). */
const PREFIX_MAX = 29;
const LOG_DEFAULT_LEVEL = 4;
const LEVELS: Record<string, number> = { emerg: 0, panic: 0, alert: 1, crit: 2, error: 3, err: 3, warning: 4, warn: 4, notice: 5, info: 6, debug: 7 };

const FLAGS: ReadonlyArray<readonly [string, number]> = [
  ["--log-tcp-sequence", 0x01],
  ["--log-tcp-options", 0x02],
  ["--log-ip-options", 0x04],
  ["--log-uid", 0x08],
  ["--log-macdecode", 0x20],
];

export interface LogSpec {
  prefix: string;
  level: number;
  flags: number;
}

export const logTarget = defineTarget<LogSpec>({
  name: "LOG",
  options: {
    "--log-level": { args: 1 },
    "--log-prefix": { args: 1 },
    "--log-tcp-sequence": { args: 0 },
    "--log-tcp-options": { args: 0 },
    "--log-ip-options": { args: 0 },
    "--log-uid": { args: 0 },
    "--log-macdecode": { args: 0 },
  },
  init: () => ({ prefix: "", level: LOG_DEFAULT_LEVEL, flags: 0 }),
  parse(spec, option, args) {
    if (option === "--log-prefix") spec.prefix = args[0].slice(0, PREFIX_MAX);
    else if (option === "--log-level") {
      const a = args[0];
      const n = /^[0-7]$/.test(a) ? Number(a) : LEVELS[a.toLowerCase()];
      if (n === undefined) fail(`LOG: log level "${a}" unknown`, a, "0-7 or emerg, alert, crit, error, warning, notice, info, debug");
      spec.level = n;
    } else spec.flags |= FLAGS.find(([n]) => n === option)![1];
  },
  final: () => {},
  save(spec) {
    let s = spec.prefix !== "" ? ` --log-prefix${saveString(spec.prefix)}` : "";
    if (spec.level !== LOG_DEFAULT_LEVEL) s += ` --log-level ${spec.level}`;
    for (const [name, bit] of FLAGS) if (spec.flags & bit) s += ` ${name}`;
    return s;
  },
  compile(spec, env) {
    return (p) => {
      const sim = p.ctx.ns.sim;
      if (sim.trace.on || env.onLog !== null) {
        const line = formatLogLine(p, spec);
        if (sim.trace.on) sim.trace.emit({ t: sim.sched.now, ns: p.ctx.ns.name, kind: "log", text: line });
        env.onLog?.(line, p.ctx);
      }
      return XT_CONTINUE;
    };
  },
});

const hex2 = (n: number): string => n.toString(16).padStart(2, "0").toUpperCase();

/** dump_ipv4_packet's text for the common fields, TCP/UDP/ICMP. Cold: built only when someone listens. */
export function formatLogLine(p: XtParam, spec: LogSpec): string {
  const { b, l3, ctx } = p;
  let s = `${spec.prefix}IN=${ctx.indev?.name ?? ""} OUT=${ctx.outdev?.name ?? ""} `;
  if (ctx.indev !== null && p.pkt.head + 14 <= l3) {
    const mac: string[] = [];
    for (let i = l3 - 14; i < l3; i++) mac.push(hex2(b[i]).toLowerCase());
    s += `MAC=${mac.join(":")} `;
  }
  const tos = b[l3 + 1];
  s += `SRC=${formatIpv4(p.saddr)} DST=${formatIpv4(p.daddr)} LEN=${ipv4.totalLen(b, l3)} TOS=0x${hex2(tos & 0x1e)} PREC=0x${hex2(tos & 0xe0)} TTL=${ipv4.ttl(b, l3)} ID=${ipv4.ident(b, l3)} `;
  if (ipv4.dontFrag(b, l3)) s += "DF ";
  if (ipv4.moreFrags(b, l3)) s += "MF ";
  if (p.fragoff !== 0) s += `FRAG:${p.fragoff} `;
  const o = p.thoff;
  const have = p.end - o;
  if (p.proto === 6) {
    s += "PROTO=TCP ";
    if (p.fragoff !== 0) return s.trimEnd();
    if (have < 20) return `${s}INCOMPLETE [${have} bytes] `.trimEnd();
    s += `SPT=${(b[o] << 8) | b[o + 1]} DPT=${(b[o + 2] << 8) | b[o + 3]} `;
    if (spec.flags & 0x01) s += `SEQ=${((b[o + 4] << 24) | (b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7]) >>> 0} ACK=${((b[o + 8] << 24) | (b[o + 9] << 16) | (b[o + 10] << 8) | b[o + 11]) >>> 0} `;
    s += `WINDOW=${(b[o + 14] << 8) | b[o + 15]} RES=0x${hex2((b[o + 12] & 0x0f) << 2)} `;
    const f = b[o + 13];
    for (const [bit, name] of [[0x80, "CWR"], [0x40, "ECE"], [0x20, "URG"], [0x10, "ACK"], [0x08, "PSH"], [0x04, "RST"], [0x02, "SYN"], [0x01, "FIN"]] as const)
      if (f & bit) s += `${name} `;
    s += `URGP=${(b[o + 18] << 8) | b[o + 19]}`;
    return s;
  }
  if (p.proto === 17) {
    s += "PROTO=UDP ";
    if (p.fragoff !== 0) return s.trimEnd();
    if (have < 8) return `${s}INCOMPLETE [${have} bytes]`;
    return `${s}SPT=${(b[o] << 8) | b[o + 1]} DPT=${(b[o + 2] << 8) | b[o + 3]} LEN=${(b[o + 4] << 8) | b[o + 5]}`;
  }
  if (p.proto === 1) {
    s += "PROTO=ICMP ";
    if (p.fragoff !== 0) return s.trimEnd();
    if (have < 4) return `${s}INCOMPLETE [${have} bytes]`;
    s += `TYPE=${b[o]} CODE=${b[o + 1]}`;
    if ((b[o] === 0 || b[o] === 8) && have >= 8) s += ` ID=${(b[o + 4] << 8) | b[o + 5]} SEQ=${(b[o + 6] << 8) | b[o + 7]}`;
    return s;
  }
  return `${s}PROTO=${p.proto}`;
}

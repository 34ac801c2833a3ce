// -m tcp / -m udp (net/netfilter/xt_tcpudp.c, libxt_tcp.c, libxt_udp.c): source and destination
// port ranges, each invertible, and for TCP the flags test --tcp-flags MASK COMP (and --syn).

import { fail } from "../fail.js";
import { formatPortRange, parsePortRange } from "../values.js";
import { defineMatch, type MatchFn, type OptionDef, type RuleInfo, type XtParam } from "../xt.js";

export interface PortsSpec {
  spts: [number, number];
  dpts: [number, number];
  invSpt: boolean;
  invDpt: boolean;
}

export interface TcpSpec extends PortsSpec {
  flgMask: number;
  flgCmp: number;
  invFlags: boolean;
}

const TCP_HEADER = 20;
const UDP_HEADER = 8;

/** tcp_flag_names in libxt_tcp.c: the order print_tcpf walks. */
const TCP_FLAG_NAMES: ReadonlyArray<readonly [string, number]> = [
  ["FIN", 0x01],
  ["SYN", 0x02],
  ["RST", 0x04],
  ["PSH", 0x08],
  ["ACK", 0x10],
  ["URG", 0x20],
  ["ALL", 0x3f],
  ["NONE", 0],
];

function parseTcpFlags(s: string): number {
  let flags = 0;
  for (const name of s.split(",")) {
    const f = TCP_FLAG_NAMES.find(([n]) => n === name.toUpperCase());
    if (f === undefined) fail(`unknown TCP flag "${name}"`, s, "a comma-separated list of FIN, SYN, RST, PSH, ACK, URG, ALL, NONE");
    flags |= f[1];
  }
  return flags;
}

/** print_tcpf: names in table order, each flag once; NONE for none. */
function formatTcpFlags(flags: number): string {
  const names: string[] = [];
  while (flags !== 0) {
    let i = 0;
    while ((flags & TCP_FLAG_NAMES[i][1]) === 0) i++;
    names.push(TCP_FLAG_NAMES[i][0]);
    flags &= ~TCP_FLAG_NAMES[i][1];
  }
  return names.length > 0 ? names.join(",") : "NONE";
}

const PORT_OPTIONS: Record<string, OptionDef> = {
  "--sport": { args: 1, invert: true },
  "--source-port": { args: 1, invert: true, alias: "--sport" },
  "--dport": { args: 1, invert: true },
  "--destination-port": { args: 1, invert: true, alias: "--dport" },
};

function parsePorts(spec: PortsSpec, option: string, arg: string, invert: boolean): boolean {
  if (option === "--sport") {
    spec.spts = parsePortRange(arg);
    spec.invSpt = invert;
    return true;
  }
  if (option === "--dport") {
    spec.dpts = parsePortRange(arg);
    spec.invDpt = invert;
    return true;
  }
  return false;
}

function savePorts(spec: PortsSpec): string {
  let s = "";
  if (spec.spts[0] !== 0 || spec.spts[1] !== 0xffff) s += `${spec.invSpt ? " !" : ""} --sport ${formatPortRange(spec.spts[0], spec.spts[1])}`;
  if (spec.dpts[0] !== 0 || spec.dpts[1] !== 0xffff) s += `${spec.invDpt ? " !" : ""} --dport ${formatPortRange(spec.dpts[0], spec.dpts[1])}`;
  return s;
}

function requireProto(rule: RuleInfo, proto: number, name: string): void {
  if (rule.proto !== proto || rule.invProto) fail(`${name.toUpperCase()} match requires '-p ${name}'`, `-m ${name}`, `-p ${name} in the same rule`);
}

/**
 * The port test of tcp_mt/udp_mt: non-first fragments never match (a fragment at offset 8 is
 * dropped, "Don't allow a fragment of TCP 8 bytes in"); a header too short to read is hotdropped.
 * The common kube-proxy shape (one destination port, nothing else) gets its own closure.
 */
function compilePorts(spec: PortsSpec, headerLen: number, extra: ((p: XtParam) => boolean) | null): MatchFn {
  const [slo, shi] = spec.spts;
  const [dlo, dhi] = spec.dpts;
  const invS = spec.invSpt;
  const invD = spec.invDpt;
  const anyS = slo === 0 && shi === 0xffff && !invS;
  if (anyS && dlo === dhi && !invD && extra === null) {
    return (p) => {
      if (p.fragoff !== 0 || p.end - p.thoff < headerLen) return shortOrFragment(p, headerLen);
      const b = p.b;
      const o = p.thoff;
      return ((b[o + 2] << 8) | b[o + 3]) === dlo;
    };
  }
  return (p) => {
    if (p.fragoff !== 0 || p.end - p.thoff < headerLen) return shortOrFragment(p, headerLen);
    const b = p.b;
    const o = p.thoff;
    const sport = (b[o] << 8) | b[o + 1];
    const dport = (b[o + 2] << 8) | b[o + 3];
    if ((sport >= slo && sport <= shi) === invS) return false;
    if ((dport >= dlo && dport <= dhi) === invD) return false;
    return extra === null || extra(p);
  };
}

/** A non-first fragment does not match; offset 8 (one unit) or a truncated header is dropped. */
function shortOrFragment(p: XtParam, headerLen: number): boolean {
  if (p.fragoff === 1 || (p.fragoff === 0 && p.end - p.thoff < headerLen)) p.hotdrop = true;
  return false;
}

export const tcpMatch = defineMatch<TcpSpec>({
  name: "tcp",
  options: {
    ...PORT_OPTIONS,
    "--tcp-flags": { args: 2, invert: true },
    "--syn": { args: 0, invert: true },
  },
  init: () => ({ spts: [0, 0xffff], dpts: [0, 0xffff], invSpt: false, invDpt: false, flgMask: 0, flgCmp: 0, invFlags: false }),
  parse(spec, option, args, invert) {
    if (parsePorts(spec, option, args[0], invert)) return;
    if (spec.flgMask !== 0 || spec.invFlags) fail("only one of --tcp-flags and --syn may be given", option);
    if (option === "--syn") {
      spec.flgMask = 0x17; // FIN,SYN,RST,ACK
      spec.flgCmp = 0x02;
    } else {
      spec.flgMask = parseTcpFlags(args[0]);
      spec.flgCmp = parseTcpFlags(args[1]);
    }
    spec.invFlags = invert;
  },
  final: (_spec, rule) => requireProto(rule, 6, "tcp"),
  save(spec) {
    let s = savePorts(spec);
    if (spec.flgMask !== 0 || spec.invFlags) s += `${spec.invFlags ? " !" : ""} --tcp-flags ${formatTcpFlags(spec.flgMask)} ${formatTcpFlags(spec.flgCmp)}`;
    return s;
  },
  compile(spec) {
    const mask = spec.flgMask;
    const cmp = spec.flgCmp;
    const inv = spec.invFlags;
    const flags = mask === 0 && !inv ? null : (p: XtParam) => ((p.b[p.thoff + 13] & mask) === cmp) !== inv;
    return compilePorts(spec, TCP_HEADER, flags);
  },
});

export const udpMatch = defineMatch<PortsSpec>({
  name: "udp",
  options: PORT_OPTIONS,
  init: () => ({ spts: [0, 0xffff], dpts: [0, 0xffff], invSpt: false, invDpt: false }),
  parse(spec, option, args, invert) {
    parsePorts(spec, option, args[0], invert);
  },
  final: (_spec, rule) => requireProto(rule, 17, "udp"),
  save: savePorts,
  compile: (spec) => compilePorts(spec, UDP_HEADER, null),
});

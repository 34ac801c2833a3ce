// -m icmp --icmp-type {any|TYPE[/CODE]|NAME} (net/ipv4/netfilter/ip_tables.c icmp_match,
// libxt_icmp.c): names are read and printed back as numbers, "any" stays "any".

import { fail } from "../fail.js";
import { defineMatch } from "../xt.js";

export interface IcmpSpec {
  /** 0xff: any type. */
  type: number;
  codeMin: number;
  codeMax: number;
  invert: boolean;
}

/** The ICMP names libxtables knows (xtables icmp_codes), RFC 792 types and codes. */
const ICMP_NAMES: ReadonlyArray<readonly [string, number, number, number]> = [
  ["any", 0xff, 0, 0xff],
  ["echo-reply", 0, 0, 0xff],
  ["destination-unreachable", 3, 0, 0xff],
  ["network-unreachable", 3, 0, 0],
  ["host-unreachable", 3, 1, 1],
  ["protocol-unreachable", 3, 2, 2],
  ["port-unreachable", 3, 3, 3],
  ["fragmentation-needed", 3, 4, 4],
  ["source-route-failed", 3, 5, 5],
  ["network-unknown", 3, 6, 6],
  ["host-unknown", 3, 7, 7],
  ["network-prohibited", 3, 9, 9],
  ["host-prohibited", 3, 10, 10],
  ["TOS-network-unreachable", 3, 11, 11],
  ["TOS-host-unreachable", 3, 12, 12],
  ["communication-prohibited", 3, 13, 13],
  ["host-precedence-violation", 3, 14, 14],
  ["precedence-cutoff", 3, 15, 15],
  ["source-quench", 4, 0, 0xff],
  ["redirect", 5, 0, 0xff],
  ["network-redirect", 5, 0, 0],
  ["host-redirect", 5, 1, 1],
  ["TOS-network-redirect", 5, 2, 2],
  ["TOS-host-redirect", 5, 3, 3],
  ["echo-request", 8, 0, 0xff],
  ["router-advertisement", 9, 0, 0xff],
  ["router-solicitation", 10, 0, 0xff],
  ["time-exceeded", 11, 0, 0xff],
  ["ttl-zero-during-transit", 11, 0, 0],
  ["ttl-zero-during-reassembly", 11, 1, 1],
  ["parameter-problem", 12, 0, 0xff],
  ["ip-header-bad", 12, 0, 0],
  ["required-option-missing", 12, 1, 1],
  ["timestamp-request", 13, 0, 0xff],
  ["timestamp-reply", 14, 0, 0xff],
  ["address-mask-request", 17, 0, 0xff],
  ["address-mask-reply", 18, 0, 0xff],
];

function parseIcmpType(s: string): [number, number, number] {
  const named = ICMP_NAMES.find(([n]) => n.toLowerCase() === s.toLowerCase());
  if (named) return [named[1], named[2], named[3]];
  const m = /^([0-9]{1,3})(?:\/([0-9]{1,3}))?$/.exec(s);
  if (!m || Number(m[1]) > 255 || (m[2] !== undefined && Number(m[2]) > 255))
    fail(`invalid ICMP type "${s}"`, s, "TYPE, TYPE/CODE (0-255) or a name such as echo-request, port-unreachable, any");
  const type = Number(m[1]);
  return m[2] === undefined ? [type, 0, 0xff] : [type, Number(m[2]), Number(m[2])];
}

export const icmpMatch = defineMatch<IcmpSpec>({
  name: "icmp",
  options: { "--icmp-type": { args: 1, invert: true } },
  init: () => ({ type: 0xff, codeMin: 0, codeMax: 0xff, invert: false }),
  parse(spec, _option, args, invert) {
    [spec.type, spec.codeMin, spec.codeMax] = parseIcmpType(args[0]);
    spec.invert = invert;
  },
  final(_spec, rule) {
    if (rule.proto !== 1 || rule.invProto) fail("ICMP match requires '-p icmp'", "-m icmp", "-p icmp in the same rule");
  },
  save(spec) {
    const inv = spec.invert ? " !" : "";
    if (spec.type === 0xff) return `${inv} --icmp-type any`;
    const code = spec.codeMin !== 0 || spec.codeMax !== 0xff ? `/${spec.codeMin}` : "";
    return `${inv} --icmp-type ${spec.type}${code}`;
  },
  compile(spec) {
    const { type, codeMin, codeMax, invert } = spec;
    return (p) => {
      if (p.fragoff !== 0) return false;
      if (p.end - p.thoff < 8) {
        p.hotdrop = true;
        return false;
      }
      const t = p.b[p.thoff];
      const c = p.b[p.thoff + 1];
      return (type === 0xff || (t === type && c >= codeMin && c <= codeMax)) !== invert;
    };
  },
});

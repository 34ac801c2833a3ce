// -m multiport --sports/--dports/--ports (net/netfilter/xt_multiport.c revision 1,
// libxt_multiport.c): up to 15 ports, a range counting as two.

import { fail } from "../fail.js";
import { parsePort } from "../values.js";
import { defineMatch } from "../xt.js";

const XT_MULTI_PORTS = 15;
const SOURCE = 0;
const DESTINATION = 1;
const EITHER = 2;

export interface MultiportSpec {
  /** 0 source, 1 destination, 2 either; -1 before an option is seen. */
  flags: number;
  /** [lo, hi] pairs; lo === hi for a single port (a range prints as lo:hi). */
  ranges: Array<[number, number]>;
  invert: boolean;
}

const OPTION_FLAGS: Record<string, number> = { "--sports": SOURCE, "--dports": DESTINATION, "--ports": EITHER };
const OPTION_NAMES = ["--sports", "--dports", "--ports"];

function parsePortList(s: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let slots = 0;
  for (const item of s.split(",")) {
    const colon = item.indexOf(":");
    if (colon < 0) {
      const p = parsePort(item);
      out.push([p, p]);
      slots += 1;
    } else {
      const lo = parsePort(item.slice(0, colon));
      const hi = parsePort(item.slice(colon + 1));
      if (lo >= hi) fail(`invalid portrange "${item}" specified`, s, "lo:hi with lo < hi");
      out.push([lo, hi]);
      slots += 2;
    }
    if (slots > XT_MULTI_PORTS) fail("too many ports specified", s, `at most ${XT_MULTI_PORTS} ports (a range counts as two)`);
  }
  return out;
}

export const multiportMatch = defineMatch<MultiportSpec>({
  name: "multiport",
  options: {
    "--sports": { args: 1, invert: true },
    "--source-ports": { args: 1, invert: true, alias: "--sports" },
    "--dports": { args: 1, invert: true },
    "--destination-ports": { args: 1, invert: true, alias: "--dports" },
    "--ports": { args: 1, invert: true },
  },
  init: () => ({ flags: -1, ranges: [], invert: false }),
  parse(spec, option, args, invert) {
    if (spec.flags >= 0) fail("multiport can only have one option", option, "one of --sports, --dports, --ports");
    spec.flags = OPTION_FLAGS[option];
    spec.ranges = parsePortList(args[0]);
    spec.invert = invert;
  },
  final(spec, rule) {
    if (spec.flags < 0) fail("multiport expects an option", "-m multiport", "--sports, --dports or --ports");
    const p = rule.proto;
    if (rule.invProto || !(p === 6 || p === 17 || p === 136 || p === 132 || p === 33))
      fail("multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'", "-m multiport", "-p tcp or -p udp in the same rule");
  },
  save(spec) {
    const ports = spec.ranges.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}:${hi}`)).join(",");
    return `${spec.invert ? " !" : ""} ${OPTION_NAMES[spec.flags]} ${ports}`;
  },
  compile(spec) {
    const n = spec.ranges.length;
    const lo = Uint16Array.from(spec.ranges, (r) => r[0]);
    const hi = Uint16Array.from(spec.ranges, (r) => r[1]);
    const flags = spec.flags;
    const invert = spec.invert;
    return (p) => {
      if (p.fragoff !== 0) return false;
      if (p.end - p.thoff < 4) {
        p.hotdrop = true;
        return false;
      }
      const b = p.b;
      const o = p.thoff;
      const src = (b[o] << 8) | b[o + 1];
      const dst = (b[o + 2] << 8) | b[o + 3];
      for (let i = 0; i < n; i++) {
        const l = lo[i];
        const h = hi[i];
        const hit =
          flags === SOURCE ? src >= l && src <= h : flags === DESTINATION ? dst >= l && dst <= h : (src >= l && src <= h) || (dst >= l && dst <= h);
        if (hit) return !invert;
      }
      return invert;
    };
  },
});

// -m conntrack [!] --ctstate LIST (net/netfilter/xt_conntrack.c, libxt_conntrack.c revision 3):
// the state bits come from the conntrack hook through NfContext.ctstate, SNAT/DNAT included.

import { CtStateBit } from "../../types.js";
import { fail } from "../fail.js";
import { defineMatch } from "../xt.js";

export interface ConntrackSpec {
  stateMask: number;
  invert: boolean;
}

/** print_state's order. */
const STATE_NAMES: ReadonlyArray<readonly [string, number]> = [
  ["INVALID", CtStateBit.Invalid],
  ["NEW", CtStateBit.New],
  ["RELATED", CtStateBit.Related],
  ["ESTABLISHED", CtStateBit.Established],
  ["UNTRACKED", CtStateBit.Untracked],
  ["SNAT", CtStateBit.Snat],
  ["DNAT", CtStateBit.Dnat],
];

export const conntrackMatch = defineMatch<ConntrackSpec>({
  name: "conntrack",
  options: { "--ctstate": { args: 1, invert: true } },
  init: () => ({ stateMask: 0, invert: false }),
  parse(spec, _option, args, invert) {
    for (const name of args[0].split(",")) {
      const s = STATE_NAMES.find(([n]) => n === name.toUpperCase());
      if (s === undefined) fail(`Bad ctstate "${name}"`, args[0], "a comma-separated list of INVALID, NEW, RELATED, ESTABLISHED, UNTRACKED, SNAT, DNAT");
      spec.stateMask |= s[1];
    }
    spec.invert = invert;
  },
  final(spec) {
    if (spec.stateMask === 0) fail("conntrack: at least one option is required", "-m conntrack", "--ctstate STATES");
  },
  save: (spec) =>
    `${spec.invert ? " !" : ""} --ctstate ${STATE_NAMES.filter(([, bit]) => (spec.stateMask & bit) !== 0)
      .map(([n]) => n)
      .join(",")}`,
  compile(spec) {
    const { stateMask, invert } = spec;
    return (p) => ((p.ctx.ctstate & stateMask) !== 0) !== invert;
  },
});

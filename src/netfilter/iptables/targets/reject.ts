// -j REJECT [--reject-with TYPE] (net/ipv4/netfilter/ipt_REJECT.c, libipt_REJECT.c): answers with
// an ICMP destination unreachable (icmp_send through the stack) or a TCP RST (nf_send_reset, or the
// engine's tcpReset callback when one is given), then drops. Filter table only, INPUT/FORWARD/OUTPUT.

import { Hook, icmpSendError, Verdict } from "../../../net/index.js";
import { fail } from "../fail.js";
import { defineTarget } from "../xt.js";
import { nfSendReset } from "./nf_reject.js";

/** reject_table: the name iptables-save prints, its alias, and the ICMP code (-1: tcp-reset). */
const REJECT_TYPES: ReadonlyArray<readonly [string, string, number]> = [
  ["icmp-net-unreachable", "net-unreach", 0],
  ["icmp-host-unreachable", "host-unreach", 1],
  ["icmp-proto-unreachable", "proto-unreach", 2],
  ["icmp-port-unreachable", "port-unreach", 3],
  ["icmp-net-prohibited", "net-prohib", 9],
  ["icmp-host-prohibited", "host-prohib", 10],
  ["tcp-reset", "tcp-rst", -1],
  ["icmp-admin-prohibited", "admin-prohib", 13],
];

export interface RejectSpec {
  /** Index into REJECT_TYPES. */
  with: number;
}

const PORT_UNREACHABLE = 3;
const TCP_RESET = 6;

export const rejectTarget = defineTarget<RejectSpec>({
  name: "REJECT",
  options: { "--reject-with": { args: 1 } },
  tables: ["filter"],
  hooks: (1 << Hook.LocalIn) | (1 << Hook.Forward) | (1 << Hook.LocalOut),
  init: () => ({ with: PORT_UNREACHABLE }),
  parse(spec, _option, args) {
    const i = REJECT_TYPES.findIndex(([name, alias]) => name === args[0] || alias === args[0]);
    if (i < 0) fail(`unknown reject type "${args[0]}"`, args[0], REJECT_TYPES.map(([n]) => n).join(", "));
    spec.with = i;
  },
  final(spec, rule) {
    // reject_tg_check: "TCP_RESET invalid for non-tcp".
    if (spec.with === TCP_RESET && (rule.proto !== 6 || rule.invProto)) fail("REJECT --reject-with tcp-reset is only valid with -p tcp", "tcp-reset", "-p tcp in the same rule");
  },
  save: (spec) => ` --reject-with ${REJECT_TYPES[spec.with][0]}`,
  compile(spec, env) {
    const code = REJECT_TYPES[spec.with][2];
    if (code < 0) {
      const send = env.tcpReset;
      return (p) => {
        if (send !== null) send(p.ctx);
        else nfSendReset(p.ctx.ns, p.pkt);
        return Verdict.Drop;
      };
    }
    return (p) => {
      icmpSendError(p.ctx.ns, p.pkt, 3, code, 0);
      return Verdict.Drop;
    };
  },
});

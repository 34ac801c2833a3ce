// -j MARK (net/netfilter/xt_mark.c mark_tg, libxt_MARK.c revision 2): skb->mark = (mark & ~mask)
// ^ value. Every form is stored as a value/mask pair, so iptables-save prints --set-xmark:
// --set-mark V/M → V/(V|M), --or-mark B → B/B, --and-mark B → 0/~B, --xor-mark B → B/0.

import { fail } from "../fail.js";
import { hex, parseMarkMask, parseU32 } from "../values.js";
import { defineTarget, XT_CONTINUE } from "../xt.js";

export interface MarkTargetSpec {
  mark: number;
  mask: number;
  set: boolean;
}

export const markTarget = defineTarget<MarkTargetSpec>({
  name: "MARK",
  options: {
    "--set-xmark": { args: 1 },
    "--set-mark": { args: 1 },
    "--and-mark": { args: 1 },
    "--or-mark": { args: 1 },
    "--xor-mark": { args: 1 },
  },
  init: () => ({ mark: 0, mask: 0, set: false }),
  parse(spec, option, args) {
    if (spec.set) fail("MARK: Can only specify one action", option, "one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark");
    spec.set = true;
    const a = args[0];
    switch (option) {
      case "--set-xmark": {
        const v = parseMarkMask(a, "MARK");
        spec.mark = v.value;
        spec.mask = v.mask;
        break;
      }
      case "--set-mark": {
        const v = parseMarkMask(a, "MARK");
        spec.mark = v.value;
        spec.mask = (v.value | v.mask) >>> 0;
        break;
      }
      case "--and-mark":
        spec.mark = 0;
        spec.mask = ~parseU32(a, "MARK") >>> 0;
        break;
      case "--or-mark":
        spec.mark = spec.mask = parseU32(a, "MARK");
        break;
      case "--xor-mark":
        spec.mark = parseU32(a, "MARK");
        spec.mask = 0;
        break;
    }
  },
  final(spec) {
    if (!spec.set) fail("MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required", "-j MARK", "--set-xmark VALUE/MASK");
  },
  save: (spec) => ` --set-xmark ${hex(spec.mark)}/${hex(spec.mask)}`,
  compile(spec) {
    const notMask = ~spec.mask;
    const mark = spec.mark;
    return (p) => {
      p.pkt.mark = ((p.pkt.mark & notMask) ^ mark) >>> 0;
      return XT_CONTINUE;
    };
  },
});

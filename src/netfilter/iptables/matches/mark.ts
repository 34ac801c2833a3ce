// -m mark [!] --mark VALUE[/MASK] (net/netfilter/xt_mark.c, libxt_mark.c revision 1).

import { fail } from "../fail.js";
import { hex, parseMarkMask } from "../values.js";
import { defineMatch } from "../xt.js";

export interface MarkSpec {
  mark: number;
  mask: number;
  invert: boolean;
  set: boolean;
}

export const markMatch = defineMatch<MarkSpec>({
  name: "mark",
  options: { "--mark": { args: 1, invert: true } },
  init: () => ({ mark: 0, mask: 0xffffffff, invert: false, set: false }),
  parse(spec, _option, args, invert) {
    const v = parseMarkMask(args[0], "mark");
    spec.mark = v.value;
    spec.mask = v.mask;
    spec.invert = invert;
    spec.set = true;
  },
  final(spec) {
    if (!spec.set) fail('mark: option "--mark" must be specified', "-m mark", "--mark VALUE[/MASK]");
  },
  save: (spec) => `${spec.invert ? " !" : ""} --mark ${hex(spec.mark)}${spec.mask !== 0xffffffff ? `/${hex(spec.mask)}` : ""}`,
  compile(spec) {
    const { mark, mask, invert } = spec;
    return (p) => (((p.pkt.mark & mask) >>> 0) === mark) !== invert;
  },
});

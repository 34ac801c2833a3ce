// -m set [!] --match-set NAME src|dst[,src|dst] (net/netfilter/xt_set.c, libxt_set.c): looks the
// packet up in a named set of the engine's IpSetRegistry, one direction flag per dimension.

import { fail } from "../fail.js";
import { defineMatch } from "../xt.js";

export interface SetSpec {
  name: string;
  /** One flag per dimension: true = src, false = dst. */
  dirs: boolean[];
  invert: boolean;
}

export const setMatch = defineMatch<SetSpec>({
  name: "set",
  options: { "--match-set": { args: 2, invert: true } },
  init: () => ({ name: "", dirs: [], invert: false }),
  parse(spec, _option, args, invert) {
    if (args[0].length === 0 || args[0].length > 31) fail(`set: invalid set name "${args[0]}"`, args[0], "a name of 1-31 characters");
    const dirs = args[1].split(",");
    if (dirs.length > 6 || dirs.some((d) => d !== "src" && d !== "dst")) fail(`set: invalid direction "${args[1]}"`, args[1], "src or dst per dimension, e.g. dst,dst");
    spec.name = args[0];
    spec.dirs = dirs.map((d) => d === "src");
    spec.invert = invert;
  },
  final(spec) {
    if (spec.name === "") fail("set: you must specify --match-set", "-m set", "--match-set NAME src|dst");
  },
  save: (spec) => `${spec.invert ? " !" : ""} --match-set ${spec.name} ${spec.dirs.map((d) => (d ? "src" : "dst")).join(",")}`,
  compile(spec, env) {
    const { name, invert } = spec;
    const ipFromSrc = spec.dirs[0];
    const portFromSrc = spec.dirs.length > 1 ? spec.dirs[1] : false;
    const dims = spec.dirs.length;
    return (p) => {
      const set = env.sets.get(name);
      if (set === undefined || dims < set.dims) return invert;
      const addr = ipFromSrc ? p.saddr : p.daddr;
      if (set.type === "hash:ip") return set.hasIp(addr) !== invert;
      if (set.type === "hash:net") return set.hasNet(addr) !== invert;
      // hash:ip,port: ports of TCP, UDP and SCTP only (ip_set_get_ip4_port).
      const proto = p.proto;
      if ((proto !== 6 && proto !== 17 && proto !== 132) || p.fragoff !== 0 || p.end - p.thoff < 4) return invert;
      const o = p.thoff + (portFromSrc ? 0 : 2);
      return set.hasIpPort(addr, proto, (p.b[o] << 8) | p.b[o + 1]) !== invert;
    };
  },
});

// `wait: 5s`: lets virtual time pass (ARP entries go stale, conntrack entries time out …).

import { formatDuration } from "../duration.js";
import { readDuration } from "./fields.js";
import { defineStep } from "./registry.js";

export const waitStep = defineStep<{ ns: number }>({
  type: "wait",
  synopsis: "wait: DURATION (5s, 500ms, 2m)",
  expects: false,
  timed: false,
  read(body) {
    if (!body.present) return void body.missing("a duration such as 5s");
    const ns = readDuration(body, "a duration");
    return ns === undefined ? undefined : { ns };
  },
  check() {},
  title: (s) => `wait ${formatDuration(s.ns)}`,
  run(s, rt) {
    rt.sim.runFor(s.ns);
    return { pass: true, observed: `now at ${formatDuration(rt.sim.now)}` };
  },
});

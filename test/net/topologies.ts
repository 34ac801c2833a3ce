// Small topologies built through the public API, shared by the scenario tests and their Linux
// twins (the twin builds the same thing with ip netns; MACs are pinned so both agree).

import { Bridge, NetNamespace, Veth } from "../../src/net/index.js";
import { Sim } from "../../src/sim/index.js";
import { mustParseMac } from "../../src/wire/index.js";

export const MACS = {
  podA: "02:00:00:00:0a:02",
  podB: "02:00:00:00:0b:03",
  cni0: "02:00:00:00:01:01",
  hostA: "02:00:00:00:01:0a",
  hostB: "02:00:00:00:02:0b",
  rtrA: "02:00:00:00:01:01",
  rtrB: "02:00:00:00:02:01",
  vethA: "02:00:00:00:aa:01",
  vethB: "02:00:00:00:bb:01",
} as const;

/** pod-a (10.244.1.2) — veth — cni0 (10.244.1.1) in node-1 — veth — pod-b (10.244.1.3). */
export function twoPodsOneBridge(seed = 1) {
  const sim = new Sim({ seed });
  const node = new NetNamespace(sim, "node-1");
  const a = new NetNamespace(sim, "pod-a");
  const b = new NetNamespace(sim, "pod-b");
  const br = new Bridge(node, "cni0", mustParseMac(MACS.cni0));
  node.addAddress(br, "10.244.1.1/24");
  const [ea, ha] = Veth.pair({ ns: a, name: "eth0", mac: mustParseMac(MACS.podA) }, { ns: node, name: "veth-a", mac: mustParseMac(MACS.vethA) });
  const [eb, hb] = Veth.pair({ ns: b, name: "eth0", mac: mustParseMac(MACS.podB) }, { ns: node, name: "veth-b", mac: mustParseMac(MACS.vethB) });
  br.addPort(ha, { hairpin: true });
  br.addPort(hb, { hairpin: true });
  a.addAddress(ea, "10.244.1.2/24");
  b.addAddress(eb, "10.244.1.3/24");
  a.addRoute({ dst: "default", via: "10.244.1.1" });
  b.addRoute({ dst: "default", via: "10.244.1.1" });
  return { sim, node, a, b, br, ea, eb, ha, hb };
}

/**
 * host-a (10.0.1.2/24) — router (10.0.1.1/24 | 10.0.2.1/24, forwarding) — host-b (10.0.2.2/24).
 * `mtuB`: MTU of the router–host-b link (for fragmentation-needed).
 */
export function routerBetweenSubnets(seed = 1, mtuB = 1500) {
  const sim = new Sim({ seed });
  const a = new NetNamespace(sim, "host-a");
  const r = new NetNamespace(sim, "router");
  const b = new NetNamespace(sim, "host-b");
  r.sysctl.ipForward = true;
  const [ea, ra] = Veth.pair({ ns: a, name: "eth0", mac: mustParseMac(MACS.hostA) }, { ns: r, name: "eth-a", mac: mustParseMac(MACS.rtrA) });
  const [eb, rb] = Veth.pair({ ns: b, name: "eth0", mac: mustParseMac(MACS.hostB) }, { ns: r, name: "eth-b", mac: mustParseMac(MACS.rtrB) }, mtuB);
  a.addAddress(ea, "10.0.1.2/24");
  r.addAddress(ra, "10.0.1.1/24");
  r.addAddress(rb, "10.0.2.1/24");
  b.addAddress(eb, "10.0.2.2/24");
  a.addRoute({ dst: "default", via: "10.0.1.1" });
  b.addRoute({ dst: "default", via: "10.0.2.1" });
  return { sim, a, r, b, ea, ra, rb, eb };
}

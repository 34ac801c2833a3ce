// Two flannel-like nodes by hand for the UDP underlay tests: eth0 on 192.168.50.0/24, flannel.1
// (VNI 1, port 8472, nolearning) with the podCIDR's .0, and flanneld's entries for each other.
import { type Direction, EthDevice, NetNamespace, VxlanDevice } from "../../src/net/index.js";
import type { Sim } from "../../src/sim/index.js";
import { type Ipv4Addr, mustParseIpv4, mustParseMac } from "../../src/wire/index.js";

export interface HandNode {
  ns: NetNamespace;
  eth0: EthDevice;
  vx: VxlanDevice;
  addr: Ipv4Addr;
  /** flannel.1's address, the podCIDR's .0. */
  vtepIp: string;
  podCIDR: string;
  /** Frames seen on eth0, with their direction (0 rx, 1 tx). */
  frames: { dir: Direction; bytes: Buffer }[];
}

export function handNode(sim: Sim, i: 1 | 2): HandNode {
  const ns = new NetNamespace(sim, `node-${i}`);
  const eth0 = new EthDevice(ns, "eth0", mustParseMac(`02:00:00:00:00:1${i}`));
  const addr = mustParseIpv4(`192.168.50.1${i}`);
  ns.addAddress(eth0, `192.168.50.1${i}/24`);
  const vx = new VxlanDevice(ns, "flannel.1", { vni: 1, local: addr, underlay: eth0, mac: mustParseMac(`0a:00:00:00:00:0${i}`) });
  const vtepIp = `10.244.${i - 1}.0`;
  ns.addAddress(vx, `${vtepIp}/32`);
  const frames: HandNode["frames"] = [];
  eth0.addTap((_d, pkt, dir) => frames.push({ dir, bytes: Buffer.from(pkt.bytes()) }));
  return { ns, eth0, vx, addr, vtepIp, podCIDR: `10.244.${i - 1}.0/24`, frames };
}

/** flanneld's entries on `a` for `b`: permanent neighbour, FDB entry, onlink route. */
export function flannelPeer(a: HandNode, b: HandNode): void {
  a.vx.neigh.addPermanent(mustParseIpv4(b.vtepIp), b.vx.mac);
  a.vx.addFdb(b.vx.mac, b.addr);
  a.ns.addRoute({ dst: b.podCIDR, via: b.vtepIp, dev: "flannel.1", onlink: true });
}

/** Resolves when `cond` holds (polled every 2 ms), rejects after `ms`. */
export async function until(cond: () => boolean, ms = 2000, what = "condition"): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

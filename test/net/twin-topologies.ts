// Linux twins of test/net/topologies.ts, and the hop-by-hop comparison of two captures.
import { expect } from "vitest";
import type { LinuxTwin } from "../helpers/linux.js";
import { type FrameSummary, summariseFile } from "../helpers/packets.js";
import { MACS } from "./topologies.js";

export type Hop = [ns: string, dev: string];

export async function captureTwin(t: LinuxTwin, hops: Hop[], run: () => Promise<void>): Promise<Map<string, FrameSummary[]>> {
  const caps = await Promise.all(hops.map(([ns, dev]) => t.capture(ns, dev)));
  await run();
  const out = new Map<string, FrameSummary[]>();
  for (let i = 0; i < hops.length; i++) {
    const file = await caps[i].stop();
    out.set(`${hops[i][0]}/${hops[i][1]}`, summariseFile(file).get("") ?? []);
  }
  return out;
}

export function kubewireHops(file: string, hops: Hop[]): Map<string, FrameSummary[]> {
  const all = summariseFile(file);
  return new Map(hops.map(([ns, dev]) => [`${ns}/${dev}`, all.get(`${ns}/${dev}`) ?? []]));
}

export function buildTwinBridge(t: LinuxTwin): void {
  for (const n of ["node-1", "pod-a", "pod-b"]) t.ns(n);
  t.bridge("node-1", "cni0", { mac: MACS.cni0 });
  t.addr("node-1", "cni0", "10.244.1.1/24");
  for (const [pod, veth, podMac, vethMac, ip] of [
    ["pod-a", "veth-a", MACS.podA, MACS.vethA, "10.244.1.2/24"],
    ["pod-b", "veth-b", MACS.podB, MACS.vethB, "10.244.1.3/24"],
  ]) {
    t.veth(pod, "eth0", "node-1", veth, { macA: podMac, macB: vethMac });
    t.attach("node-1", veth, "cni0");
    t.ip("node-1", ["link", "set", veth, "type", "bridge_slave", "hairpin", "on"]);
    t.addr(pod, "eth0", ip);
    t.route(pod, "default via 10.244.1.1");
  }
}

export function buildTwinRouter(t: LinuxTwin, mtuB = 1500): void {
  for (const n of ["host-a", "router", "host-b"]) t.ns(n);
  t.sysctl("router", "net.ipv4.ip_forward", 1);
  t.veth("host-a", "eth0", "router", "eth-a", { macA: MACS.hostA, macB: MACS.rtrA });
  t.veth("host-b", "eth0", "router", "eth-b", { macA: MACS.hostB, macB: MACS.rtrB, mtu: mtuB });
  t.addr("host-a", "eth0", "10.0.1.2/24");
  t.addr("router", "eth-a", "10.0.1.1/24");
  t.addr("router", "eth-b", "10.0.2.1/24");
  t.addr("host-b", "eth0", "10.0.2.2/24");
  t.route("host-a", "default via 10.0.1.1");
  t.route("host-b", "default via 10.0.2.1");
}

export function expectSameHops(kw: Map<string, FrameSummary[]>, linux: Map<string, FrameSummary[]>): void {
  expect([...linux.values()].flat().length, "the twin captured nothing").toBeGreaterThan(0);
  for (const [hop, frames] of linux) expect(kw.get(hop), `hop ${hop}`).toEqual(frames);
}


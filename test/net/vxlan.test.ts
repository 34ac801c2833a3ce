import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createUdpSocket, EthDevice, L2Segment, NetCapture, NetNamespace, VxlanDevice } from "../../src/net/index.js";
import { Sim } from "../../src/sim/index.js";
import { mustParseIpv4, mustParseMac } from "../../src/wire/index.js";
import { summariseFile } from "../helpers/packets.js";
import { tsharkJson, tsharkProblems } from "../helpers/tshark.js";

const dir = mkdtempSync(join(tmpdir(), "kw-vxlan-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two nodes on one segment, each with a VXLAN device and the entries flanneld would install. */
function twoVteps() {
  const sim = new Sim({ seed: 3 });
  const seg = new L2Segment();
  const nodes = [1, 2].map((i) => {
    const ns = new NetNamespace(sim, `node-${i}`);
    ns.sysctl.ipForward = true;
    const eth = new EthDevice(ns, "eth0", mustParseMac(`02:00:c0:a8:32:0${i}`));
    eth.connect(seg);
    ns.addAddress(eth, `192.168.50.1${i}/24`);
    const vx = new VxlanDevice(ns, "flannel.1", { vni: 1, local: mustParseIpv4(`192.168.50.1${i}`), underlay: eth, mac: mustParseMac(`02:00:00:00:f1:0${i}`) });
    ns.addAddress(vx, `10.244.${i}.0/32`);
    return { ns, eth, vx };
  });
  for (const [me, peer, i] of [[nodes[0], nodes[1], 2], [nodes[1], nodes[0], 1]] as const) {
    me.vx.neigh.addPermanent(mustParseIpv4(`10.244.${i}.0`), peer.vx.mac);
    me.vx.addFdb(peer.vx.mac, mustParseIpv4(`192.168.50.1${i}`));
    me.ns.addRoute({ dst: `10.244.${i}.0/24`, via: `10.244.${i}.0`, dev: "flannel.1", onlink: true });
  }
  return { sim, nodes };
}

describe("VXLAN device", () => {
  it("carries a datagram between nodes inside UDP 8472, outer checksum 0, MTU 1450", () => {
    const { sim, nodes } = twoVteps();
    expect(nodes[0].vx.mtu).toBe(1450);
    const file = join(dir, "vxlan.pcapng");
    const cap = new NetCapture(file).attachAll(nodes[0].ns, nodes[1].ns);
    const srv = createUdpSocket(nodes[1].ns).bind(9000);
    createUdpSocket(nodes[0].ns).send("over the tunnel", 9000, "10.244.2.0");
    sim.run();
    cap.close();
    expect(srv.received.map((m) => [m.msg.toString(), m.rinfo.address])).toEqual([["over the tunnel", "10.244.1.0"]]);
    const hops = summariseFile(file);
    const outer = hops.get("node-1/eth0")!.filter((f) => f.udp?.dport === 8472);
    expect(outer).toHaveLength(1);
    expect(outer[0].ip).toMatchObject({ src: "192.168.50.11", dst: "192.168.50.12", ttl: 64 });
    expect(outer[0].udp!.sport).toBeGreaterThanOrEqual(32768);
    const pk = tsharkJson(file, { decodeAs: ["udp.port==8472,vxlan"], filter: "vxlan" });
    expect(pk.length).toBe(2); // tx on node-1 eth0, rx on node-2 eth0
    const layers = pk[0] as { vxlan: { "vxlan.vni": string }; udp: { "udp.checksum": string }[] };
    expect(layers.vxlan["vxlan.vni"]).toBe("1");
    expect(layers.udp[0]["udp.checksum"]).toBe("0x0000");
    expect(layers.udp[1]["udp.checksum"]).not.toBe("0x0000");
    expect(tsharkProblems(file, { decodeAs: ["udp.port==8472,vxlan"] })).toEqual([]);
  });
});

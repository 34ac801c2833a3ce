import { describe, expect, it } from "vitest";
import { Bridge, createUdpSocket, NetNamespace, Veth } from "../../src/net/index.js";
import { formatTraceEvent, Sim } from "../../src/sim/index.js";
import { mustParseMac } from "../../src/wire/index.js";

describe("two pods on one bridge", () => {
  it("ARP then UDP, no NAT", () => {
    const sim = new Sim({ seed: 7 });
    const node = new NetNamespace(sim, "node-1");
    const a = new NetNamespace(sim, "pod-a");
    const b = new NetNamespace(sim, "pod-b");
    const br = new Bridge(node, "cni0", mustParseMac("02:00:00:00:00:01"));
    node.addAddress(br, "10.244.1.1/24");
    const [ea, ha] = Veth.pair({ ns: a, name: "eth0", mac: mustParseMac("02:00:00:00:0a:02") }, { ns: node, name: "vetha" });
    const [eb, hb] = Veth.pair({ ns: b, name: "eth0", mac: mustParseMac("02:00:00:00:0b:03") }, { ns: node, name: "vethb" });
    br.addPort(ha);
    br.addPort(hb);
    a.addAddress(ea, "10.244.1.2/24");
    b.addAddress(eb, "10.244.1.3/24");
    a.addRoute({ dst: "default", via: "10.244.1.1" });
    const { events } = sim.trace.record();
    const server = createUdpSocket(b).bind(5000);
    const client = createUdpSocket(a);
    expect(client.send("hello", 5000, "10.244.1.3")).toBeUndefined();
    sim.run();
    console.log(events.map(formatTraceEvent).join("\n"));
    expect(server.received.map((m) => m.msg.toString())).toEqual(["hello"]);
    expect(server.received[0].rinfo.address).toBe("10.244.1.2");
  });
});

// The package as a user imports it: the main export carries every layer (flat and as namespaces)
// with the names two layers share resolved.
import { describe, expect, it } from "vitest";
import * as kubewire from "../../src/index.js";

describe("the package's main export", () => {
  it("re-exports every layer, flat and as namespaces", () => {
    const { wire, packet, capture, sim, net, netfilter, k8s, scenario, cli } = kubewire;
    for (const ns of [wire, packet, capture, sim, net, netfilter, k8s, scenario, cli]) expect(typeof ns).toBe("object");
    expect(kubewire.loadScenario).toBe(kubewire.scenario.loadScenario);
    expect(kubewire.Cluster).toBe(kubewire.k8s.Cluster);
    expect(kubewire.NetCapture).toBe(kubewire.net.NetCapture);
    expect(kubewire.parseIpv4).toBe(kubewire.wire.parseIpv4);
    expect(typeof kubewire.cli.main).toBe("function");
  });

  it("keeps both of a shared name: the earlier layer's plain, the later one's renamed", () => {
    expect(kubewire.TcpState).toBe(kubewire.net.TcpState);
    expect(kubewire.ConntrackTcpState).toBe(kubewire.netfilter.TcpState);
  });
});

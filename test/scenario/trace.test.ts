// Following one packet (kubewire trace): the minimal level is stable text, asserted whole here
// as a regression test of the VXLAN path; summary and detailed levels, drops, the drawn path.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  formatPacketTrace,
  loadScenario,
  type PacketTrace,
  parseHost,
  parseTarget,
  requestPath,
  ScenarioRun,
  tracePacket,
} from "../../src/scenario/index.js";

function trace(example: string, from: string, to: string, afterTraffic = false): PacketTrace {
  const s = loadScenario(`examples/${example}/scenario.yaml`).scenario!;
  const run = new ScenarioRun(s);
  if (afterTraffic) run.runAll();
  const f = parseHost(from);
  const t = parseTarget(to);
  if (!f.ok || !t.ok) throw new Error("bad reference");
  const r = tracePacket(run, f.value, t.value);
  run.finish();
  if (!r.ok) throw new Error(r.message);
  return r.trace;
}

/** Golden files: KUBEWIRE_UPDATE_GOLDEN=1 rewrites them from what kubewire prints now (review the diff). */
function golden(name: string, text: string): void {
  const file = join("test/scenario/golden", name);
  if (process.env.KUBEWIRE_UPDATE_GOLDEN) writeFileSync(file, text);
  expect(text).toBe(readFileSync(file, "utf8"));
}

describe("kubewire trace", () => {
  it("minimal: the VXLAN path, hop by hop, as stable text", () => {
    golden("vxlan.minimal.txt", formatPacketTrace(trace("05-vxlan", "client", "server:9000/udp"), "minimal"));
  });

  it("minimal: a ClusterIP Service, DNAT on the way out and un-DNAT on the way back", () => {
    const text = formatPacketTrace(trace("06-clusterip", "client", "svc/web:80"), "minimal");
    golden("clusterip.minimal.txt", text);
    expect(text).toMatch(/^ {2}node-1 DNAT 10\.96\.0\.80:80 -> 10\.244\.\d+\.\d+:8080 \(nat\/KUBE-SEP-[A-Z0-9]{16}\)$/m);
    expect(text).toMatch(/^ {2}node-1 SNAT 10\.244\.\d+\.\d+:8080 -> 10\.96\.0\.80:80 \(reply\)$/m);
  });

  it("minimal leaves out ARP, times and MACs; detailed keeps them, the packet's own lines marked *", () => {
    const t = trace("05-vxlan", "client", "server:9000");
    const detailed = formatPacketTrace(t, "detailed");
    expect(detailed).toMatch(/^ {2}0\.000000000 client\/eth0 tx ARP who-has 10\.244\.0\.1 tell 10\.244\.0\.2$/m);
    expect(detailed).toMatch(/^\* 0\.000000000 node-1 flannel\.1 vxlan encap vni 1 remote 192\.168\.50\.12$/m);
    expect(formatPacketTrace(t, "minimal")).not.toMatch(/ARP|[0-9a-f]{2}:[0-9a-f]{2}:/);
  });

  it("summary: a line per namespace visit", () => {
    const lines = formatPacketTrace(trace("04-host-gw", "client", "server:9000"), "summary").split("\n");
    expect(lines.slice(1, 6)).toEqual([
      "request:",
      "  client: route 10.244.1.2 via 10.244.0.1 dev eth0 > eth0 tx",
      expect.stringMatching(
        /^ {2}node-1: veth[0-9a-f]{8} rx > conntrack NEW udp 10\.244\.0\.2:\d+ -> 10\.244\.1\.2:9000 > cni0 rx > route 10\.244\.1\.2 via 192\.168\.50\.12 dev eth0 > FORWARD filter\/FLANNEL-FWD rule 1 -> ACCEPT > eth0 tx$/,
      ),
      expect.stringMatching(/^ {2}node-2: eth0 rx > conntrack NEW .* > route 10\.244\.1\.2 dev cni0 > FORWARD filter\/FLANNEL-FWD rule 1 -> ACCEPT > cni0 tx > veth[0-9a-f]{8} tx$/),
      "  server: eth0 rx > deliver udp 10.244.1.2:9000",
    ]);
  });

  it("a drop: where and why; the ICMP error that answers it is followed back", () => {
    const text = formatPacketTrace(trace("03-routed", "client", "server:9001"), "minimal");
    expect(text).toContain("  server/eth0 drop NO_SOCKET: udp 10.244.1.2:9001\n");
    expect(text).toContain("  client/eth0 rx 10.244.1.2 > 10.244.0.2: icmp port-unreachable about 10.244.0.2 > 10.244.1.2 ttl 61\n");
    expect(text.trimEnd().split("\n").pop()).toBe("result: dropped at server/eth0: NO_SOCKET; error ECONNREFUSED");
  });

  it("after the traffic, neighbours are known: no ARP in the window", () => {
    const t = trace("05-vxlan", "client", "server:9000", true);
    expect(t.entries.filter((e) => e.frame?.info.cls === "arp")).toEqual([]);
    expect(t.delivery?.pod.key).toBe("default/server");
  });

  it("the request's path, for drawing", () => {
    const path = requestPath(trace("05-vxlan", "client", "server:9000")).map((h) => `${h.ns}/${h.dev}`);
    expect(path[0]).toBe("client/eth0");
    expect(path).toContain("node-1/flannel.1");
    expect(path.at(-1)).toBe("server/eth0");
  });
});

// Targets: ACCEPT/DROP/RETURN/jump/goto, REJECT (ICMP through the stack, tcp-reset through the
// callback), DNAT/SNAT/MASQUERADE through a NatApi that records its calls, MARK in all its
// spellings, LOG into the trace.

import { describe, expect, it } from "vitest";
import { EthDevice, HOOK_NAMES, Hook, Verdict } from "../../src/net/index.js";
import { IptablesEngine, type IptablesEngineOptions } from "../../src/netfilter/index.js";
import type { TraceEvent } from "../../src/sim/index.js";
import { ctxFor, ip, makeNode, recordingNat, tcpPacket, udpPacket } from "./iptables-helpers.js";

const engine = (table: string, lines: string[], opts: IptablesEngineOptions = {}) =>
  new IptablesEngine({ ...opts, rules: `*${table}\n${lines.join("\n")}\nCOMMIT\n` });

describe("REJECT", () => {
  const codes: Array<[string, number]> = [
    ["", 3],
    ["--reject-with icmp-net-unreachable", 0],
    ["--reject-with icmp-host-unreachable", 1],
    ["--reject-with icmp-proto-unreachable", 2],
    ["--reject-with icmp-port-unreachable", 3],
    ["--reject-with icmp-net-prohibited", 9],
    ["--reject-with icmp-host-prohibited", 10],
    ["--reject-with icmp-admin-prohibited", 13],
  ];
  for (const [opt, code] of codes) {
    it(`${opt || "(default)"} sends ICMP destination unreachable code ${code} and drops`, () => {
      const node = makeNode();
      const e = engine("filter", [`-A INPUT -p udp --dport 53 -j REJECT ${opt}`]);
      const { events, stop } = node.sim.trace.record();
      const v = e.run("filter", ctxFor(node, Hook.LocalIn, udpPacket("192.168.0.99", 40000, "192.168.0.10", 53)));
      stop();
      expect(v).toBe(Verdict.Drop);
      const icmp = events.filter((ev): ev is Extract<TraceEvent, { kind: "icmp" }> => ev.kind === "icmp");
      expect(icmp.map((ev) => [ev.action, ev.type, ev.code])).toEqual([["send", 3, code]]);
    });
  }

  it("tcp-reset calls the injected sender, then drops; without one it only drops", () => {
    const node = makeNode();
    const sent: string[] = [];
    const e = engine("filter", ["-A INPUT -p tcp -j REJECT --reject-with tcp-reset"], { tcpReset: (ctx) => sent.push(HOOK_NAMES[ctx.hook]) });
    expect(e.run("filter", ctxFor(node, Hook.LocalIn, tcpPacket("192.168.0.99", 1, "192.168.0.10", 80)))).toBe(Verdict.Drop);
    expect(sent).toEqual(["INPUT"]);
    const quiet = engine("filter", ["-A INPUT -p tcp -j REJECT --reject-with tcp-reset"]);
    expect(quiet.run("filter", ctxFor(node, Hook.LocalIn, tcpPacket("192.168.0.99", 1, "192.168.0.10", 80)))).toBe(Verdict.Drop);
  });
});

describe("DNAT / SNAT / MASQUERADE call the NatApi with the range", () => {
  it("DNAT --to-destination ADDR:PORT, ranges, port only, flags", () => {
    const node = makeNode();
    const nat = recordingNat();
    const e = engine(
      "nat",
      [
        ":D - [0:0]",
        "-A PREROUTING -j D",
        "-A D -p udp -d 10.96.0.10 --dport 53 -j DNAT --to-destination 10.244.2.5:53",
        "-A D -p tcp --dport 80 -j DNAT --to-destination 10.0.0.1-10.0.0.5:8000-8010 --random --persistent",
        "-A D -p tcp --dport 81 -j DNAT --to-destination :8081",
        "-A D -p tcp --dport 82 -j DNAT --to-destination 10.0.0.9",
      ],
      { nat },
    );
    const run = (pkt: ReturnType<typeof udpPacket>) => e.run("nat", ctxFor(node, Hook.PreRouting, pkt));
    expect(run(udpPacket("10.244.1.9", 40000, "10.96.0.10", 53))).toBe(Verdict.Accept);
    expect(run(tcpPacket("10.244.1.9", 40000, "10.96.0.30", 80))).toBe(Verdict.Accept);
    expect(run(tcpPacket("10.244.1.9", 40000, "10.96.0.30", 81))).toBe(Verdict.Accept);
    expect(run(tcpPacket("10.244.1.9", 40000, "10.96.0.30", 82))).toBe(Verdict.Accept);
    expect(nat.calls).toEqual([
      { manip: "dst", by: "nat/D", range: { minAddr: ip("10.244.2.5"), maxAddr: ip("10.244.2.5"), minPort: 53, maxPort: 53 } },
      { manip: "dst", by: "nat/D", range: { minAddr: ip("10.0.0.1"), maxAddr: ip("10.0.0.5"), minPort: 8000, maxPort: 8010, random: true, persistent: true } },
      { manip: "dst", by: "nat/D", range: { minAddr: 0, maxAddr: 0, minPort: 8081, maxPort: 8081 } },
      { manip: "dst", by: "nat/D", range: { minAddr: ip("10.0.0.9"), maxAddr: ip("10.0.0.9"), minPort: 0, maxPort: 0 } },
    ]);
  });

  it("the NatApi's verdict is the rule's verdict (Drop when no tuple is left)", () => {
    const node = makeNode();
    const e = engine("nat", ["-A POSTROUTING -j SNAT --to-source 192.168.0.10 --random-fully"], { nat: recordingNat(Verdict.Drop) });
    expect(e.run("nat", ctxFor(node, Hook.PostRouting, udpPacket("10.244.1.9", 1, "8.8.8.8", 53)))).toBe(Verdict.Drop);
  });

  it("SNAT ranges and flags", () => {
    const node = makeNode();
    const nat = recordingNat();
    const e = engine("nat", ["-A POSTROUTING -p udp -j SNAT --to-source 192.168.0.10-192.168.0.12:1024-2047 --random-fully --persistent"], { nat });
    e.run("nat", ctxFor(node, Hook.PostRouting, udpPacket("10.244.1.9", 1, "8.8.8.8", 53)));
    expect(nat.calls).toEqual([
      { manip: "src", by: "nat/POSTROUTING", range: { minAddr: ip("192.168.0.10"), maxAddr: ip("192.168.0.12"), minPort: 1024, maxPort: 2047, randomFully: true, persistent: true } },
    ]);
  });

  it("MASQUERADE: the egress device's address for the next hop (inet_select_addr), --to-ports, --random-fully", () => {
    const node = makeNode();
    // A second subnet on eth0: the next hop decides which address is the source.
    node.ns.addAddress(node.eth0, "172.16.0.10/24");
    node.ns.addRoute({ dst: "172.20.0.0/16", via: "172.16.0.1" });
    const nat = recordingNat();
    const e = engine("nat", ["-A POSTROUTING -p tcp -j MASQUERADE --to-ports 30000-30010 --random-fully", "-A POSTROUTING -j MASQUERADE"], { nat });
    e.run("nat", ctxFor(node, Hook.PostRouting, tcpPacket("10.244.1.9", 1, "8.8.8.8", 443)));
    e.run("nat", ctxFor(node, Hook.PostRouting, udpPacket("10.244.1.9", 1, "172.20.1.1", 53)));
    e.run("nat", ctxFor(node, Hook.PostRouting, udpPacket("10.244.1.9", 1, "172.16.0.7", 53)));
    expect(nat.calls.map((c) => [c.manip, c.range.minAddr, c.range.maxAddr, c.range.minPort, c.range.maxPort, c.range.randomFully])).toEqual([
      ["src", ip("192.168.0.10"), ip("192.168.0.10"), 30000, 30010, true],
      ["src", ip("172.16.0.10"), ip("172.16.0.10"), 0, 0, undefined],
      ["src", ip("172.16.0.10"), ip("172.16.0.10"), 0, 0, undefined],
    ]);
  });

  it("MASQUERADE drops when the device has no address, and leaves 0.0.0.0 sources alone", () => {
    const node = makeNode();
    const bare = new EthDevice(node.ns, "eth9");
    const nat = recordingNat();
    const e = engine("nat", ["-A POSTROUTING -j MASQUERADE"], { nat });
    expect(e.run("nat", ctxFor(node, Hook.PostRouting, udpPacket("10.244.1.9", 1, "8.8.8.8", 53), { outdev: bare }))).toBe(Verdict.Drop);
    expect(e.run("nat", ctxFor(node, Hook.PostRouting, udpPacket("0.0.0.0", 68, "255.255.255.255", 67)))).toBe(Verdict.Accept);
    expect(nat.calls).toEqual([]);
  });
});

describe("MARK", () => {
  it("applies (mark & ~mask) ^ value for every spelling and continues", () => {
    const node = makeNode();
    const cases: Array<[string, number, number]> = [
      ["--set-xmark 0x4000/0x4000", 0x1, 0x4001],
      ["--set-xmark 0x4000/0x0", 0x4001, 0x0001],
      ["--set-mark 0x10", 0xff, 0x10],
      ["--set-mark 0x1/0xf0", 0xff, 0x0f],
      ["--or-mark 0x4000", 0x1, 0x4001],
      ["--and-mark 0xff", 0x12345, 0x45],
      ["--xor-mark 0x4000", 0x4001, 0x1],
    ];
    for (const [opt, before, after] of cases) {
      const e = engine("mangle", [`-A PREROUTING -j MARK ${opt}`, "-A PREROUTING -m mark --mark 0x12345678 -j DROP"]);
      const p = udpPacket("10.244.1.9", 1, "10.96.0.10", 53);
      p.mark = before;
      expect(e.run("mangle", ctxFor(node, Hook.PreRouting, p)), opt).toBe(Verdict.Accept);
      expect(p.mark, opt).toBe(after);
    }
  });
});

describe("LOG", () => {
  it("writes the kernel's log line into the trace (and onLog), then continues", () => {
    const node = makeNode();
    const lines: string[] = [];
    const e = engine("filter", ['-A INPUT -p udp -j LOG --log-prefix "KW-IN: "', "-A INPUT -j DROP"], { onLog: (l) => lines.push(l) });
    const { events, stop } = node.sim.trace.record();
    const p = udpPacket("192.168.0.99", 40000, "192.168.0.10", 53);
    expect(e.run("filter", ctxFor(node, Hook.LocalIn, p))).toBe(Verdict.Drop);
    stop();
    const log = events.find((ev) => ev.kind === "log") as Extract<TraceEvent, { kind: "log" }>;
    expect(log.text).toBe(
      "KW-IN: IN=eth0 OUT= MAC=02:00:00:00:00:02:02:00:00:00:00:01:08:00 SRC=192.168.0.99 DST=192.168.0.10 LEN=32 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=UDP SPT=40000 DPT=53 LEN=12",
    );
    expect(lines).toEqual([log.text]);
    const tcpLog = engine("filter", ["-A OUTPUT -j LOG --log-tcp-sequence"], { onLog: (l) => lines.push(l) });
    tcpLog.run("filter", ctxFor(node, Hook.LocalOut, tcpPacket("192.168.0.10", 5000, "192.168.0.99", 80)));
    expect(lines[1]).toBe("IN= OUT=eth0 SRC=192.168.0.10 DST=192.168.0.99 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=5000 DPT=80 SEQ=0 ACK=0 WINDOW=65535 RES=0x00 SYN URGP=0");
  });
});

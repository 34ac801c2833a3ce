// Map dispatch (nftables-style verdict maps keyed by daddr . l4proto . dport) against the linear
// walk: on random service rule sets and random packets both take the same rules (same verdicts,
// marks and counters); and the `nft list ruleset` printer, checked by the real nft.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Hook, Verdict } from "../../src/net/index.js";
import {
  formatNftRuleset,
  IptablesEngine,
  MIN_SEGMENT,
  nftMaps,
  parseIptablesRestore,
  planSegments,
  ServiceVerdictMap,
} from "../../src/netfilter/index.js";
import { ipv4 } from "../../src/wire/index.js";
import { describeLinux, useLinuxTwin } from "../helpers/linux.js";
import { KUBE_PROXY_RULES } from "./iptables-fixtures.js";
import { ctxFor, ip, makeNode, tcpPacket, udpPacket } from "./iptables-helpers.js";

describe("ServiceVerdictMap", () => {
  it("keys on (daddr, proto, port), keeps the first value, grows, allocates nothing per lookup", () => {
    const m = new ServiceVerdictMap(2);
    expect(m.add(ip("10.96.0.10"), 17, 53, 1)).toBe(true);
    expect(m.add(ip("10.96.0.10"), 6, 53, 2)).toBe(true);
    expect(m.add(ip("10.96.0.10"), 17, 53, 3)).toBe(false);
    for (let i = 0; i < 1000; i++) m.add(ip("172.30.0.0") + i, 6, 80 + (i % 7), 100 + i);
    expect(m.size).toBe(1002);
    expect(m.get(ip("10.96.0.10"), 17, 53)).toBe(1);
    expect(m.get(ip("10.96.0.10"), 6, 53)).toBe(2);
    expect(m.get(ip("10.96.0.10"), 6, 54)).toBe(-1);
    expect(m.get(ip("172.30.0.0") + 999, 6, 80 + (999 % 7))).toBe(1099);
    expect(m.get(ip("255.255.255.255"), 17, 65535)).toBe(-1);
    expect(m.entries()).toHaveLength(1002);
  });
});

describe("planSegments", () => {
  it("takes runs of at least MIN_SEGMENT rules that test only daddr, protocol and dport", () => {
    const svc = (i: number) => `-A S -d 10.96.0.${i} -p tcp -m comment --comment "s${i}" -m tcp --dport 80 -j ACCEPT`;
    const text = [
      "*filter",
      ":S - [0:0]",
      ...[1, 2, 3, 4, 5].map(svc),
      "-A S -m addrtype --dst-type LOCAL -j ACCEPT",
      ...[6, 7].map(svc),
      "-A S ! -s 10.0.0.0/8 -d 10.96.0.8 -p tcp -m tcp --dport 80 -j ACCEPT",
      "-A S -d 10.96.0.9 -p tcp -m tcp --dport 80:81 -j ACCEPT",
      "-A S -d 10.96.0.9/31 -p udp -m udp --dport 80 -j ACCEPT",
      "-A S -d 10.96.0.9 -p udp -m udp --dport 80 -j REJECT",
      ...[10, 11, 12, 13].map(svc),
      "COMMIT",
    ].join("\n");
    const chain = parseIptablesRestore(text).table("filter").chain("S")!;
    expect(MIN_SEGMENT).toBe(4);
    expect(planSegments(chain.rules).map((s) => [s.from, s.to])).toEqual([
      [0, 5],
      [12, 16],
    ]);
  });
});

/** A random service chain: service rules over a small pool of VIPs and ports (duplicates happen) and other rules between them. */
const arbRuleset = fc
  .array(
    fc.oneof(
      { weight: 8, arbitrary: fc.record({ kind: fc.constant("svc" as const), vip: fc.integer({ min: 0, max: 11 }), udp: fc.boolean(), port: fc.integer({ min: 0, max: 3 }), target: fc.integer({ min: 0, max: 6 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("other" as const), which: fc.integer({ min: 0, max: 4 }), vip: fc.integer({ min: 0, max: 11 }), target: fc.integer({ min: 0, max: 6 }) }) },
    ),
    { minLength: 0, maxLength: 60 },
  )
  .map((items) => {
    const target = (t: number) => ["-j SVC-0", "-j SVC-1", "-g SVC-2", "-j ACCEPT", "-j DROP", "-j RETURN", "-j SVC-0"][t];
    const lines = items.map((it) => {
      if (it.kind === "svc") {
        const proto = it.udp ? "udp" : "tcp";
        return `-A SERVICES -d 10.96.0.${it.vip} -p ${proto} -m comment --comment "svc ${it.vip}" -m ${proto} --dport ${53 + it.port} ${target(it.target)}`;
      }
      return [
        `-A SERVICES -m addrtype --dst-type LOCAL ${target(it.target)}`,
        `-A SERVICES ! -s 10.244.0.0/16 -d 10.96.0.${it.vip} -p tcp -m tcp --dport 53 -j MARK --set-xmark 0x4000/0x4000`,
        `-A SERVICES -d 10.96.0.${it.vip} -p udp -m udp --sport 1000:2000 --dport 54 ${target(it.target)}`,
        `-A SERVICES -d 10.96.0.${it.vip} -p tcp -m tcp --dport 53 -m mark --mark 0x1/0x1 ${target(it.target)}`,
        "-A SERVICES -j MARK --set-xmark 0x100/0x100",
      ][it.which];
    });
    return [
      "*mangle",
      ":PREROUTING ACCEPT [0:0]",
      ":SERVICES - [0:0]",
      ":SVC-0 - [0:0]",
      ":SVC-1 - [0:0]",
      ":SVC-2 - [0:0]",
      "-A PREROUTING -j SERVICES",
      "-A PREROUTING -j MARK --set-xmark 0x80000000/0x80000000",
      ...lines,
      "-A SVC-0 -j MARK --set-xmark 0x1/0x1",
      "-A SVC-1 -p udp -j ACCEPT",
      "-A SVC-1 -j MARK --set-xmark 0x2/0x2",
      "-A SVC-2 -p tcp -j DROP",
      "-A SVC-2 -j MARK --set-xmark 0x4/0x4",
      "COMMIT",
    ].join("\n");
  });

const arbPacket = fc.record({
  vip: fc.integer({ min: 0, max: 13 }),
  proto: fc.constantFrom("tcp", "udp", "icmp"),
  port: fc.integer({ min: 0, max: 4 }),
  sport: fc.constantFrom(40000, 1500),
  local: fc.boolean(),
  mark: fc.constantFrom(0, 1),
  mangle: fc.constantFrom("none", "none", "none", "frag1", "frag", "short"),
});

describe("map dispatch takes the same rules as the linear walk", () => {
  it("on random service rule sets and random packets (fast-check)", () => {
    const node = makeNode();
    fc.assert(
      fc.property(arbRuleset, fc.array(arbPacket, { minLength: 1, maxLength: 40 }), (rules, packets) => {
        const linear = new IptablesEngine({ rules });
        const mapped = new IptablesEngine({ rules, dispatch: "map" });
        for (const pk of packets) {
          const dst = pk.local ? "192.168.0.10" : `10.96.0.${pk.vip}`;
          const make = () => {
            const p =
              pk.proto === "udp" ? udpPacket("10.244.1.9", pk.sport, dst, 53 + pk.port) : pk.proto === "tcp" ? tcpPacket("10.244.1.9", pk.sport, dst, 53 + pk.port) : udpPacket("10.244.1.9", 1, dst, 1);
            if (pk.proto === "icmp") p.buf[p.l3 + 9] = 1;
            if (pk.mangle === "frag1") ipv4.setFrag(p.buf, p.l3, false, false, 8);
            if (pk.mangle === "frag") ipv4.setFrag(p.buf, p.l3, false, false, 1480);
            if (pk.mangle === "short") p.tail = p.l4 + 3;
            p.mark = pk.mark;
            return p;
          };
          const a = make();
          const b = make();
          const va = linear.run("mangle", ctxFor(node, Hook.PreRouting, a));
          const vb = mapped.run("mangle", ctxFor(node, Hook.PreRouting, b));
          if (va !== vb || a.mark !== b.mark) return false;
        }
        const pa = linear.program("mangle")!;
        const pb = mapped.program("mangle")!;
        return pa.cnt.every((n, i) => n === pb.cnt[i]);
      }),
      { numRuns: 300, seed: 20240601 },
    );
  });

  it("on the kube-proxy ruleset: the same DNATs and counters", () => {
    const node = makeNode(9);
    const nodeB = makeNode(9);
    const verdicts = (dispatch: "linear" | "map", n: ReturnType<typeof makeNode>) => {
      const calls: string[] = [];
      const setupNat = (_c: unknown, r: { minAddr: number; minPort: number }, m: string) => {
        calls.push(`${m} ${r.minAddr}:${r.minPort}`);
        return Verdict.Accept;
      };
      const e = new IptablesEngine({ rules: KUBE_PROXY_RULES, dispatch, nat: { setupNat } });
      for (let i = 0; i < 200; i++) {
        const vip = ["10.96.0.1", "10.96.0.10", "10.96.0.20", "10.96.0.30", "10.96.0.99", "192.168.0.10"][i % 6];
        const port = [443, 53, 80, 9153, 30080, 31080][(i >> 1) % 6];
        const p = i % 3 === 0 ? udpPacket("10.244.1.9", 1000 + i, vip, port) : tcpPacket("10.244.1.9", 1000 + i, vip, port);
        e.run("nat", ctxFor(n, Hook.PreRouting, p, { indev: n.cni0 }));
      }
      return { calls, save: e.save({ counters: true }) };
    };
    const a = verdicts("linear", node);
    const b = verdicts("map", nodeB);
    expect(b.calls).toEqual(a.calls);
    expect(b.save).toBe(a.save);
  });
});

describe("formatNftRuleset", () => {
  const rules = [
    "*nat",
    ":KUBE-SERVICES - [0:0]",
    ":KUBE-SVC-A - [0:0]",
    ":KUBE-SVC-B - [0:0]",
    "-A PREROUTING -j KUBE-SERVICES",
    '-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment "default/kubernetes:https cluster IP" -m tcp --dport 443 -j KUBE-SVC-A',
    "-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m udp --dport 53 -j KUBE-SVC-B",
    "-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 53 -g KUBE-SVC-B",
    "-A KUBE-SERVICES -d 10.96.0.11/32 -p tcp -m tcp --dport 80 -j RETURN",
    "-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m udp --dport 53 -j KUBE-SVC-A",
    "-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j ACCEPT",
    "COMMIT",
  ].join("\n");

  it("prints each map's elements (first rule per key) and the lookup rule", () => {
    const e = new IptablesEngine({ rules, dispatch: "map" });
    const maps = nftMaps(e.mapSegments(), (t) => e.program(t));
    expect(formatNftRuleset(maps)).toBe(e.formatNft());
    expect(e.formatNft()).toBe(
      [
        "table ip kubewire {",
        "\tmap nat-KUBE-SERVICES {",
        "\t\ttype ipv4_addr . inet_proto . inet_service : verdict",
        "\t\telements = { 10.96.0.1 . tcp . 443 : jump KUBE-SVC-A,",
        "\t\t\t     10.96.0.10 . udp . 53 : jump KUBE-SVC-B,",
        "\t\t\t     10.96.0.10 . tcp . 53 : goto KUBE-SVC-B,",
        "\t\t\t     10.96.0.11 . tcp . 80 : return }",
        "\t}",
        "",
        "\tchain KUBE-SVC-A {",
        "\t}",
        "",
        "\tchain KUBE-SVC-B {",
        "\t}",
        "",
        "\tchain nat-KUBE-SERVICES {",
        "\t\tip daddr . meta l4proto . th dport vmap @nat-KUBE-SERVICES",
        "\t}",
        "}",
        "",
      ].join("\n"),
    );
  });
});

describeLinux("formatNftRuleset against the real nft (v1.0.6) in a throwaway netns", () => {
  const twin = useLinuxTwin();
  it("nft -f accepts the text and lists the same elements and rules back", () => {
    const e = new IptablesEngine({ rules: KUBE_PROXY_RULES, dispatch: "map" });
    const text = e.formatNft({ table: "kube-proxy" });
    expect(text.startsWith("table ip kube-proxy {")).toBe(true);
    const t = twin();
    const ns = t.ns("node");
    t.exec(ns, ["nft", "-f", "-"], { input: text });
    const listed = t.exec(ns, ["nft", "list", "ruleset"]);
    const elements = (s: string) => [...s.matchAll(/(\d+\.\d+\.\d+\.\d+ \. \w+ \. \d+ : (?:jump|goto) [\w-]+|\d+\.\d+\.\d+\.\d+ \. \w+ \. \d+ : \w+)/g)].map((m) => m[1]).sort();
    expect(elements(listed)).toEqual(elements(text));
    expect(elements(text).length).toBeGreaterThan(5);
    const lines = (s: string) => s.split("\n").filter((l) => !/^\t\t(elements = |\t\t\t {5})/.test(l) && !/^\t\t\t {5}/.test(l));
    expect(lines(listed)).toEqual(lines(text));
  });
});

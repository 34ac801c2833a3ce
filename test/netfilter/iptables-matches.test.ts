// Each match on real packets: a one-rule mangle chain with policy DROP at the packet's hook, so the
// verdict says whether the rule matched (ACCEPT) or not (DROP). Negations, ranges, fragments and
// truncated headers (hotdrop) included.

import { describe, expect, it } from "vitest";
import { HOOK_NAMES, Hook, Verdict } from "../../src/net/index.js";
import { entryPackets, IptablesEngine, type IptablesEngineOptions, IptablesError } from "../../src/netfilter/index.js";
import { CtStateBit, type NfContext } from "../../src/netfilter/types.js";
import type { Packet } from "../../src/packet/index.js";
import { ipv4, tcp } from "../../src/wire/index.js";
import { ctxFor, icmpPacket, makeNode, type Node, tcpPacket, udpPacket } from "./iptables-helpers.js";

/** An engine whose `hook` chain accepts what `spec` matches and drops the rest. */
function oneRule(spec: string, hook: Hook = Hook.PreRouting, opts: IptablesEngineOptions = {}): IptablesEngine {
  const chain = HOOK_NAMES[hook];
  return new IptablesEngine({ ...opts, rules: `*mangle\n:${chain} DROP [0:0]\n-A ${chain} ${spec} -j ACCEPT\nCOMMIT\n` });
}

const hit = (e: IptablesEngine, ctx: NfContext): boolean => e.run("mangle", ctx) === Verdict.Accept;

function matches(node: Node, spec: string, pkt: Packet, hook: Hook = Hook.PreRouting, extra: Partial<NfContext> = {}): boolean {
  return hit(oneRule(spec, hook), { ...ctxFor(node, hook, pkt), ...extra });
}

describe("ipt_ip: -s -d -p -i -o -f", () => {
  const node = makeNode();
  const p = udpPacket("10.244.1.9", 40000, "10.96.0.10", 53);

  it("-s / -d with CIDR and negation", () => {
    expect(matches(node, "-s 10.244.0.0/16", p)).toBe(true);
    expect(matches(node, "-s 10.245.0.0/16", p)).toBe(false);
    expect(matches(node, "! -s 10.244.0.0/16", p)).toBe(false);
    expect(matches(node, "-d 10.96.0.10", p)).toBe(true);
    expect(matches(node, "-d 10.96.0.11/32", p)).toBe(false);
    expect(matches(node, "! -d 10.96.0.11", p)).toBe(true);
    expect(matches(node, "-d 10.96.0.0/255.255.0.0", p)).toBe(true);
    // Addresses above 2^31 compare as unsigned.
    const high = udpPacket("192.168.0.99", 1, "203.0.113.10", 80);
    expect(matches(node, "-s 192.168.0.0/16 -d 203.0.113.10", high)).toBe(true);
    expect(matches(node, "! -s 192.168.0.0/24", high)).toBe(false);
  });

  it("-p with names, numbers, all and negation", () => {
    expect(matches(node, "-p udp", p)).toBe(true);
    expect(matches(node, "-p 17", p)).toBe(true);
    expect(matches(node, "-p tcp", p)).toBe(false);
    expect(matches(node, "! -p tcp", p)).toBe(true);
    expect(matches(node, "-p all", p)).toBe(true);
    expect(matches(node, "-p icmp", icmpPacket("10.0.0.1", "10.0.0.2"))).toBe(true);
  });

  it("-i / -o with + wildcards and negation; no device compares as none", () => {
    expect(matches(node, "-i eth0", p)).toBe(true);
    expect(matches(node, "-i eth+", p)).toBe(true);
    expect(matches(node, "-i cni+", p)).toBe(false);
    expect(matches(node, "! -i cni0", p)).toBe(true);
    expect(matches(node, "-i +", p)).toBe(true);
    expect(matches(node, "-o eth0", p, Hook.PostRouting)).toBe(true);
    expect(matches(node, "-o eth0", p, Hook.PostRouting, { outdev: node.cni0 })).toBe(false);
    expect(matches(node, "-i eth0", p, Hook.Forward, { indev: null })).toBe(false);
    expect(matches(node, "! -i eth0", p, Hook.Forward, { indev: null })).toBe(true);
  });

  it("-f matches non-first fragments only, ! -f the others", () => {
    const frag = udpPacket("10.244.1.9", 40000, "10.96.0.10", 53);
    ipv4.setFrag(frag.buf, frag.l3, false, false, 1480);
    expect(matches(node, "-f", frag)).toBe(true);
    expect(matches(node, "! -f", frag)).toBe(false);
    expect(matches(node, "-f", p)).toBe(false);
    expect(matches(node, "! -f", p)).toBe(true);
  });
});

describe("-m udp / -m tcp", () => {
  const node = makeNode();
  const u = udpPacket("10.244.1.9", 40000, "10.96.0.10", 53);
  const syn = tcpPacket("10.244.1.9", 40001, "10.96.0.1", 443, tcp.TcpFlags.SYN);
  const ack = tcpPacket("10.244.1.9", 40001, "10.96.0.1", 443, tcp.TcpFlags.ACK | tcp.TcpFlags.PSH);

  it("ports, ranges and negation", () => {
    expect(matches(node, "-p udp --dport 53", u)).toBe(true);
    expect(matches(node, "-p udp --dport 54", u)).toBe(false);
    expect(matches(node, "-p udp ! --dport 54", u)).toBe(true);
    expect(matches(node, "-p udp --sport 32768:60999", u)).toBe(true);
    expect(matches(node, "-p udp --sport :39999", u)).toBe(false);
    expect(matches(node, "-p udp ! --sport 40000 --dport 53", u)).toBe(false);
    expect(matches(node, "-p tcp -m tcp --dport 443", syn)).toBe(true);
    expect(matches(node, "-p tcp -m tcp --dport domain", syn)).toBe(false);
  });

  it("--tcp-flags and --syn", () => {
    expect(matches(node, "-p tcp --syn", syn)).toBe(true);
    expect(matches(node, "-p tcp --syn", ack)).toBe(false);
    expect(matches(node, "-p tcp ! --syn", ack)).toBe(true);
    expect(matches(node, "-p tcp --tcp-flags ACK,PSH ACK,PSH", ack)).toBe(true);
    expect(matches(node, "-p tcp --tcp-flags ALL ACK", ack)).toBe(false);
    expect(matches(node, "-p tcp --tcp-flags SYN NONE", ack)).toBe(true);
  });

  it("a non-first fragment never matches ports; offset 8 and a truncated header drop the packet", () => {
    const frag = udpPacket("10.244.1.9", 40000, "10.96.0.10", 53);
    ipv4.setFrag(frag.buf, frag.l3, false, false, 1480);
    expect(matches(node, "-p udp ! --dport 1", frag)).toBe(false);
    const tiny = udpPacket("10.244.1.9", 40000, "10.96.0.10", 53);
    ipv4.setFrag(tiny.buf, tiny.l3, false, false, 8);
    const e = oneRule("-p udp --dport 53");
    // hotdrop: DROP without reaching the policy (the chain's policy counter stays 0).
    expect(e.run("mangle", ctxFor(node, Hook.PreRouting, tiny))).toBe(Verdict.Drop);
    expect(entryPackets(e.program("mangle")!, e.program("mangle")!.hookPolicy[Hook.PreRouting])).toBe(0);
    const cut = tcpPacket("10.244.1.9", 1, "10.96.0.1", 443);
    cut.tail = cut.l4 + 12;
    expect(e.run("mangle", ctxFor(node, Hook.PreRouting, cut))).toBe(Verdict.Drop);
    const e2 = oneRule("-p tcp --dport 443");
    expect(e2.run("mangle", ctxFor(node, Hook.PreRouting, cut))).toBe(Verdict.Drop);
    expect(entryPackets(e2.program("mangle")!, e2.program("mangle")!.hookPolicy[Hook.PreRouting])).toBe(0);
  });
});

describe("-m icmp, -m multiport", () => {
  const node = makeNode();
  it("icmp types, codes, any, negation", () => {
    const echo = icmpPacket("10.0.0.1", "10.0.0.2", 8);
    expect(matches(node, "-p icmp --icmp-type echo-request", echo)).toBe(true);
    expect(matches(node, "-p icmp --icmp-type 8/0", echo)).toBe(true);
    expect(matches(node, "-p icmp --icmp-type 8/1", echo)).toBe(false);
    expect(matches(node, "-p icmp --icmp-type echo-reply", echo)).toBe(false);
    expect(matches(node, "-p icmp --icmp-type any", echo)).toBe(true);
    expect(matches(node, "-p icmp ! --icmp-type any", echo)).toBe(false);
    expect(matches(node, "-p icmp ! --icmp-type 0", echo)).toBe(true);
  });

  it("multiport lists and ranges", () => {
    const u = udpPacket("10.244.1.9", 5353, "10.96.0.10", 85);
    expect(matches(node, "-p udp -m multiport --dports 53,80:90,443", u)).toBe(true);
    expect(matches(node, "-p udp -m multiport --dports 53,443", u)).toBe(false);
    expect(matches(node, "-p udp -m multiport ! --dports 53,443", u)).toBe(true);
    expect(matches(node, "-p udp -m multiport --sports 5353", u)).toBe(true);
    expect(matches(node, "-p udp -m multiport --ports 1,85", u)).toBe(true);
    expect(matches(node, "-p udp -m multiport --ports 5000:6000", u)).toBe(true);
    expect(matches(node, "-p udp -m multiport --ports 1,2", u)).toBe(false);
  });
});

describe("-m addrtype", () => {
  const node = makeNode();
  const to = (d: string, s = "192.168.0.99") => udpPacket(s, 1, d, 2);
  it("LOCAL: the namespace's addresses and all of 127/8; UNICAST, BROADCAST, MULTICAST otherwise", () => {
    expect(matches(node, "-m addrtype --dst-type LOCAL", to("192.168.0.10"))).toBe(true);
    expect(matches(node, "-m addrtype --dst-type LOCAL", to("10.244.1.1"))).toBe(true);
    expect(matches(node, "-m addrtype --dst-type LOCAL", to("127.0.0.5"))).toBe(true);
    expect(matches(node, "-m addrtype --dst-type LOCAL", to("10.96.0.10"))).toBe(false);
    expect(matches(node, "-m addrtype --dst-type UNICAST", to("10.96.0.10"))).toBe(true);
    expect(matches(node, "-m addrtype --dst-type BROADCAST", to("192.168.0.255"))).toBe(true);
    expect(matches(node, "-m addrtype --dst-type BROADCAST", to("255.255.255.255"))).toBe(true);
    expect(matches(node, "-m addrtype --dst-type MULTICAST", to("224.0.0.251"))).toBe(true);
    expect(matches(node, "-m addrtype ! --dst-type LOCAL", to("10.96.0.10"))).toBe(true);
    expect(matches(node, "-m addrtype --src-type LOCAL", to("10.96.0.10", "192.168.0.10"))).toBe(true);
    expect(matches(node, "-m addrtype --src-type LOCAL --dst-type LOCAL", to("10.96.0.10", "192.168.0.10"))).toBe(false);
  });

  it("--limit-iface-in: LOCAL only for the incoming device's own addresses", () => {
    expect(matches(node, "-m addrtype --dst-type LOCAL --limit-iface-in", to("192.168.0.10"))).toBe(true);
    expect(matches(node, "-m addrtype --dst-type LOCAL --limit-iface-in", to("10.244.1.1"))).toBe(false);
    expect(matches(node, "-m addrtype --dst-type LOCAL --limit-iface-out", to("10.244.1.1"), Hook.PostRouting, { outdev: node.cni0 })).toBe(true);
  });
});

describe("-m mark, -m conntrack, -m comment", () => {
  const node = makeNode();
  const p = udpPacket("10.244.1.9", 1, "10.96.0.10", 53);
  it("mark value/mask and negation", () => {
    p.mark = 0x4001;
    expect(matches(node, "-m mark --mark 0x4000/0x4000", p)).toBe(true);
    expect(matches(node, "-m mark ! --mark 0x4000/0x4000", p)).toBe(false);
    expect(matches(node, "-m mark --mark 0x4001", p)).toBe(true);
    expect(matches(node, "-m mark --mark 0x4000", p)).toBe(false);
    expect(matches(node, "-m mark --mark 0/0", p)).toBe(true);
    p.mark = 0xffffffff;
    expect(matches(node, "-m mark --mark 0xffffffff", p)).toBe(true);
    p.mark = 0;
  });

  it("ctstate from the context's bits, SNAT/DNAT included", () => {
    const st = (bits: number) => ({ ctstate: bits });
    expect(matches(node, "-m conntrack --ctstate NEW", p, Hook.PreRouting, st(CtStateBit.New))).toBe(true);
    expect(matches(node, "-m conntrack --ctstate INVALID", p, Hook.PreRouting, st(CtStateBit.Invalid))).toBe(true);
    expect(matches(node, "-m conntrack --ctstate RELATED,ESTABLISHED", p, Hook.PreRouting, st(CtStateBit.Established | CtStateBit.Dnat))).toBe(true);
    expect(matches(node, "-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT", p, Hook.PreRouting, st(CtStateBit.New | CtStateBit.Dnat))).toBe(false);
    expect(matches(node, "-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT", p, Hook.PreRouting, st(CtStateBit.New))).toBe(true);
    expect(matches(node, "-m conntrack --ctstate UNTRACKED", p, Hook.PreRouting, st(CtStateBit.Untracked))).toBe(true);
  });

  it("comment matches everything", () => {
    expect(matches(node, '-m comment --comment "kube-system/kube-dns:dns cluster IP"', p)).toBe(true);
  });
});

describe("-m statistic", () => {
  it("--mode nth: --packet p of every n, counting from the first packet", () => {
    const node = makeNode();
    const e = oneRule("-m statistic --mode nth --every 3 --packet 1");
    const seq = Array.from({ length: 9 }, () => hit(e, ctxFor(node, Hook.PreRouting, udpPacket("10.0.0.1", 1, "10.0.0.2", 2))));
    expect(seq).toEqual([false, true, false, false, true, false, false, true, false]);
    const inv = oneRule("-m statistic --mode nth ! --every 2 --packet 0");
    const seq2 = Array.from({ length: 4 }, () => hit(inv, ctxFor(node, Hook.PreRouting, udpPacket("10.0.0.1", 1, "10.0.0.2", 2))));
    expect(seq2).toEqual([false, true, false, true]);
  });

  it("--mode random: P scaled to 2^31, drawn from the namespace's seeded stream, reproducible", () => {
    const draw = (seed: number, prob: string, n = 64): boolean[] => {
      const node = makeNode(seed);
      const e = oneRule(`-m statistic --mode random --probability ${prob}`);
      return Array.from({ length: n }, () => hit(e, ctxFor(node, Hook.PreRouting, udpPacket("10.0.0.1", 1, "10.0.0.2", 2))));
    };
    expect(draw(7, "0.5000000000")).toEqual(draw(7, "0.5000000000"));
    expect(draw(7, "0.5000000000")).not.toEqual(draw(8, "0.5000000000"));
    expect(draw(1, "1").every((x) => x)).toBe(true);
    expect(draw(1, "0").some((x) => x)).toBe(false);
    const n = 20000;
    const third = draw(3, "0.3333333333", n).filter((x) => x).length / n;
    expect(third).toBeGreaterThan(0.32);
    expect(third).toBeLessThan(0.347);
    const inv = draw(3, "0.3333333333", 1000);
    const node = makeNode(3);
    const e = oneRule("-m statistic --mode random ! --probability 0.3333333333");
    expect(inv.map((x) => !x)).toEqual(Array.from({ length: 1000 }, () => hit(e, ctxFor(node, Hook.PreRouting, udpPacket("10.0.0.1", 1, "10.0.0.2", 2)))));
  });

  it("engines replacing each other in a namespace continue one stream (a resync does not replay the draws)", () => {
    const seq = (engines: IptablesEngine[], node: Node) =>
      engines.flatMap((e) => Array.from({ length: 32 }, () => hit(e, ctxFor(node, Hook.PreRouting, udpPacket("10.0.0.1", 1, "10.0.0.2", 2)))));
    const spec = "-m statistic --mode random --probability 0.5";
    const node = makeNode(11);
    const first = seq([oneRule(spec)], node);
    const second = seq([oneRule(spec)], node);
    expect(second).not.toEqual(first);
    const whole = makeNode(11);
    const e = oneRule(spec);
    const both = Array.from({ length: 64 }, () => hit(e, ctxFor(whole, Hook.PreRouting, udpPacket("10.0.0.1", 1, "10.0.0.2", 2))));
    expect(first.concat(second)).toEqual(both);
  });

  it("an explicit rng option overrides the namespace stream", async () => {
    const { Rng } = await import("../../src/sim/index.js");
    const a = oneRule("-m statistic --mode random --probability 0.5", Hook.PreRouting, { rng: new Rng(99) });
    const b = oneRule("-m statistic --mode random --probability 0.5", Hook.PreRouting, { rng: new Rng(99) });
    const na = makeNode(1);
    const nb = makeNode(2);
    const seq = (e: IptablesEngine, node: Node) => Array.from({ length: 32 }, () => hit(e, ctxFor(node, Hook.PreRouting, udpPacket("10.0.0.1", 1, "10.0.0.2", 2))));
    expect(seq(a, na)).toEqual(seq(b, nb));
  });
});

describe("-m recent", () => {
  it("--set records the source, --rcheck --seconds finds it within the window, --reap forgets it after", () => {
    const node = makeNode();
    const e = new IptablesEngine({
      rules: [
        "*mangle",
        ":PREROUTING DROP [0:0]",
        ":OUTPUT DROP [0:0]",
        "-A PREROUTING -m recent --name AFF --mask 255.255.255.255 --rsource --rcheck --seconds 10 --reap -j ACCEPT",
        "-A OUTPUT -m recent --name AFF --set -j ACCEPT",
        "COMMIT",
      ].join("\n"),
    });
    const from = (s: string) => udpPacket(s, 1, "10.96.0.20", 80);
    expect(e.run("mangle", ctxFor(node, Hook.PreRouting, from("10.244.1.9")))).toBe(Verdict.Drop);
    expect(e.run("mangle", ctxFor(node, Hook.LocalOut, from("10.244.1.9")))).toBe(Verdict.Accept);
    expect(e.recent("AFF")!.entries.size).toBe(1);
    expect(e.run("mangle", ctxFor(node, Hook.PreRouting, from("10.244.1.9")))).toBe(Verdict.Accept);
    expect(e.run("mangle", ctxFor(node, Hook.PreRouting, from("10.244.1.8")))).toBe(Verdict.Drop);
    node.sim.runFor(11e9);
    expect(e.run("mangle", ctxFor(node, Hook.PreRouting, from("10.244.1.9")))).toBe(Verdict.Drop);
    // The stale entry was the oldest: reaped.
    expect(e.recent("AFF")!.entries.size).toBe(0);
  });

  it("--rdest, --mask, --update, --hitcount, --remove, negation", () => {
    const node = makeNode();
    const run = (spec: string, pkt = udpPacket("10.244.1.9", 1, "10.96.0.20", 80)) => hit(e, ctxFor(node, Hook.PreRouting, pkt)) && spec.length > 0;
    const e = new IptablesEngine({
      rules: [
        "*mangle",
        ":PREROUTING DROP [0:0]",
        ":X - [0:0]",
        "-A PREROUTING -m mark --mark 1 -m recent --name D --rdest --mask 255.255.255.0 --set -j ACCEPT",
        "-A PREROUTING -m mark --mark 2 -m recent --name D --rdest --mask 255.255.255.0 --update --hitcount 3 -j ACCEPT",
        "-A PREROUTING -m mark --mark 3 -m recent --name D --rdest --mask 255.255.255.0 --remove -j ACCEPT",
        "-A PREROUTING -m mark --mark 4 -m recent ! --rcheck --name D --rdest --mask 255.255.255.0 -j ACCEPT",
        "COMMIT",
      ].join("\n"),
    });
    const pkt = (mark: number, d = "10.96.0.20") => {
      const p = udpPacket("10.244.1.9", 1, d, 80);
      p.mark = mark;
      return p;
    };
    expect(run("!rcheck", pkt(4))).toBe(true);
    expect(run("set", pkt(1, "10.96.0.99"))).toBe(true);
    expect(e.recent("D")!.dump()[0]).toMatch(/^src=10\.96\.0\.0 /);
    expect(run("!rcheck", pkt(4))).toBe(false);
    // --update stamps only when it matches: with one stamp, --hitcount 3 fails until --set adds two more.
    expect(run("update", pkt(2))).toBe(false);
    expect(run("set", pkt(1))).toBe(true);
    expect(run("update", pkt(2))).toBe(false);
    expect(run("set", pkt(1))).toBe(true);
    expect(run("update", pkt(2))).toBe(true);
    expect(run("remove", pkt(3))).toBe(true);
    expect(run("remove", pkt(3))).toBe(false);
    expect(run("!rcheck", pkt(4))).toBe(true);
  });
});

describe("-m set", () => {
  it("hash:ip, hash:ip,port and hash:net, by direction, with negation", () => {
    const node = makeNode();
    const e = new IptablesEngine();
    e.sets.create("VIPS", "hash:ip").add("10.96.0.10");
    const svc = e.sets.create("SVC", "hash:ip,port");
    svc.add("10.96.0.10,udp:53");
    svc.add("10.96.0.1,tcp:443");
    e.sets.create("PODS", "hash:net").add("10.244.0.0/16");
    e.restore(
      [
        "*mangle",
        ":PREROUTING DROP [0:0]",
        "-A PREROUTING -m mark --mark 1 -m set --match-set VIPS dst -j ACCEPT",
        "-A PREROUTING -m mark --mark 2 -m set --match-set SVC dst,dst -j ACCEPT",
        "-A PREROUTING -m mark --mark 3 -m set --match-set PODS src -j ACCEPT",
        "-A PREROUTING -m mark --mark 4 -m set ! --match-set PODS src -j ACCEPT",
        "-A PREROUTING -m mark --mark 5 -m set --match-set SVC dst -j ACCEPT",
        "COMMIT",
      ].join("\n"),
    );
    const t = (mark: number, p: Packet) => {
      p.mark = mark;
      return hit(e, ctxFor(node, Hook.PreRouting, p));
    };
    expect(t(1, udpPacket("10.244.1.9", 1, "10.96.0.10", 53))).toBe(true);
    expect(t(1, udpPacket("10.244.1.9", 1, "10.96.0.11", 53))).toBe(false);
    expect(t(2, udpPacket("10.244.1.9", 1, "10.96.0.10", 53))).toBe(true);
    expect(t(2, tcpPacket("10.244.1.9", 1, "10.96.0.10", 53))).toBe(false);
    expect(t(2, tcpPacket("10.244.1.9", 1, "10.96.0.1", 443))).toBe(true);
    expect(t(3, udpPacket("10.244.1.9", 1, "10.96.0.10", 53))).toBe(true);
    expect(t(3, udpPacket("192.168.0.99", 1, "10.96.0.10", 53))).toBe(false);
    expect(t(4, udpPacket("192.168.0.99", 1, "10.96.0.10", 53))).toBe(true);
    // Fewer directions than the set has dimensions: no match (ip_set_test).
    expect(t(5, udpPacket("10.244.1.9", 1, "10.96.0.10", 53))).toBe(false);
    expect(e.sets.get("SVC")!.members()).toEqual(["10.96.0.1,tcp:443", "10.96.0.10,udp:53"]);
  });

  it("a rule naming a set that does not exist is refused", () => {
    const e = new IptablesEngine();
    expect(() => e.restore("*filter\n-A INPUT -m set --match-set NOPE src -j DROP\nCOMMIT\n")).toThrow(IptablesError);
    expect(() => e.restore("*filter\n-A INPUT -m set --match-set NOPE src -j DROP\nCOMMIT\n")).toThrow("Set NOPE doesn't exist");
  });
});

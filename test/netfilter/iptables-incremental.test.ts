// iptables-restore --noflush as kube-proxy uses it on every sync: only the chains written change.
// Unchanged chains keep their compiled entries (closures and live counters), written chains are
// compiled anew and behave as written, the commit stays all-or-nothing across tables, -X still
// refuses a chain that is jumped to, and errors name the line of the offending rule.

import { describe, expect, it } from "vitest";
import { Hook, Verdict } from "../../src/net/index.js";
import { entryMatch, entryPackets, IptablesEngine, IptablesError, type Program } from "../../src/netfilter/index.js";
import { ctxFor, makeNode, udpPacket } from "./iptables-helpers.js";

const BASE = [
  "*filter",
  ":SVC-A - [0:0]",
  ":SVC-B - [0:0]",
  "-A INPUT -p udp --dport 53 -j SVC-A",
  "-A INPUT -p udp --dport 54 -j SVC-B",
  "-A SVC-A -p udp --sport 1000 -j DROP",
  "-A SVC-A -p udp -j ACCEPT",
  "-A SVC-B -p udp --sport 2000 -j DROP",
  "-A SVC-B -p udp -j ACCEPT",
  "COMMIT",
  "",
].join("\n");

/** The offset of rule `num` (1-based) of `chain` in a program. */
function pcOf(p: Program, chain: string, num: number): number {
  for (let pc = 0; pc < p.n; pc++) if (p.chainOf[pc].name === chain && p.num[pc] === num) return pc;
  throw new Error(`no rule ${chain} ${num}`);
}

describe("incremental restore (--noflush)", () => {
  const node = makeNode();
  const send = (e: IptablesEngine, sport: number, dport: number) => e.run("filter", ctxFor(node, Hook.LocalIn, udpPacket("192.168.0.99", sport, "192.168.0.10", dport)));

  it("rewrites only the chains written: the others keep their compiled matches and counters", () => {
    const e = new IptablesEngine({ rules: BASE });
    expect(send(e, 1000, 53)).toBe(Verdict.Drop);
    expect(send(e, 2000, 54)).toBe(Verdict.Drop);
    const before = e.program("filter")!;
    const keptMatch = entryMatch(before, pcOf(before, "SVC-A", 1));
    const rewrittenMatch = entryMatch(before, pcOf(before, "SVC-B", 1));
    e.restore("*filter\n:SVC-B - [0:0]\n-A SVC-B -p udp --sport 3000 -j DROP\n-A SVC-B -p udp -j ACCEPT\nCOMMIT\n", { noflush: true });
    const after = e.program("filter")!;
    expect(entryMatch(after, pcOf(after, "SVC-A", 1))).toBe(keptMatch);
    expect(entryPackets(after, pcOf(after, "SVC-A", 1))).toBe(1);
    expect(entryMatch(after, pcOf(after, "SVC-B", 1))).not.toBe(rewrittenMatch);
    expect(entryPackets(after, pcOf(after, "SVC-B", 1))).toBe(0);
    expect(send(e, 1000, 53)).toBe(Verdict.Drop);
    expect(send(e, 2000, 54)).toBe(Verdict.Accept);
    expect(send(e, 3000, 54)).toBe(Verdict.Drop);
    expect(e.save({ counters: true })).toContain("[2:");
  });

  it("a chain the rest jumps to can move: jumps into it are resolved again", () => {
    const e = new IptablesEngine({ rules: BASE });
    // SVC-A grows (it is copied and appended to); INPUT's jump to SVC-B must follow SVC-B's new place.
    e.restore("*filter\n-A SVC-A -p udp --sport 1001 -j DROP\nCOMMIT\n", { noflush: true });
    expect(send(e, 2000, 54)).toBe(Verdict.Drop);
    expect(send(e, 2001, 54)).toBe(Verdict.Accept);
    expect(send(e, 1000, 53)).toBe(Verdict.Drop);
  });

  it("stays all-or-nothing: an error in a later table leaves every table as it was", () => {
    const e = new IptablesEngine({ rules: BASE });
    const before = e.save();
    const bad = "*filter\n:SVC-A - [0:0]\n-A SVC-A -j ACCEPT\nCOMMIT\n*nat\n:X - [0:0]\n-A X -j NOPE\nCOMMIT\n";
    expect(() => e.restore(bad, { noflush: true, file: "sync" })).toThrow(/sync:7: Chain 'NOPE' does not exist/);
    expect(e.save()).toBe(before);
    expect(send(e, 1000, 53)).toBe(Verdict.Drop);
  });

  it("-X refuses a chain still jumped to from a chain the input did not touch, and takes it once the jump is gone", () => {
    const e = new IptablesEngine({ rules: BASE });
    const err = (() => {
      try {
        e.restore("*filter\n-X SVC-B\nCOMMIT\n", { noflush: true });
      } catch (x) {
        return x as IptablesError;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(IptablesError);
    expect(err!.message).toContain("chain SVC-B has 1 reference");
    expect(err!.line).toBe(2);
    e.restore("*filter\n-D INPUT 2\n-X SVC-B\nCOMMIT\n", { noflush: true });
    expect(e.save()).not.toContain("SVC-B");
    expect(send(e, 2000, 54)).toBe(Verdict.Accept);
  });

  it("checks a written chain's targets against where the unchanged chains reach it from", () => {
    const e = new IptablesEngine({ rules: "*nat\n:SEP - [0:0]\n-A POSTROUTING -j SEP\nCOMMIT\n" });
    expect(() => e.restore("*nat\n:SEP - [0:0]\n-A SEP -p udp -j DNAT --to-destination 10.0.0.1\nCOMMIT\n", { noflush: true, file: "f" })).toThrow(
      /f:3: DNAT is only valid from PREROUTING, OUTPUT, but chain SEP is reached from POSTROUTING/,
    );
  });
});

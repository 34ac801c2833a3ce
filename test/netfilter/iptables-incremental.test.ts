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

  it("a chain copied to be appended to keeps its rules' live counters, and the policies theirs", () => {
    const e = new IptablesEngine({ rules: BASE });
    expect(send(e, 1000, 53)).toBe(Verdict.Drop);
    expect(send(e, 1000, 99)).toBe(Verdict.Accept); // INPUT's policy
    e.restore("*filter\n-A SVC-A -p udp --sport 1001 -j DROP\nCOMMIT\n", { noflush: true });
    const p = e.program("filter")!;
    expect(entryPackets(p, pcOf(p, "SVC-A", 1))).toBe(1);
    expect(entryPackets(p, pcOf(p, "SVC-A", 3))).toBe(0);
    const saved = e.save({ counters: true });
    expect(saved).toMatch(/^:INPUT ACCEPT \[1:\d+\]$/m);
    expect(saved).toMatch(/^\[1:\d+\] -A SVC-A -p udp -m udp --sport 1000 -j DROP$/m);
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

describe("a restore that moves no chain is compiled in place", () => {
  const node = makeNode();
  const SERVICES = (rows: [string, number, string][]) => rows.map(([vip, port, to]) => `-A SERVICES -d ${vip}/32 -p udp -m udp --dport ${port} -j ${to}`);
  const BASE_SVC = [
    "*filter",
    ":SERVICES - [0:0]",
    ":A - [0:0]",
    ":B - [0:0]",
    ":N - [0:0]",
    "-A INPUT -j SERVICES",
    "-A INPUT -j N",
    ...[1, 2, 3, 4].map((h) => `-A N -d 10.96.1.${h}/32 -p udp -m udp --dport 53 -j ${h % 2 ? "DROP" : "ACCEPT"}`),
    ...SERVICES([
      ["10.96.0.1", 53, "A"],
      ["10.96.0.2", 53, "B"],
      ["10.96.0.3", 80, "A"],
      ["10.96.0.4", 80, "B"],
      ["10.96.0.5", 81, "DROP"],
    ]),
    "-A A -p udp --sport 1000 -j DROP",
    "-A A -j ACCEPT",
    "-A B -p udp --sport 2000 -j DROP",
    "-A B -j ACCEPT",
    "COMMIT",
    "",
  ].join("\n");
  // Each keeps every chain's name and length: the program's arrays are patched, not laid out anew.
  const SAME_LAYOUT = [
    ["*filter", ":SERVICES - [0:0]", ...SERVICES([["10.96.0.2", 80, "A"], ["10.96.0.1", 53, "B"], ["10.96.0.5", 53, "A"], ["10.96.0.4", 81, "DROP"], ["10.96.0.3", 80, "B"]]), "COMMIT", ""],
    ["*filter", ":INPUT DROP [0:0]", "-F INPUT", "-A INPUT -j SERVICES", "-A INPUT -j N", ":A - [0:0]", "-A A -p udp --sport 3000 -j DROP", "-A A -j RETURN", "COMMIT", ""],
    ["*filter", ":B - [0:0]", "-A B -p udp --sport 2000 -j DROP", "-A B -j ACCEPT", "COMMIT", ""],
    ["*filter", "-R SERVICES 3 -d 10.96.0.6/32 -p udp -m udp --dport 82 -j A", "-R B 1 -p udp --sport 1000 -j DROP", "COMMIT", ""],
    // SERVICES loses its verdict map (no rule keyed by address and port alone), N keeps its own.
    ["*filter", ":SERVICES - [0:0]", ...[1, 2, 3, 4, 5].map((h) => `-A SERVICES -s 192.168.0.0/16 -d 10.96.0.${h}/32 -p udp -j ${h % 2 ? "A" : "B"}`), "COMMIT", ""],
  ].map((l) => l.join("\n"));

  const verdicts = (e: IptablesEngine): string => {
    const out: string[] = [];
    for (const dst of ["10.96.0.1", "10.96.0.2", "10.96.0.3", "10.96.0.4", "10.96.0.5", "10.96.0.6", "10.96.1.1", "10.96.1.2", "10.96.1.3"])
      for (const dport of [53, 80, 81, 82])
        for (const sport of [1000, 2000, 3000]) out.push(`${dst}:${dport}:${sport}=${e.run("filter", ctxFor(node, Hook.LocalIn, udpPacket("192.168.0.99", sport, dst, dport)))}`);
    return out.join(" ");
  };

  for (const dispatch of ["linear", "map"] as const)
    it(`behaves as the same rules loaded afresh (${dispatch} dispatch), keeping the counters of the chains not written`, () => {
      const e = new IptablesEngine({ rules: BASE_SVC, dispatch });
      if (dispatch === "map") expect(e.program("filter")!.segmentList.length).toBeGreaterThan(0);
      expect(e.run("filter", ctxFor(node, Hook.LocalIn, udpPacket("192.168.0.99", 2000, "10.96.0.2", 53)))).toBe(Verdict.Drop);
      for (const text of SAME_LAYOUT) {
        const before = e.program("filter")!;
        const bCount = entryPackets(before, pcOf(before, "B", 1));
        e.restore(text, { noflush: true });
        const after = e.program("filter")!;
        expect(after.ent).toBe(before.ent);
        if (!text.includes("B ")) expect(entryPackets(after, pcOf(after, "B", 1))).toBe(bCount);
        const fresh = new IptablesEngine({ rules: e.save(), dispatch });
        // Chains sit elsewhere in a fresh layout (iptables-save's order): the maps compare by chain and length.
        const maps = (p: Program) => p.segmentList.map((s) => `${s.chain}:${s.end - s.start}:${s.map.size}`);
        if (dispatch === "map") expect(maps(after)).toEqual(maps(fresh.program("filter")!));
        expect(verdicts(e)).toBe(verdicts(fresh));
      }
      // A chain that grows moves the rest: laid out anew, and still the same as afresh.
      const before = e.program("filter")!;
      e.restore("*filter\n-A A -j ACCEPT\nCOMMIT\n", { noflush: true });
      expect(e.program("filter")!.ent).not.toBe(before.ent);
      expect(verdicts(e)).toBe(verdicts(new IptablesEngine({ rules: e.save(), dispatch })));
    });
});

describe("a restore that changes no jump keeps the table's checked jump graph", () => {
  const LOOPLESS = "*filter\n:A - [0:0]\n:B - [0:0]\n:C - [0:0]\n:D - [0:0]\n-A INPUT -j A\n-A A -j B\n-A B -j C\n-A C -j D\n-A D -j ACCEPT\nCOMMIT\n";

  it("refuses a rewritten chain whose jump, as many as before, now closes a loop", () => {
    const e = new IptablesEngine({ rules: LOOPLESS });
    e.restore("*filter\n:C - [0:0]\n-A C -j D\nCOMMIT\n", { noflush: true });
    expect(() => e.restore("*filter\n:C - [0:0]\n-A C -j A\nCOMMIT\n", { noflush: true })).toThrow(/chain loop: A -> B -> C -> A/);
    expect(e.save()).toContain("-A C -j D");
  });

  it("checks the targets of a rewritten chain against where it is reached from, and a jump moved onto a chain reached from elsewhere", () => {
    const e = new IptablesEngine({ rules: "*nat\n:SEP - [0:0]\n:OTHER - [0:0]\n-A PREROUTING -j SEP\n-A POSTROUTING -j OTHER\nCOMMIT\n" });
    e.restore("*nat\n:SEP - [0:0]\n-A SEP -p udp -j DNAT --to-destination 10.0.0.1\nCOMMIT\n", { noflush: true });
    // The same number of jumps, but POSTROUTING now reaches SEP, whose DNAT it may not.
    expect(() => e.restore("*nat\n:POSTROUTING ACCEPT [0:0]\n-F POSTROUTING\n-A POSTROUTING -j SEP\nCOMMIT\n", { noflush: true })).toThrow(/DNAT is only valid from PREROUTING, OUTPUT, but chain SEP is reached from POSTROUTING/);
    expect(() => e.restore("*nat\n:OTHER - [0:0]\n-A OTHER -p udp -j DNAT --to-destination 10.0.0.2\nCOMMIT\n", { noflush: true })).toThrow(/DNAT is only valid from PREROUTING, OUTPUT, but chain OTHER is reached from POSTROUTING/);
  });
});

describe("the engine edits its live tables in place and puts them back when the restore fails", () => {
  const node = makeNode();
  const send = (e: IptablesEngine, sport: number, dport: number) => e.run("filter", ctxFor(node, Hook.LocalIn, udpPacket("192.168.0.99", sport, "192.168.0.10", dport)));
  const failing = [
    // A chain deleted, one flushed, one created, a policy changed, then an error in the same table…
    "*filter\n-D INPUT 2\n-X SVC-B\n:SVC-A - [0:0]\n-A SVC-A -j ACCEPT\n:NEW - [0:0]\n:INPUT DROP [0:0]\n:SVC-B - [0:0]\n-A SVC-B -j ACCEPT\n-A NEW -j NOPE\nCOMMIT\n",
    // … in a later table, after the first committed…
    "*filter\n:SVC-A - [0:0]\n-A SVC-A -j ACCEPT\nCOMMIT\n*nat\n:X - [0:0]\n-A X -j NOPE\nCOMMIT\n",
    // … or after both tables committed: a set that does not exist (checked once the text is read).
    "*filter\n:SVC-A - [0:0]\n-A SVC-A -m set --match-set NOPE src -j ACCEPT\nCOMMIT\n",
  ];
  for (const [i, text] of failing.entries())
    it(`leaves rules, behaviour and the next restore as before (${i + 1})`, () => {
      const e = new IptablesEngine({ rules: `${BASE}*nat\n:X - [0:0]\nCOMMIT\n` });
      const before = e.save();
      expect(() => e.restore(text, { noflush: true })).toThrow(IptablesError);
      expect(e.save()).toBe(before);
      expect(send(e, 1000, 53)).toBe(Verdict.Drop);
      expect(send(e, 2000, 54)).toBe(Verdict.Drop);
      expect(send(e, 2001, 54)).toBe(Verdict.Accept);
      e.restore("*filter\n:SVC-B - [0:0]\n-A SVC-B -j DROP\nCOMMIT\n", { noflush: true });
      expect(send(e, 2001, 54)).toBe(Verdict.Drop);
      expect(send(e, 1001, 53)).toBe(Verdict.Accept);
    });
});

describe("a commit error names the line of the rule it is about", () => {
  const lineOfError = (text: string): number | undefined => {
    try {
      new IptablesEngine({ rules: text, file: "f" });
    } catch (e) {
      return (e as IptablesError).line;
    }
    return undefined;
  };
  it("for rules on consecutive lines, interleaved with another chain's, several from one line, inserted and replaced", () => {
    const head = "*filter\n:A - [0:0]\n:B - [0:0]\n";
    expect(lineOfError(`${head}-A A -j ACCEPT\n-A A -j B\n-A A -j NOPE\nCOMMIT\n`)).toBe(6);
    expect(lineOfError(`${head}-A A -j ACCEPT\n-A B -j ACCEPT\n-A A -j NOPE\nCOMMIT\n`)).toBe(6);
    expect(lineOfError(`${head}-A A -s 10.0.0.1,10.0.0.2 -j ACCEPT\n-A A -j NOPE\nCOMMIT\n`)).toBe(5);
    expect(lineOfError(`${head}-A A -j ACCEPT\n-A A -j ACCEPT\n-I A 1 -j NOPE\nCOMMIT\n`)).toBe(6);
    expect(lineOfError(`${head}-A A -j ACCEPT\n-A A -j NOPE\n-A A -j ACCEPT\n-D A 1\nCOMMIT\n`)).toBe(5);
    expect(lineOfError(`${head}-A A -j ACCEPT\n-A A -j ACCEPT\n-R A 2 -j NOPE\nCOMMIT\n`)).toBe(6);
  });
});

// iptables-restore parsing: the tokenizer, the commands, --noflush, atomicity, and errors that
// name the file, the line, the token and what was expected.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  applyIptablesRestore,
  formatIptablesSave,
  IptablesEngine,
  IptablesError,
  parseIptablesRestore,
  parseRuleSpec,
  tokenizeRestoreLine,
} from "../../src/netfilter/index.js";
import { MATCHES, TARGETS } from "../../src/netfilter/iptables/extensions.js";
import { STD_OPTIONS, stdOption } from "../../src/netfilter/iptables/stdopts.js";

const rulesOf = (text: string, chain: string): string[] =>
  formatIptablesSave(parseIptablesRestore(text), { header: false })
    .split("\n")
    .filter((l) => l.startsWith(`-A ${chain} `) || l === `-A ${chain}`);

function errorOf(fn: () => unknown): IptablesError {
  try {
    fn();
  } catch (e) {
    if (e instanceof IptablesError) return e;
    throw e;
  }
  throw new Error("no error thrown");
}

describe("standard options", () => {
  it("stdOption's quick tests agree with the table for every spelling, every extension's option and every one-letter option", () => {
    const tokens = new Set<string>(STD_OPTIONS.keys());
    for (const e of [...MATCHES.values(), ...TARGETS.values()]) for (const o of Object.keys(e.options)) tokens.add(o);
    for (let c = 33; c < 127; c++) for (const p of ["-", "--", "---"]) tokens.add(p + String.fromCharCode(c));
    const wrong = [...tokens].filter((t) => stdOption(t) !== (STD_OPTIONS.get(t) ?? 0));
    expect(wrong).toEqual([]);
    expect(tokens.size).toBeGreaterThan(300);
  });
});

describe("tokenizeRestoreLine (add_param_to_argv)", () => {
  it("splits on blanks, groups double quotes, unescapes inside them", () => {
    expect(tokenizeRestoreLine('-A X -m comment --comment "default/svc:dns cluster IP" -j Y')).toEqual([
      "-A",
      "X",
      "-m",
      "comment",
      "--comment",
      "default/svc:dns cluster IP",
      "-j",
      "Y",
    ]);
    expect(tokenizeRestoreLine('--comment "a \\"q\\" it\\\'s \\\\"')).toEqual(["--comment", "a \"q\" it's \\"]);
    expect(tokenizeRestoreLine('--comment ""  -j\tX')).toEqual(["--comment", "", "-j", "X"]);
    expect(tokenizeRestoreLine("--comment 'a b'")).toEqual(["--comment", "'a", "b'"]);
  });

  it("reads any line as add_param_to_argv does, character by character", () => {
    // The reference: add_param_to_argv's loop, one character at a time (iptables-restore.c).
    const reference = (line: string): string[] | "unterminated" => {
      const out: string[] = [];
      let cur: string | null = null;
      let quoted = false;
      let escaped = false;
      for (const ch of line) {
        if (quoted) {
          if (escaped) {
            cur += ch;
            escaped = false;
          } else if (ch === "\\") escaped = true;
          else if (ch === '"') quoted = false;
          else cur += ch;
        } else if (ch === '"') {
          quoted = true;
          cur ??= "";
        } else if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r") {
          if (cur !== null) out.push(cur);
          cur = null;
        } else cur = (cur ?? "") + ch;
      }
      if (quoted) return "unterminated";
      if (cur !== null) out.push(cur);
      return out;
    };
    const line = fc.array(fc.constantFrom("a", "-", " ", "\t", '"', "\\", "'", "x y", "é"), { maxLength: 24 }).map((a) => a.join(""));
    fc.assert(
      fc.property(line, (l) => {
        const want = reference(l);
        if (want === "unterminated") expect(() => tokenizeRestoreLine(l)).toThrow(/unterminated quote/);
        else expect(tokenizeRestoreLine(l)).toEqual(want);
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses an unterminated quote", () => {
    const e = errorOf(() => parseIptablesRestore('*filter\n-A INPUT -m comment --comment "open -j ACCEPT\nCOMMIT\n', { file: "q.rules" }));
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/^q\.rules:2: unterminated quote/);
  });
});

describe("errors name the file, line, token and what was expected", () => {
  it("unknown option", () => {
    const e = errorOf(() => parseIptablesRestore("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p udp --dport 53 --bogus 1 -j ACCEPT\nCOMMIT\n", { file: "node.rules" }));
    expect(e.file).toBe("node.rules");
    expect(e.line).toBe(3);
    expect(e.token).toBe("--bogus");
    expect(e.expected).toContain("--dport");
    expect(e.message).toMatch(/^node\.rules:3: unknown option "--bogus" at "--bogus"; expected /);
  });

  it("unknown match and target-less jump", () => {
    expect(errorOf(() => parseIptablesRestore("*filter\n-A INPUT -m nfacct --nfacct-name x\nCOMMIT\n")).message).toMatch(/Couldn't load match "nfacct".*expected one of tcp, udp/);
    const e = errorOf(() => parseIptablesRestore("*nat\n:KUBE-SERVICES - [0:0]\n\n-A KUBE-SERVICES -j KUBE-SVC-MISSING\nCOMMIT\n", { file: "kp" }));
    expect(e.line).toBe(4);
    expect(e.message).toContain("Chain 'KUBE-SVC-MISSING' does not exist");
    expect(e.expected).toContain(":KUBE-SVC-MISSING - [0:0]");
  });

  it("a bad value names itself", () => {
    const e = errorOf(() => parseIptablesRestore("*filter\n-A INPUT -p tcp -m tcp --dport 99999 -j ACCEPT\nCOMMIT\n"));
    expect(e.token).toBe("99999");
    expect(e.expected).toContain("0-65535");
    expect(errorOf(() => parseIptablesRestore("*nat\n-A OUTPUT -j DNAT --to-destination 10.0.0.x\nCOMMIT\n")).message).toContain('Bad IP address "10.0.0.x"');
    expect(errorOf(() => parseIptablesRestore("*filter\n-A INPUT -m statistic --mode random --probability 1.5\nCOMMIT\n")).expected).toBe("a probability 0..1");
  });

  it("structure: no table, unknown table, missing COMMIT, -t", () => {
    expect(errorOf(() => parseIptablesRestore("-A INPUT -j ACCEPT\n")).message).toContain("no table specified");
    expect(errorOf(() => parseIptablesRestore("*security\nCOMMIT\n")).expected).toBe("*raw, *mangle, *nat or *filter");
    const e = errorOf(() => parseIptablesRestore("*filter\n-A INPUT -j ACCEPT\n", { file: "f" }));
    expect(e.message).toMatch(/COMMIT expected for table "filter" \(started at line 1\)/);
    expect(errorOf(() => parseIptablesRestore("*filter\n-t nat -A INPUT -j ACCEPT\nCOMMIT\n")).message).toContain("-t option cannot be used");
    expect(errorOf(() => parseIptablesRestore("*filter\n*nat\nCOMMIT\n")).message).toContain('started before COMMIT of table "filter"');
  });

  it("hook checks name the chain path", () => {
    const e = errorOf(() => parseIptablesRestore("*nat\n:X - [0:0]\n-A PREROUTING -j X\n-A X -j MASQUERADE\nCOMMIT\n", { file: "n" }));
    expect(e.line).toBe(4);
    expect(e.message).toContain("MASQUERADE is only valid from POSTROUTING, but chain X is reached from PREROUTING");
    expect(errorOf(() => parseIptablesRestore("*filter\n:A - [0:0]\n:B - [0:0]\n-A A -j B\n-A B -j A\nCOMMIT\n")).message).toContain("chain loop: A -> B -> A");
  });

  it("chain names", () => {
    expect(errorOf(() => parseIptablesRestore("*filter\n:MARK - [0:0]\nCOMMIT\n")).message).toContain("clashes with a target name");
    expect(errorOf(() => parseIptablesRestore(`*filter\n:${"X".repeat(29)} - [0:0]\nCOMMIT\n`)).message).toContain("1-28 characters");
    expect(errorOf(() => parseIptablesRestore("*filter\n:FOO ACCEPT [0:0]\nCOMMIT\n")).message).toContain("not a built-in chain of table filter");
    for (const bad of ['"A B"', '"A\tB"', '"A\u00a0B"', "-X", "!X"]) expect(errorOf(() => parseIptablesRestore(`*filter\n-N ${bad}\nCOMMIT\n`)).message).toMatch(/invalid chain name|Bad argument|requires/);
    expect(errorOf(() => parseIptablesRestore('*filter\n-N "A B"\nCOMMIT\n')).message).toContain('invalid chain name "A B"');
    expect(errorOf(() => parseIptablesRestore('*filter\n-N "A\u2003B"\nCOMMIT\n')).message).toContain("invalid chain name");
  });
});

describe("commands", () => {
  it("-A -I -D -R -F -X -N -P as iptables", () => {
    const text = [
      "*filter",
      ":Y - [0:0]",
      "-N Z",
      "-A Y -j RETURN",
      "-A Y -j DROP",
      "-I Y -j ACCEPT",
      "-I Y 2 -p udp -j ACCEPT",
      "-D Y -j RETURN",
      "-R Y 1 -p tcp -j ACCEPT",
      "-A Z -j ACCEPT",
      "-F Z",
      "-X Z",
      "-P FORWARD DROP",
      "-A INPUT -j Y",
      "COMMIT",
    ].join("\n");
    const out = formatIptablesSave(parseIptablesRestore(text), { header: false });
    expect(out).toBe(
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:Y - [0:0]\n-A INPUT -j Y\n-A Y -p tcp -j ACCEPT\n-A Y -p udp -j ACCEPT\n-A Y -j DROP\nCOMMIT\n",
    );
    expect(rulesOf(text, "Y")).toHaveLength(3);
  });

  it("-I out of range and -D of a missing rule are errors", () => {
    expect(errorOf(() => parseIptablesRestore("*filter\n:Y - [0:0]\n-I Y 3 -j ACCEPT\nCOMMIT\n")).message).toContain("out of range");
    expect(errorOf(() => parseIptablesRestore("*filter\n:Y - [0:0]\n-D Y -j ACCEPT\nCOMMIT\n")).message).toContain("does a matching rule exist");
  });

  it("a bare -X deletes every user chain, references among them included", () => {
    const rs = parseIptablesRestore("*filter\n:A - [0:0]\n:B - [0:0]\n-A A -j B\n-X\nCOMMIT\n");
    expect(rs.table("filter").userChains()).toEqual([]);
  });

  it("comma-separated addresses give one rule per pair, sources outer", () => {
    const { rules } = parseRuleSpec(["-s", "10.0.0.1,10.0.0.2", "-d", "10.1.0.0/16,10.2.0.0/16", "-j", "ACCEPT"], { table: "filter", chain: "X", hook: null });
    expect(rules.map((r) => `${r.src & 0xff}/${(r.dst >>> 16) & 0xff}`)).toEqual(["1/1", "1/2", "2/1", "2/2"]);
  });

  it("options go to the match that owns them; a second -m of the same match closes the first", () => {
    const save = (spec: string) =>
      formatIptablesSave(parseIptablesRestore(`*filter\n-A INPUT ${spec}\nCOMMIT\n`), { header: false }).split("\n").find((l) => l.startsWith("-A"));
    expect(save("-p tcp -m tcp --sport 1 -m comment --comment x --dport 80 -j ACCEPT")).toBe("-A INPUT -p tcp -m tcp --sport 1 --dport 80 -m comment --comment x -j ACCEPT");
    expect(save("-m comment --comment x -p tcp --dport 80 -j ACCEPT")).toBe("-A INPUT -p tcp -m comment --comment x -m tcp --dport 80 -j ACCEPT");
    expect(save("-m comment --comment a -m comment --comment b")).toBe("-A INPUT -m comment --comment a -m comment --comment b");
    expect(() => save("-m comment -m comment --comment a")).toThrow('option "--comment" must be specified');
    expect(save("-j ACCEPT -p tcp --dport 80")).toBe("-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT");
    expect(() => save("-p tcp --dport 80 --dport 81")).toThrow("can only be used once");
    expect(() => save("! -m tcp")).toThrow("unexpected ! flag");
    expect(() => save("-p tcp -m tcp ! ! --dport 80")).toThrow("multiple ! flags");
    expect(() => save("-m comment ! --comment x")).toThrow("cannot be inverted");
  });
});

describe("--noflush and atomicity", () => {
  it("without --noflush a table is replaced, policies included; with it, edited", () => {
    const base = parseIptablesRestore("*filter\n:FORWARD DROP [0:0]\n:X - [0:0]\n-A X -j ACCEPT\n-A INPUT -j X\nCOMMIT\n*nat\n:Q - [0:0]\nCOMMIT\n");
    const flushed = applyIptablesRestore(base, "*filter\n-A INPUT -j ACCEPT\nCOMMIT\n");
    expect(flushed.table("filter").chain("FORWARD")!.policy).toBe("ACCEPT");
    expect(flushed.table("filter").chain("X")).toBeUndefined();
    expect(flushed.table("nat").chain("Q")).toBeDefined();
    const edited = applyIptablesRestore(base, "*filter\n:X - [0:0]\n-A X -j DROP\nCOMMIT\n", { noflush: true });
    expect(edited.table("filter").chain("FORWARD")!.policy).toBe("DROP");
    expect(formatIptablesSave(edited, { header: false, tables: ["filter"] })).toContain("-A INPUT -j X\n-A X -j DROP\nCOMMIT");
    // The base is untouched.
    expect(formatIptablesSave(base, { header: false, tables: ["filter"] })).toContain("-A X -j ACCEPT\n");
  });

  it("an error anywhere leaves the engine's rules as they were", () => {
    const engine = new IptablesEngine({ rules: "*filter\n-A INPUT -j ACCEPT\nCOMMIT\n" });
    const before = engine.save();
    expect(() => engine.restore("*filter\n-A INPUT -j DROP\nCOMMIT\n*nat\n-A PREROUTING -j DROP\nCOMMIT\n", { file: "bad" })).toThrow(/bad:5: .*nat.*DROP/);
    expect(engine.save()).toBe(before);
  });

  it("counters are taken only with --counters", () => {
    const text = "*filter\n:INPUT ACCEPT [9:900]\n[3:300] -A INPUT -j ACCEPT\nCOMMIT\n";
    expect(formatIptablesSave(parseIptablesRestore(text), { counters: true, header: false })).toContain(":INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n[0:0] -A INPUT");
    expect(formatIptablesSave(parseIptablesRestore(text, { counters: true }), { counters: true, header: false })).toContain(":INPUT ACCEPT [9:900]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n[3:300] -A INPUT");
  });
});

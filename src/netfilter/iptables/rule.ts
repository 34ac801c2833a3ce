// Parsing one rule specification (the part of an iptables command after "-A CHAIN"), as
// iptables' do_parse/command_default do it: standard options (-s -d -p -i -o -f -j -g -m -c),
// "!" before an option, options routed to the match or target that owns them (a second -m of the
// same match closes the first), the protocol's match loaded implicitly (`-p tcp --dport 80`),
// then each extension's final check. Comma-separated -s/-d give one rule per pair, as iptables.

import { Hook } from "../../net/index.js";
import type { TableName } from "../types.js";
import { IptablesError } from "./errors.js";
import { MATCHES, PROTO_MATCH, STANDARD_VERDICTS, TARGETS } from "./extensions.js";
import { fail } from "./fail.js";
import type { Rule, RuleTarget } from "./model.js";
import { type AddrMask, parseAddrList, parseProtocol } from "./values.js";
import type { MatchExtension, MatchInstance, OptionDef, RuleInfo, TargetExtension } from "./xt.js";

export interface RuleSpecContext {
  table: TableName;
  chain: string;
  /** The hook when `chain` is a built-in chain, else null. */
  hook: Hook | null;
}

export interface ParsedRuleSpec {
  rules: Rule[];
  /** -c PKTS BYTES, when given. */
  counters: [number, number] | null;
}

type StdOption = "src" | "dst" | "proto" | "in" | "out" | "match" | "jump" | "goto" | "frag" | "counters";

const STANDARD: Readonly<Record<string, StdOption>> = {
  "-s": "src",
  "--source": "src",
  "--src": "src",
  "-d": "dst",
  "--destination": "dst",
  "--dst": "dst",
  "-p": "proto",
  "--protocol": "proto",
  "-i": "in",
  "--in-interface": "in",
  "-o": "out",
  "--out-interface": "out",
  "-m": "match",
  "--match": "match",
  "-j": "jump",
  "--jump": "jump",
  "-g": "goto",
  "--goto": "goto",
  "-f": "frag",
  "--fragment": "frag",
  "-c": "counters",
  "--set-counters": "counters",
};

/** XT_EXTENSION_MAXNAMELEN - 1: the longest chain name. */
export const MAX_CHAIN_NAME = 28;
const IFNAMSIZ = 16;

interface Slot {
  ext: MatchExtension;
  spec: unknown;
  seen: Set<string>;
  /** A later -m of the same name closes this one to further options. */
  completed: boolean;
}

interface TargetSlot {
  ext: TargetExtension;
  spec: unknown;
  seen: Set<string>;
}

/** Rethrows an extension's error with the option it was parsing, when it named no token. */
function withToken<T>(token: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof IptablesError && e.token === undefined) throw new IptablesError(e.reason, { token, expected: e.expected });
    throw e;
  }
}

function checkInterface(name: string, option: string): string {
  if (name.length === 0 || name.length >= IFNAMSIZ) fail(`interface name "${name}" must be shorter than IFNAMSIZ (${IFNAMSIZ - 1})`, name, `${option} NAME (1-15 characters, "+" as a trailing wildcard)`);
  if (/[\s/:]/.test(name)) fail(`invalid interface name "${name}"`, name, "a device name");
  return name;
}

/** Checks a chain name as iptables -N does. */
export function checkChainName(name: string): void {
  if (name.length === 0 || name.length > MAX_CHAIN_NAME) fail(`chain name "${name}" must be 1-${MAX_CHAIN_NAME} characters`, name);
  if (name.startsWith("-") || name.startsWith("!") || /\s/.test(name)) fail(`invalid chain name "${name}"`, name, "a name not starting with - or ! and without spaces");
  if ((STANDARD_VERDICTS as readonly string[]).includes(name) || TARGETS.has(name)) fail(`chain name "${name}" clashes with a target name`, name, "a different chain name");
}

/** Parses `tokens` (a rule specification, without the command and chain) into rules. */
export function parseRuleSpec(tokens: readonly string[], ctx: RuleSpecContext): ParsedRuleSpec {
  let srcs: AddrMask[] | null = null;
  let dsts: AddrMask[] | null = null;
  let invSrc = false;
  let invDst = false;
  let inIface: string | null = null;
  let outIface: string | null = null;
  let invIn = false;
  let invOut = false;
  let proto: number | null = null;
  let invProto = false;
  let frag: 0 | 1 | 2 = 0;
  let counters: [number, number] | null = null;
  const slots: Slot[] = [];
  let target: RuleTarget | null = null;
  let targetSlot: TargetSlot | null = null;
  let invert = false;
  const seenStd = new Set<StdOption>();

  const next = (i: number, option: string, what: string): string => {
    if (i >= tokens.length) fail(`option "${option}" requires an argument`, option, what);
    return tokens[i];
  };

  const addMatch = (name: string): Slot => {
    const ext = MATCHES.get(name);
    if (ext === undefined) fail(`Couldn't load match "${name}"`, name, `one of ${[...MATCHES.keys()].join(", ")}`);
    for (const s of slots) if (s.ext === ext) s.completed = true;
    const slot: Slot = { ext, spec: ext.init(), seen: new Set(), completed: false };
    slots.push(slot);
    return slot;
  };

  /** Finds who owns an extension option: the target first, then the open matches in order. */
  const owner = (option: string): { def: OptionDef; canon: string; slot: Slot | TargetSlot } | null => {
    if (targetSlot !== null) {
      const def = targetSlot.ext.options[option];
      if (def) return { def, canon: def.alias ?? option, slot: targetSlot };
    }
    for (const s of slots) {
      if (s.completed) continue;
      const def = s.ext.options[option];
      if (def) return { def, canon: def.alias ?? option, slot: s };
    }
    return null;
  };

  let i = 0;
  while (i < tokens.length) {
    let tok = tokens[i];
    if (tok === "!") {
      if (invert) fail("multiple ! flags not allowed", tok);
      invert = true;
      i++;
      continue;
    }
    let inlineArg: string | null = null;
    if (tok.startsWith("--") && tok.includes("=")) {
      inlineArg = tok.slice(tok.indexOf("=") + 1);
      tok = tok.slice(0, tok.indexOf("="));
    }
    if (!tok.startsWith("-") || tok === "-") fail(`Bad argument "${tok}"`, tok, "an option such as -p, -m, -j");
    const std = STANDARD[tok];
    if (std !== undefined) {
      if (std !== "match" && std !== "counters" && seenStd.has(std)) fail(`multiple ${tok} flags not allowed`, tok);
      seenStd.add(std);
      if (invert && (std === "match" || std === "jump" || std === "goto" || std === "counters")) fail(`unexpected ! flag before ${tok}`, "!");
      const arg = (what: string): string => {
        if (inlineArg !== null) return inlineArg;
        i++;
        return next(i, tok, what);
      };
      switch (std) {
        case "src":
          srcs = parseAddrList(arg("an address or network"));
          invSrc = invert;
          break;
        case "dst":
          dsts = parseAddrList(arg("an address or network"));
          invDst = invert;
          break;
        case "proto":
          proto = parseProtocol(arg("a protocol"));
          invProto = invert;
          if (proto === 0 && invert) fail("rule would never match protocol", "! -p all");
          break;
        case "in":
          inIface = checkInterface(arg("an interface name"), tok);
          invIn = invert;
          break;
        case "out":
          outIface = checkInterface(arg("an interface name"), tok);
          invOut = invert;
          break;
        case "frag":
          frag = invert ? 2 : 1;
          break;
        case "match":
          addMatch(arg("a match name"));
          break;
        case "counters": {
          const p = arg("PKTS BYTES");
          i++;
          const b = next(i, tok, "PKTS BYTES");
          if (!/^[0-9]+$/.test(p) || !/^[0-9]+$/.test(b)) fail("-c packet and byte counters must be numbers", `${p} ${b}`, "-c PKTS BYTES");
          counters = [Number(p), Number(b)];
          break;
        }
        case "jump":
        case "goto": {
          if (seenStd.has(std === "jump" ? "goto" : "jump")) fail("cannot use -j and -g together", tok);
          const name = arg(std === "jump" ? "a target or chain name" : "a chain name");
          const ext = TARGETS.get(name);
          if ((STANDARD_VERDICTS as readonly string[]).includes(name)) {
            if (std === "goto") fail(`goto "${name}" is not a chain`, name, "a user chain name");
            target = { kind: "verdict", verdict: name as (typeof STANDARD_VERDICTS)[number] };
          } else if (ext !== undefined) {
            if (std === "goto") fail(`goto "${name}" is not a chain`, name, "a user chain name");
            targetSlot = { ext, spec: ext.init(), seen: new Set() };
            target = { kind: "ext", ext, spec: targetSlot.spec };
          } else {
            if (name.length > MAX_CHAIN_NAME || name.startsWith("-")) fail(`invalid target name "${name}"`, name, "ACCEPT, DROP, RETURN, a target or a chain name");
            target = { kind: "jump", chain: name, goto: std === "goto" };
          }
          break;
        }
      }
      invert = false;
      i++;
      continue;
    }

    // An extension option.
    let found = owner(tok);
    if (found === null && proto !== null && !invProto && PROTO_MATCH[proto] !== undefined) {
      const implicit = MATCHES.get(PROTO_MATCH[proto])!;
      if (implicit.options[tok]) {
        addMatch(implicit.name);
        found = owner(tok);
      }
    }
    if (found === null) fail(`unknown option "${tok}"`, tok, knownOptions(slots, targetSlot));
    const { def, canon, slot } = found;
    if (invert && !def.invert) fail(`${slot.ext.name}: option "${tok}" cannot be inverted`, tok);
    if (slot.seen.has(canon) && !def.multi) fail(`${slot.ext.name}: option "${tok}" can only be used once`, tok);
    slot.seen.add(canon);
    const args: string[] = [];
    if (inlineArg !== null) args.push(inlineArg);
    while (args.length < def.args) {
      i++;
      args.push(next(i, tok, def.args === 2 ? "two arguments" : "an argument"));
    }
    const inv = invert;
    withToken(tok, () => slot.ext.parse(slot.spec as never, canon, args, inv));
    invert = false;
    i++;
  }
  if (invert) fail("! at the end of the rule applies to nothing", "!", "an option after !");

  const info: RuleInfo = { table: ctx.table, proto: proto ?? 0, invProto };
  for (const s of slots) withToken(`-m ${s.ext.name}`, () => s.ext.final(s.spec as never, info));
  const tgt: RuleTarget = target ?? { kind: "none" };
  if (targetSlot !== null) {
    const ts: TargetSlot = targetSlot;
    withToken(`-j ${ts.ext.name}`, () => ts.ext.final(ts.spec as never, info));
  }
  if (ctx.hook !== null) {
    if (inIface !== null && (ctx.hook === Hook.LocalOut || ctx.hook === Hook.PostRouting)) fail(`Can't use -i with ${ctx.chain}`, "-i", "-o (packets in this chain have no input interface)");
    if (outIface !== null && (ctx.hook === Hook.PreRouting || ctx.hook === Hook.LocalIn)) fail(`Can't use -o with ${ctx.chain}`, "-o", "-i (packets in this chain have no output interface yet)");
  }
  if (ctx.table === "nat" && tgt.kind === "verdict" && tgt.verdict === "DROP")
    fail('The "nat" table is not intended for filtering, the use of DROP is therefore inhibited', "DROP", "a filter table rule");

  const matches: MatchInstance[] = slots.map((s) => ({ ext: s.ext, spec: s.spec }));
  const srcList: AddrMask[] = srcs ?? [{ addr: 0, mask: 0 }];
  const dstList: AddrMask[] = dsts ?? [{ addr: 0, mask: 0 }];
  const rules: Rule[] = [];
  for (const s of srcList)
    for (const d of dstList)
      rules.push({
        src: s.addr,
        smsk: s.mask,
        invSrc,
        dst: d.addr,
        dmsk: d.mask,
        invDst,
        inIface,
        invIn,
        outIface,
        invOut,
        proto: proto ?? 0,
        invProto,
        frag,
        matches,
        target: tgt,
        pkts: counters?.[0] ?? 0,
        bytes: counters?.[1] ?? 0,
      });
  return { rules, counters };
}

function knownOptions(slots: Slot[], target: TargetSlot | null): string {
  const names = [...slots.filter((s) => !s.completed).flatMap((s) => Object.keys(s.ext.options)), ...(target ? Object.keys(target.ext.options) : [])];
  return names.length > 0 ? `an option of the loaded extensions (${names.join(", ")})` : "a standard option (-s -d -p -i -o -m -j -g) or -m NAME before its options";
}

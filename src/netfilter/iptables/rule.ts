// Parsing one rule specification (the part of an iptables command after "-A CHAIN"), as
// iptables' do_parse/command_default do it: standard options (-s -d -p -i -o -f -j -g -m -c),
// "!" before an option, options routed to the match or target that owns them (a second -m of the
// same match closes the first), the protocol's match loaded implicitly (`-p tcp --dport 80`),
// then each extension's final check. Comma-separated -s/-d give one rule per pair, as iptables.

import { Hook } from "../../net/index.js";
import type { TableName } from "../types.js";
import { AddrArg } from "./addrarg.js";
import { IptablesError } from "./errors.js";
import { MATCHES, PROTO_MATCH, STANDARD_VERDICTS, TARGETS } from "./extensions.js";
import { fail } from "./fail.js";
import type { Rule, RuleTarget } from "./model.js";
import { checkInterface, MAX_CHAIN_NAME } from "./names.js";
import { S_COUNTERS, S_DST, S_FRAG, S_GOTO, S_IN, S_JUMP, S_MATCH, S_OUT, S_PROTO, S_SRC, STD_WHAT, stdOption } from "./stdopts.js";
import { parseProtocol } from "./values.js";
import type { MatchExtension, MatchInstance, TargetExtension } from "./xt.js";

export { checkChainName, MAX_CHAIN_NAME } from "./names.js";

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


interface Slot {
  ext: MatchExtension;
  spec: unknown;
  /** Canonical options given so far (null: none). */
  seen: string[] | null;
  /** The match and its options as read: equal keys make equal specs (see ParseCache). */
  key: string;
  /** A later -m of the same name closes this one to further options. */
  completed: boolean;
}

interface TargetSlot {
  ext: TargetExtension;
  spec: unknown;
  seen: string[] | null;
  completed?: undefined;
  key?: undefined;
}

/**
 * Sharing between the rules of one restore: rules whose matches were written alike (kube-proxy's
 * `-m udp -p udp`, its ten `-m statistic` probabilities) get one read-only matches array: fewer
 * objects to keep, and the compiler compiles a shared matches array once.
 */
export interface ParseCache {
  /** Matches arrays of rules without a comment, by the rule's protocol and every match as read. */
  readonly matches: Map<string, readonly MatchInstance[]>;
  /**
   * Single matches other than comments, by the rule's protocol and the match as read: kube-proxy
   * comments every rule with its service and endpoint, so whole arrays are rarely alike, but the
   * matches beside the comment are (ten probabilities for 100k `-m statistic` rules).
   */
  readonly instances: Map<string, MatchInstance>;
  /**
   * The last `-j CHAIN` target made, reused by the next rule jumping to the same chain (a
   * RuleTarget is read-only): kube-proxy's 100k KUBE-SEP rules jump to KUBE-MARK-MASQ, each
   * after another of its rules. One entry, not a map: most other jumps are to a chain of their own.
   */
  jump: RuleTarget | null;
}

export const newParseCache = (): ParseCache => ({ matches: new Map(), instances: new Map(), jump: null });

/** An extension's error without a token gets the option it was parsing (withToken in the old parser). */
function located(e: unknown, token: string): unknown {
  if (e instanceof IptablesError && e.token === undefined) return new IptablesError(e.reason, { token, expected: e.expected });
  return e;
}

/** Parses `tokens` (a rule specification, without the command and chain) into rules. */
export function parseRuleSpec(tokens: readonly string[], ctx: RuleSpecContext): ParsedRuleSpec {
  const rules: Rule[] = [];
  const counters = parseRuleInto(tokens, 0, ctx.table, ctx.chain, ctx.hook, rules);
  return { rules, counters };
}

/** The standard targets without options: one shared object each (a RuleTarget is read-only). */
const VERDICT_TARGETS: ReadonlyMap<string, RuleTarget> = new Map(STANDARD_VERDICTS.map((v) => [v, { kind: "verdict", verdict: v }]));
const NO_TARGET: RuleTarget = { kind: "none" };

const src = new AddrArg();
const dst = new AddrArg();
/** The RuleInfo handed to the extensions' final checks (read only there): one, refilled per rule. */
const info: { table: TableName; proto: number; invProto: boolean } = { table: "filter", proto: 0, invProto: false };
const ARGS1: string[] = [""];

/** The argument of an option at tokens[i], or the "requires an argument" error. */
function argAt(tokens: readonly string[], i: number, option: string, what: string): string {
  if (i >= tokens.length) fail(`option "${option}" requires an argument`, option, what);
  return tokens[i];
}

/** Finds who owns an extension option: the target first, then the open matches in order. */
function ownerOf(option: string, slots: Slot[], target: TargetSlot | null): Slot | TargetSlot | null {
  if (target !== null && target.ext.options[option] !== undefined) return target;
  for (let k = 0; k < slots.length; k++) {
    const s = slots[k];
    if (!s.completed && s.ext.options[option] !== undefined) return s;
  }
  return null;
}

function addMatch(slots: Slot[], name: string): void {
  const ext = MATCHES.get(name);
  if (ext === undefined) fail(`Couldn't load match "${name}"`, name, `one of ${[...MATCHES.keys()].join(", ")}`);
  for (let k = 0; k < slots.length; k++) if (slots[k].ext === ext) slots[k].completed = true;
  slots.push({ ext, spec: ext.init(), seen: null, completed: false, key: name });
}

/**
 * parseRuleSpec without the intermediate objects: tokens[from..] is the specification; the rules
 * are appended to `out` (one per -s × -d pair). Returns the -c counters, when given.
 */
export function parseRuleInto(
  tokens: readonly string[],
  from: number,
  table: TableName,
  chain: string,
  hook: Hook | null,
  out: Rule[],
  cache: ParseCache | null = null,
): [number, number] | null {
  src.reset();
  dst.reset();
  let invSrc = false;
  let invDst = false;
  let inIface: string | null = null;
  let outIface: string | null = null;
  let invIn = false;
  let invOut = false;
  let proto = -1;
  let invProto = false;
  let frag: 0 | 1 | 2 = 0;
  let counters: [number, number] | null = null;
  const slots: Slot[] = [];
  let target: RuleTarget | null = null;
  let targetSlot: TargetSlot | null = null;
  let invert = false;
  let seenStd = 0;
  const n = tokens.length;
  let i = from;
  while (i < n) {
    let tok = tokens[i];
    if (tok === "!") {
      if (invert) fail("multiple ! flags not allowed", tok);
      invert = true;
      i++;
      continue;
    }
    let inlineArg: string | null = null;
    if (tok.charCodeAt(1) === 45 && tok.charCodeAt(0) === 45) {
      const eq = tok.indexOf("=");
      if (eq >= 0) {
        inlineArg = tok.slice(eq + 1);
        tok = tok.slice(0, eq);
      }
    }
    if (tok.charCodeAt(0) !== 45 || tok === "-") fail(`Bad argument "${tok}"`, tok, "an option such as -p, -m, -j");
    const std = stdOption(tok);
    if (std !== 0) {
      if (std !== S_MATCH && std !== S_COUNTERS && (seenStd & std) !== 0) fail(`multiple ${tok} flags not allowed`, tok);
      seenStd |= std;
      if (invert && (std === S_MATCH || std === S_JUMP || std === S_GOTO || std === S_COUNTERS)) fail(`unexpected ! flag before ${tok}`, "!");
      let arg = "";
      if (std !== S_FRAG) arg = inlineArg ?? argAt(tokens, ++i, tok, STD_WHAT[std]);
      switch (std) {
        case S_SRC:
          src.set(arg);
          invSrc = invert;
          break;
        case S_DST:
          dst.set(arg);
          invDst = invert;
          break;
        case S_PROTO:
          proto = parseProtocol(arg);
          invProto = invert;
          if (proto === 0 && invert) fail("rule would never match protocol", "! -p all");
          break;
        case S_IN:
          inIface = checkInterface(arg, tok);
          invIn = invert;
          break;
        case S_OUT:
          outIface = checkInterface(arg, tok);
          invOut = invert;
          break;
        case S_FRAG:
          frag = invert ? 2 : 1;
          break;
        case S_MATCH:
          addMatch(slots, arg);
          break;
        case S_COUNTERS: {
          const b = argAt(tokens, ++i, tok, "PKTS BYTES");
          if (!/^[0-9]+$/.test(arg) || !/^[0-9]+$/.test(b)) fail("-c packet and byte counters must be numbers", `${arg} ${b}`, "-c PKTS BYTES");
          counters = [Number(arg), Number(b)];
          break;
        }
        default: {
          // -j / -g
          if ((seenStd & (std === S_JUMP ? S_GOTO : S_JUMP)) !== 0) fail("cannot use -j and -g together", tok);
          const verdict = VERDICT_TARGETS.get(arg);
          const ext = verdict === undefined ? TARGETS.get(arg) : undefined;
          if (verdict !== undefined) {
            if (std === S_GOTO) fail(`goto "${arg}" is not a chain`, arg, "a user chain name");
            target = verdict;
          } else if (ext !== undefined) {
            if (std === S_GOTO) fail(`goto "${arg}" is not a chain`, arg, "a user chain name");
            targetSlot = { ext, spec: ext.init(), seen: null };
            target = { kind: "ext", ext, spec: targetSlot.spec };
          } else {
            if (arg.length > MAX_CHAIN_NAME || arg.startsWith("-")) fail(`invalid target name "${arg}"`, arg, "ACCEPT, DROP, RETURN, a target or a chain name");
            const goto = std === S_GOTO;
            const last = cache?.jump;
            if (last != null && last.kind === "jump" && last.chain === arg && last.goto === goto) target = last;
            else {
              target = { kind: "jump", chain: arg, goto };
              if (cache !== null) cache.jump = target;
            }
          }
        }
      }
      invert = false;
      i++;
      continue;
    }

    // An extension option.
    let slot = ownerOf(tok, slots, targetSlot);
    if (slot === null && proto > 0 && !invProto && PROTO_MATCH[proto] !== undefined) {
      const implicit = MATCHES.get(PROTO_MATCH[proto])!;
      if (implicit.options[tok] !== undefined) {
        addMatch(slots, implicit.name);
        slot = ownerOf(tok, slots, targetSlot);
      }
    }
    if (slot === null) fail(`unknown option "${tok}"`, tok, knownOptions(slots, targetSlot));
    const def = slot.ext.options[tok];
    const canon = def.alias ?? tok;
    if (invert && !def.invert) fail(`${slot.ext.name}: option "${tok}" cannot be inverted`, tok);
    if (slot.seen?.includes(canon) && !def.multi) fail(`${slot.ext.name}: option "${tok}" can only be used once`, tok);
    if (slot.seen === null) slot.seen = [canon];
    else slot.seen.push(canon);
    let args: string[];
    if (def.args === 1 && inlineArg === null) {
      args = ARGS1;
      args[0] = argAt(tokens, ++i, tok, "an argument");
    } else {
      args = [];
      if (inlineArg !== null) args.push(inlineArg);
      while (args.length < def.args) args.push(argAt(tokens, ++i, tok, def.args === 2 ? "two arguments" : "an argument"));
    }
    try {
      slot.ext.parse(slot.spec as never, canon, args, invert);
    } catch (e) {
      throw located(e, tok);
    }
    if (cache !== null && slot.key !== undefined && slot.ext !== commentExt) slot.key += `\x1f${invert ? "!" : ""}${canon}\x1e${args.length === 1 ? args[0] : args.join("\x1e")}`;
    invert = false;
    i++;
  }
  if (invert) fail("! at the end of the rule applies to nothing", "!", "an option after !");

  info.table = table;
  info.proto = Math.max(proto, 0);
  info.invProto = invProto;
  for (let k = 0; k < slots.length; k++) {
    const s = slots[k];
    try {
      s.ext.final(s.spec as never, info);
    } catch (e) {
      throw located(e, `-m ${s.ext.name}`);
    }
  }
  const tgt: RuleTarget = target ?? NO_TARGET;
  if (targetSlot !== null) {
    try {
      targetSlot.ext.final(targetSlot.spec as never, info);
    } catch (e) {
      throw located(e, `-j ${targetSlot.ext.name}`);
    }
  }
  if (hook !== null) {
    if (inIface !== null && (hook === Hook.LocalOut || hook === Hook.PostRouting)) fail(`Can't use -i with ${chain}`, "-i", "-o (packets in this chain have no input interface)");
    if (outIface !== null && (hook === Hook.PreRouting || hook === Hook.LocalIn)) fail(`Can't use -o with ${chain}`, "-o", "-i (packets in this chain have no output interface yet)");
  }
  if (table === "nat" && tgt.kind === "verdict" && tgt.verdict === "DROP")
    fail('The "nat" table is not intended for filtering, the use of DROP is therefore inhibited', "DROP", "a filter table rule");

  let matches: readonly MatchInstance[] | undefined;
  if (cache === null) matches = freshMatches(slots, null, "");
  else {
    const prefix = `${table} ${proto} ${+invProto}`;
    let key = prefix;
    let commented = false;
    for (let k = 0; k < slots.length; k++) {
      if (slots[k].ext === commentExt) commented = true;
      else key += `\x1d${slots[k].key}`;
    }
    if (commented) matches = freshMatches(slots, cache, prefix);
    else {
      matches = cache.matches.get(key);
      if (matches === undefined) {
        matches = freshMatches(slots, cache, prefix);
        cache.matches.set(key, matches);
      }
    }
  }
  const p = Math.max(proto, 0);
  const pkts = counters === null ? 0 : counters[0];
  const bytes = counters === null ? 0 : counters[1];
  const ns = src.count();
  const nd = dst.count();
  for (let a = 0; a < ns; a++)
    for (let b = 0; b < nd; b++)
      out.push({
        src: src.addrAt(a) | 0,
        smsk: src.maskAt(a) | 0,
        invSrc,
        dst: dst.addrAt(b) | 0,
        dmsk: dst.maskAt(b) | 0,
        invDst,
        inIface,
        invIn,
        outIface,
        invOut,
        proto: p,
        invProto,
        frag,
        matches,
        target: tgt,
        pkts,
        bytes,
      });
  return counters;
}

const commentExt = MATCHES.get("comment");

/** A matches array for `slots`: comments as read, the other matches shared through `cache` (keyed under `prefix`) when there is one. */
function freshMatches(slots: Slot[], cache: ParseCache | null, prefix: string): MatchInstance[] {
  const out: MatchInstance[] = new Array(slots.length);
  for (let k = 0; k < slots.length; k++) {
    const s = slots[k];
    if (cache === null || s.ext === commentExt) {
      out[k] = { ext: s.ext, spec: s.spec };
      continue;
    }
    const key = `${prefix}\x1d${s.key}`;
    let m = cache.instances.get(key);
    if (m === undefined) {
      m = { ext: s.ext, spec: s.spec };
      cache.instances.set(key, m);
    }
    out[k] = m;
  }
  return out;
}

function knownOptions(slots: Slot[], target: TargetSlot | null): string {
  const names = [...slots.filter((s) => !s.completed).flatMap((s) => Object.keys(s.ext.options)), ...(target ? Object.keys(target.ext.options) : [])];
  return names.length > 0 ? `an option of the loaded extensions (${names.join(", ")})` : "a standard option (-s -d -p -i -o -m -j -g) or -m NAME before its options";
}

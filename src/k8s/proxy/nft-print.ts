// Two views of the kube-proxy nftables table: the transaction as knftables' Fake.Dump() prints it
// ("add chain ip kube-proxy …", what pkg/proxy/nftables/proxier_test.go compares), and the table as
// `nft list ruleset` prints it once loaded (nftables' rule.c/statement.c: symbolic priorities,
// `meta mark` with 32-bit constants, single-element anonymous sets folded, blank line between objects).

import { EndpointChain, NumgenVmapRule, writeEndpointRules } from "./nft-endpoints.js";
import type { NftChain, NftElement, NftSet, NftTable } from "./nftables.js";
import { TextWriter } from "./textwriter.js";

const q = (s: string): string => `"${s}"`;

function elementText(e: NftElement, sep = " . "): string {
  const comment = e.comment === undefined ? "" : ` comment ${q(e.comment)}`;
  return `${e.key.join(sep)}${comment}${e.value ? ` : ${e.value.join(" ")}` : ""}`;
}

/** knftables Fake.Dump(): one "add" line per object, rule and element. */
export function knftablesDump(t: NftTable): string {
  const p = `${t.family} ${t.name}`;
  const out = [`add table ${p} { comment ${q(t.comment)} ; }`];
  for (const c of t.chains) {
    const props: string[] = [];
    if (c.base) props.push(`type ${c.base.type} hook ${c.base.hook} priority ${c.base.priority}`);
    if (c.comment !== undefined) props.push(`comment ${q(c.comment)}`);
    out.push(`add chain ${p} ${c.name}${props.length ? ` { ${props.join(" ; ")} ; }` : ""}`);
  }
  for (const s of t.sets) {
    const props = [`type ${s.type}`];
    if (s.flags) props.push(`flags ${s.flags.join(",")}`);
    if (s.timeout !== undefined) props.push(`timeout ${s.timeout}s`);
    if (s.comment !== undefined) props.push(`comment ${q(s.comment)}`);
    out.push(`add ${s.kind} ${p} ${s.name} { ${props.join(" ; ")} ; }`);
  }
  for (const c of t.chains) for (const r of c.rules) out.push(`add rule ${p} ${c.name} ${r.rule}${r.comment === undefined ? "" : ` comment ${q(r.comment)}`}`);
  for (const s of t.sets) for (const e of s.elements) out.push(`add element ${p} ${s.name} { ${elementText(e)} }`);
  return `${out.join("\n")}\n`;
}

/** nft's standard priority names (rule.c std_prios) where nft 1.0.6 accepts them for the hook: dstnat on prerouting, srcnat on postrouting. */
function priorityText(c: NonNullable<NftChain["base"]>): string {
  const names: [string, number, readonly string[]][] = [
    ["raw", -300, []],
    ["mangle", -150, []],
    ["dstnat", -100, ["prerouting"]],
    ["filter", 0, []],
    ["security", 50, []],
    ["srcnat", 100, ["postrouting"]],
  ];
  let best: [string, number] | null = null;
  for (const [n, v, hooks] of names) {
    if (hooks.length > 0 && !hooks.includes(c.hook)) continue;
    const d = c.priority - v;
    if (Math.abs(d) <= 10 && (best === null || Math.abs(d) < Math.abs(best[1]))) best = [n, d];
  }
  if (best === null) return String(c.priority);
  return best[1] === 0 ? best[0] : `${best[0]} ${best[1] < 0 ? "-" : "+"} ${Math.abs(best[1])}`;
}

/** A 32-bit constant as nft prints a meta mark operand. */
const hex32 = (s: string): string => `0x${Number(s).toString(16).padStart(8, "0")}`;

/** A rule as nft lists it after the kernel round trip. */
export function nftRuleText(rule: string): string {
  // Most rules (a jump, a dnat, an address match) print as written: no regular expression for them.
  if (!rule.startsWith("mark ") && !rule.includes("{")) return rule;
  let r = rule
    .replace(/^mark set mark or (\S+)/, (_, m: string) => `meta mark set meta mark | ${hex32(m)}`)
    .replace(/^mark set mark xor (\S+)/, (_, m: string) => `meta mark set meta mark ^ ${hex32(m)}`)
    .replace(/^mark and (\S+) == 0 /, (_, m: string) => `meta mark & ${hex32(m)} == 0x00000000 `);
  // Anonymous sets: " , " separators become ", "; a single element is folded into a plain comparison.
  r = r.replace(/\{ ([^{}]*) \}/g, (_whole, inner: string) => {
    if (/ : /.test(inner) || /^ip saddr$/.test(inner)) return `{ ${inner.replace(/ , /g, ", ")} }`;
    const items = inner.split(/ ?, ?/).map((x) => x.trim());
    return items.length === 1 ? items[0] : `{ ${items.join(", ")} }`;
  });
  return r;
}

/** nft prints set timeouts as d/h/m/s. */
function duration(seconds: number): string {
  let s = seconds;
  let out = "";
  for (const [unit, n] of [
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
  ] as const) {
    if (s >= n) {
      out += `${Math.floor(s / n)}${unit}`;
      s %= n;
    }
  }
  return s > 0 || out === "" ? `${out}${s}s` : out;
}

function setBlock(s: NftSet, out: TextWriter): void {
  out.line(`\t${s.kind} ${s.name} {`);
  out.line(`\t\ttype ${s.type}`);
  // nft gives a dynamic set created without a size its default, 65535, and lists it.
  if (s.flags?.includes("dynamic")) out.line("\t\tsize 65535");
  if (s.flags) out.line(`\t\tflags ${s.flags.join(",")}`);
  if (s.timeout !== undefined) out.line(`\t\ttimeout ${duration(s.timeout)}`);
  if (s.comment !== undefined) out.line(`\t\tcomment ${q(s.comment)}`);
  if (s.elements.length > 0) {
    out.str("\t\telements = { ");
    s.elements.forEach((e, i) => {
      if (i > 0) out.str(",\n\t\t\t     ");
      writeElement(e, out);
    });
    out.line(" }");
  }
  out.line("\t}");
}

/** elementText, written piece by piece. */
function writeElement(e: NftElement, out: TextWriter): void {
  e.key.forEach((k, i) => {
    if (i > 0) out.str(" . ");
    out.str(k);
  });
  if (e.comment !== undefined) {
    out.str(' comment "');
    out.str(e.comment);
    out.str('"');
  }
  if (e.value) {
    out.str(" :");
    for (const v of e.value) {
      out.str(" ");
      out.str(v);
    }
  }
}

function chainBlock(c: NftChain, out: TextWriter): void {
  out.str("\tchain ");
  if (c instanceof EndpointChain) {
    c.writeName(out);
    out.line(" {");
    if (c.untouched) {
      writeEndpointRules(c, out);
      out.line("\t}");
      return;
    }
  } else {
    out.str(c.name);
    out.line(" {");
  }
  if (c.comment !== undefined) out.line(`\t\tcomment ${q(c.comment)}`);
  if (c.base) out.line(`\t\ttype ${c.base.type} hook ${c.base.hook} priority ${priorityText(c.base)}; policy accept;`);
  for (const r of c.rules) {
    if (r instanceof NumgenVmapRule) {
      r.write(out);
      continue;
    }
    out.str("\t\t");
    out.str(nftRuleText(r.rule));
    if (r.comment !== undefined) {
      out.str(' comment "');
      out.str(r.comment);
      out.str('"');
    }
    out.nl();
  }
  out.line("\t}");
}

/** Bytes per line of a listing (47 in a large table), to size its buffer once. */
const BYTES_PER_RULE = 48;

/** `nft list ruleset` for the table: comment, sets and maps, then chains, each in creation order. */
export function nftListRuleset(t: NftTable): string {
  let rules = 0;
  for (const c of t.chains) rules += (c instanceof EndpointChain && c.untouched ? 3 : c.rules.length) + 3;
  for (const s of t.sets) rules += s.elements.length + 8;
  const out = new TextWriter(Math.max(1 << 12, rules * BYTES_PER_RULE));
  out.line(`table ${t.family} ${t.name} {`);
  out.line(`\tcomment ${q(t.comment)}`);
  let first = true;
  for (const s of t.sets) {
    if (!first) out.nl();
    first = false;
    setBlock(s, out);
  }
  for (const c of t.chains) {
    if (!first) out.nl();
    first = false;
    chainBlock(c, out);
  }
  out.line("}");
  const text = out.text();
  out.release();
  return text;
}

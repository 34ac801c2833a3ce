// A read position inside a parsed YAML document: the node, its field path (`spec.ports[0]`) and
// its offset in the text, so that every problem found while reading becomes a diagnostic with a
// file, line, column and path. Readers of each kind walk the document with it.

import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter, type Node as YamlNode } from "yaml";
import type { Diagnostic, DiagnosticCode, Position } from "./diagnostics.js";
import { didYouMean } from "./suggest.js";

/** What one document is being read into, and where its diagnostics go. */
export interface ReadContext {
  readonly file: string;
  /** 1-based document number in the file (0 when the file holds a single config). */
  readonly doc: number;
  readonly lineCounter: LineCounter;
  readonly document: Document;
  readonly diagnostics: Diagnostic[];
  /** "Service default/web", once known. */
  object?: string;
  /** Errors reported through this context, so a reader knows whether its object is valid. */
  errors: number;
}

export type ValueKind = "absent" | "null" | "map" | "seq" | "string" | "number" | "boolean";

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function childPath(path: string, key: string): string {
  if (IDENT.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}

export class Cursor {
  private constructor(
    readonly ctx: ReadContext,
    readonly node: YamlNode | undefined,
    readonly path: string,
    /** Where problems with the value are reported: the value itself, or its key if it has none. */
    readonly offset: number,
    /** Where "unknown field" and "missing child" problems are reported: the key that led here. */
    readonly keyOffset: number,
  ) {}

  /** A document's top node; a map is placed at its first key (its range may start at `---`). */
  static root(ctx: ReadContext, node: unknown, offset: number, path = ""): Cursor {
    const n = resolve(ctx, node);
    const at = (isMap(n) ? startOf(n.items[0]?.key) : undefined) ?? startOf(n) ?? offset;
    return new Cursor(ctx, n, path, at, at);
  }

  get kind(): ValueKind {
    const n = this.node;
    if (n === undefined) return "absent";
    if (isMap(n)) return "map";
    if (isSeq(n)) return "seq";
    if (isScalar(n)) {
      const v = n.value;
      if (v === null || v === undefined) return "null";
      if (typeof v === "string") return "string";
      if (typeof v === "number" || typeof v === "bigint") return "number";
      if (typeof v === "boolean") return "boolean";
    }
    return "string";
  }

  /** Present and not null: `key:` with nothing after it counts as absent, as in Kubernetes. */
  get present(): boolean {
    const k = this.kind;
    return k !== "absent" && k !== "null";
  }

  get scalar(): unknown {
    return isScalar(this.node) ? this.node.value : undefined;
  }

  position(at: "value" | "key" = "value"): Position {
    const { line, col } = this.ctx.lineCounter.linePos(at === "key" ? this.keyOffset : this.offset);
    return { file: this.ctx.file, doc: this.ctx.doc, line, col };
  }

  /** The value of a map key; absent (reported at this map's key) when the key is not there. */
  get(key: string): Cursor {
    const path = childPath(this.path, key);
    const pair = this.pairs().find((p) => p.key === key);
    if (pair) {
      const keyStart = startOf(pair.keyNode) ?? this.offset;
      const value = resolve(this.ctx, pair.value);
      return new Cursor(this.ctx, value, path, startOf(value) ?? keyStart, keyStart);
    }
    return new Cursor(this.ctx, undefined, path, this.keyOffset, this.keyOffset);
  }

  has(key: string): boolean {
    return this.get(key).present;
  }

  keys(): string[] {
    return this.pairs().map((p) => p.key);
  }

  /**
   * The map's entries with YAML merge keys (`<<: *defaults`) applied, as go-yaml (and so kubectl)
   * does: the map's own keys win over merged ones, earlier merged maps over later ones.
   */
  private pairs(): Array<{ key: string; keyNode: unknown; value: unknown }> {
    if (!isMap(this.node)) return [];
    const own: Array<{ key: string; keyNode: unknown; value: unknown }> = [];
    const merged: typeof own = [];
    for (const pair of this.node.items) {
      const k = isScalar(pair.key) ? pair.key.value : pair.key;
      if (typeof k !== "symbol") {
        own.push({ key: String(k), keyNode: pair.key, value: pair.value });
        continue;
      }
      const v = resolve(this.ctx, pair.value);
      for (const m of isSeq(v) ? v.items.map((i) => resolve(this.ctx, i)) : [v])
        if (isMap(m))
          for (const p of m.items)
            merged.push({ key: String(isScalar(p.key) ? p.key.value : p.key), keyNode: pair.key, value: p.value });
    }
    const seen = new Set(own.map((p) => p.key));
    for (const m of merged) {
      if (seen.has(m.key)) continue;
      own.push(m);
      seen.add(m.key);
    }
    return own;
  }

  entries(): Array<[string, Cursor]> {
    return this.keys().map((k) => [k, this.get(k)]);
  }

  items(): Cursor[] {
    if (!isSeq(this.node)) return [];
    return this.node.items.map((item, i) => {
      const n = resolve(this.ctx, item);
      const at = startOf(n) ?? this.offset;
      return new Cursor(this.ctx, n, `${this.path}[${i}]`, at, at);
    });
  }

  /** How the value reads in a message: `"eighty"`, `80`, `true`, `a map`, `a list`. */
  describe(): string {
    switch (this.kind) {
      case "map":
        return "a map";
      case "seq":
        return "a list";
      case "absent":
      case "null":
        return "nothing";
      case "string":
        return JSON.stringify(String(this.scalar));
      default:
        // As written: YAML 1.1 reads `yes` as true and `0755` as 493, and the message should say `yes`.
        return (isScalar(this.node) && typeof this.node.source === "string" ? this.node.source : undefined) ?? String(this.scalar);
    }
  }

  report(
    severity: "error" | "warning",
    code: DiagnosticCode,
    message: string,
    opts: { hint?: string; at?: "value" | "key"; related?: Position; path?: string } = {},
  ): void {
    if (severity === "error") this.ctx.errors++;
    this.ctx.diagnostics.push({
      ...this.position(opts.at),
      severity,
      code,
      object: this.ctx.object,
      path: opts.path ?? this.path,
      message,
      hint: opts.hint,
      related: opts.related,
    });
  }

  error(code: DiagnosticCode, message: string, opts?: { hint?: string; at?: "value" | "key"; related?: Position }): void {
    this.report("error", code, message, opts);
  }

  warn(code: DiagnosticCode, message: string, opts?: { hint?: string; at?: "value" | "key" }): void {
    this.report("warning", code, message, opts);
  }

  wrongType(expected: string, hint?: string): void {
    this.error("wrong-type", `${this.describe()} is not ${expected}`, { hint });
  }

  /** Reports a required field as missing (at the key of the map that should hold it). */
  missing(expected: string, hint?: string): void {
    this.error("missing-field", `required field is missing (expected ${expected})`, { hint });
  }

  isMap(): boolean {
    if (this.kind === "map") return true;
    if (this.present) this.wrongType("a map");
    return false;
  }

  isSeq(): boolean {
    if (this.kind === "seq") return true;
    if (this.present) this.wrongType("a list");
    return false;
  }

  str(): string | undefined {
    if (!this.present) return undefined;
    if (this.kind === "string") return String(this.scalar);
    const hint = this.kind === "number" || this.kind === "boolean" ? `quote it: "${this.describe()}"` : undefined;
    this.wrongType("a string", hint);
    return undefined;
  }

  requiredStr(expected = "a string"): string | undefined {
    if (!this.present) {
      this.missing(expected);
      return undefined;
    }
    return this.str();
  }

  bool(): boolean | undefined {
    if (!this.present) return undefined;
    if (this.kind === "boolean") return this.scalar as boolean;
    const s = String(this.scalar);
    this.wrongType("true or false", /^(true|false)$/i.test(s) ? `write ${s.toLowerCase()} without quotes` : undefined);
    return undefined;
  }

  /** An integer in [min, max]; `what` names it in the message ("a port number"). */
  int(what: string, min: number, max: number, code: DiagnosticCode = "invalid-value"): number | undefined {
    if (!this.present) return undefined;
    const v = this.scalar;
    const expected = `(expected an integer ${min}-${max})`;
    if (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max) return v;
    let hint: string | undefined;
    if (typeof v === "string" && /^[0-9]+$/.test(v)) hint = `write ${v} without quotes`;
    this.error(code, `${this.describe()} is not ${what} ${expected}`, { hint });
    return undefined;
  }

  /** A list of strings. */
  strings(): string[] | undefined {
    if (!this.isSeq()) return undefined;
    const out: string[] = [];
    for (const item of this.items()) {
      const s = item.str();
      if (s !== undefined) out.push(s);
    }
    return out;
  }

  /** A map of strings to strings (labels, annotations, selectors, nodeSelector). */
  stringMap(what = "a map of strings"): Record<string, string> | undefined {
    if (!this.present) return undefined;
    if (this.kind !== "map") {
      this.error("wrong-type", `${this.describe()} is not ${what}`);
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const [k, v] of this.entries()) {
      if (v.kind === "string") out[k] = String(v.scalar);
      else if (v.kind === "null") out[k] = "";
      else {
        const hint = v.kind === "number" || v.kind === "boolean" ? `quote it: ${k}: "${v.describe()}"` : undefined;
        v.error("wrong-type", `${v.describe()} is not a string (${this.path} must be ${what})`, { hint });
      }
    }
    return out;
  }

  /** Reports every key not in `fields` as an unknown field, suggesting the nearest known one. */
  known(fields: readonly string[]): void {
    if (!isMap(this.node)) return;
    for (const key of this.keys()) {
      if (fields.includes(key)) continue;
      const suggestion = didYouMean(key, fields);
      const hint =
        suggestion === "" && fields.length <= 12 ? `known fields here: ${fields.join(", ")}` : undefined;
      this.get(key).error("unknown-field", `unknown field "${key}"${suggestion}`, { at: "key", hint });
    }
  }

  /** The value as plain data (maps as objects, lists as arrays). */
  toJS(): unknown {
    if (this.node === undefined) return undefined;
    return this.node.toJS(this.ctx.document);
  }

  /** Every field path below this one with its position, for loosely kept objects. */
  positions(out = new Map<string, Position>()): Map<string, Position> {
    out.set(this.path, this.position());
    if (this.kind === "map") for (const [, v] of this.entries()) v.positions(out);
    else if (this.kind === "seq") for (const item of this.items()) item.positions(out);
    return out;
  }
}

function resolve(ctx: ReadContext, node: unknown): YamlNode | undefined {
  if (node === null || node === undefined) return undefined;
  if (isAlias(node)) return (node.resolve(ctx.document) as YamlNode | undefined) ?? undefined;
  return node as YamlNode;
}

function startOf(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range ? range[0] : undefined;
}

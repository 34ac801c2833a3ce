// Diagnostics for manifests and cluster configs: what was wrong, where (file, document, line,
// column, field path) and how to fix it. Bad input is data: parsers return these, never throw.

export type Severity = "error" | "warning";

/** A stable identifier per kind of problem, for tests and for tools that filter diagnostics. */
export type DiagnosticCode =
  | "yaml-syntax"
  | "io"
  | "not-an-object"
  | "missing-field"
  | "wrong-type"
  | "unknown-field"
  | "unknown-kind"
  | "api-version"
  | "invalid-name"
  | "invalid-label"
  | "invalid-value"
  | "invalid-ip"
  | "invalid-cidr"
  | "invalid-port"
  | "invalid-node-port"
  | "invalid-selector"
  | "selector-mismatch"
  | "duplicate-object"
  | "duplicate-value"
  | "ignored-field"
  | "unschedulable"
  // cluster config
  | "cidr-overlap"
  | "cidr-outside"
  | "cidr-size"
  | "address-outside"
  | "duplicate-address"
  // config × manifests
  | "unknown-node"
  | "selects-nothing"
  | "duplicate-cluster-ip"
  | "cluster-ip-outside"
  | "duplicate-node-port"
  | "unknown-namespace"
  | "unknown-service";

/** A place in a source file; `doc` is the 1-based YAML document number (0: not applicable). */
export interface Position {
  readonly file: string;
  readonly doc: number;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly col: number;
}

export interface Diagnostic extends Position {
  readonly severity: Severity;
  readonly code: DiagnosticCode;
  /** The object the problem is in, as "Kind namespace/name" (or "Kind name"), when known. */
  readonly object?: string;
  /** The field path, as kubectl prints it: `spec.ports[0].targetPort` ("" for the whole document). */
  readonly path: string;
  /** What was found and what was expected. */
  readonly message: string;
  /** How to fix it, where that is useful. */
  readonly hint?: string;
  /** A second place that matters (the first definition of a duplicate). */
  readonly related?: Position;
}

export const isError = (d: Diagnostic): boolean => d.severity === "error";
export const hasErrors = (ds: readonly Diagnostic[]): boolean => ds.some(isError);

export const formatPosition = (p: Position): string => `${p.file}:${p.line}:${p.col}`;

/**
 * One diagnostic in the compiler style, e.g.
 * `shop.yaml:14:9 (document 2, Service default/web): spec.ports[0].port: "eighty" is not a port
 * number (expected an integer 1-65535)`, the hint on a second line.
 */
export function formatDiagnostic(d: Diagnostic): string {
  const where: string[] = [];
  if (d.doc > 0) where.push(`document ${d.doc}`);
  if (d.object) where.push(d.object);
  let s = formatPosition(d);
  if (where.length > 0) s += ` (${where.join(", ")})`;
  s += ": ";
  if (d.severity === "warning") s += "warning: ";
  if (d.path) s += `${d.path}: `;
  s += d.message;
  if (d.related) s += ` (see ${formatPosition(d.related)})`;
  if (d.hint) s += `\n  hint: ${d.hint}`;
  return s;
}

/** All diagnostics, errors first, each in source order. */
export function formatDiagnostics(ds: readonly Diagnostic[]): string {
  return sortDiagnostics(ds).map(formatDiagnostic).join("\n");
}

export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  const rank = (d: Diagnostic) => (d.severity === "error" ? 0 : 1);
  return [...ds].sort(
    (a, b) =>
      rank(a) - rank(b) ||
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      a.line - b.line ||
      a.col - b.col,
  );
}

// One HTTPRoute's rules compiled (gateway.networking.k8s.io/v1 httproute_types.go): each match
// of each rule becomes a matcher (path Exact/PathPrefix/RegularExpression, headers, query
// params, method, ANDed) with its precedence key, and each rule an action: a RequestRedirect, or
// weighted backendRefs with RequestHeaderModifier applied, a backendRef to a missing Service
// answered with 500 for its share of the traffic.

import type { HTTPRoute } from "../model.js";
import { headerValue, parseQuery, prefixBase, prefixMatches } from "./path.js";
import { type ObjectIndex, warningAt } from "./refs.js";
import type { L7Backend, L7Request, L7Source, L7Warning } from "./types.js";

export type PathMatchType = "Exact" | "PathPrefix" | "RegularExpression";

export interface ValueMatch {
  readonly name: string;
  readonly type: "Exact" | "RegularExpression";
  readonly value: string;
  readonly re?: RegExp;
}

export interface RouteMatch {
  readonly route: HTTPRoute;
  readonly ruleIndex: number;
  readonly matchIndex: number;
  readonly path: { readonly type: PathMatchType; readonly value: string; readonly re?: RegExp };
  /** Lower-case names, the first of equivalent names only. */
  readonly headers: readonly ValueMatch[];
  readonly queryParams: readonly ValueMatch[];
  readonly method?: string;
  readonly action: RuleAction;
  readonly source: L7Source;
}

export interface RedirectFilter {
  readonly scheme?: string;
  readonly hostname?: string;
  readonly port?: number;
  readonly path?: { readonly type: "ReplaceFullPath" | "ReplacePrefixMatch"; readonly value: string };
  readonly statusCode: number;
}

export type RuleAction =
  | { readonly kind: "redirect"; readonly redirect: RedirectFilter }
  | {
      readonly kind: "backends";
      readonly backends: readonly L7Backend[];
      readonly setHeaders?: Record<string, string>;
      readonly addHeaders?: Record<string, string>;
      readonly removeHeaders?: string[];
    }
  /** Every backendRef invalid, or a filter that cannot be applied: the rule answers with this status. */
  | { readonly kind: "respond"; readonly status: number; readonly reason: string };

type Plain = Record<string, unknown>;
const asMap = (v: unknown): Plain | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Plain) : undefined);
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asStr = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

const SUPPORTED_FILTERS = new Set(["RequestHeaderModifier", "RequestRedirect"]);

/** Compiles every match of every rule of a route; problems become warnings. */
export function compileRouteRules(route: HTTPRoute, index: ObjectIndex, warnings: L7Warning[]): RouteMatch[] {
  const out: RouteMatch[] = [];
  const rules = asList(route.spec.rules);
  // The API server defaults rules to one rule matching every path.
  const effective = rules.length ? rules : [{}];
  effective.forEach((ruleRaw, ri) => {
    const rule = asMap(ruleRaw) ?? {};
    const action = compileAction(route, rule, ri, index, warnings);
    const matches = asList(rule.matches);
    (matches.length ? matches : [{}]).forEach((mRaw, mi) => {
      const m = compileMatch(route, asMap(mRaw) ?? {}, `spec.rules[${ri}].matches[${mi}]`, warnings);
      if (!m) return;
      out.push({ ...m, route, ruleIndex: ri, matchIndex: mi, action, source: { kind: "HTTPRoute", namespace: route.metadata.namespace, name: route.metadata.name, detail: `rule ${ri} match ${mi}` } });
    });
  });
  return out;
}

function regex(route: HTTPRoute, pattern: string, field: string, warnings: L7Warning[]): RegExp | undefined {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch (e) {
    warnings.push(warningAt(route, field, `not a valid regular expression (${(e as Error).message}); the match is ignored`));
    return undefined;
  }
}

function valueMatches(route: HTTPRoute, list: unknown, field: string, lower: boolean, warnings: L7Warning[]): ValueMatch[] | undefined {
  const out: ValueMatch[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of asList(list).entries()) {
    const h = asMap(raw) ?? {};
    const name0 = asStr(h.name);
    const value = asStr(h.value) ?? "";
    if (name0 === undefined) continue;
    const name = lower ? name0.toLowerCase() : name0;
    // "If multiple entries specify equivalent names, only the first entry … MUST be considered."
    if (seen.has(name)) continue;
    seen.add(name);
    const type = (asStr(h.type) ?? "Exact") as ValueMatch["type"];
    if (type === "RegularExpression") {
      const re = regex(route, value, `${field}[${i}].value`, warnings);
      if (!re) return undefined;
      out.push({ name, type, value, re });
    } else out.push({ name, type: "Exact", value });
  }
  return out;
}

function compileMatch(route: HTTPRoute, m: Plain, field: string, warnings: L7Warning[]): Omit<RouteMatch, "route" | "ruleIndex" | "matchIndex" | "action" | "source"> | undefined {
  const p = asMap(m.path) ?? {};
  const type = (asStr(p.type) ?? "PathPrefix") as PathMatchType;
  const value = asStr(p.value) ?? "/";
  let re: RegExp | undefined;
  if (type === "RegularExpression") {
    re = regex(route, value, `${field}.path.value`, warnings);
    if (!re) return undefined;
  }
  const headers = valueMatches(route, m.headers, `${field}.headers`, true, warnings);
  const queryParams = valueMatches(route, m.queryParams, `${field}.queryParams`, false, warnings);
  if (!headers || !queryParams) return undefined;
  const method = asStr(m.method);
  return { path: { type, value, re }, headers, queryParams, method };
}

function compileAction(route: HTTPRoute, rule: Plain, ri: number, index: ObjectIndex, warnings: L7Warning[]): RuleAction {
  const ns = route.metadata.namespace;
  let redirect: RedirectFilter | undefined;
  let setHeaders: Record<string, string> | undefined;
  let addHeaders: Record<string, string> | undefined;
  let removeHeaders: string[] | undefined;
  for (const [fi, fRaw] of asList(rule.filters).entries()) {
    const f = asMap(fRaw) ?? {};
    const type = asStr(f.type) ?? "";
    const field = `spec.rules[${ri}].filters[${fi}]`;
    if (type === "RequestHeaderModifier") {
      const mod = asMap(f.requestHeaderModifier) ?? {};
      const pairs = (l: unknown) => Object.fromEntries(asList(l).map((h) => [String(asMap(h)?.name ?? "").toLowerCase(), String(asMap(h)?.value ?? "")]));
      if (asList(mod.set).length) setHeaders = pairs(mod.set);
      if (asList(mod.add).length) addHeaders = pairs(mod.add);
      if (asList(mod.remove).length) removeHeaders = asList(mod.remove).map((n) => String(n).toLowerCase());
    } else if (type === "RequestRedirect") {
      const r = asMap(f.requestRedirect) ?? {};
      const path = asMap(r.path);
      const pathType = asStr(path?.type) as "ReplaceFullPath" | "ReplacePrefixMatch" | undefined;
      const pathValue = pathType === "ReplaceFullPath" ? asStr(path?.replaceFullPath) : asStr(path?.replacePrefixMatch);
      redirect = {
        scheme: asStr(r.scheme),
        hostname: asStr(r.hostname),
        port: typeof r.port === "number" ? r.port : undefined,
        path: pathType ? { type: pathType, value: pathValue ?? "" } : undefined,
        statusCode: typeof r.statusCode === "number" ? r.statusCode : 302,
      };
    } else if (type === "ExtensionRef") {
      // "If a reference to a custom filter type cannot be resolved, the filter MUST NOT be skipped."
      warnings.push(warningAt(route, `${field}.extensionRef`, "ExtensionRef filters cannot be resolved by kubewire: requests matching this rule get 500"));
      return { kind: "respond", status: 500, reason: "unresolved ExtensionRef filter" };
    } else if (!SUPPORTED_FILTERS.has(type)) {
      warnings.push(warningAt(route, `${field}.type`, `${type} filters are not supported by kubewire; ignored`));
    }
  }
  if (redirect) return { kind: "redirect", redirect };

  const refs = asList(rule.backendRefs);
  const backends: L7Backend[] = [];
  for (const [bi, bRaw] of refs.entries()) {
    const b = asMap(bRaw) ?? {};
    const field = `spec.rules[${ri}].backendRefs[${bi}]`;
    const name = asStr(b.name) ?? "";
    const bns = asStr(b.namespace) ?? ns;
    const port = typeof b.port === "number" ? b.port : 0;
    const weight = typeof b.weight === "number" ? b.weight : 1;
    const kind = asStr(b.kind) ?? "Service";
    const group = asStr(b.group) ?? "";
    let problem: string | undefined;
    if (kind !== "Service" || group !== "") problem = `backendRef kind ${group ? `${group}/` : ""}${kind} is not supported`;
    else if (bns !== ns) problem = `a backendRef to namespace ${bns} needs a ReferenceGrant, which kubewire does not model`;
    else problem = index.backendProblem(bns, name, port);
    if (problem) {
      warnings.push(warningAt(route, `${field}.${problem.includes("port") ? "port" : "name"}`, `${problem}: its share of requests gets 500`));
      backends.push({ namespace: bns, service: name, port, weight, failure: { status: 500, reason: problem } });
    } else backends.push({ namespace: bns, service: name, port, weight });
  }
  if (backends.length === 0) return { kind: "respond", status: 500, reason: "the rule has no backendRefs" };
  if (backends.every((b) => b.failure)) return { kind: "respond", status: 500, reason: backends[0].failure?.reason ?? "invalid backendRefs" };
  if (backends.every((b) => b.weight === 0)) return { kind: "respond", status: 500, reason: "every backendRef has weight 0" };
  return { kind: "backends", backends, setHeaders, addHeaders, removeHeaders };
}

/** Does the match hold for the request (path already normalised)? */
export function matchHolds(m: RouteMatch, req: L7Request, path: string, query: ReadonlyArray<[string, string]>): boolean {
  const p = m.path;
  if (p.type === "Exact" ? path !== p.value : p.type === "PathPrefix" ? !prefixMatches(p.value, path) : !p.re?.test(path)) return false;
  if (m.method !== undefined && m.method !== req.method.toUpperCase()) return false;
  for (const h of m.headers) {
    const v = headerValue(req.headers, h.name);
    if (v === undefined || (h.re ? !h.re.test(v) : v !== h.value)) return false;
  }
  for (const q of m.queryParams) {
    // The first value of a repeated parameter, as the spec recommends.
    const v = query.find(([k]) => k === q.name)?.[1];
    if (v === undefined || (q.re ? !q.re.test(v) : v !== q.value)) return false;
  }
  return true;
}

/** Precedence among matches (httproute_types.go HTTPRouteRule.Matches): larger sorts first. */
export function matchRank(m: RouteMatch): number[] {
  const p = m.path;
  return [p.type === "Exact" ? 1 : 0, p.type === "RegularExpression" ? -1 : p.value.length, m.method !== undefined ? 1 : 0, m.headers.length, m.queryParams.length];
}

/** The redirect's Location (HTTPRequestRedirectFilter): scheme, host, port and path as the spec derives them. */
export function redirectLocation(r: RedirectFilter, m: RouteMatch, req: L7Request, host: string, path: string): string {
  const scheme = r.scheme ?? (req.listener.protocol === "HTTPS" ? "https" : "http");
  const wellKnown = scheme === "http" ? 80 : scheme === "https" ? 443 : undefined;
  const port = r.port ?? (r.scheme !== undefined ? (wellKnown ?? req.listener.port) : req.listener.port);
  const showPort = !((scheme === "http" && port === 80) || (scheme === "https" && port === 443));
  let newPath = path;
  if (r.path?.type === "ReplaceFullPath") newPath = r.path.value;
  else if (r.path?.type === "ReplacePrefixMatch" && m.path.type === "PathPrefix") {
    const base = prefixBase(m.path.value);
    const rest = base === "/" ? path : path.slice(base.length);
    newPath = `${r.path.value.replace(/\/+$/, "")}${rest.startsWith("/") || rest === "" ? rest : `/${rest}`}` || "/";
  }
  return `${scheme}://${r.hostname ?? host}${showPort ? `:${port}` : ""}${newPath}${req.query ? `?${req.query}` : ""}`;
}

export const queryOf = (req: L7Request): Array<[string, string]> => parseQuery(req.query);

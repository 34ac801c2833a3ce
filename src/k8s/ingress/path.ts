// Request paths as an L7 proxy reads them: nginx's URI normalisation before location matching
// (ngx_http_parse_complex_uri: %XX decoded, `//` merged, `.` and `..` segments resolved, a `..`
// above the root refused with 400), the element-wise prefix match of Ingress `Prefix` and Gateway
// `PathPrefix`, and the query string's parameters.

export type NormalizedPath = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string };

const hex = (c: number): number => {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
};

/**
 * The path nginx matches locations against ($uri): percent-escapes decoded (a bad escape or %00
 * is a 400), slashes merged (merge_slashes on), `/./` dropped, `/x/../` removed; a `..` that
 * would climb above `/` is a 400 ("client sent invalid request"). A trailing `/` stays.
 */
export function normalizePath(raw: string): NormalizedPath {
  if (!raw.startsWith("/")) return { ok: false, reason: "the request target is not an absolute path" };
  let decoded = raw;
  if (raw.includes("%")) {
    const bytes: number[] = [];
    const src = Buffer.from(raw, "utf8");
    for (let i = 0; i < src.length; i++) {
      if (src[i] !== 0x25) {
        bytes.push(src[i]);
        continue;
      }
      const hi = i + 2 < src.length ? hex(src[i + 1]) : -1;
      const lo = hi >= 0 ? hex(src[i + 2]) : -1;
      if (lo < 0) return { ok: false, reason: "a bad percent-escape in the path" };
      const b = (hi << 4) | lo;
      if (b === 0) return { ok: false, reason: "%00 in the path" };
      bytes.push(b);
      i += 2;
    }
    decoded = Buffer.from(bytes).toString("utf8");
  }
  const segments = decoded.split("/");
  const out: string[] = [];
  let trailing = false;
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i];
    const last = i === segments.length - 1;
    if (seg === "" || seg === ".") {
      trailing = last;
      continue;
    }
    if (seg === "..") {
      if (out.length === 0) return { ok: false, reason: `"${raw}" climbs above the root` };
      out.pop();
      trailing = last;
      continue;
    }
    out.push(seg);
    trailing = false;
  }
  return { ok: true, path: out.length === 0 ? "/" : `/${out.join("/")}${trailing ? "/" : ""}` };
}

/**
 * An absolute-form request target (`GET http://shop.example.com/cart HTTP/1.1`, RFC 9112 §3.2.2)
 * split into its authority and path; undefined for the usual origin-form (`/cart`). Its host
 * wins over the Host header (RFC 9112 §3.2.2; nginx does the same).
 */
export function absoluteForm(target: string): { authority: string; path: string } | undefined {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)(.*)$/.exec(target);
  if (!m) return undefined;
  const at = m[1].lastIndexOf("@");
  return { authority: at < 0 ? m[1] : m[1].slice(at + 1), path: m[2] || "/" };
}

/** A prefix rule's path without its trailing slash ("/" stays "/"): what the element-wise match compares. */
export function prefixBase(rulePath: string): string {
  let p = rulePath;
  while (p.length > 1 && p.endsWith("/")) p = p.slice(0, -1);
  return p;
}

/**
 * Element-wise prefix match (Ingress `Prefix`, Gateway `PathPrefix`): `/foo` matches `/foo`,
 * `/foo/` and `/foo/bar`, not `/foobar`; a trailing `/` on the rule is ignored.
 */
export function prefixMatches(rulePath: string, path: string): boolean {
  const base = prefixBase(rulePath);
  if (base === "/") return true;
  return path === base || (path.startsWith(base) && path.charCodeAt(base.length) === 0x2f);
}

/** The query string's parameters in order, percent-decoded where the escape is valid. */
export function parseQuery(query: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (!query) return out;
  for (const part of query.split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? "" : part.slice(eq + 1);
    out.push([decode(name), decode(value)]);
  }
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A header's value as one string (repeated headers joined with ", ", RFC 9110 §5.3); undefined when absent. */
export function headerValue(headers: Readonly<Record<string, string | readonly string[] | undefined>>, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  if (v === undefined) return undefined;
  return typeof v === "string" ? v : v.join(", ");
}

// glibc's search-list walk (resolv/res_query.c: __res_context_search), written as a generator that
// yields each name to query and is given back how that query ended. With kubelet's ndots:5 a name
// with fewer than five dots is tried with every search domain before it is tried as it is.

import type { ResolvConf } from "./resolv-conf.js";

/** h_errno after one query (resolv/res_query.c: __res_context_query). */
export type Herrno = "OK" | "HOST_NOT_FOUND" | "NO_DATA" | "TRY_AGAIN" | "NO_RECOVERY";

/** How one query (all its tries, every nameserver) ended, as res_search sees it. */
export interface QueryOutcome {
  herrno: Herrno;
  /** The rcode of the last reply received (hp->rcode), undefined when none came. */
  rcode: number | undefined;
  /** errno when no usable reply came: ECONNREFUSED (nothing ever answered) or ETIMEDOUT. */
  errno?: "ECONNREFUSED" | "ETIMEDOUT";
}

const SERVFAIL = 2;

/**
 * The queries for `name`, in glibc's order. Yields each full name (without a trailing dot) and
 * returns the outcome that decides the lookup: the first success, or the failure res_search reports.
 */
export function* searchNames(name: string, conf: ResolvConf): Generator<string, QueryOutcome, QueryOutcome> {
  let dots = 0;
  for (const ch of name) if (ch === ".") dots++;
  const trailingDot = name.endsWith(".");
  const bare = trailingDot ? name.slice(0, -1) : name;
  let saved: QueryOutcome | undefined;
  let triedAsIs = false;
  // Enough dots (or a trailing one): the name as it is, first.
  if (dots >= conf.ndots || trailingDot) {
    const r = yield bare;
    if (r.herrno === "OK" || trailingDot) return r;
    saved = r;
    triedAsIs = true;
  }
  let last: QueryOutcome | undefined;
  let gotNodata = false;
  let gotServfail = false;
  let rootOnList = false;
  // RES_DEFNAMES and RES_DNSRCH are on by default: search unless the name ends with a dot.
  if (!trailingDot) {
    for (const entry of conf.search) {
      const domain = entry.startsWith(".") ? entry.slice(1) : entry;
      if (domain === "") rootOnList = true;
      const r = yield domain === "" ? bare : `${bare}.${domain}`;
      last = r;
      if (r.herrno === "OK") return r;
      // No server present: give up at once.
      if (r.errno === "ECONNREFUSED") return { ...r, herrno: "TRY_AGAIN" };
      if (r.herrno === "NO_DATA") gotNodata = true;
      else if (r.herrno === "TRY_AGAIN" && r.rcode === SERVFAIL) gotServfail = true;
      else if (r.herrno !== "HOST_NOT_FOUND") break;
    }
  }
  if (!triedAsIs && !rootOnList) {
    const r = yield bare;
    if (r.herrno === "OK") return r;
    last = r;
  }
  if (saved) return saved;
  if (gotNodata) return { herrno: "NO_DATA", rcode: last?.rcode };
  if (gotServfail) return { herrno: "TRY_AGAIN", rcode: SERVFAIL };
  return last ?? { herrno: "HOST_NOT_FOUND", rcode: undefined };
}

/** The names searchNames would query if every query failed with NXDOMAIN: for dumps and tests. */
export function searchOrder(name: string, conf: ResolvConf): string[] {
  const out: string[] = [];
  const g = searchNames(name, conf);
  for (let it = g.next(); !it.done; it = g.next({ herrno: "HOST_NOT_FOUND", rcode: 3 })) out.push(it.value);
  return out;
}

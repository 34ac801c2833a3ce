// Query names as CoreDNS's kubernetes plugin reads them (plugin/kubernetes/parse.go:parseRequest):
//   _<port>._<proto>.<service>.<namespace>.svc.<zone>
//   <endpoint>.<service>.<namespace>.svc.<zone>
//   <service>.<namespace>.svc.<zone>
//   <a-b-c-d>.<namespace>.pod.<zone>
// plus the zone's own names and reverse (in-addr.arpa) names. Names are compared lowercased.

import { parseIpv4 } from "../../wire/index.js";

/** A query name relative to the cluster zone. */
export type ZoneRequest =
  /** The apex, `svc.<zone>` or `pod.<zone>`: names that exist but hold no A record (NODATA). */
  | { kind: "apex"; apex: boolean }
  /** `dns-version.<zone>`: the TXT record of the schema version. */
  | { kind: "dns-version" }
  | { kind: "svc" | "pod"; namespace: string; service: string; endpoint: string; port: string; protocol: string }
  /** Under the zone but in no form the plugin knows (NXDOMAIN, errInvalidRequest). */
  | { kind: "invalid" };

export type NameClass =
  | { zone: "cluster"; zoneName: string; request: ZoneRequest }
  /** A name under in-addr.arpa: `ip` is the address it names ("" when it names none, e.g. a partial one). */
  | { zone: "reverse"; ip: string }
  | { zone: "outside" };

/** The DNS schema version CoreDNS publishes at dns-version.<zone> (the Kubernetes DNS spec). */
export const DNS_SCHEMA_VERSION = "1.1.0";

/** The name without its trailing dot, lowercased: how names are compared. */
export function canonicalName(name: string): string {
  return (name.endsWith(".") ? name.slice(0, -1) : name).toLowerCase();
}

/** Which zone `qname` falls in and, in the cluster zone, what it asks for. */
export function classifyName(qname: string, clusterDomain: string): NameClass {
  const name = canonicalName(qname);
  const zone = canonicalName(clusterDomain);
  if (name === zone) return { zone: "cluster", zoneName: zone, request: { kind: "apex", apex: true } };
  if (name.endsWith(`.${zone}`)) return { zone: "cluster", zoneName: zone, request: parseRequest(name.slice(0, -zone.length - 1)) };
  if (name === "in-addr.arpa" || name.endsWith(".in-addr.arpa")) return { zone: "reverse", ip: addressFromReverse(name) };
  return { zone: "outside" };
}

/** parseRequest: the labels left of the zone, read right to left. */
function parseRequest(base: string): ZoneRequest {
  if (base === "svc" || base === "pod") return { kind: "apex", apex: false };
  if (base === "dns-version") return { kind: "dns-version" };
  const segs = base.split(".");
  let last = segs.length - 1;
  const podOrSvc = segs[last--];
  if (podOrSvc !== "svc" && podOrSvc !== "pod") return { kind: "invalid" };
  const r: ZoneRequest = { kind: podOrSvc, namespace: "", service: "", endpoint: "", port: "", protocol: "" };
  if (last < 0) return r;
  r.namespace = segs[last--];
  if (last < 0) return r;
  r.service = segs[last--];
  if (last < 0) return r;
  // One label left: an endpoint; two: port and protocol; more: too long to answer.
  if (last === 0) r.endpoint = segs[0];
  else if (last === 1) {
    r.protocol = stripUnderscore(segs[1]);
    r.port = stripUnderscore(segs[0]);
  } else return { kind: "invalid" };
  return r;
}

const stripUnderscore = (s: string): string => (s.startsWith("_") ? s.slice(1) : s);

/** dnsutil.ExtractAddressFromReverse for IPv4: "4.3.2.1.in-addr.arpa" → "1.2.3.4"; "" if not a full address. */
export function addressFromReverse(name: string): string {
  const labels = canonicalName(name).split(".");
  if (labels.length !== 6) return "";
  const ip = labels.slice(0, 4).reverse().join(".");
  return parseIpv4(ip).ok ? ip : "";
}

/** "1.2.3.4" → "4.3.2.1.in-addr.arpa". */
export const reverseName = (ip: string): string => `${ip.split(".").reverse().join(".")}.in-addr.arpa`;

/** An address as a DNS label, as CoreDNS names pods and unnamed endpoints: "10.244.1.2" → "10-244-1-2". */
export const dashedIp = (ip: string): string => ip.replaceAll(".", "-");

/** "10-244-1-2" → "10.244.1.2", or "" when the label is not a dashed IPv4 address (findPods). */
export function ipFromDashed(label: string): string {
  if (label.split("-").length !== 4 || label.includes("--")) return "";
  const ip = label.replaceAll("-", ".");
  return parseIpv4(ip).ok ? ip : "";
}

/**
 * Whether a name can be sent in a query (RFC 1035 §2.3.4: labels of 1 to 63 octets, 255 octets
 * on the wire); a trailing dot marks it fully qualified. The reason when not.
 */
export function checkQueryName(name: string): string | undefined {
  const n = name.endsWith(".") ? name.slice(0, -1) : name;
  if (n === "") return "empty name";
  const labels = n.split(".");
  for (const l of labels) {
    const len = Buffer.byteLength(l);
    if (len === 0) return `empty label in "${name}"`;
    if (len > 63) return `label "${l.slice(0, 20)}…" is longer than 63 octets`;
  }
  if (Buffer.byteLength(n) + 2 > 255) return `"${name.slice(0, 20)}…" is longer than 255 octets on the wire`;
  return undefined;
}

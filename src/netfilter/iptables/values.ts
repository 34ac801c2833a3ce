// Values as iptables reads and prints them: host/network lists with masks (xtables_ipparse_multiple,
// xtables_ipmask_to_numeric), ports and port ranges with service names, protocol names
// (xtables_chain_protos, then /etc/protocols), hex/decimal numbers, and xtables_save_string.

import { formatIpv4, parseIpv4 } from "../../wire/index.js";
import { fail } from "./fail.js";

export interface AddrMask {
  /** Address with the mask applied. */
  addr: number;
  mask: number;
}

/** The prefix length of a contiguous mask, or -1 (xtables_ipmask_to_cidr). */
export function maskToCidr(mask: number): number {
  mask >>>= 0;
  let len = 0;
  while (len < 32 && (mask & (0x80000000 >>> len)) !== 0) len++;
  const rebuilt = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return rebuilt === mask ? len : -1;
}

export const cidrToMask = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

/** "10.0.0.0/8", or "10.0.0.0/255.0.255.0" for a non-contiguous mask, as iptables-save prints (signed or unsigned words). */
export function formatAddrMask(addr: number, mask: number): string {
  const len = maskToCidr(mask);
  return `${formatIpv4(addr >>> 0)}/${len >= 0 ? len : formatIpv4(mask >>> 0)}`;
}

/**
 * -s / -d: "10.0.0.1", "10.0.0.0/8", "10.1.2.3/255.255.0.0", or a comma-separated list of those
 * (iptables then adds one rule per address). Host names are not resolved.
 */
export function parseAddrList(s: string): AddrMask[] {
  if (s === "") fail("empty address", s, "an IPv4 address or network, e.g. 10.96.0.10 or 10.0.0.0/8");
  return s.split(",").map((one) => parseAddrMask(one));
}

export function parseAddrMask(s: string): AddrMask {
  const slash = s.indexOf("/");
  const host = slash < 0 ? s : s.slice(0, slash);
  const a = parseIpv4(host);
  if (!a.ok) fail(`host/network "${host}" not found`, s, "an IPv4 address such as 10.96.0.10 (names are not resolved)");
  let mask = 0xffffffff;
  if (slash >= 0) {
    const m = s.slice(slash + 1);
    if (/^[0-9]{1,2}$/.test(m) && Number(m) <= 32) mask = cidrToMask(Number(m));
    else {
      const dotted = parseIpv4(m);
      if (!dotted.ok) fail(`invalid mask "${m}"`, s, "a prefix length 0-32 or a dotted netmask");
      mask = dotted.value;
    }
  }
  return { addr: (a.value & mask) >>> 0, mask: mask >>> 0 };
}

/** Well-known service names (/etc/services) that rules use for ports. */
const SERVICES: Readonly<Record<string, number>> = {
  "ftp-data": 20,
  ftp: 21,
  ssh: 22,
  telnet: 23,
  smtp: 25,
  domain: 53,
  bootps: 67,
  bootpc: 68,
  tftp: 69,
  http: 80,
  www: 80,
  kerberos: 88,
  pop3: 110,
  sunrpc: 111,
  ntp: 123,
  imap2: 143,
  snmp: 161,
  bgp: 179,
  ldap: 389,
  https: 443,
  syslog: 514,
  ldaps: 636,
  rsync: 873,
  imaps: 993,
  pop3s: 995,
  socks: 1080,
  openvpn: 1194,
  mysql: 3306,
  "postgresql": 5432,
  "http-alt": 8080,
};

/** A port number or service name (xtables_parse_port). */
export function parsePort(s: string): number {
  if (/^[0-9]+$/.test(s)) {
    const n = Number(s);
    if (n <= 65535) return n;
  } else if (Object.hasOwn(SERVICES, s)) return SERVICES[s];
  return fail(`invalid port/service "${s}" specified`, s, "a port 0-65535 or a service name");
}

/** "53", "1:100", "1:" (to 65535), ":100" (from 0) → [min, max] (xtables_parse_port_range). */
export function parsePortRange(s: string): [number, number] {
  const colon = s.indexOf(":");
  if (colon < 0) {
    const p = parsePort(s);
    return [p, p];
  }
  const lo = colon === 0 ? 0 : parsePort(s.slice(0, colon));
  const hi = colon === s.length - 1 ? 65535 : parsePort(s.slice(colon + 1));
  if (lo > hi) fail(`invalid port range "${s}" (minimum greater than maximum)`, s, "min:max with min <= max");
  return [lo, hi];
}

/** A port range as libxt_tcp/udp print it: "53", "1:100". */
export const formatPortRange = (lo: number, hi: number): string => (lo === hi ? `${lo}` : `${lo}:${hi}`);

/** xtables_chain_protos: the names iptables itself knows, in the order it looks them up. */
const CHAIN_PROTOS: ReadonlyArray<readonly [string, number]> = [
  ["tcp", 6],
  ["sctp", 132],
  ["udp", 17],
  ["udplite", 136],
  ["icmp", 1],
  ["icmpv6", 58],
  ["esp", 50],
  ["ah", 51],
  ["ipv6-mh", 135],
  ["mh", 135],
  ["all", 0],
];

/** /etc/protocols (netbase), for numbers iptables prints by name through getprotobynumber. */
const ETC_PROTOCOLS: ReadonlyArray<readonly [string, number]> = [
  ["ip", 0],
  ["icmp", 1],
  ["igmp", 2],
  ["ggp", 3],
  ["ipencap", 4],
  ["st", 5],
  ["tcp", 6],
  ["egp", 8],
  ["igp", 9],
  ["pup", 12],
  ["udp", 17],
  ["hmp", 20],
  ["xns-idp", 22],
  ["rdp", 27],
  ["iso-tp4", 29],
  ["dccp", 33],
  ["xtp", 36],
  ["ddp", 37],
  ["idpr-cmtp", 38],
  ["ipv6", 41],
  ["ipv6-route", 43],
  ["ipv6-frag", 44],
  ["idrp", 45],
  ["rsvp", 46],
  ["gre", 47],
  ["esp", 50],
  ["ah", 51],
  ["skip", 57],
  ["ipv6-icmp", 58],
  ["ipv6-nonxt", 59],
  ["ipv6-opts", 60],
  ["rspf", 73],
  ["vmtp", 81],
  ["eigrp", 88],
  ["ospf", 89],
  ["ax.25", 93],
  ["ipip", 94],
  ["etherip", 97],
  ["encap", 98],
  ["pim", 103],
  ["ipcomp", 108],
  ["vrrp", 112],
  ["l2tp", 115],
  ["isis", 124],
  ["sctp", 132],
  ["fc", 133],
  ["mobility-header", 135],
  ["udplite", 136],
  ["mpls-in-ip", 137],
  ["manet", 138],
  ["hip", 139],
  ["shim6", 140],
  ["wesp", 141],
  ["rohc", 142],
  ["ethernet", 143],
];

/** -p: a number 0-255 or a protocol name, case-insensitive (xtables_parse_protocol). */
export function parseProtocol(s: string): number {
  if (/^[0-9]+$/.test(s)) {
    const n = Number(s);
    if (n <= 255) return n;
    return fail(`unknown protocol "${s}" specified`, s, "a protocol number 0-255 or a name such as tcp, udp, icmp, all");
  }
  const lower = s.toLowerCase();
  for (const [name, num] of CHAIN_PROTOS) if (name === lower) return num;
  for (const [name, num] of ETC_PROTOCOLS) if (name === lower) return num;
  return fail(`unknown protocol "${s}" specified`, s, "tcp, udp, icmp, all, or a protocol number");
}

/** The name iptables-save prints for a protocol number (proto_to_name), else the number. */
export function protocolName(n: number): string {
  for (const [name, num] of CHAIN_PROTOS) if (num === n) return name;
  for (const [name, num] of ETC_PROTOCOLS) if (num === n) return name;
  return `${n}`;
}

/** An unsigned 32-bit number in decimal, 0x hex or 0 octal (strtoul base 0, xtables_strtoui). */
export function parseU32(s: string, what: string): number {
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) n = Number.parseInt(s.slice(2), 16);
  else if (/^0[0-7]+$/.test(s)) n = Number.parseInt(s, 8);
  else if (/^[0-9]+$/.test(s)) n = Number(s);
  else return fail(`${what}: "${s}" is not a number`, s, "a number (decimal or 0x hex)");
  if (!(n <= 0xffffffff)) fail(`${what}: "${s}" is out of range`, s, "a value 0-0xffffffff");
  return n >>> 0;
}

/** "VALUE[/MASK]" as mark values are written (xtables XTTYPE_MARKMASK32); mask defaults to all ones. */
export function parseMarkMask(s: string, what: string): { value: number; mask: number; hasMask: boolean } {
  const parts = s.split("/");
  if (parts.length > 2) fail(`${what}: trailing garbage after value "${s}"`, s, "VALUE or VALUE/MASK");
  const value = parseU32(parts[0], what);
  if (parts.length === 1) return { value, mask: 0xffffffff, hasMask: false };
  return { value, mask: parseU32(parts[1], what), hasMask: true };
}

export const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/** xtables_save_string: bare when only [A-Za-z0-9_-], else double-quoted with \" \' \\ escaped. */
export function saveString(v: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(v)) return ` ${v}`;
  return ` "${v.replace(/["'\\]/g, (c) => `\\${c}`)}"`;
}

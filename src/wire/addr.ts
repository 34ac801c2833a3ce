// IPv4 and MAC addresses as numbers: a uint32 for IPv4, a 48-bit integer for a MAC. Both work as
// Map keys and compare with ===; they are formatted only at the edges.

declare const ipv4Brand: unique symbol;
declare const macBrand: unique symbol;
/** An IPv4 address as an unsigned 32-bit integer in host order (10.0.0.1 = 0x0a000001). */
export type Ipv4Addr = number & { readonly [ipv4Brand]: true };
/** A MAC address as an unsigned 48-bit integer (aa:bb:cc:dd:ee:ff = 0xaabbccddeeff). */
export type MacAddr = number & { readonly [macBrand]: true };

export type AddrResult<T> = { ok: true; value: T } | { ok: false; error: string };

export const asIpv4 = (n: number): Ipv4Addr => (n >>> 0) as Ipv4Addr;
export const IPV4_ANY = asIpv4(0);
export const IPV4_BROADCAST = asIpv4(0xffffffff);

/** Reads a big-endian IPv4 address at an offset. */
export const readIpv4 = (b: Uint8Array, o: number): Ipv4Addr =>
  (((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0) as Ipv4Addr;

export function writeIpv4(b: Uint8Array, o: number, a: number): void {
  b[o] = a >>> 24;
  b[o + 1] = (a >>> 16) & 0xff;
  b[o + 2] = (a >>> 8) & 0xff;
  b[o + 3] = a & 0xff;
}

export const formatIpv4 = (a: number): string =>
  `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;

/** Parses dotted-quad notation ("10.244.1.2"); no leading zeros, no shorthand, as net/netip. */
export function parseIpv4(s: string): AddrResult<Ipv4Addr> {
  // One pass over the characters (restores parse 100k of these): octets of 1-3 digits, no leading zero, at most 255.
  const n = s.length;
  let addr = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 && digits > 0 && dots < 3) {
      addr = addr * 256 + octet;
      octet = digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57 && !(digits === 1 && octet === 0) && digits < 3) {
      octet = octet * 10 + (c - 48);
      digits++;
      if (octet > 255) return ipv4Error(s);
    } else return ipv4Error(s);
  }
  if (dots !== 3 || digits === 0) return ipv4Error(s);
  return { ok: true, value: asIpv4(addr * 256 + octet) };
}

/** parseIpv4's error, naming the first part that is not an octet. */
function ipv4Error(s: string): AddrResult<Ipv4Addr> {
  const parts = s.split(".");
  if (parts.length !== 4) return { ok: false, error: `"${s}" is not an IPv4 address (expected four dotted octets, e.g. 10.0.0.1)` };
  const p = parts.find((x) => !/^(0|[1-9][0-9]{0,2})$/.test(x) || Number(x) > 255) ?? s;
  return { ok: false, error: `"${s}" is not an IPv4 address (octet "${p}" is not a number 0-255)` };
}

/** For tests and constants: parses or throws. */
export function mustParseIpv4(s: string): Ipv4Addr {
  const r = parseIpv4(s);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

/** An IPv4 prefix: the network address (host bits zero) and its length. */
export interface Ipv4Cidr {
  readonly addr: Ipv4Addr;
  readonly len: number;
}

/** The netmask of a prefix length (24 → 0xffffff00). */
export const prefixMask = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

export const cidrContains = (c: Ipv4Cidr, a: number): boolean =>
  ((a & prefixMask(c.len)) >>> 0) === c.addr;

export const formatCidr = (c: Ipv4Cidr): string => `${formatIpv4(c.addr)}/${c.len}`;

/**
 * Parses "10.244.0.0/16". With `strict` (the default) host bits must be zero, as a CIDR in a
 * config should be; `strict: false` masks them (an interface address "10.0.0.1/24" → 10.0.0.0/24).
 */
export function parseCidr(s: string, strict = true): AddrResult<Ipv4Cidr> {
  const slash = s.indexOf("/");
  if (slash < 0) return { ok: false, error: `"${s}" is not a CIDR (expected address/length, e.g. 10.244.0.0/16)` };
  const a = parseIpv4(s.slice(0, slash));
  if (!a.ok) return a;
  const lenText = s.slice(slash + 1);
  const len = Number(lenText);
  if (!/^[0-9]{1,2}$/.test(lenText) || len > 32)
    return { ok: false, error: `"${s}" has prefix length "${lenText}" (expected 0-32)` };
  const net = asIpv4(a.value & prefixMask(len));
  if (strict && net !== a.value)
    return { ok: false, error: `"${s}" has host bits set (did you mean ${formatIpv4(net)}/${len}?)` };
  return { ok: true, value: { addr: net, len } };
}

export function mustParseCidr(s: string, strict = true): Ipv4Cidr {
  const r = parseCidr(s, strict);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

export const asMac = (n: number): MacAddr => n as MacAddr;
export const MAC_BROADCAST = asMac(0xffffffffffff);
export const MAC_ZERO = asMac(0);

/** Reads a 6-byte MAC at an offset as a 48-bit number. */
export const readMac = (b: Uint8Array, o: number): MacAddr =>
  ((((b[o] << 8) | b[o + 1]) * 0x100000000) +
    (((b[o + 2] << 24) | (b[o + 3] << 16) | (b[o + 4] << 8) | b[o + 5]) >>> 0)) as MacAddr;

export function writeMac(b: Uint8Array, o: number, m: number): void {
  const hi = Math.floor(m / 0x100000000);
  const lo = m >>> 0;
  b[o] = hi >>> 8;
  b[o + 1] = hi & 0xff;
  b[o + 2] = lo >>> 24;
  b[o + 3] = (lo >>> 16) & 0xff;
  b[o + 4] = (lo >>> 8) & 0xff;
  b[o + 5] = lo & 0xff;
}

/** Group bit (I/G, the least significant bit of the first octet): broadcast and multicast. */
export const isMulticastMac = (m: number): boolean => (Math.floor(m / 0x10000000000) & 1) === 1;

export function formatMac(m: number): string {
  let s = "";
  for (let i = 5; i >= 0; i--) {
    const byte = Math.floor(m / 2 ** (8 * i)) & 0xff;
    s += byte.toString(16).padStart(2, "0") + (i ? ":" : "");
  }
  return s;
}

export function parseMac(s: string): AddrResult<MacAddr> {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(s))
    return { ok: false, error: `"${s}" is not a MAC address (expected six hex octets, e.g. 02:42:ac:11:00:02)` };
  return { ok: true, value: asMac(Number.parseInt(s.replaceAll(":", ""), 16)) };
}

export function mustParseMac(s: string): MacAddr {
  const r = parseMac(s);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

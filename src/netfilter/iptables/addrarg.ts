// The -s / -d argument of a rule being parsed: one address or network (the common case, read
// without allocating) or a comma-separated list (iptables then writes one rule per address). The
// fast path accepts exactly what parseAddrMask accepts as "a.b.c.d[/len]"; anything else goes to
// values.ts, which also words the errors.

import { type AddrMask, cidrToMask, parseAddrList, parseAddrMask } from "./values.js";

/** The -s / -d of the rule being parsed: one address (the common case) or a comma list. */
export class AddrArg {
  addr = 0;
  mask = 0;
  list: AddrMask[] | null = null;
  given = false;
  reset(): void {
    this.addr = this.mask = 0;
    this.list = null;
    this.given = false;
  }
  set(s: string): void {
    this.given = true;
    this.list = null;
    if (parseHostFast(s)) {
      this.addr = fastAddr;
      this.mask = fastMask;
    } else if (s.includes(",") || s === "") this.list = parseAddrList(s);
    else {
      const a = parseAddrMask(s);
      this.addr = a.addr;
      this.mask = a.mask;
    }
  }
  count(): number {
    return this.list === null ? 1 : this.list.length;
  }
  addrAt(i: number): number {
    return this.list === null ? this.addr : this.list[i].addr;
  }
  maskAt(i: number): number {
    return this.list === null ? this.mask : this.list[i].mask;
  }
}

let fastAddr = 0;
let fastMask = 0;
/** "a.b.c.d" or "a.b.c.d/len" as parseAddrMask reads them, without allocating; false for anything else (the slow path decides). */
function parseHostFast(s: string): boolean {
  const n = s.length;
  let addr = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return false; // a leading zero
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return false;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return false;
      addr = addr * 256 + octet;
      octet = digits = 0;
    } else break;
  }
  if (digits === 0 || dots !== 3) return false;
  addr = addr * 256 + octet;
  let mask = 0xffffffff;
  if (i < n) {
    if (s.charCodeAt(i) !== 47 || n - i < 2 || n - i > 3) return false;
    let len = 0;
    for (let j = i + 1; j < n; j++) {
      const c = s.charCodeAt(j);
      if (c < 48 || c > 57) return false;
      len = len * 10 + (c - 48);
    }
    if (len > 32) return false;
    mask = cidrToMask(len);
  }
  fastAddr = (addr & mask) >>> 0;
  fastMask = mask >>> 0;
  return true;
}

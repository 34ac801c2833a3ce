// A small ipset: named sets of type hash:ip, hash:ip,port and hash:net that `-m set --match-set`
// looks packets up in (net/netfilter/ipset/ip_set_hash_ip.c, _ipport.c, _net.c). Keys are int32
// (`addr | 0`, a small integer to V8) so a lookup allocates nothing.

import { formatIpv4 } from "../../wire/index.js";
import { IptablesError } from "./errors.js";
import { cidrToMask, maskToCidr, parseAddrMask, parsePort, protocolName } from "./values.js";

export type IpSetType = "hash:ip" | "hash:ip,port" | "hash:net";

export class IpSet {
  /** hash:ip and hash:ip,port (addresses); hash:net keeps one Set per prefix length. */
  private readonly ips = new Set<number>();
  private readonly ports = new Map<number, Set<number>>();
  private readonly nets: (Set<number> | undefined)[] = new Array(33);
  /** Non-empty prefix lengths of a hash:net, longest first. */
  private lens: number[] = [];
  private count = 0;

  constructor(
    readonly name: string,
    readonly type: IpSetType,
  ) {}

  /** Dimensions of an entry: 1 for hash:ip and hash:net, 2 for hash:ip,port. */
  get dims(): 1 | 2 {
    return this.type === "hash:ip,port" ? 2 : 1;
  }

  get size(): number {
    return this.count;
  }

  /** `ipset add NAME ENTRY`: "10.0.0.1", "10.0.0.1,udp:53" (proto defaults to tcp), "10.0.0.0/24". */
  add(entry: string): void {
    const e = this.parseEntry(entry);
    if (this.type === "hash:net") {
      const m = (this.nets[e.len] ??= new Set());
      if (m.has(e.addr | 0)) return;
      m.add(e.addr | 0);
      if (!this.lens.includes(e.len)) this.lens = [...this.lens, e.len].sort((a, b) => b - a);
    } else if (this.type === "hash:ip") {
      if (this.ips.has(e.addr | 0)) return;
      this.ips.add(e.addr | 0);
    } else {
      let s = this.ports.get(e.addr | 0);
      if (s === undefined) this.ports.set(e.addr | 0, (s = new Set()));
      if (s.has(e.protoPort)) return;
      s.add(e.protoPort);
    }
    this.count++;
  }

  /** `ipset del NAME ENTRY`; returns whether it was there. */
  del(entry: string): boolean {
    const e = this.parseEntry(entry);
    let gone = false;
    if (this.type === "hash:net") {
      gone = this.nets[e.len]?.delete(e.addr | 0) ?? false;
      if (this.nets[e.len]?.size === 0) this.lens = this.lens.filter((l) => l !== e.len);
    } else if (this.type === "hash:ip") gone = this.ips.delete(e.addr | 0);
    else {
      const s = this.ports.get(e.addr | 0);
      gone = s?.delete(e.protoPort) ?? false;
      if (s?.size === 0) this.ports.delete(e.addr | 0);
    }
    if (gone) this.count--;
    return gone;
  }

  /** `ipset test NAME ENTRY`. */
  test(entry: string): boolean {
    const e = this.parseEntry(entry, true);
    if (this.type === "hash:net") return this.hasNet(e.addr);
    if (this.type === "hash:ip") return this.hasIp(e.addr);
    return this.hasIpPort(e.addr, e.protoPort >>> 16, e.protoPort & 0xffff);
  }

  /** Hot path, hash:ip. */
  hasIp(addr: number): boolean {
    return this.ips.has(addr | 0);
  }

  /** Hot path, hash:ip,port. */
  hasIpPort(addr: number, proto: number, port: number): boolean {
    const s = this.ports.get(addr | 0);
    return s?.has((proto << 16) | port) ?? false;
  }

  /** Hot path, hash:net: the longest prefix first, as the kernel walks its cidr list. */
  hasNet(addr: number): boolean {
    const lens = this.lens;
    for (let i = 0; i < lens.length; i++) {
      const len = lens[i];
      if (this.nets[len]!.has((addr & cidrToMask(len)) | 0)) return true;
    }
    return false;
  }

  /** The members as `ipset list` prints them, sorted. */
  members(): string[] {
    const out: string[] = [];
    if (this.type === "hash:ip") for (const a of this.ips) out.push(formatIpv4(a >>> 0));
    else if (this.type === "hash:net")
      for (const len of this.lens) for (const a of this.nets[len]!) out.push(`${formatIpv4(a >>> 0)}/${len}`);
    else
      for (const [a, s] of this.ports)
        for (const pp of s) out.push(`${formatIpv4(a >>> 0)},${protocolName(pp >>> 16)}:${pp & 0xffff}`);
    return out.sort();
  }

  private parseEntry(entry: string, testing = false): { addr: number; len: number; protoPort: number } {
    const where = `ipset ${this.name} (${this.type})`;
    try {
      if (this.type === "hash:ip,port") {
        const comma = entry.indexOf(",");
        if (comma < 0) throw new IptablesError(`${where}: entry "${entry}" needs a port`, { token: entry, expected: "IP,PORT or IP,PROTO:PORT" });
        const a = parseAddrMask(entry.slice(0, comma));
        let rest = entry.slice(comma + 1);
        let proto = 6;
        const colon = rest.indexOf(":");
        if (colon >= 0) {
          const p = rest.slice(0, colon);
          proto = p === "tcp" ? 6 : p === "udp" ? 17 : p === "sctp" ? 132 : -1;
          if (proto < 0) throw new IptablesError(`${where}: unsupported protocol "${p}"`, { token: entry, expected: "tcp, udp or sctp" });
          rest = rest.slice(colon + 1);
        }
        return { addr: a.addr, len: 32, protoPort: (proto << 16) | parsePort(rest) };
      }
      const a = parseAddrMask(entry);
      const len = maskToCidr(a.mask);
      if (len < 0) throw new IptablesError(`${where}: "${entry}" has a non-contiguous mask`, { token: entry, expected: "ADDR/LEN" });
      if (this.type === "hash:ip" && len !== 32 && !testing)
        throw new IptablesError(`${where}: "${entry}" is a network; a hash:ip holds addresses`, { token: entry, expected: "an address" });
      return { addr: a.addr, len: this.type === "hash:ip" ? 32 : len, protoPort: 0 };
    } catch (e) {
      if (e instanceof IptablesError && !e.reason.startsWith("ipset")) throw new IptablesError(`${where}: ${e.reason}`, { token: e.token, expected: e.expected });
      throw e;
    }
  }
}

/** The sets of one network namespace (`ipset create/add/del/destroy`). */
export class IpSetRegistry {
  private readonly sets = new Map<string, IpSet>();

  create(name: string, type: IpSetType): IpSet {
    if (this.sets.has(name)) throw new IptablesError(`ipset create ${name}: a set with this name already exists`);
    const s = new IpSet(name, type);
    this.sets.set(name, s);
    return s;
  }

  get(name: string): IpSet | undefined {
    return this.sets.get(name);
  }

  destroy(name: string): boolean {
    return this.sets.delete(name);
  }

  names(): string[] {
    return [...this.sets.keys()].sort();
  }
}

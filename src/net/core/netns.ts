// A network namespace (struct net): its devices, addresses, routing tables, neighbour tables,
// sysctls, sockets and netfilter hook table. Frames enter through netifReceive(); the IPv4 and ARP
// code lives in ../ipv4 and runs over the namespace.

import type { Packet } from "../../packet/index.js";
import { DropReason, type Rng, type Sim } from "../../sim/index.js";
import {
  asIpv4,
  asMac,
  cidrContains,
  ethernet,
  formatCidr,
  formatIpv4,
  type Ipv4Addr,
  type Ipv4Cidr,
  type MacAddr,
  parseCidr,
  parseIpv4,
  prefixMask,
} from "../../wire/index.js";
import { arpRcv } from "../ipv4/arp.js";
import { icmpRcv } from "../ipv4/icmp.js";
import { ipRcv } from "../ipv4/input.js";
import { type Route, RouteTable, RT_TABLE_MAIN } from "../ipv4/route.js";
import { tcpInit } from "../ipv4/tcp.js";
import { udpInit } from "../ipv4/udp.js";
import type { NetDevice } from "./device.js";
import { Loopback } from "./loopback.js";
import type { NfHookTable } from "./netfilter.js";
import type { ProtoHandler } from "./proto.js";

export interface Sysctls {
  /** net.ipv4.ip_forward (0 in a new namespace, as Linux). */
  ipForward: boolean;
  /** net.bridge.bridge-nf-call-iptables: bridged IPv4 frames traverse the IP hooks. */
  bridgeNfCallIptables: boolean;
  /** net.ipv4.conf.all.rp_filter: reverse-path filtering is not modelled and stays off. */
  rpFilter: 0;
  /** net.ipv4.ip_local_port_range. */
  ipLocalPortRange: [number, number];
  /** net.ipv4.ip_default_ttl. */
  ipDefaultTtl: number;
  /** net.ipv4.icmp_ratelimit in ns (per destination, for unreachables and time exceeded). */
  icmpRatelimit: number;
}

export interface RouteSpec {
  /** "10.244.1.0/24" or "default". */
  dst: string;
  via?: string;
  dev?: string;
  src?: string;
  onlink?: boolean;
  metric?: number;
  type?: Route["type"];
  proto?: Route["proto"];
  scope?: Route["scope"];
}

/** Configuration errors (not data-path errors) thrown by the namespace's setup calls. */
export class NetConfigError extends Error {
  override name = "NetConfigError";
}

export class NetNamespace {
  readonly devices = new Map<string, NetDevice>();
  readonly byIndex = new Map<number, NetDevice>();
  readonly sysctl: Sysctls = {
    ipForward: false,
    bridgeNfCallIptables: false,
    rpFilter: 0,
    ipLocalPortRange: [32768, 60999],
    ipDefaultTtl: 64,
    icmpRatelimit: 1e9,
  };
  readonly mainTable = new RouteTable(RT_TABLE_MAIN);
  /** Local addresses (the local table's `local` routes): address → device. */
  readonly localAddrs = new Map<number, NetDevice>();
  /** Netfilter hook table; null when no netfilter is installed. */
  nf: NfHookTable | null = null;
  /** Upper-layer protocol handlers by IP protocol number (ICMP, UDP, TCP register here). */
  readonly protocols: (ProtoHandler | undefined)[] = new Array(256);
  /** Per-namespace state of protocol modules (UDP port table, ping sockets, TCP …) by name. */
  readonly state = new Map<string, unknown>();
  /** IP identification counters for non-DF packets, hashed by (saddr, daddr, proto) as ip_idents. */
  private readonly idents: Uint16Array;
  readonly rng: Rng;
  readonly lo: Loopback;

  constructor(
    readonly sim: Sim,
    readonly name: string,
  ) {
    this.rng = sim.rng.derive(`netns/${name}`);
    this.idents = new Uint16Array(2048);
    for (let i = 0; i < this.idents.length; i++) this.idents[i] = this.rng.u32() & 0xffff;
    this.lo = new Loopback(this);
    this.addAddress(this.lo, "127.0.0.1/8");
    // Every Linux namespace speaks ICMP and UDP (a closed UDP port answers port unreachable).
    this.protocols[1] = icmpRcv;
    udpInit(this);
    tcpInit(this);
  }

  /** Registers a device created in this namespace. Names are unique per namespace. */
  register(dev: NetDevice): void {
    if (dev.name.length > 15) throw new NetConfigError(`${this.name}: interface name "${dev.name}" is longer than 15 characters (IFNAMSIZ)`);
    if (this.devices.has(dev.name)) throw new NetConfigError(`${this.name}: an interface named "${dev.name}" already exists`);
    this.devices.set(dev.name, dev);
    this.byIndex.set(dev.ifindex, dev);
  }

  /** Removes a device with its addresses, routes and neighbours (`ip link del`). */
  unregister(dev: NetDevice): void {
    for (const a of [...dev.addrs]) this.delAddress(dev, `${formatIpv4(a.addr)}/${a.len}`);
    this.mainTable.deleteDev(dev);
    this.devices.delete(dev.name);
    this.byIndex.delete(dev.ifindex);
  }

  device(name: string): NetDevice {
    const d = this.devices.get(name);
    if (!d) throw new NetConfigError(`${this.name}: no interface named "${name}" (have: ${[...this.devices.keys()].join(", ")})`);
    return d;
  }

  /** A MAC from this run's seeded stream: locally administered, unicast (02:xx:…), as the kernel's random MACs. */
  randomMac(): MacAddr {
    const hi = (this.rng.u32() & 0xfeff) | 0x0200;
    return asMac(hi * 0x100000000 + this.rng.u32());
  }

  /**
   * `ip addr add ADDR/LEN dev DEV`: adds the address, its local entry and, unless /32, the
   * connected route `NET/LEN dev DEV proto kernel scope link src ADDR`.
   */
  addAddress(dev: NetDevice, cidr: string): void {
    const r = parseCidr(cidr, false);
    if (!r.ok) throw new NetConfigError(`${this.name} ${dev.name}: ${r.error}`);
    const host = parseIpv4(cidr.slice(0, cidr.indexOf("/"))) as { ok: true; value: Ipv4Addr };
    const { len } = r.value;
    if (this.localAddrs.has(host.value)) throw new NetConfigError(`${this.name}: ${formatIpv4(host.value)} is already assigned`);
    const addr = host.value;
    const broadcast = len >= 31 ? asIpv4(0) : asIpv4(addr | ~prefixMask(len));
    dev.addrs.push({ addr, len, broadcast });
    this.localAddrs.set(addr, dev);
    if (len < 32 && dev !== this.lo)
      this.mainTable.add({ dst: r.value, type: "unicast", dev, via: 0, src: addr, onlink: false, metric: 0, proto: "kernel", scope: "link" });
  }

  delAddress(dev: NetDevice, cidr: string): void {
    const r = parseCidr(cidr, false);
    if (!r.ok) throw new NetConfigError(`${this.name} ${dev.name}: ${r.error}`);
    const i = dev.addrs.findIndex((a) => ((a.addr & prefixMask(a.len)) >>> 0) === r.value.addr && a.len === r.value.len);
    if (i < 0) throw new NetConfigError(`${this.name} ${dev.name}: no address ${cidr}`);
    const [a] = dev.addrs.splice(i, 1);
    this.localAddrs.delete(a.addr);
    this.mainTable.delete(r.value, { dev });
  }

  /** `ip route add …`. Validates the gateway as the kernel does unless `onlink`. */
  addRoute(spec: RouteSpec): Route {
    const where = `${this.name}: ip route add ${spec.dst}`;
    let dst: Ipv4Cidr;
    if (spec.dst === "default") dst = { addr: asIpv4(0), len: 0 };
    else {
      const r = parseCidr(spec.dst.includes("/") ? spec.dst : `${spec.dst}/32`);
      if (!r.ok) throw new NetConfigError(`${where}: ${r.error}`);
      dst = r.value;
    }
    const via = spec.via ? this.mustAddr(spec.via, where) : 0;
    const src = spec.src ? this.mustAddr(spec.src, where) : 0;
    let dev = spec.dev ? this.device(spec.dev) : null;
    const type = spec.type ?? "unicast";
    if (type === "unicast") {
      if (via && !spec.onlink) {
        // Linux: the gateway must be reachable through a connected route ("Nexthop has invalid gateway").
        const gw = this.mainTable.lookup(via);
        if (!gw || gw.via || (dev && gw.dev !== dev))
          throw new NetConfigError(`${where}: gateway ${spec.via} is not on a connected subnet${dev ? ` of ${dev.name}` : ""} (add an address on that link first, or use onlink)`);
        dev ??= gw.dev;
      }
      if (!dev) throw new NetConfigError(`${where}: needs dev or a reachable via`);
    }
    const route: Route = {
      dst,
      type,
      dev,
      via,
      src,
      onlink: spec.onlink ?? false,
      metric: spec.metric ?? 0,
      proto: spec.proto ?? "boot",
      scope: spec.scope ?? (via || type !== "unicast" ? "global" : "link"),
    };
    this.mainTable.add(route);
    return route;
  }

  private mustAddr(s: string, where: string): Ipv4Addr {
    const r = parseCidr(`${s}/32`);
    if (!r.ok) throw new NetConfigError(`${where}: ${r.error}`);
    return r.value.addr;
  }

  /** True when `a` is an address of this namespace (the local table has it). */
  isLocal(a: number): boolean {
    return this.localAddrs.has(a);
  }

  /** The directed-broadcast address of some interface, or 255.255.255.255. */
  isBroadcast(a: number): boolean {
    if (a === 0xffffffff) return true;
    for (const d of this.devices.values()) for (const x of d.addrs) if (x.broadcast === a) return true;
    return false;
  }

  /** Next IP identification for a non-DF packet (ip_select_ident / __ip_select_ident). */
  nextIdent(saddr: number, daddr: number, proto: number): number {
    const h = (Math.imul(saddr ^ Math.imul(daddr, 0x9e3779b1) ^ proto, 0x85ebca6b) >>> 21) & 2047;
    const id = this.idents[h];
    this.idents[h] = id + 1;
    return id;
  }

  /**
   * A frame from a device into the stack (__netif_receive_skb): Ethernet demux to ARP or IPv4.
   * Frames for another host's MAC are dropped as Linux drops PACKET_OTHERHOST in ip_rcv.
   */
  netifReceive(dev: NetDevice, pkt: Packet): void {
    const b = pkt.buf;
    const o = pkt.head;
    if (pkt.tail - o < ethernet.ETHERNET_HEADER_LEN) return dev.drop(pkt, DropReason.PKT_TOO_SMALL, "ethernet header");
    const dst = ethernet.dstAddr(b, o);
    const type = ethernet.etherType(b, o);
    if (dst !== dev.mac && !isGroup(b, o) && !dev.noarp) return dev.drop(pkt, DropReason.OTHERHOST);
    if (type === 0x0800) return ipRcv(this, dev, pkt);
    if (type === 0x0806) return arpRcv(this, dev, pkt);
    dev.drop(pkt, DropReason.UNHANDLED_PROTO, `ethertype 0x${type.toString(16).padStart(4, "0")}`);
  }

  /** `ip route show` for the main table. */
  dumpRoutes(): string[] {
    return this.mainTable.dump();
  }

  /** `ip addr show` text. */
  dumpAddresses(): string[] {
    const out: string[] = [];
    for (const d of [...this.devices.values()].sort((a, b) => a.ifindex - b.ifindex)) {
      out.push(d.describe());
      for (const a of d.describeAddrs()) out.push(`    ${a}`);
    }
    return out;
  }

  /** `ip neigh show` for every device. */
  dumpNeighbours(): string[] {
    const out: string[] = [];
    for (const d of this.devices.values()) {
      const t = (d as { neigh?: { dump(): string[] } }).neigh;
      if (t) out.push(...t.dump());
    }
    return out;
  }

  toString(): string {
    return `netns ${this.name}`;
  }
}

/** I/G bit of the destination MAC: broadcast or multicast. */
const isGroup = (b: Uint8Array, o: number): boolean => (b[o] & 1) === 1;

export { cidrContains, formatCidr };

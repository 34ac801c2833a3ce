// UDP in the stack (net/ipv4/udp.c) with sockets that feel like node:dgram: bind, connect, send,
// 'message' and 'error' events. Ephemeral ports come from ip_local_port_range at a seeded random
// start. A datagram to a closed port is answered with ICMP port unreachable, as Linux does; a
// connected socket sees ICMP errors as ECONNREFUSED / EHOSTUNREACH / EMSGSIZE.

import { EventEmitter } from "node:events";
import type { Packet } from "../../packet/index.js";
import { DropReason } from "../../sim/index.js";
import { formatIpv4, type Ipv4Addr, ipv4, parseIpv4, udp } from "../../wire/index.js";
import type { NetDevice } from "../core/device.js";
import type { NetNamespace } from "../core/netns.js";
import { icmpSendError, registerIcmpErrHandler } from "./icmp.js";
import { type IpHeaderOpts, ipOutput, type OutputError, routeOutput } from "./output.js";

export interface RemoteInfo {
  address: string;
  family: "IPv4";
  port: number;
  size: number;
}

/** An error event on a socket: `code` as errno (ECONNREFUSED …), as node:dgram reports it. */
export class SocketError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** How many received datagrams a socket keeps in `received`. */
export const RECEIVED_KEPT = 1024;

interface UdpTable {
  /** Bound sockets by local port. */
  ports: Map<number, UdpSocket[]>;
  next: number;
}

function table(ns: NetNamespace): UdpTable {
  let t = ns.state.get("udp") as UdpTable | undefined;
  if (t === undefined) {
    const [lo, hi] = ns.sysctl.ipLocalPortRange;
    t = { ports: new Map(), next: lo + ns.rng.derive("udp-ports").int(hi - lo + 1) };
    ns.state.set("udp", t);
    ns.protocols[17] = udpRcv;
    registerIcmpErrHandler(ns, 17, udpErr);
  }
  return t;
}

/** Enables UDP in a namespace (done by the first socket; call it so closed ports answer with ICMP). */
export const udpInit = (ns: NetNamespace): void => void table(ns);

export interface UdpSocketEvents {
  message: [msg: Buffer, rinfo: RemoteInfo];
  error: [err: SocketError];
  listening: [];
  close: [];
}

export class UdpSocket extends EventEmitter<UdpSocketEvents> {
  localAddr: Ipv4Addr | 0 = 0;
  localPort = 0;
  remoteAddr: Ipv4Addr | 0 = 0;
  remotePort = 0;
  /** Per-socket IP ID for connected DF datagrams (inet_id), seeded. */
  private inetId: number;
  closed = false;
  /** Options for the IP header of datagrams this socket sends. */
  ipOpts: IpHeaderOpts = {};
  private readonly hdr: IpHeaderOpts = {};
  /**
   * A UDP tunnel's receive function (udp_tunnel encap_rcv, as the VXLAN driver sets): takes the
   * datagram (pkt.l4 at the UDP header) without a copy, instead of 'message' delivery.
   */
  encapRcv: ((dev: NetDevice, pkt: Packet) => void) | null = null;
  /** The most recent datagrams received (up to RECEIVED_KEPT), for tests and scenario checks that poll. */
  readonly received: { msg: Buffer; rinfo: RemoteInfo }[] = [];
  /** Datagrams received in all. */
  receivedCount = 0;
  readonly errors: SocketError[] = [];

  constructor(readonly ns: NetNamespace) {
    super();
    table(ns);
    this.inetId = ns.rng.derive(`udp-inet-id/${ns.sim.sched.steps}`).u32() & 0xffff;
    // node:dgram throws an unhandled 'error'; here errors are also recorded, so never crash.
    this.on("error", (e) => this.errors.push(e));
  }

  /** Binds to `port` (0 or omitted: an ephemeral port) on `address` (omitted: any). */
  bind(port = 0, address?: string): this {
    if (this.localPort) throw new SocketError("EINVAL", "socket is already bound");
    const t = table(this.ns);
    let addr: Ipv4Addr | 0 = 0;
    if (address !== undefined && address !== "0.0.0.0") {
      const r = parseIpv4(address);
      if (!r.ok) throw new SocketError("EINVAL", r.error);
      if (!this.ns.isLocal(r.value)) throw new SocketError("EADDRNOTAVAIL", `${address} is not an address of ${this.ns.name}`);
      addr = r.value;
    }
    if (port === 0) port = ephemeralPort(this.ns, t);
    else if ((t.ports.get(port) ?? []).some((s) => s.localAddr === 0 || addr === 0 || s.localAddr === addr))
      throw new SocketError("EADDRINUSE", `${this.ns.name}: port ${port} is in use`);
    this.localAddr = addr;
    this.localPort = port;
    const list = t.ports.get(port);
    if (list) list.push(this);
    else t.ports.set(port, [this]);
    queueMicrotask(() => this.emit("listening"));
    return this;
  }

  /** Sets the default destination and receives only from it (connect(2) on a UDP socket). */
  connect(port: number, address: string): this {
    const r = parseIpv4(address);
    if (!r.ok) throw new SocketError("EINVAL", r.error);
    if (!this.localPort) this.bind();
    this.remoteAddr = r.value;
    this.remotePort = port;
    return this;
  }

  /**
   * Sends one datagram. Returns the error a send(2) would return (ENETUNREACH, EMSGSIZE …), or
   * undefined; delivery errors reported by ICMP later arrive as 'error' events on connected sockets.
   */
  send(data: Uint8Array | string, port?: number, address?: string): OutputError | "EDESTADDRREQ" | undefined {
    const payload = typeof data === "string" ? Buffer.from(data) : data;
    let daddr: number = this.remoteAddr;
    let dport = this.remotePort;
    if (address !== undefined) {
      const r = parseIpv4(address);
      if (!r.ok) throw new SocketError("EINVAL", r.error);
      daddr = r.value;
      dport = port ?? 0;
    }
    if (!daddr || !dport) return "EDESTADDRREQ";
    if (!this.localPort) this.bind();
    const rt = routeOutput(this.ns, daddr, this.localAddr);
    if (typeof rt === "string") return rt;
    const pool = this.ns.sim.pool;
    const p = pool.alloc(128, payload.length + 8);
    const at = p.put(payload.length);
    p.buf.set(payload, at);
    const o = p.push(udp.UDP_HEADER_LEN);
    const len = payload.length + udp.UDP_HEADER_LEN;
    udp.setSrcPort(p.buf, o, this.localPort);
    udp.setDstPort(p.buf, o, dport);
    udp.setLength(p.buf, o, len);
    udp.fillChecksum(p.buf, o, rt.src, daddr, len);
    // IP_PMTUDISC_WANT sets DF; a connected socket numbers its DF datagrams (inet_id), others send ID 0.
    const df = this.ipOpts.df ?? true;
    let id = this.ipOpts.id;
    if (id === undefined && df && this.remoteAddr) id = this.inetId++ & 0xffff;
    const o2 = this.hdr;
    o2.ttl = this.ipOpts.ttl;
    o2.tos = this.ipOpts.tos;
    o2.df = df;
    o2.id = id;
    return ipOutput(this.ns, p, daddr as Ipv4Addr, 17, rt, o2);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const t = table(this.ns);
    const list = t.ports.get(this.localPort);
    if (list) {
      const rest = list.filter((s) => s !== this);
      if (rest.length) t.ports.set(this.localPort, rest);
      else t.ports.delete(this.localPort);
    }
    this.emit("close");
  }

  address(): { address: string; family: "IPv4"; port: number } {
    return { address: formatIpv4(this.localAddr), family: "IPv4", port: this.localPort };
  }

  /** @internal */
  deliver(msg: Buffer, rinfo: RemoteInfo): void {
    this.receivedCount++;
    if (this.received.length >= RECEIVED_KEPT) this.received.splice(0, RECEIVED_KEPT / 2);
    this.received.push({ msg, rinfo });
    this.emit("message", msg, rinfo);
  }
}

/** Creates a UDP socket in a namespace (dgram.createSocket("udp4")). */
export const createUdpSocket = (ns: NetNamespace): UdpSocket => new UdpSocket(ns);

function ephemeralPort(ns: NetNamespace, t: UdpTable): number {
  const [lo, hi] = ns.sysctl.ipLocalPortRange;
  const n = hi - lo + 1;
  for (let i = 0; i < n; i++) {
    const port = lo + ((t.next - lo + i) % n);
    if (!t.ports.has(port)) {
      t.next = lo + ((port - lo + 1) % n);
      return port;
    }
  }
  throw new SocketError("EADDRINUSE", `${ns.name}: no free ephemeral UDP port`);
}

/** __udp4_lib_lookup: the best match by (daddr, dport) and, for connected sockets, (saddr, sport). */
function lookup(t: UdpTable, saddr: number, sport: number, daddr: number, dport: number): UdpSocket | undefined {
  const list = t.ports.get(dport);
  if (list === undefined) return undefined;
  let best: UdpSocket | undefined;
  let bestScore = -1;
  for (const s of list) {
    let score = 0;
    if (s.localAddr) {
      if (s.localAddr !== daddr) continue;
      score += 4;
    }
    if (s.remoteAddr) {
      if (s.remoteAddr !== saddr || s.remotePort !== sport) continue;
      score += 4;
    }
    if (score > bestScore) {
      best = s;
      bestScore = score;
    }
  }
  return best;
}

/** udp_rcv: length and checksum, socket lookup, delivery; ICMP port unreachable when nobody listens. */
function udpRcv(ns: NetNamespace, dev: NetDevice, pkt: Packet): void {
  const b = pkt.buf;
  const l3 = pkt.l3;
  const o = pkt.l4;
  const err = udp.check(b, o, pkt.tail);
  if (err) return dev.drop(pkt, DropReason.PKT_TOO_SMALL, `udp ${err.kind}`);
  const len = udp.length(b, o);
  const saddr = ipv4.srcAddr(b, l3);
  const daddr = ipv4.dstAddr(b, l3);
  if (udp.checksum(b, o) !== 0 && !udp.verifyChecksum(b, o, saddr, daddr, len)) return dev.drop(pkt, DropReason.UDP_CSUM);
  const sport = udp.srcPort(b, o);
  const dport = udp.dstPort(b, o);
  const sk = lookup(table(ns), saddr, sport, daddr, dport);
  const sim = ns.sim;
  if (sk === undefined) {
    icmpSendError(ns, pkt, 3, 3, 0);
    return dev.drop(pkt, DropReason.NO_SOCKET, `udp ${formatIpv4(daddr)}:${dport}`);
  }
  if (sim.trace.on) sim.trace.emit({ t: sim.sched.now, ns: ns.name, dev: dev.name, kind: "local", proto: "udp", daddr: formatIpv4(daddr), dport });
  if (sk.encapRcv !== null) return sk.encapRcv(dev, pkt);
  const msg = Buffer.allocUnsafe(len - 8);
  b.copy(msg, 0, o + 8, o + len);
  pkt.free();
  sk.deliver(msg, { address: addrString(saddr), family: "IPv4", port: sport, size: msg.length });
}

/** Formatted peer addresses, cached: a socket's peers are few and formatting is per datagram. */
const addrStrings = new Map<number, string>();
function addrString(a: number): string {
  let s = addrStrings.get(a);
  if (s === undefined) {
    if (addrStrings.size > 4096) addrStrings.clear();
    s = formatIpv4(a);
    addrStrings.set(a, s);
  }
  return s;
}

const ICMP_ERRNO: Record<number, string> = { 0: "ENETUNREACH", 1: "EHOSTUNREACH", 2: "ENOPROTOOPT", 3: "ECONNREFUSED", 4: "EMSGSIZE" };

/** udp_err: an ICMP error quoting one of our datagrams reaches its socket if it is connected (no IP_RECVERR). */
function udpErr(ns: NetNamespace, pkt: Packet, q: number, type: number, code: number, info: number): void {
  const b = pkt.buf;
  const l4 = q + ipv4.headerLength(b, q);
  if (pkt.tail - l4 < 4) return;
  const saddr = ipv4.srcAddr(b, q);
  const daddr = ipv4.dstAddr(b, q);
  const sk = lookup(table(ns), daddr, udp.dstPort(b, l4), saddr, udp.srcPort(b, l4));
  if (!sk?.remoteAddr) return;
  const errno = type === 11 ? "EHOSTUNREACH" : (ICMP_ERRNO[code] ?? "EHOSTUNREACH");
  const detail = type === 3 && code === 4 ? ` (next-hop MTU ${info})` : "";
  sk.emit("error", new SocketError(errno, `${errno}: ICMP type ${type} code ${code} from ${formatIpv4(ipv4.srcAddr(b, pkt.l3))}${detail}`));
}

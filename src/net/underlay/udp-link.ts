// The UDP underlay (DESIGN.md decision 7): a node's eth0 bound to a real node:dgram socket instead
// of the in-memory segment. What crosses is what crosses a real underlay for flannel's VXLAN: the
// outer UDP payload (VXLAN header + inner frame). On send, the outer Ethernet/IPv4/UDP headers the
// emulated stack wrote are the kernel's to write, so only the payload goes to the peer's socket;
// on receive, the headers the node's NIC would have seen are rebuilt around the datagram so that
// the capture on eth0 still shows the whole outer frame and the emulated stack (ip_rcv, udp_rcv,
// vxlan_rcv) processes it as it would any other. There is no real L2: ARP for a peer's underlay
// address is answered here with the peer's configured MAC (proxy ARP), other frames are dropped.

import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import type { Packet } from "../../packet/index.js";
import { DropReason } from "../../sim/index.js";
import { arp, ethernet, formatIpv4, formatMac, type Ipv4Addr, ipv4, type MacAddr, udp, vxlan } from "../../wire/index.js";
import type { EthDevice, Link } from "../eth.js";

const ETH = ethernet.ETHERNET_HEADER_LEN;
/** Outer IPv4 (20) + UDP (8) around the datagram. */
const IP_UDP = ipv4.IPV4_HEADER_LEN + udp.UDP_HEADER_LEN;
/** Linux's ip4_dst_hoplimit: the TTL the vxlan driver sends with (ttl 0 = inherit 64). */
const OUTER_TTL = 64;

/** A node at the other end of the underlay. */
export interface UnderlayPeer {
  /** Name for messages and counters ("node-2"). */
  name: string;
  /** The peer node's underlay address (its eth0 address, the VXLAN remote). */
  addr: Ipv4Addr;
  /** The peer's eth0 MAC: ARP for `addr` is answered with it, rebuilt frames carry it as source. */
  mac: MacAddr;
  /** Where its underlay socket is. */
  host: string;
  port: number;
  /**
   * Accept the peer's datagrams from any source port of `host`. A Linux kernel peer needs it: its
   * vxlan driver sends from a flow-hashed port (udp_flow_src_port), not from 8472. A kubewire peer
   * sends from its bound port, and by default only that (address, port) is accepted.
   */
  anySourcePort?: boolean;
}

export interface UdpUnderlayOptions {
  /** Local address and port of this node's underlay socket (port 0: an ephemeral port). */
  host: string;
  port: number;
  /** The VXLAN UDP port the emulated stack uses (the outer destination port). Default 8472. */
  vxlanPort?: number;
  peers?: readonly UnderlayPeer[];
}

/** What drives virtual time when datagrams arrive from outside the scheduler (the real-time driver). */
export interface UnderlayClock {
  /** Moves virtual time to the wall clock's now, firing the timers due on the way. */
  catchUp(): void;
  /** Runs what was queued at the current instant and re-arms the wall timer. */
  kick(): void;
}

export interface UnderlayStats {
  txDatagrams: number;
  txBytes: number;
  rxDatagrams: number;
  rxBytes: number;
  /** ARP requests for a peer answered locally. */
  arpProxied: number;
  /** Send errors reported by the sockets (ECONNREFUSED when a peer is gone). */
  sendFailed: number;
  /** Datagrams from senders that are not peers. */
  unknownSender: number;
}

interface PeerState extends UnderlayPeer {
  /** A socket bound to our address and port, connected to the peer: sends need no lookup, and the
   *  kernel reports the peer's ICMP port unreachable on it as ECONNREFUSED (an unconnected UDP
   *  socket never hears of it). */
  sock: Socket | null;
  refused: number;
}

/**
 * A Link whose medium is a UDP socket. Open it with `UdpUnderlay.open(eth0, opts)`; it connects
 * itself to the device. Datagrams are accepted only from configured peers (their address and port,
 * or any port of their address with `anySourcePort`). Linux's vxlan accepts from anyone (flannel
 * relies on its FDB for the way out only); kubewire is stricter by default, so that a stray sender
 * on a shared host cannot inject frames, and counts what it refuses as UNDERLAY_PEER_UNKNOWN.
 */
export class UdpUnderlay implements Link {
  readonly stats: UnderlayStats = { txDatagrams: 0, txBytes: 0, rxDatagrams: 0, rxBytes: 0, arpProxied: 0, sendFailed: 0, unknownSender: 0 };
  /** Set by the real-time driver; null in deterministic mode (the caller runs the scheduler). */
  clock: UnderlayClock | null = null;
  readonly vxlanPort: number;
  private readonly byAddr = new Map<number, PeerState>();
  private readonly byHost = new Map<string, PeerState[]>();
  private closed = false;

  private constructor(
    readonly dev: EthDevice,
    private readonly listener: Socket,
    readonly host: string,
    readonly port: number,
    vxlanPort: number,
  ) {
    this.vxlanPort = vxlanPort;
    listener.on("message", (msg, rinfo) => this.rcv(this.lookup(rinfo), msg, rinfo));
    listener.on("error", (e) => this.socketError(null, e));
  }

  /** Binds the socket (refusing a port already in use), connects to the peers, attaches to `dev`. */
  static async open(dev: EthDevice, o: UdpUnderlayOptions): Promise<UdpUnderlay> {
    // SO_REUSEADDR lets the per-peer sockets share our port; probe first that nobody else holds it.
    if (o.port !== 0) await bindSocket(createSocket({ type: "udp4" }), o.host, o.port).then(closeSocket);
    const listener = await bindSocket(createSocket({ type: "udp4", reuseAddr: true }), o.host, o.port);
    const u = new UdpUnderlay(dev, listener, o.host, listener.address().port, o.vxlanPort ?? vxlan.VXLAN_PORT_LINUX);
    try {
      for (const p of o.peers ?? []) await u.setPeer(p);
    } catch (e) {
      await u.close();
      throw e;
    }
    dev.connect(u);
    return u;
  }

  /** Adds a peer, or moves it to a new socket address (a peer restarted elsewhere). */
  async setPeer(p: UnderlayPeer): Promise<void> {
    const old = this.byAddr.get(p.addr);
    if (old) this.removePeer(old);
    const st: PeerState = { ...p, sock: null, refused: 0 };
    this.byAddr.set(p.addr, st);
    const list = this.byHost.get(p.host) ?? [];
    list.push(st);
    this.byHost.set(p.host, list);
    const sock = await bindSocket(createSocket({ type: "udp4", reuseAddr: true }), this.host, this.port);
    await new Promise<void>((resolve, reject) => {
      const fail = (e: Error) => {
        closeSocket(sock);
        reject(new Error(`underlay: cannot connect to ${p.name} at ${p.host}:${p.port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      };
      sock.once("error", fail);
      sock.connect(p.port, p.host, () => {
        sock.off("error", fail);
        resolve();
      });
    });
    sock.on("message", (msg, rinfo) => this.rcv(st, msg, rinfo));
    sock.on("error", (e) => this.socketError(st, e));
    if (this.byAddr.get(p.addr) === st && !this.closed) st.sock = sock;
    else closeSocket(sock);
  }

  /** The configured peers, with the refusals counted per peer. */
  peers(): (UnderlayPeer & { refused: number })[] {
    return [...this.byAddr.values()].map(({ sock: _, ...p }) => p);
  }

  /** Where the socket is bound (the port chosen when 0 was asked). */
  address(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }

  attach(_dev: EthDevice): void {}

  detach(_dev: EthDevice): void {}

  /** A frame eth0 sends: VXLAN-over-UDP to a peer goes out as a datagram; ARP for a peer is answered. */
  transmit(from: EthDevice, pkt: Packet): void {
    const b = pkt.buf;
    const o = pkt.head;
    const end = pkt.tail;
    if (end - o < ETH) return from.drop(pkt, DropReason.PKT_TOO_SMALL, "underlay: ethernet header");
    const type = ethernet.etherType(b, o);
    if (type === ethernet.EtherType.ARP) return this.arpProxy(from, pkt);
    if (type !== ethernet.EtherType.IPv4) return from.drop(pkt, DropReason.UNDERLAY_NOT_CARRIED, `ethertype 0x${type.toString(16).padStart(4, "0")}`);
    const ip = o + ETH;
    if (ipv4.check(b, ip, end) !== undefined) return from.drop(pkt, DropReason.IP_INHDR, "underlay: outer IPv4");
    const peer = this.byAddr.get(ipv4.dstAddr(b, ip));
    if (peer === undefined) return from.drop(pkt, DropReason.UNDERLAY_PEER_UNKNOWN, `no underlay peer ${formatIpv4(ipv4.dstAddr(b, ip))}`);
    const l4 = ip + ipv4.headerLength(b, ip);
    if (ipv4.protocol(b, ip) !== 17 || ipv4.isFragment(b, ip) || udp.check(b, l4, end) !== undefined || udp.dstPort(b, l4) !== this.vxlanPort)
      return from.drop(pkt, DropReason.UNDERLAY_NOT_CARRIED, `not VXLAN (UDP ${this.vxlanPort}) to ${peer.name}`);
    const sock = peer.sock;
    if (sock === null) return from.drop(pkt, DropReason.UNDERLAY_SEND_FAILED, `${peer.name}: not connected`);
    const start = l4 + udp.UDP_HEADER_LEN;
    const n = udp.length(b, l4) - udp.UDP_HEADER_LEN;
    // node:dgram may hold the buffer past this call (a queued send): the pooled packet cannot lend it.
    const data = Buffer.allocUnsafe(n);
    b.copy(data, 0, start, start + n);
    pkt.free();
    try {
      sock.send(data);
    } catch (e) {
      return this.socketError(peer, e as Error);
    }
    this.stats.txDatagrams++;
    this.stats.txBytes += n;
  }

  /** Proxy ARP: a request for a peer's underlay address gets a reply from the peer's MAC. */
  private arpProxy(from: EthDevice, pkt: Packet): void {
    const b = pkt.buf;
    const o = pkt.head + ETH;
    if (arp.check(b, o, pkt.tail) !== undefined) return from.drop(pkt, DropReason.ARP_MALFORMED, "underlay");
    const peer = arp.op(b, o) === arp.ArpOp.Request ? this.byAddr.get(arp.tpa(b, o)) : undefined;
    if (peer === undefined) return from.drop(pkt, DropReason.UNDERLAY_NOT_CARRIED, `ARP ${arp.op(b, o) === arp.ArpOp.Request ? `who-has ${formatIpv4(arp.tpa(b, o))}` : "reply"}`);
    const sha = arp.sha(b, o);
    const spa = arp.spa(b, o);
    pkt.free();
    const r = from.ns.sim.pool.alloc();
    const at = r.put(ETH + arp.ARP_LEN);
    ethernet.emit({ dstAddr: sha, srcAddr: peer.mac, etherType: ethernet.EtherType.ARP }, r.buf, at);
    arp.emit({ op: arp.ArpOp.Reply, sha: peer.mac, spa: peer.addr, tha: sha, tpa: spa }, r.buf, at + ETH);
    this.stats.arpProxied++;
    from.ns.sim.sched.enqueue(underlayRx, from, r);
  }

  private lookup(rinfo: RemoteInfo): PeerState | undefined {
    const list = this.byHost.get(rinfo.address);
    if (list === undefined) return undefined;
    for (const p of list) if (p.port === rinfo.port) return p;
    for (const p of list) if (p.anySourcePort) return p;
    return undefined;
  }

  /**
   * A datagram from the socket: rebuilt into the frame eth0 would have received (peer's MAC and
   * underlay address → ours, UDP to the VXLAN port with checksum 0, TTL 64, no DF, as the vxlan
   * driver sends) and handed to the device at the current virtual time.
   */
  private rcv(peer: PeerState | undefined, msg: Buffer, rinfo: RemoteInfo): void {
    const dev = this.dev;
    this.stats.rxDatagrams++;
    this.stats.rxBytes += msg.length;
    if (this.closed) return;
    if (peer === undefined) {
      this.stats.unknownSender++;
      return this.dropNoPacket(DropReason.UNDERLAY_PEER_UNKNOWN, `datagram from ${rinfo.address}:${rinfo.port}`);
    }
    const local = dev.primaryAddr;
    if (local === undefined) return this.dropNoPacket(DropReason.DEV_READY, "eth0 has no address");
    if (msg.length + IP_UDP > dev.mtu) return this.dropNoPacket(DropReason.PKT_TOO_BIG, `datagram of ${msg.length} bytes from ${peer.name}`);
    this.clock?.catchUp();
    const ns = dev.ns;
    const len = ETH + IP_UDP + msg.length;
    const p = ns.sim.pool.alloc(undefined, len);
    const o = p.put(len);
    const b = p.buf;
    ethernet.setDstAddr(b, o, dev.mac);
    ethernet.setSrcAddr(b, o, peer.mac);
    ethernet.setEtherType(b, o, ethernet.EtherType.IPv4);
    const ip = o + ETH;
    b[ip] = 0x45;
    b[ip + 1] = 0;
    ipv4.setTotalLen(b, ip, IP_UDP + msg.length);
    ipv4.setIdent(b, ip, ns.nextIdent(peer.addr, local, 17));
    b[ip + 6] = 0;
    b[ip + 7] = 0;
    b[ip + 8] = OUTER_TTL;
    b[ip + 9] = 17;
    ipv4.setSrcAddr(b, ip, peer.addr);
    ipv4.setDstAddr(b, ip, local);
    ipv4.fillChecksum(b, ip);
    const l4 = ip + ipv4.IPV4_HEADER_LEN;
    // The source port is the datagram's own: a Linux peer's is the flow hash of the inner frame.
    udp.setSrcPort(b, l4, rinfo.port);
    udp.setDstPort(b, l4, this.vxlanPort);
    udp.setLength(b, l4, udp.UDP_HEADER_LEN + msg.length);
    udp.setChecksum(b, l4, 0);
    msg.copy(b, l4 + udp.UDP_HEADER_LEN);
    ns.sim.sched.enqueue(underlayRx, dev, p);
    this.clock?.kick();
  }

  /** Socket errors are data, not exceptions: ECONNREFUSED (peer gone) and the like are counted. */
  private socketError(peer: PeerState | null, e: Error): void {
    this.stats.sendFailed++;
    if (peer) peer.refused++;
    const code = (e as NodeJS.ErrnoException).code ?? e.message;
    this.dropNoPacket(DropReason.UNDERLAY_SEND_FAILED, `${code}${peer ? ` from ${peer.name} (${peer.host}:${peer.port})` : ""}`);
  }

  /** Counts a drop on eth0 for a datagram that never became a packet. */
  private dropNoPacket(reason: DropReason, detail: string): void {
    const dev = this.dev;
    dev.drops.add(reason);
    const sim = dev.ns.sim;
    if (sim.trace.on) sim.trace.emit({ t: sim.sched.now, ns: dev.ns.name, dev: dev.name, kind: "drop", reason, detail });
  }

  private removePeer(p: PeerState): void {
    this.byAddr.delete(p.addr);
    const list = (this.byHost.get(p.host) ?? []).filter((x) => x !== p);
    if (list.length) this.byHost.set(p.host, list);
    else this.byHost.delete(p.host);
    if (p.sock) closeSocket(p.sock);
    p.sock = null;
  }

  /** Closes every socket; eth0 loses its carrier. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.dev.link === this) this.dev.link = null;
    const all = [this.listener, ...[...this.byAddr.values()].flatMap((p) => (p.sock ? [p.sock] : []))];
    for (const p of this.byAddr.values()) p.sock = null;
    await Promise.all(all.map(closeSocket));
  }

  toString(): string {
    return `udp underlay ${this.host}:${this.port} (${[...this.byAddr.values()].map((p) => `${p.name} ${formatIpv4(p.addr)} at ${p.host}:${p.port} ${formatMac(p.mac)}`).join(", ")})`;
  }
}

function underlayRx(dev: EthDevice, pkt: Packet): void {
  dev.receive(pkt);
}

function bindSocket(sock: Socket, host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const fail = (e: Error) => {
      sock.close();
      reject(new Error(`underlay: cannot bind UDP ${host}:${port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    };
    sock.once("error", fail);
    sock.bind(port, host, () => {
      sock.off("error", fail);
      resolve(sock);
    });
  });
}

function closeSocket(sock: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

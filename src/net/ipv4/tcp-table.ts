// The per-namespace TCP tables (net/ipv4/inet_hashtables.c) and the listening sockets they hold
// (inet_connection_sock in LISTEN with its accept queue): the established hash keyed by a
// number computed from the 4-tuple (no string per segment), the listening hash by port, the bind
// hash by local port, and ephemeral ports from ip_local_port_range in Linux's order (even ports
// first for connect(), __inet_hash_connect) from a seeded start.

import type { Rng } from "../../sim/index.js";
import type { NetNamespace } from "../core/netns.js";
import { defaultTcpSysctls, newTcpMib, type TcpMib, type TcpSock, TcpState, type TcpSysctls, type TcpUser } from "./tcp-sock.js";

export interface TcpTable {
  /** Sockets with a 4-tuple (SYN_SENT … TIME_WAIT) by ehashKey, chained through sk.hashNext. */
  readonly ehash: Map<number, TcpSock>;
  /** Listening sockets by local port. */
  readonly listeners: Map<number, TcpListener[]>;
  /** Holders of each local port (the bind hash). */
  readonly bhash: Map<number, (TcpSock | TcpListener)[]>;
  readonly sysctl: TcpSysctls;
  /** Seeded randomness: ISNs, timestamp offsets, IP IDs. */
  readonly rng: Rng;
  /** Next ephemeral port to try (table_perturb). */
  nextPort: number;
  /** Sockets in the established hash. */
  count: number;
  /** RSTs sent for segments that found no socket, segments received and sent (tcp MIB). */
  readonly mib: TcpMib;
}

export function tcpTable(ns: NetNamespace): TcpTable {
  let t = ns.state.get("tcp") as TcpTable | undefined;
  if (t === undefined) {
    const [lo, hi] = ns.sysctl.ipLocalPortRange;
    const portRng = ns.rng.derive("tcp-ports");
    t = {
      ehash: new Map(),
      listeners: new Map(),
      bhash: new Map(),
      sysctl: defaultTcpSysctls(),
      rng: ns.rng.derive("tcp"),
      nextPort: (portRng.int(hi - lo + 1) & ~1) >>> 0,
      count: 0,
      mib: newTcpMib(),
    };
    ns.state.set("tcp", t);
  }
  return t;
}

/**
 * The established-hash key of a 4-tuple: a 32-bit mix of the remote address and port and the
 * local address, times 2^16, plus the local port (48 bits, exact in a double). Different tuples
 * may share a key; the chain compares all four fields.
 */
export function ehashKey(laddr: number, lport: number, raddr: number, rport: number): number {
  let h = Math.imul(raddr ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(laddr | 1, 0xc2b2ae35) ^ (rport * 0x10001);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h >>> 0) * 65536 + lport;
}

/** __inet_lookup_established: the socket of a received segment's 4-tuple (saddr is the peer). */
export function lookupEstablished(t: TcpTable, saddr: number, sport: number, daddr: number, dport: number): TcpSock | null {
  let sk = t.ehash.get(ehashKey(daddr, dport, saddr, sport)) ?? null;
  while (sk !== null) {
    if (sk.dport === sport && sk.sport === dport && sk.daddr === saddr && sk.saddr === daddr) return sk;
    sk = sk.hashNext;
  }
  return null;
}

/** __inet_lookup_listener: an exact local address beats the wildcard. */
export function lookupListener(t: TcpTable, daddr: number, dport: number): TcpListener | null {
  const list = t.listeners.get(dport);
  if (list === undefined) return null;
  let wild: TcpListener | null = null;
  for (let i = 0; i < list.length; i++) {
    const l = list[i];
    if (l.addr === daddr) return l;
    if (l.addr === 0) wild = l;
  }
  return wild;
}

/** inet_ehash_insert. */
export function ehashInsert(t: TcpTable, sk: TcpSock): void {
  const key = ehashKey(sk.saddr, sk.sport, sk.daddr, sk.dport);
  sk.hashKey = key;
  sk.hashNext = t.ehash.get(key) ?? null;
  t.ehash.set(key, sk);
  sk.hashed = true;
  t.count++;
}

/** inet_unhash: removes the socket from the established hash and releases its port. */
export function ehashRemove(t: TcpTable, sk: TcpSock): void {
  if (sk.hashed) {
    sk.hashed = false;
    t.count--;
    let head = t.ehash.get(sk.hashKey) ?? null;
    if (head === sk) {
      if (sk.hashNext === null) t.ehash.delete(sk.hashKey);
      else t.ehash.set(sk.hashKey, sk.hashNext);
    } else {
      while (head !== null && head.hashNext !== sk) head = head.hashNext;
      if (head !== null) head.hashNext = sk.hashNext;
    }
    sk.hashNext = null;
  }
  unbindPort(t, sk);
}

export function bindPort(t: TcpTable, port: number, holder: TcpSock | TcpListener): void {
  const list = t.bhash.get(port);
  if (list) list.push(holder);
  else t.bhash.set(port, [holder]);
  if ("bound" in holder) holder.bound = true;
}

export function unbindPort(t: TcpTable, holder: TcpSock | TcpListener): void {
  if ("bound" in holder) {
    if (!holder.bound) return;
    holder.bound = false;
  }
  const port = "sport" in holder ? holder.sport : holder.port;
  const list = t.bhash.get(port);
  if (list === undefined) return;
  const i = list.indexOf(holder);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) t.bhash.delete(port);
}

/**
 * inet_csk_bind_conflict: whether binding (addr, port) conflicts with a holder of the port on an
 * overlapping address. With SO_REUSEADDR (Node sets it on servers) only a listener conflicts, so
 * a server restarts while its old connections sit in TIME_WAIT; without it, any holder does.
 */
export function bindConflict(t: TcpTable, addr: number, port: number, reuseAddr: boolean): boolean {
  const list = t.bhash.get(port);
  if (list === undefined) return false;
  for (const h of list) {
    const haddr = "sport" in h ? h.saddr : h.addr;
    if (haddr !== 0 && addr !== 0 && haddr !== addr) continue;
    if (!reuseAddr || h.state === TcpState.LISTEN) return true;
  }
  return false;
}

/**
 * An ephemeral port for connect() (__inet_hash_connect): from a seeded offset, ports of the
 * range's low parity first in steps of two, then the other parity. A port held by any socket
 * is skipped.
 */
export function ephemeralPort(ns: NetNamespace, t: TcpTable): number {
  const [lo, hi] = ns.sysctl.ipLocalPortRange;
  const remaining = hi - lo + 1;
  let offset = (t.nextPort % remaining) & ~1;
  for (let pass = 0; pass < 2; pass++, offset++) {
    for (let i = 0; i < remaining; i += 2) {
      const port = lo + ((offset + i) % remaining);
      if (!t.bhash.has(port)) {
        t.nextPort = offset + i + 2;
        return port;
      }
    }
  }
  return 0;
}

/** A listening socket (the LISTEN state of inet_connection_sock with its accept queue). */
export class TcpListener {
  readonly state = TcpState.LISTEN;
  /** Connections established and not yet accepted (icsk_accept_queue). */
  readonly acceptQueue: TcpSock[] = [];
  /** Passive opens in SYN_RECV. */
  synRecv = 0;
  user: TcpUser | null = null;
  events = 0;
  closed = false;
  /** Accepting paused by the owner: connections wait in the accept queue up to the backlog. */
  paused = false;
  private wakePending = false;

  constructor(
    readonly ns: NetNamespace,
    readonly addr: number,
    readonly port: number,
    public backlog: number,
  ) {}

  /** sk_acceptq_is_full: Linux admits backlog + 1 connections. */
  get acceptQueueFull(): boolean {
    return this.acceptQueue.length > this.backlog;
  }

  wake(ev: number): void {
    this.events |= ev;
    if (this.wakePending) return;
    this.wakePending = true;
    this.ns.sim.sched.enqueue(listenerWake, this);
  }

  /** @internal */
  deliverEvents(): void {
    this.wakePending = false;
    const ev = this.events;
    this.events = 0;
    if (ev !== 0 && this.user !== null) this.user.tcpEvent(ev);
  }
}

function listenerWake(l: TcpListener): void {
  l.deliverEvents();
}

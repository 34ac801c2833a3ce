// Sending ICMP echo requests, as iputils ping does: 56 bytes of data (a 16-byte timestamp then
// the bytes 0x10, 0x11, …), DF set, an identifier per pinger, sequence numbers from 1.

import { type Ipv4Addr, icmp, parseIpv4 } from "../../wire/index.js";
import type { NetNamespace } from "../core/netns.js";
import { type EchoReply, icmpState } from "./icmp.js";
import { ipOutput, type OutputError, routeOutput } from "./output.js";

export interface PingOptions {
  ident?: number;
  seq?: number;
  /** ICMP data bytes (ping -s). Default 56. */
  size?: number;
  ttl?: number;
  df?: boolean;
}

/** Sends one echo request; `onReply` is called for each reply with the same identifier. */
export function ping(ns: NetNamespace, to: string, opts: PingOptions = {}, onReply?: (r: EchoReply) => void): OutputError | undefined {
  const r = parseIpv4(to);
  if (!r.ok) throw new Error(r.error);
  const daddr = r.value;
  const ident = opts.ident ?? (ns.rng.u32() & 0xffff);
  const seq = opts.seq ?? 1;
  const size = opts.size ?? 56;
  const rt = routeOutput(ns, daddr);
  if (typeof rt === "string") return rt;
  if (onReply) icmpState(ns).echo.set(ident, onReply);
  const p = ns.sim.pool.alloc(128, size + 8);
  const o = p.put(8 + size);
  const b = p.buf;
  const now = ns.sim.sched.now;
  // struct timeval (tv_sec, tv_usec as 64-bit little-endian), as ping puts in its first 16 bytes.
  const d = o + 8;
  for (let i = 0; i < size; i++) b[d + i] = (0x10 + i - 16) & 0xff;
  if (size >= 16) {
    const secs = Math.floor(now / 1e9);
    const usecs = Math.floor((now % 1e9) / 1e3);
    b.writeUInt32LE(secs, d);
    b.writeUInt32LE(0, d + 4);
    b.writeUInt32LE(usecs, d + 8);
    b.writeUInt32LE(0, d + 12);
  }
  icmp.emit({ type: icmp.IcmpType.EchoRequest, ident, seq, data: b.subarray(d, d + size) }, b, o);
  return ipOutput(ns, p, daddr as Ipv4Addr, 1, rt, { df: opts.df ?? true, ttl: opts.ttl, id: ns.nextIdent(rt.src, daddr, 1) });
}

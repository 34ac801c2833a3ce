// Sockets before and after a connection (net/ipv4/tcp_minisocks.c, tcp_ipv4.c): a listener's SYN
// becomes a SYN_RECV socket answering with a SYN-ACK (tcp_v4_conn_request, the request sock), and
// a TIME_WAIT socket re-ACKs a retransmitted FIN, dies on RST and lets a newer SYN reopen.

import type { Packet } from "../../packet/index.js";
import { DropReason } from "../../sim/index.js";
import { ipv4, tcp } from "../../wire/index.js";
import type { NetDevice } from "../core/device.js";
import type { NetNamespace } from "../core/netns.js";
import { pathMtu } from "./icmp.js";
import { routeOutput } from "./output.js";
import { opt, parseOptions } from "./tcp-options.js";
import { tcpSendAck, tcpSendSyn, tcpSyncMss, tcpV4SendReset, } from "./tcp-output.js";
import {
  after,
  seqAdd,
  TCP_MSS_DEFAULT,
  TCP_TIMEOUT_INIT,
  TCP_TIMEWAIT_LEN,
  TcpSock,
  TcpState,
} from "./tcp-sock.js";
import { bindPort, ehashInsert, lookupListener, type TcpListener, type TcpTable, tcpTable } from "./tcp-table.js";
import { tcpDone, tcpInitTimers } from "./tcp-timers.js";
import { tcpFullSpace, tcpInitializeRcvMss, tcpSelectInitialWindow } from "./tcp-window.js";

const { FIN, SYN, RST, ACK } = tcp.TcpFlags;

/** Seeds a new socket: ISN, timestamp offset and IP ID from the namespace's TCP stream, buffers, timers. */
export function tcpInitSock(sk: TcpSock, t: TcpTable): void {
  sk.iss = t.rng.u32();
  sk.ts_offset = t.rng.u32();
  sk.inetId = t.rng.u32() & 0xffff;
  sk.rcvbuf = t.sysctl.rmem[1];
  sk.mib = t.mib;
  sk.rto = TCP_TIMEOUT_INIT;
  sk.snd_una = sk.iss;
  sk.snd_nxt = sk.snd_sml = sk.pushed_seq = sk.sndSeq = sk.write_seq = seqAdd(sk.iss, 1);
  tcpInitTimers(sk);
}

/** A segment for a listener: a SYN becomes a SYN_RECV socket and a SYN-ACK (tcp_v4_conn_request). */
export function tcpListenRcv(l: TcpListener, dev: NetDevice, pkt: Packet): void {
  const ns = l.ns;
  const b = pkt.buf;
  const th = pkt.l4;
  const fl = b[th + 13];
  if (fl & RST) return pkt.free();
  if (fl & ACK) {
    tcpV4SendReset(ns, pkt);
    return pkt.free();
  }
  if (!(fl & SYN)) return pkt.free();
  // Linux drops a SYN when the accept queue is full (LINUX_MIB_LISTENOVERFLOWS).
  if (l.acceptQueueFull || l.synRecv > Math.max(l.backlog, 128)) return dev.drop(pkt, DropReason.NOT_SPECIFIED, "listen overflow");
  const t = tcpTable(ns);
  const saddr = ipv4.dstAddr(b, pkt.l3);
  const daddr = ipv4.srcAddr(b, pkt.l3);
  const rt = routeOutput(ns, daddr, saddr);
  if (typeof rt === "string") return dev.drop(pkt, DropReason.IP_OUTNOROUTES, "no route for the SYN-ACK");
  parseOptions(b, th, tcp.headerLength(b, th));
  const sk = new TcpSock(ns);
  sk.saddr = saddr;
  sk.daddr = daddr;
  sk.sport = l.port;
  sk.dport = tcp.srcPort(b, th);
  sk.rt = rt;
  sk.parent = l;
  sk.state = TcpState.SYN_RECV;
  tcpInitSock(sk, t);
  const sys = t.sysctl;
  sk.tstamp_ok = opt.tstamp && sys.timestamps;
  sk.sack_ok = opt.sackOk && sys.sack;
  sk.wscale_ok = opt.wscale >= 0 && sys.windowScaling;
  sk.snd_wscale = sk.wscale_ok ? opt.wscale : 0;
  sk.mss_clamp = opt.mss || TCP_MSS_DEFAULT;
  sk.ts_recent = opt.tsval;
  sk.tcp_header_len = sk.tstamp_ok ? 32 : 20;
  sk.irs = tcp.seqNumber(b, th);
  sk.rcv_nxt = sk.rcv_wup = sk.copied_seq = seqAdd(sk.irs, 1);
  sk.snd_wnd = sk.max_window = tcp.window(b, th);
  sk.snd_wl1 = sk.irs;
  // tcp_openreq_init_rwin: the SYN-ACK's window from the listener's buffer, in whole segments.
  sk.advmss = Math.min(rt.dev.mtu, 65535) - 40;
  tcpSelectInitialWindow(sk, tcpFullSpace(sk), sk.advmss - (sk.tstamp_ok ? 12 : 0), sk.wscale_ok, sys.rmemMax, sys.rmem[2]);
  sk.rcv_ssthresh = sk.rcv_wnd;
  tcpSyncMss(sk, Math.min(rt.dev.mtu, pathMtu(ns, daddr) ?? rt.dev.mtu));
  tcpInitializeRcvMss(sk);
  ehashInsert(t, sk);
  bindPort(t, sk.sport, sk);
  l.synRecv++;
  tcpSendSyn(sk);
  pkt.free();
}

/** tcp_timewait_state_process: re-ACK a retransmitted FIN, die on RST, let a newer SYN reopen. */
export function tcpTimewaitRcv(ns: NetNamespace, t: TcpTable, sk: TcpSock, dev: NetDevice, pkt: Packet): void {
  const b = pkt.buf;
  const th = pkt.l4;
  const fl = b[th + 13];
  const seq = tcp.seqNumber(b, th);
  const len = pkt.tail - th - tcp.headerLength(b, th);
  if (fl & RST) {
    tcpDone(sk);
    return pkt.free();
  }
  if (fl & SYN && !(fl & ACK) && after(seq, sk.rcv_nxt)) {
    // TCP_TW_SYN: a new incarnation of the connection; the listener takes it.
    tcpDone(sk);
    const l = lookupListener(t, ipv4.dstAddr(b, pkt.l3), tcp.dstPort(b, th));
    if (l !== null && !l.closed) return tcpListenRcv(l, dev, pkt);
    tcpV4SendReset(ns, pkt);
    return pkt.free();
  }
  if (seq === sk.rcv_nxt && len === 0 && !(fl & (SYN | FIN))) return pkt.free();
  parseOptions(b, th, tcp.headerLength(b, th));
  if (fl & ACK) sk.skTimer.arm(ns.sim.sched.now + TCP_TIMEWAIT_LEN);
  tcpSendAck(sk);
  pkt.free();
}

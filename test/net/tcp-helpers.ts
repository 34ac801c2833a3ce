// Helpers shared by the TCP tests: the TCP segments of a capture as tshark dissects them
// (relative sequence numbers, options in wire order), and small scenarios on the bridge topology.

import { createTcpConnection, createTcpServer, type NetDevice, type NetNamespace, type TcpSocket } from "../../src/net/index.js";
import { ethernet, ipv4, tcp } from "../../src/wire/index.js";
import { tsharkFieldLists } from "../helpers/tshark.js";

export interface Segment {
  /** "c2s" from the client (the side whose destination port is the server's), else "s2c". */
  dir: "c2s" | "s2c";
  flags: string;
  /** Sequence and acknowledgment numbers relative to the ISNs (tshark's), and as on the wire. */
  seq: number;
  ack: number;
  seqRaw: number;
  /** The window field as sent (before scaling). */
  win: number;
  len: number;
  ttl: number;
  df: boolean;
  /** Option kinds in wire order, NOPs included. */
  options: number[];
  mss?: number;
  wscale?: number;
  retransmission: boolean;
  frame: number;
}

const FLAG_NAMES: [number, string][] = [
  [0x02, "S"],
  [0x01, "F"],
  [0x04, "R"],
  [0x08, "P"],
  [0x10, "."],
];

/** "S", "S.", ".", "P.", "F.", "R." as tcpdump prints them. */
export function flagString(f: number): string {
  return FLAG_NAMES.filter(([bit]) => f & bit)
    .map(([, n]) => n)
    .join("");
}

/** The TCP segments of `file` (of one pcapng interface when `iface` is given). */
export function tcpSegments(file: string, serverPort: number, iface?: string): Segment[] {
  const fields = [
    "frame.number",
    "tcp.dstport",
    "tcp.flags",
    "tcp.seq",
    "tcp.ack",
    "tcp.seq_raw",
    "tcp.window_size_value",
    "tcp.len",
    "ip.ttl",
    "ip.flags.df",
    "tcp.option_kind",
    "tcp.options.mss_val",
    "tcp.options.wscale.shift",
    "tcp.analysis.retransmission",
    "tcp.analysis.fast_retransmission",
  ];
  const filter = iface ? `tcp && frame.interface_name == "${iface}"` : "tcp";
  return tsharkFieldLists(file, fields, { filter }).map((r) => {
    const n = (f: string) => Number(r[f][0]);
    const s: Segment = {
      dir: n("tcp.dstport") === serverPort ? "c2s" : "s2c",
      flags: flagString(Number.parseInt(r["tcp.flags"][0], 16)),
      seq: n("tcp.seq"),
      ack: n("tcp.ack"),
      seqRaw: n("tcp.seq_raw"),
      win: n("tcp.window_size_value"),
      len: n("tcp.len"),
      ttl: n("ip.ttl"),
      df: r["ip.flags.df"][0] === "1" || r["ip.flags.df"][0] === "True",
      options: r["tcp.option_kind"].map(Number),
      retransmission: r["tcp.analysis.retransmission"].length > 0 || r["tcp.analysis.fast_retransmission"].length > 0,
      frame: n("frame.number"),
    };
    if (r["tcp.options.mss_val"].length) s.mss = n("tcp.options.mss_val");
    if (r["tcp.options.wscale.shift"].length) s.wscale = n("tcp.options.wscale.shift");
    return s;
  });
}

/**
 * The request/response exchange of the Linux twin's python scripts: the client connects, sends
 * `n` bytes, reads `n` back and closes; the server reads `n`, answers `n`, closes on EOF.
 */
export function exchange(client: NetNamespace, server: NetNamespace, host: string, port: number, n: number): { done: Promise<{ clientGot: number; serverGot: number }>; socket: TcpSocket } {
  let serverGot = 0;
  const srv = createTcpServer(server, {}, (s) => {
    s.on("data", (d: Buffer) => {
      serverGot += d.length;
      if (serverGot === n) s.write(Buffer.alloc(n, 0x62));
    });
  }).listen(port);
  let clientGot = 0;
  const c = createTcpConnection(client, { host, port }, () => c.write(Buffer.alloc(n, 0x61)));
  c.on("data", (d: Buffer) => {
    clientGot += d.length;
    if (clientGot === n) c.end();
  });
  const done = new Promise<{ clientGot: number; serverGot: number }>((resolve, reject) => {
    c.on("error", reject);
    c.on("close", () => {
      srv.close();
      resolve({ clientGot, serverGot });
    });
  });
  return { done, socket: c };
}

/** Python scripts for the twin: the same exchange with Linux's sockets. */
export const PY_SERVER = `
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port)); s.listen(8); print("listening", flush=True)
c, _ = s.accept(); got = 0
while got < n:
    d = c.recv(65536)
    if not d: break
    got += len(d)
c.sendall(b"b" * n)
while c.recv(65536): pass
c.close(); print("done", got, flush=True)
`;

export const PY_CLIENT = `
import socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = socket.socket()
try:
    c.connect((host, port))
except ConnectionRefusedError:
    print("ECONNREFUSED", flush=True); sys.exit(0)
c.sendall(b"a" * n); got = 0
while got < n:
    d = c.recv(65536)
    if not d: break
    got += len(d)
c.close(); print("got", got, flush=True)
`;

/** A TCP segment seen by a device tap, decoded with the wire codecs (no tshark: fast). */
export interface TapSegment {
  /** Virtual time, ns. */
  t: number;
  /** Transmitted or received by the tapped device. */
  dir: "tx" | "rx";
  sport: number;
  dport: number;
  flags: string;
  seq: number;
  ack: number;
  win: number;
  len: number;
  ttl: number;
  df: boolean;
  ipId: number;
  /** Option kinds in wire order, NOPs included. */
  options: number[];
  mss?: number;
  wscale?: number;
  tsval?: number;
}

/** Records every TCP segment `dev` sends or receives. */
export function tapTcp(dev: NetDevice): TapSegment[] {
  const out: TapSegment[] = [];
  dev.addTap((d, pkt, dir) => {
    const b = pkt.buf;
    const e = pkt.head;
    if (ethernet.etherType(b, e) !== 0x0800) return;
    const l3 = e + 14;
    if (ipv4.protocol(b, l3) !== 6) return;
    const th = l3 + ipv4.headerLength(b, l3);
    const end = l3 + ipv4.totalLen(b, l3);
    const r = tcp.parse(b, th, end);
    if (!r.ok) throw new Error(`tap ${d.name}: ${JSON.stringify(r.error)}`);
    const options: number[] = [];
    for (let p = th + 20; p < th + tcp.headerLength(b, th); ) {
      options.push(b[p]);
      if (b[p] === 0) break;
      p += b[p] === 1 ? 1 : b[p + 1];
    }
    const repr = r.value;
    out.push({
      t: d.ns.sim.now,
      dir: dir === 1 ? "tx" : "rx",
      sport: repr.srcPort,
      dport: repr.dstPort,
      flags: flagString(repr.flags),
      seq: repr.seq,
      ack: repr.ack,
      win: repr.window,
      len: end - th - tcp.headerLength(b, th),
      ttl: ipv4.ttl(b, l3),
      df: ipv4.dontFrag(b, l3),
      ipId: ipv4.ident(b, l3),
      options,
      mss: repr.options.mss,
      wscale: repr.options.wscale,
      tsval: repr.options.timestamp?.val,
    });
  });
  return out;
}

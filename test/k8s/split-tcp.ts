// TCP across a split cluster: the exchanges of the split tests, their single-process baseline on
// the virtual clock, and the frames at the pods with their TCP headers, reduced to what does not
// depend on the wall clock (the timestamp option's values are wall-clock milliseconds in real
// time; everything else — flags, raw sequence and acknowledgment numbers, windows, options and
// their order, MSS, window scale, payload bytes — must be the same).
import { readCapture } from "../../src/capture/index.js";
import { createTcpConnection, createTcpServer, NetCapture, type NetNamespace, runUntilSettled, tcpEchoServer } from "../../src/net/index.js";
import type { Scenario } from "../../src/scenario/index.js";
import { ethernet, ipv4, tcp } from "../../src/wire/index.js";
import { type FrameSummary, summarise } from "../helpers/packets.js";
import { flagString } from "../net/tcp-helpers.js";
import { buildCluster } from "./split-helpers.js";

/** `n` bytes of `text` repeated. */
export const pattern = (n: number, text: string): string => text.repeat(Math.ceil(n / text.length)).slice(0, n);

/**
 * Each way one request/response exchange: the client connects, sends the payload, reads as many
 * bytes back, closes; the server (an echo with `batch` = the payload's length, so it answers in one
 * write whatever the arrival times) closes when the client does. 10 000 bytes take the sender
 * through slow start (8 segments, ACK-clocked); 3 000 bytes are 3 segments.
 */
export const TCP_TRAFFIC = [
  { from: "client", to: "server", port: 8080, srcPort: 41000, payload: pattern(10_000, "client to server over the underlay; ") },
  { from: "server", to: "client", port: 8081, srcPort: 41001, payload: pattern(3_000, "and back from node-2; ") },
] as const;

export interface TcpExchangeResult {
  reply?: string;
  closed: boolean;
  error?: string;
}

/** The TCP traffic in one process on the virtual clock (settled with Node's queues). */
export async function baselineTcp(s: Scenario, pcap: string): Promise<TcpExchangeResult[]> {
  const c = buildCluster(s);
  const cap = new NetCapture(pcap).attachAll(...c.namespaces());
  const servers = TCP_TRAFFIC.map((t) => tcpEchoServer(c.pod(t.to).ns, t.port, { batch: t.payload.length }));
  const out: TcpExchangeResult[] = [];
  for (const t of TCP_TRAFFIC) {
    const r: TcpExchangeResult = { closed: false };
    const chunks: Buffer[] = [];
    let got = 0;
    const sock = createTcpConnection(c.pod(t.from).ns, { host: c.pod(t.to).ipString, port: t.port, localPort: t.srcPort }, () => sock.write(t.payload));
    sock.on("data", (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= t.payload.length) sock.end();
    });
    sock.on("error", (e: NodeJS.ErrnoException) => (r.error ??= e.code));
    sock.on("close", () => (r.closed = r.error === undefined));
    await runUntilSettled(c.sim, { until: c.sim.now + 2e9 });
    if (got > 0) r.reply = Buffer.concat(chunks).toString("utf8");
    out.push(r);
  }
  for (const srv of servers) srv.close();
  cap.close();
  return out;
}

/** A TCP segment's header as compared across runs (the timestamp option's values left out). */
export interface TcpSummary {
  sport: number;
  dport: number;
  flags: string;
  seq: number;
  ack: number;
  win: number;
  /** Option kinds in wire order, NOPs included. */
  options: number[];
  mss?: number;
  wscale?: number;
  /** The payload, hex. */
  data: string;
}

export type PodFrame = FrameSummary & { tcp?: TcpSummary };

/** The TCP header and payload of an Ethernet frame (undefined when it is not TCP/IPv4). */
export function tcpSummary(b: Uint8Array): TcpSummary | undefined {
  if (b.length < ethernet.ETHERNET_HEADER_LEN + 40 || ethernet.etherType(b, 0) !== 0x0800) return undefined;
  const l3 = ethernet.ETHERNET_HEADER_LEN;
  if (ipv4.protocol(b, l3) !== tcp.TCP_PROTOCOL) return undefined;
  const th = l3 + ipv4.headerLength(b, l3);
  const end = l3 + ipv4.totalLen(b, l3);
  const r = tcp.parse(b, th, end);
  if (!r.ok) throw new Error(`a malformed TCP segment in a capture: ${JSON.stringify(r.error)}`);
  const hl = tcp.headerLength(b, th);
  const options: number[] = [];
  for (let p = th + tcp.TCP_HEADER_LEN; p < th + hl; ) {
    options.push(b[p]);
    if (b[p] === 0) break;
    p += b[p] === 1 ? 1 : b[p + 1];
  }
  const s: TcpSummary = {
    sport: r.value.srcPort,
    dport: r.value.dstPort,
    flags: flagString(r.value.flags),
    seq: r.value.seq,
    ack: r.value.ack,
    win: r.value.window,
    options,
    data: Buffer.from(b.subarray(th + hl, end)).toString("hex"),
  };
  if (r.value.options.mss !== undefined) s.mss = r.value.options.mss;
  if (r.value.options.wscale !== undefined) s.wscale = r.value.options.wscale;
  return s;
}

/** The frames at the pods' eth0 (`pods`: pod names), from any number of capture files, TCP headers included. */
export function podFrames(files: string[], pods: readonly string[] = ["client", "server"]): Record<string, PodFrame[]> {
  const want = new Set(pods.map((p) => `${p}/eth0`));
  const out: Record<string, PodFrame[]> = {};
  for (const f of files) {
    const cap = readCapture(f);
    if (cap.errors.length) throw new Error(`${f}: ${cap.errors.map((e) => e.what).join("; ")}`);
    for (const r of cap.records) {
      const name = r.interfaceName ?? cap.interfaces[r.interfaceId]?.name ?? "";
      if (!want.has(name)) continue;
      const frame: PodFrame = summarise(r.data);
      const t = tcpSummary(r.data);
      if (t) frame.tcp = t;
      (out[name] ??= []).push(frame);
    }
  }
  return out;
}

/** The TCP segments of a capture with their capture time (ns) and IPv4 source. */
export function captureTcp(file: string): (TcpSummary & { t: number; src: string; len: number })[] {
  const cap = readCapture(file);
  if (cap.errors.length) throw new Error(`${file}: ${cap.errors.map((e) => e.what).join("; ")}`);
  const out: (TcpSummary & { t: number; src: string; len: number })[] = [];
  for (const r of cap.records) {
    const s = tcpSummary(r.data);
    if (s) out.push({ ...s, t: Number(r.timestampNs), src: summarise(r.data).ip!.src, len: s.data.length / 2 });
  }
  return out;
}

/**
 * An interactive exchange whose second ACK waits for the delayed-ACK timer: the client sends
 * "one", the server answers it (and so enters ping-pong mode), the client sends "two", which the
 * server's app leaves unanswered: its ACK is delayed (ato). 300 ms after "two" the client closes.
 * `closed()` says when the client's socket is closed.
 */
export function delayedAckExchange(client: NetNamespace, server: NetNamespace, host: string, port: number): { closed: () => boolean } {
  createTcpServer(server, {}, (s) => {
    let answered = false;
    s.on("data", (d: Buffer) => {
      if (!answered) s.write(d);
      answered = true;
    });
  }).listen(port);
  let closed = false;
  const c = createTcpConnection(client, { host, port, localPort: 41003 }, () => c.write("one"));
  c.once("data", () => {
    c.write("two");
    client.sim.sched.after(300e6, () => c.end());
  });
  c.on("data", () => {});
  c.on("close", () => (closed = true));
  return { closed: () => closed };
}

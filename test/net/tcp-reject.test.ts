// REJECT --reject-with tcp-reset against TCP (nf_send_reset): a rejected SYN is answered RST,ACK
// (seq 0, ack ISN+1, window 0, no options, TTL 64, DF, IP ID 0, TOS 0) and the client's connect
// fails with ECONNREFUSED; a rejected data segment is answered by a bare RST carrying its ACK
// number and the client sees ECONNRESET; a rejected DNATed SYN is answered from the address the
// client asked for (nf_ct_attach). Checked against the Linux twin with the same rules loaded by the
// real iptables-restore, field by field on the client's eth0.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createTcpConnection, createTcpServer, NetCapture, runUntilSettled, type TcpSocket } from "../../src/net/index.js";
import { IptablesEngine, installNetfilter } from "../../src/netfilter/index.js";
import { describeLinux, useLinuxTwin } from "../helpers/linux.js";
import { tsharkFieldLists, tsharkProblems } from "../helpers/tshark.js";
import { flagString } from "./tcp-helpers.js";
import { routerBetweenSubnets } from "./topologies.js";
import { buildTwinRouter } from "./twin-topologies.js";

const dir = mkdtempSync(join(tmpdir(), "kw-tcp-reject-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RULES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.96.0.20/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.2.2:84
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -d 10.0.1.1/32 -p tcp -m tcp --dport 82 -j REJECT --reject-with tcp-reset
-A FORWARD -d 10.0.2.2/32 -p tcp -m tcp --dport 81 -j REJECT --reject-with tcp-reset
-A FORWARD -d 10.0.2.2/32 -p tcp -m tcp --dport 84 -j REJECT --reject-with tcp-reset
-A FORWARD -d 10.0.2.2/32 -p tcp -m tcp --dport 83 --tcp-flags PSH PSH -j REJECT --reject-with tcp-reset
COMMIT
`;

/** The connections, one after the other, the same on both sides: where to, from which port, what the client gets. */
const CASES = [
  { what: "SYN rejected in FORWARD", host: "10.0.2.2", port: 81, srcPort: 40081, send: false, error: "ECONNREFUSED" },
  { what: "SYN rejected in INPUT", host: "10.0.1.1", port: 82, srcPort: 40082, send: false, error: "ECONNREFUSED" },
  { what: "DNATed SYN rejected in FORWARD", host: "10.96.0.20", port: 80, srcPort: 40080, send: false, error: "ECONNREFUSED" },
  { what: "data segment rejected", host: "10.0.2.2", port: 83, srcPort: 40083, send: true, error: "ECONNRESET" },
] as const;

/** The fields compared, per segment on host-a's eth0 (sequence numbers relative, as tshark gives them). */
interface Seg {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags: string;
  seq: number;
  /** The sequence number on the wire (absolute; ISNs are seeded, so only a RST's 0 is compared). */
  seqRaw: number;
  ack: number;
  win: number;
  len: number;
  ttl: number;
  df: boolean;
  id: number;
  tos: number;
  options: number[];
}

function segments(file: string): Seg[] {
  const fields = ["ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "tcp.flags", "tcp.seq", "tcp.seq_raw", "tcp.ack", "tcp.window_size_value", "tcp.len", "ip.ttl", "ip.flags.df", "ip.id", "ip.dsfield", "tcp.option_kind"];
  return tsharkFieldLists(file, fields, { filter: "tcp" }).map((r) => ({
    src: r["ip.src"][0],
    dst: r["ip.dst"][0],
    sport: Number(r["tcp.srcport"][0]),
    dport: Number(r["tcp.dstport"][0]),
    flags: flagString(Number.parseInt(r["tcp.flags"][0], 16)),
    seq: Number(r["tcp.seq"][0]),
    seqRaw: Number(r["tcp.seq_raw"][0]),
    ack: Number(r["tcp.ack"][0]),
    win: Number(r["tcp.window_size_value"][0]),
    len: Number(r["tcp.len"][0]),
    ttl: Number(r["ip.ttl"][0]),
    df: r["ip.flags.df"][0] === "1" || r["ip.flags.df"][0] === "True",
    id: Number(r["ip.id"][0]),
    tos: Number(r["ip.dsfield"][0]),
    options: r["tcp.option_kind"].map(Number),
  }));
}

/** The RSTs, in order, with every field; and what led to each (flags of the segments before it). */
const resets = (segs: Seg[]) => segs.filter((s) => s.flags.includes("R"));

/** kubewire: the router topology with the rules in its engine; each case run to quiescence. */
async function kubewireRun(file: string): Promise<{ errors: (string | undefined)[]; segs: Seg[] }> {
  const k = routerBetweenSubnets();
  installNetfilter(k.r, { rules: new IptablesEngine({ rules: RULES, file: "rules.v4" }) });
  const cap = new NetCapture(file).attach(k.ea);
  createTcpServer(k.b).listen(83);
  const errors: (string | undefined)[] = [];
  for (const c of CASES) {
    const s: TcpSocket = createTcpConnection(k.a, { host: c.host, port: c.port, localPort: c.srcPort }, () => {
      if (c.send) s.write("hello");
    });
    const err = new Promise<string | undefined>((resolve) => {
      s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code));
      s.on("close", () => resolve(undefined));
    });
    await runUntilSettled(k.sim, { until: k.sim.now + 3e9 });
    errors.push(await err);
  }
  cap.close();
  return { errors, segs: segments(file) };
}

describe("REJECT --reject-with tcp-reset", () => {
  it("answers a SYN with RST,ACK and a data segment with RST, as nf_send_reset builds them", async () => {
    const file = join(dir, "reject.pcapng");
    const { errors, segs } = await kubewireRun(file);
    expect(errors).toEqual(CASES.map((c) => c.error));
    const rsts = resets(segs);
    expect(rsts.map((s) => `${s.src}:${s.sport} > ${s.dst}:${s.dport} ${s.flags}`)).toEqual([
      "10.0.2.2:81 > 10.0.1.2:40081 R.",
      "10.0.1.1:82 > 10.0.1.2:40082 R.",
      // Un-DNATed: the client hears from the address it connected to.
      "10.96.0.20:80 > 10.0.1.2:40080 R.",
      "10.0.2.2:83 > 10.0.1.2:40083 R",
    ]);
    for (const r of rsts) expect(r).toMatchObject({ win: 0, len: 0, df: true, id: 0, tos: 0, options: [] });
    // Answers to a SYN: seq 0, acknowledging the SYN; the router's own packet (TTL 64, not forwarded).
    for (const r of rsts.slice(0, 3)) expect(r).toMatchObject({ seqRaw: 0, ack: 1, ttl: 64 });
    // Answer to the data segment: the segment's ACK number as seq, no ACK.
    const data = segs.find((s) => s.dport === 83 && s.len > 0)!;
    const synAck = segs.find((s) => s.sport === 83 && s.flags === "S.")!;
    expect(rsts[3]).toMatchObject({ seqRaw: (synAck.seqRaw + data.ack) >>> 0, ack: 0, ttl: 64 });
    expect(tsharkProblems(file)).toEqual([]);
  });

  it("without tcp-reset in the rule, REJECT on TCP is an ICMP port unreachable: connect fails with ECONNREFUSED", async () => {
    const k = routerBetweenSubnets();
    installNetfilter(k.r, { rules: new IptablesEngine({ rules: "*filter\n-A FORWARD -p tcp --dport 81 -j REJECT\nCOMMIT\n" }) });
    const s = createTcpConnection(k.a, { host: "10.0.2.2", port: 81 });
    const err = new Promise<string | undefined>((resolve) => s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code)));
    await runUntilSettled(k.sim, { until: 3e9 });
    expect(await err).toBe("ECONNREFUSED");
  });
});

const PY_CLIENT = `
import socket, sys
host, port, sport, send = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); c.bind(("0.0.0.0", sport))
try:
    c.connect((host, port))
    if send:
        c.sendall(b"hello")
        c.recv(100)
    print("no error", flush=True)
except ConnectionRefusedError:
    print("ECONNREFUSED", flush=True)
except ConnectionResetError:
    print("ECONNRESET", flush=True)
`;

const PY_SERVER = `
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 83)); s.listen(8); print("listening", flush=True)
c, _ = s.accept(); c.recv(100); time.sleep(30)
`;

describeLinux("Linux twin: REJECT --reject-with tcp-reset", () => {
  const twin = useLinuxTwin();

  it("the RSTs on host-a's eth0 are Linux's, field by field", async () => {
    const t = twin();
    buildTwinRouter(t);
    t.iptablesRestore("router", RULES);
    const srv = t.spawn("host-b", ["python3", "-c", PY_SERVER]);
    await srv.waitFor(/listening/);
    const cap = await t.capture("host-a", "eth0", { filter: "tcp" });
    const linuxErrors = CASES.map((c) => t.exec("host-a", ["python3", "-c", PY_CLIENT, c.host, String(c.port), String(c.srcPort), c.send ? "1" : "0"]).trim());
    const linux = segments(await cap.stop());
    expect(linuxErrors).toEqual(CASES.map((c) => c.error));

    const file = join(dir, "reject-twin.pcapng");
    const kw = await kubewireRun(file);
    expect(kw.errors).toEqual(linuxErrors);
    // Every RST, every field: addresses, ports, flags, relative seq/ack, window, TTL, DF, IP ID,
    // TOS, options; the absolute seq only where it is not an ISN (0 in the answers to a SYN).
    const comparable = (segs: Seg[]) => resets(segs).map((r) => ({ ...r, seqRaw: r.flags === "R." ? r.seqRaw : "isn-based" }));
    expect(comparable(kw.segs)).toEqual(comparable(linux));
    expect(resets(linux)).toHaveLength(CASES.length);
  });
});

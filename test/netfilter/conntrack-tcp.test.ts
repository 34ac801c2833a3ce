// The TCP tracker on crafted segments through one namespace's conntrack (PREROUTING, then confirm).
import { describe, expect, it } from "vitest";
import { Hook, NetNamespace, Verdict } from "../../src/net/index.js";
import { Conntrack, CtInfo, conntrackEntries, conntrackList } from "../../src/netfilter/index.js";
import { buildTcp, type Packet } from "../../src/packet/index.js";
import { Sim } from "../../src/sim/index.js";
import { ipv4, mustParseIpv4, tcp } from "../../src/wire/index.js";

const { SYN, ACK, FIN, RST } = tcp.TcpFlags;
const C = mustParseIpv4("10.0.1.2");
const SRV = mustParseIpv4("10.0.2.2");

function setup() {
  const sim = new Sim({ seed: 5 });
  const ns = new NetNamespace(sim, "fw");
  const ct = new Conntrack(ns);
  /** A segment from the client (c) or the server (s) of the flow 10.0.1.2:40000 ↔ 10.0.2.2:80. */
  const seg = (from: "c" | "s", flags: number, seq: number, ack: number, len = 0, syn = false): Packet =>
    buildTcp(sim.pool, {
      eth: { src: 1, dst: 2 },
      ip: from === "c" ? { src: C, dst: SRV } : { src: SRV, dst: C },
      tcp: {
        srcPort: from === "c" ? 40000 : 80,
        dstPort: from === "c" ? 80 : 40000,
        seq,
        ack,
        flags,
        window: 502,
        options: syn ? { mss: 1460, wscale: 7, sackPermitted: true } : {},
      },
      payload: new Uint8Array(len),
    });
  /** Runs a segment through conntrack; returns its ctinfo (-1: INVALID) and the entry's state. */
  const pass = (p: Packet): { ctinfo: number; state?: string; timeout?: number } => {
    ct.in(Hook.PreRouting, p, null);
    ct.confirm(p);
    const ctinfo = p.ct < 0 ? -1 : p.ctinfo;
    const [e] = conntrackEntries(ct, { proto: "tcp" });
    p.free();
    return { ctinfo, state: e?.state, timeout: e?.timeout };
  };
  return { sim, ns, ct, seg, pass };
}

describe("TCP tracker", () => {
  it("follows the handshake, data, and the close through TIME_WAIT with Linux's timeouts", () => {
    const { ct, seg, pass } = setup();
    expect(pass(seg("c", SYN, 1000, 0, 0, true))).toEqual({ ctinfo: CtInfo.New, state: "SYN_SENT", timeout: 120 });
    expect(pass(seg("s", SYN | ACK, 5000, 1001, 0, true))).toEqual({ ctinfo: CtInfo.EstablishedReply, state: "SYN_RECV", timeout: 60 });
    expect(pass(seg("c", ACK, 1001, 5001))).toEqual({ ctinfo: CtInfo.Established, state: "ESTABLISHED", timeout: 432000 });
    expect(conntrackList(ct)).toEqual([
      "tcp      6 432000 ESTABLISHED src=10.0.1.2 dst=10.0.2.2 sport=40000 dport=80 src=10.0.2.2 dst=10.0.1.2 sport=80 dport=40000 [ASSURED] mark=0 use=1",
    ]);
    // Data not yet acknowledged: the shorter "unacknowledged" timeout (5 min) applies. PSH (as on
    // every data segment Linux sends) is no part of tcp_error's flag check.
    expect(pass(seg("c", ACK | tcp.TcpFlags.PSH, 1001, 5001, 100))).toMatchObject({ ctinfo: CtInfo.Established, timeout: 300 });
    expect(pass(seg("s", ACK, 5001, 1101)).timeout).toBe(432000);
    expect(pass(seg("c", FIN | ACK, 1101, 5001)).state).toBe("FIN_WAIT");
    expect(pass(seg("s", ACK, 5001, 1102)).state).toBe("CLOSE_WAIT");
    expect(pass(seg("s", FIN | ACK, 5001, 1102))).toMatchObject({ state: "LAST_ACK", timeout: 30 });
    expect(pass(seg("c", ACK, 1102, 5002))).toMatchObject({ state: "TIME_WAIT", timeout: 120 });
    // A new SYN reopens the connection from TIME_WAIT: a fresh entry (RFC 1122).
    expect(pass(seg("c", SYN, 9000, 0, 0, true))).toMatchObject({ ctinfo: CtInfo.New, state: "SYN_SENT" });
    expect(ct.table.count).toBe(1);
  });

  it("marks out-of-window segments INVALID and leaves the entry alone", () => {
    const { seg, pass } = setup();
    pass(seg("c", SYN, 1000, 0, 0, true));
    pass(seg("s", SYN | ACK, 5000, 1001, 0, true));
    pass(seg("c", ACK, 1001, 5001));
    // SEQ far over the receiver's window.
    expect(pass(seg("c", ACK, 1001 + 50_000_000, 5001, 10)).ctinfo).toBe(-1);
    // ACK of data the server never sent.
    expect(pass(seg("c", ACK, 1001, 5001 + 10_000_000)).ctinfo).toBe(-1);
    // In-window traffic carries on.
    expect(pass(seg("c", ACK, 1001, 5001, 10))).toMatchObject({ ctinfo: CtInfo.Established, state: "ESTABLISHED" });
  });

  it("treats invalid flag combinations and a first segment that cannot open a flow as INVALID", () => {
    const { ct, seg, pass } = setup();
    expect(pass(seg("c", SYN | FIN, 1, 0)).ctinfo).toBe(-1);
    expect(pass(seg("c", SYN | ACK, 1, 0)).ctinfo).toBe(-1);
    expect(pass(seg("c", RST, 1, 0)).ctinfo).toBe(-1);
    expect(ct.table.count).toBe(0);
  });

  it("picks up a connection seen mid-stream (nf_conntrack_tcp_loose) as ESTABLISHED", () => {
    const { seg, pass } = setup();
    expect(pass(seg("c", ACK, 1001, 5001, 10))).toMatchObject({ ctinfo: CtInfo.New, state: "ESTABLISHED" });
    expect(pass(seg("s", ACK, 5001, 1011))).toMatchObject({ ctinfo: CtInfo.EstablishedReply, state: "ESTABLISHED" });
  });

  it("deletes the entry when the only answer to a SYN is a RST", () => {
    const { ct, seg, pass } = setup();
    pass(seg("c", SYN, 1000, 0, 0, true));
    expect(pass(seg("s", RST | ACK, 0, 1001))).toEqual({ ctinfo: CtInfo.EstablishedReply, state: undefined, timeout: undefined });
    expect(ct.count()).toBe(0);
  });

  it("a RST from the client before any reply kills the entry but still lets the RST through", () => {
    const { ct, seg } = setup();
    const syn = seg("c", SYN, 1000, 0, 0, true);
    ct.in(Hook.PreRouting, syn, null);
    ct.confirm(syn);
    syn.free();
    const rst = seg("c", RST, 1001, 0);
    ct.in(Hook.PreRouting, rst, null);
    expect(rst.ct).toBeGreaterThanOrEqual(0);
    expect(ct.confirm(rst)).toBe(Verdict.Accept);
    rst.free();
    expect(ct.count()).toBe(0);
  });
});

describe("generic tracker", () => {
  it("tracks other protocols by address pair for 600 s", () => {
    const { sim, ct } = setup();
    const p = sim.pool.alloc(64, 40);
    const l3 = p.put(24);
    ipv4.emit({ srcAddr: C, dstAddr: SRV, protocol: 47, ttl: 64, ident: 0, dontFrag: true, moreFrags: false, fragOffset: 0, dscp: 0, ecn: 0, payloadLen: 4 }, p.buf, l3);
    p.l3 = l3;
    p.l4 = l3 + 20;
    ct.in(Hook.PreRouting, p, null);
    ct.confirm(p);
    p.free();
    expect(conntrackList(ct)).toEqual(["unknown  47 600 src=10.0.1.2 dst=10.0.2.2 [UNREPLIED] src=10.0.2.2 dst=10.0.1.2 mark=0 use=1"]);
  });
});


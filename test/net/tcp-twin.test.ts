// The Linux twin of kubewire's TCP: the same exchange (connect, 10 kB each way, close; and a
// connect to a closed port) between two pods on a bridge, with Linux's sockets (python) and with
// kubewire's, captured on pod-a's eth0 and compared: the handshake, the close and the RST field by
// field (flags, options in order, MSS, window scale, window, TTL, DF, relative seq/ack), the data
// phase by segment sizes and bytes delivered. The twin turns GSO off on the pods (gso_max_segs 1):
// tcpdump on a veth otherwise sees the GSO super-segments before they are cut to the MSS.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { createTcpConnection, NetCapture, runUntilSettled } from "../../src/net/index.js";
import { describeLinux, type LinuxTwin, useLinuxTwin } from "../helpers/linux.js";
import { tsharkProblems } from "../helpers/tshark.js";
import { exchange, PY_CLIENT, PY_SERVER, type Segment, tcpSegments } from "./tcp-helpers.js";
import { MACS, twoPodsOneBridge } from "./topologies.js";

const dir = mkdtempSync(join(tmpdir(), "kw-tcp-twin-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PORT = 8080;
const N = 10_000;

function buildTwin(t: LinuxTwin, mtu: number): void {
  for (const n of ["node-1", "pod-a", "pod-b"]) t.ns(n);
  t.bridge("node-1", "cni0", { mac: MACS.cni0 });
  t.addr("node-1", "cni0", "10.244.1.1/24");
  for (const [pod, veth, podMac, vethMac, ip] of [
    ["pod-a", "veth-a", MACS.podA, MACS.vethA, "10.244.1.2/24"],
    ["pod-b", "veth-b", MACS.podB, MACS.vethB, "10.244.1.3/24"],
  ]) {
    t.veth(pod, "eth0", "node-1", veth, { macA: podMac, macB: vethMac, mtu });
    t.attach("node-1", veth, "cni0");
    t.ip(pod, ["link", "set", "dev", "eth0", "gso_max_segs", "1"]);
    t.addr(pod, "eth0", ip);
    t.route(pod, "default via 10.244.1.1");
  }
}

function kubewire(mtu: number) {
  const k = twoPodsOneBridge();
  for (const d of [k.ea, k.eb, k.ha, k.hb, k.br]) d.mtu = mtu;
  return k;
}

/** What the comparison covers of a handshake, close or RST segment (ports and ISNs left out). */
const exact = (s: Segment) => ({ dir: s.dir, flags: s.flags, seq: s.seq, ack: s.ack, win: s.win, len: s.len, ttl: s.ttl, df: s.df, options: s.options, mss: s.mss, wscale: s.wscale });

/** Sizes of the data segments each way, in order (no retransmissions on this clean link). */
const dataSizes = (segs: Segment[], dir: "c2s" | "s2c") => segs.filter((s) => s.dir === dir && s.len > 0).map((s) => s.len);

/** The close: from the first FIN to the end. */
const closing = (segs: Segment[]) => segs.slice(segs.findIndex((s) => s.flags.includes("F")));

/** A capture holding the whole exchange: N bytes each way, both FINs and the last ACK. */
function complete(segs: Segment[]): boolean {
  const bytes = (d: "c2s" | "s2c") => dataSizes(segs, d).reduce((a, b) => a + b, 0);
  return bytes("c2s") === N && bytes("s2c") === N && closing(segs).length === 3;
}

async function linuxExchange(t: LinuxTwin, mtu: number): Promise<Segment[]> {
  buildTwin(t, mtu);
  // tcpdump on a busy machine sometimes loses the tail of a capture: run again rather than
  // compare against half an exchange.
  let segs: Segment[] = [];
  for (let attempt = 0; attempt < 3 && !complete(segs); attempt++) {
    const srv = t.spawn("pod-b", ["python3", "-c", PY_SERVER, String(PORT), String(N)]);
    await srv.waitFor(/listening/);
    const cap = await t.capture("pod-a", "eth0", { filter: "tcp" });
    expect(t.exec("pod-a", ["python3", "-c", PY_CLIENT, "10.244.1.3", String(PORT), String(N)])).toContain(`got ${N}`);
    await srv.exited;
    await new Promise((r) => setTimeout(r, 200));
    segs = tcpSegments(await cap.stop(), PORT);
  }
  expect(complete(segs), "the Linux capture holds the whole exchange").toBe(true);
  return segs;
}

describeLinux("Linux twin: TCP", () => {
  const twin = useLinuxTwin();

  for (const mtu of [1500, 1450]) {
    it(`MTU ${mtu}: connect, 10 kB each way, close`, async () => {
      const linux = await linuxExchange(twin(), mtu);

      const k = kubewire(mtu);
      const file = join(dir, `exchange-${mtu}.pcapng`);
      const cap = new NetCapture(file).attach(k.ea);
      const { done } = exchange(k.a, k.b, "10.244.1.3", PORT, N);
      await runUntilSettled(k.sim);
      cap.close();
      expect(await done).toEqual({ clientGot: N, serverGot: N });
      const kw = tcpSegments(file, PORT);

      // The handshake, exactly: SYN, SYN-ACK, ACK.
      expect(kw.slice(0, 3).map(exact)).toEqual(linux.slice(0, 3).map(exact));
      expect(kw[0].mss).toBe(mtu - 40);
      expect(kw[0].options).toEqual([2, 4, 8, 1, 3]);
      // Data: the same segment sizes each way (MSS − 12 for the timestamp option), every byte.
      for (const d of ["c2s", "s2c"] as const) {
        expect(dataSizes(kw, d)).toEqual(dataSizes(linux, d));
        expect(dataSizes(kw, d).reduce((a, b) => a + b, 0)).toBe(N);
      }
      expect(dataSizes(kw, "c2s")[0]).toBe(mtu - 52);
      for (const s of kw.slice(2)) expect(s.options).toEqual([1, 1, 8]);
      // The close: FIN, FIN, ACK, field by field. The window there has grown with the data, and
      // Linux grows it with its reader's wall-clock timing and the skb->len/truesize ratio its
      // driver gives: identical runs of the twin close with 74 to 80 (× 1024) here. kubewire
      // closes with 74 or 75: compared within that spread.
      const kwClose = closing(kw);
      const linuxClose = closing(linux);
      expect(kwClose.map((s) => ({ ...exact(s), win: 0 }))).toEqual(linuxClose.map((s) => ({ ...exact(s), win: 0 })));
      for (const [i, s] of kwClose.entries()) expect(Math.abs(s.win - linuxClose[i].win), `close segment ${i} window`).toBeLessThanOrEqual(6);
      expect(kw.some((s) => s.retransmission)).toBe(false);
      expect(tsharkProblems(file, { minSeverity: "warning" })).toEqual([]);
    });
  }

  it("connect to a closed port: RST,ACK with window 0, ECONNREFUSED", async () => {
    const t = twin();
    buildTwin(t, 1500);
    const cap = await t.capture("pod-a", "eth0", { filter: "tcp" });
    expect(t.exec("pod-a", ["python3", "-c", PY_CLIENT, "10.244.1.3", "9999", "1"])).toContain("ECONNREFUSED");
    const linux = tcpSegments(await cap.stop(), 9999);

    const k = kubewire(1500);
    const file = join(dir, "refused.pcapng");
    const kcap = new NetCapture(file).attach(k.ea);
    const c = createTcpConnection(k.a, { host: "10.244.1.3", port: 9999 });
    const err = new Promise<NodeJS.ErrnoException>((resolve) => c.on("error", resolve));
    await runUntilSettled(k.sim);
    kcap.close();
    const e = await err;
    expect(e.code).toBe("ECONNREFUSED");
    expect(e.message).toBe("connect ECONNREFUSED 10.244.1.3:9999");
    const kw = tcpSegments(file, 9999);
    expect(kw.map(exact)).toEqual(linux.map(exact));
    expect(kw.map((s) => s.flags)).toEqual(["S", "R."]);
    expect(kw[1]).toMatchObject({ seqRaw: 0, ack: 1, win: 0, ttl: 64, df: true, options: [] });
    // A reset is a warning to tshark by design; nothing is malformed and no error.
    expect(tsharkProblems(file)).toEqual([]);
  });
});

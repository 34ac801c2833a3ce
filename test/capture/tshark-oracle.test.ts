// The oracle checked against itself (it must see problems where there are some, and decode
// VXLAN on flannel's port when told), and the crash test: a capture cut mid-block still opens.
import { closeSync, mkdtempSync, openSync, rmSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PcapngWriter, PcapWriter, readCapture } from "../../src/capture/index.js";
import { internetChecksum, writeU16 } from "../../src/wire/checksum.js";
import { CAPTURES_DIR } from "../helpers/captures.js";
import { runTshark, tsharkCount, tsharkFields, tsharkJson, tsharkProblems } from "../helpers/tshark.js";
import { udpFrame } from "./frames.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kubewire-oracle-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pcapngOf(name: string, frames: Uint8Array[]): string {
  const file = join(dir, name);
  const w = new PcapngWriter(file);
  w.addInterface({ name: "test0" });
  for (const [i, f] of frames.entries()) w.writePacket(0, i * 1000, f);
  w.close();
  return file;
}

describe("tsharkProblems", () => {
  it("is empty for well-formed frames", () => {
    expect(tsharkProblems(pcapngOf("ok.pcapng", [udpFrame(42), udpFrame(64), udpFrame(1514)]))).toEqual([]);
  });

  it("reports a malformed frame (a UDP header cut by the IPv4 total length)", () => {
    const f = udpFrame(64);
    writeU16(f, 16, 24); // IPv4 total length 24: 4 bytes of UDP header
    writeU16(f, 24, 0);
    writeU16(f, 24, internetChecksum(f, 14, 34));
    const problems = tsharkProblems(pcapngOf("malformed.pcapng", [udpFrame(42), f]));
    expect(problems).toEqual([
      { frame: 2, malformed: true, messages: ["Malformed Packet (Exception occurred)"], protocol: "UDP", info: expect.any(String) },
    ]);
  });

  it("reports a bad IPv4 header checksum and a bad UDP checksum (checked by default)", () => {
    const badIp = udpFrame(64);
    badIp[24] ^= 0xff;
    const badUdp = udpFrame(64);
    badUdp[63] ^= 0x01; // payload changed after the checksum was computed
    const file = pcapngOf("checksums.pcapng", [badIp, udpFrame(64), badUdp]);
    const problems = tsharkProblems(file);
    expect(problems.map((p) => [p.frame, p.malformed, p.messages.every((m) => /^Bad checksum/.test(m))])).toEqual([
      [1, false, true],
      [3, false, true],
    ]);
    expect(tsharkProblems(file, { checksums: false })).toEqual([]);
  });

  it("real captures: checksum offload shows as errors, a TCP reset as a warning", () => {
    expect(tsharkProblems(CAPTURES_DIR + "tcpdump_ntp.pcap").map((p) => p.frame)).toEqual([1, 3, 5, 7]);
    expect(tsharkProblems(CAPTURES_DIR + "tcpdump_ntp.pcap", { checksums: false })).toEqual([]);
    const mptcp = CAPTURES_DIR + "tcpdump_mptcp-fclose.pcap";
    expect(tsharkProblems(mptcp)).toEqual([]);
    expect(tsharkProblems(mptcp, { minSeverity: "warning" })).toMatchObject([
      { frame: 11, malformed: false, messages: ["Connection reset (RST)"], protocol: "MPTCP" },
    ]);
  });
});

describe("tsharkJson and tsharkFields", () => {
  const vxlan8472 = CAPTURES_DIR + "tcpdump_vxlan_port_8472.pcap";

  it("decodes VXLAN on flannel's port 8472 only when told (-d udp.port==8472,vxlan)", () => {
    expect(tsharkFields(vxlan8472, ["vxlan.vni"]).every((r) => r["vxlan.vni"] === "")).toBe(true);
    const rows = tsharkFields(vxlan8472, ["vxlan.vni", "ip.src", "frame.len"], { decodeAs: ["udp.port==8472,vxlan"] });
    expect(rows.length).toBe(10);
    expect(rows.every((r) => r["vxlan.vni"] === "100")).toBe(true);
    // Outer and inner addresses, outer first, joined as tshark -T fields joins them.
    expect(rows[0]["ip.src"]).toBe("192.168.203.1,192.168.203.3");
    expect(tsharkCount(vxlan8472, { filter: "arp", decodeAs: ["udp.port==8472,vxlan"] })).toBe(2);
  });

  it("gives a protocol present twice (outer and inner Ethernet) as an array, outer first", () => {
    const [frame1] = tsharkJson(vxlan8472, { decodeAs: ["udp.port==8472,vxlan"] });
    const eth = frame1.eth as Array<Record<string, string>>;
    expect(Array.isArray(eth)).toBe(true);
    expect(eth.length).toBe(2);
    expect((frame1.vxlan as Record<string, string>)["vxlan.vni"]).toBe("100");
    expect((frame1.frame as Record<string, string>)["frame.len"]).toBe("148");
  });

  it("throws with tshark's message when tshark fails, unless allowErrors", () => {
    expect(() => tsharkFields(join(dir, "missing.pcapng"), ["frame.len"])).toThrow(/exited with 2.*doesn't exist/s);
    expect(runTshark(join(dir, "missing.pcapng"), [], { allowErrors: true }).status).toBe(2);
  });
});

describe("a capture cut short by a crash", () => {
  const N = 200;

  /** Writes N packets, flushes (the process "dies" without close()), and cuts the file mid-block. */
  function crash(kind: "pcap" | "pcapng"): { file: string; whole: number } {
    const file = join(dir, `crash.${kind}`);
    const fd = openSync(file, "w");
    const sizes: number[] = [];
    if (kind === "pcapng") {
      const w = new PcapngWriter(fd, { bufferSize: 4096 });
      w.addInterface({ name: "node-1/eth0" });
      for (let i = 0; i < N; i++) {
        w.writePacket(0, 1_000_000 * i, udpFrame(64 + (i % 7)), 0, undefined, `packet ${i}`);
        sizes.push(w.bytesWritten);
      }
      w.flush();
    } else {
      const w = new PcapWriter(fd, { bufferSize: 4096 });
      for (let i = 0; i < N; i++) {
        w.writePacket(1_000_000 * i, udpFrame(64 + (i % 7)));
        sizes.push(w.bytesWritten);
      }
      w.flush();
    }
    closeSync(fd);
    expect(statSync(file).size).toBe(sizes[N - 1]);
    // Cut in the middle of packet 150 (its block starts at sizes[148]).
    const whole = 149;
    truncateSync(file, sizes[whole - 1] + 21);
    return { file, whole };
  }

  it.each(["pcap", "pcapng"] as const)("%s: tshark reads the whole blocks and says the file was cut short", (kind) => {
    const { file, whole } = crash(kind);
    const run = runTshark(file, ["-T", "fields", "-e", "frame.number"], { allowErrors: true });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/cut short in the middle of a packet/);
    expect(run.stdout.trim().split("\n").length).toBe(whole);
    expect(tsharkCount(file, { allowErrors: true })).toBe(whole);
    expect(tsharkProblems(file, { allowErrors: true })).toEqual([]);

    const c = readCapture(file);
    expect(c.records.length).toBe(whole);
    expect(c.errors).toEqual([{ file, offset: expect.any(Number), kind: "truncated", what: expect.any(String) }]);
    expect(c.records.at(-1)!.timestampNs).toBe(BigInt(1_000_000 * (whole - 1)));
    if (kind === "pcapng") expect(c.records.at(-1)!.comments).toEqual([`packet ${whole - 1}`]);
  });

  it("without the cut, what was flushed before the crash is a valid capture", () => {
    const file = join(dir, "flushed.pcapng");
    const w = new PcapngWriter(file, { bufferSize: 1024 });
    w.addInterface({ name: "a" });
    for (let i = 0; i < 50; i++) w.writePacket(0, i, udpFrame(100));
    // No flush, no close: only whole buffers reached the file.
    const c = readCapture(file);
    expect(c.errors).toEqual([]);
    expect(c.records.length).toBeGreaterThan(0);
    expect(c.records.length).toBeLessThan(50);
    expect(tsharkCount(file)).toBe(c.records.length);
    w.close();
    expect(readCapture(file).records.length).toBe(50);
  });
});

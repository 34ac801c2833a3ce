// Wire-level hot paths, each beside its floor: VXLAN encap+decap of a 64-byte inner frame, with the
// flow hash computed and already on the packet (floor: writing the 50-byte template into headroom
// and reading the VNI back), IPv4+UDP checksums full
// (floor: the same bytes summed in a bare loop) and incremental (floor: the same field writes
// without checksum upkeep).

import { writeFileSync } from "node:fs";
import { buildUdp, type Packet, PacketPool, vxlanDecap, vxlanEncap, vxlanTemplate } from "../src/packet/index.js";
import { ipv4, mustParseIpv4, pseudoHeaderSum, udp } from "../src/wire/index.js";
import { type BenchCase, environment, type FloorPair, printTable, RESULTS_DIR, runPairs } from "./harness.js";

/** Operations per timed call. */
const N = 10_000;
/** Where results land, so a JIT cannot discard the work. */
export const sink = { value: 0 };

const pool = new PacketPool();
const INNER_SRC = mustParseIpv4("10.244.1.2");
const INNER_DST = mustParseIpv4("10.244.2.3");
/** Where a socket's stack puts its payload (alloc(128, …) in src/net/ipv4 udp.ts and tcp-output.ts). */
const SOCKET_HEADROOM = 128;
/** Ethernet 14 + IPv4 20 + UDP 8 in front of the payload. */
const INNER_HEADERS = 42;
/**
 * A 64-byte inner frame (Ethernet 14 + IPv4 20 + UDP 8 + 22 bytes of data) laid out as the
 * emulator's sockets lay out theirs: the payload at SOCKET_HEADROOM and the headers pushed in
 * front, so the Ethernet header starts at 2 mod 4 and the IPv4 header is 4-aligned (Linux's
 * NET_IP_ALIGN); 50 bytes in front of it, the outer header is 4-aligned too.
 */
const innerFrame = (): Packet => {
  const built = buildUdp(pool, {
    eth: { src: 0x0a580af40102, dst: 0x0a580af40201 },
    ip: { src: INNER_SRC, dst: INNER_DST, ident: 1 },
    udp: { srcPort: 41000, dstPort: 53 },
    payload: new Uint8Array(22).fill(0x5a),
  });
  const p = pool.alloc(SOCKET_HEADROOM - INNER_HEADERS, built.length);
  p.buf.set(built.bytes(), p.head);
  p.tail = p.head + built.length;
  built.free();
  return p;
};
const template = () =>
  vxlanTemplate({
    srcMac: 0x02000a000001,
    dstMac: 0x02000a000002,
    local: mustParseIpv4("192.168.0.1"),
    remote: mustParseIpv4("192.168.0.2"),
    vni: 1,
    port: 8472,
  });

/**
 * The floor: the cheapest copy of the 50-byte template into headroom known here, plus reading the
 * VNI back. On the 4-aligned outer head that is 13 aligned Int32Array stores of the template's
 * host-order words, the last merged with the 2 inner bytes it shares (one load and store): ~4 ns in
 * a standalone timing loop here, against ~4.3 ns with two byte stores for the last 2 bytes (the
 * floor before), ~6.4 ns for 13 big-endian DataView stores and ~12 ns for one `Uint8Array.set` of
 * the 50 bytes. Inside the bench process, with benny and its lodash loaded, loops like these run
 * slower (this floor ~4 → ~6–8 ns), figure and floor alike.
 */
const templateFloor: BenchCase = {
  name: "write 50 B template (13 aligned words) + read VNI",
  ops: N,
  make: () => {
    const pkt = innerFrame();
    const t = template();
    const w = t.hostWords;
    const buf = pkt.buf;
    const words = pkt.words;
    return () => {
      let acc = 0;
      for (let i = 0; i < N; i++) {
        const h = pkt.head - 50;
        const k = h >> 2;
        // Unrolled (a loop over the words costs as much as the set).
        words[k] = w[0];
        words[k + 1] = w[1];
        words[k + 2] = w[2];
        words[k + 3] = w[3];
        words[k + 4] = w[4];
        words[k + 5] = w[5];
        words[k + 6] = w[6];
        words[k + 7] = w[7];
        words[k + 8] = w[8];
        words[k + 9] = w[9];
        words[k + 10] = w[10];
        words[k + 11] = w[11];
        // The last 2 bytes merged into the word they share with the inner frame's first 2.
        words[k + 12] = (words[k + 12] & -65536) | w[12];
        acc ^= (buf[h + 46] << 16) | (buf[h + 47] << 8) | buf[h + 48];
      }
      sink.value ^= acc;
    };
  },
};

/**
 * A fresh packet each time: it carries no flow hash (vxlanDecap clears the one vxlanEncap kept,
 * as a new skb has none), so every vxlanEncap hashes the inner flow.
 */
const encapDecap: FloorPair = {
  suite: "vxlan encap+decap (64 B inner), fresh packet: hash computed",
  target: 25,
  figure: {
    name: "vxlanEncap + vxlanDecap",
    ops: N,
    make: () => {
      const pkt = innerFrame();
      const t = template();
      return () => {
        let acc = 0;
        for (let i = 0; i < N; i++) {
          vxlanEncap(pkt, t);
          acc ^= vxlanDecap(pkt);
        }
        sink.value ^= acc;
      };
    },
  },
  floor: templateFloor,
};

/**
 * The packet already carries its flow hash (a socket's sk_txhash, or an earlier skb_get_hash), set
 * before each vxlanEncap, so the inner headers are not hashed.
 */
const encapDecapCachedHash: FloorPair = {
  ...encapDecap,
  suite: "vxlan encap+decap, hash already on the packet (sk_txhash)",
  figure: {
    name: "pkt.hash set; vxlanEncap + vxlanDecap",
    ops: N,
    make: () => {
      const pkt = innerFrame();
      const t = template();
      const hash = 0x9e3779b9 | 0;
      return () => {
        let acc = 0;
        for (let i = 0; i < N; i++) {
          pkt.hash = hash;
          vxlanEncap(pkt, t);
          acc ^= vxlanDecap(pkt);
        }
        sink.value ^= acc;
      };
    },
  },
};

const checksumFull: FloorPair = {
  suite: "ipv4+udp checksum full (64 B data)",
  figure: {
    name: "ipv4.fillChecksum + udp.fillChecksum",
    ops: N,
    make: () => {
      const p = buildUdp(pool, { eth: { src: 1, dst: 2 }, ip: { src: INNER_SRC, dst: INNER_DST }, udp: { srcPort: 1, dstPort: 2 }, payload: new Uint8Array(64).fill(7) });
      const b = p.buf;
      const l3 = p.l3;
      const l4 = p.l4;
      return () => {
        let acc = 0;
        for (let i = 0; i < N; i++) {
          ipv4.fillChecksum(b, l3);
          udp.fillChecksum(b, l4, INNER_SRC, INNER_DST, 72);
          acc ^= b[l4 + 6];
        }
        sink.value ^= acc;
      };
    },
  },
  floor: {
    name: "bare loop over the same 92 bytes",
    ops: N,
    make: () => {
      const p = buildUdp(pool, { eth: { src: 1, dst: 2 }, ip: { src: INNER_SRC, dst: INNER_DST }, udp: { srcPort: 1, dstPort: 2 }, payload: new Uint8Array(64).fill(7) });
      const b = p.buf;
      const l3 = p.l3;
      const l4 = p.l4;
      const pseudo = pseudoHeaderSum(INNER_SRC, INNER_DST, 17, 72);
      return () => {
        let acc = 0;
        for (let i = 0; i < N; i++) {
          let s = 0;
          for (let j = l3; j < l3 + 20; j += 2) s += (b[j] << 8) | b[j + 1];
          let u = pseudo;
          for (let j = l4; j < l4 + 72; j += 2) u += (b[j] << 8) | b[j + 1];
          s = (s & 0xffff) + (s >>> 16);
          u = (u & 0xffff) + (u >>> 16);
          acc ^= s ^ u;
        }
        sink.value ^= acc;
      };
    },
  },
};

const checksumIncremental: FloorPair = {
  suite: "ipv4+udp checksum incremental (DNAT)",
  figure: {
    name: "rewriteDstAddr + rewritePseudoAddr + rewriteDstPort",
    ops: N,
    make: () => {
      const p = buildUdp(pool, { eth: { src: 1, dst: 2 }, ip: { src: INNER_SRC, dst: INNER_DST }, udp: { srcPort: 1, dstPort: 53 }, payload: new Uint8Array(64) });
      const b = p.buf;
      const l3 = p.l3;
      const l4 = p.l4;
      return () => {
        for (let i = 0; i < N; i++) {
          // Alternates between two backends so every call changes the fields.
          const to = (i & 1) === 0 ? 0x0af40305 : INNER_DST;
          const from = ipv4.rewriteDstAddr(b, l3, to);
          udp.rewritePseudoAddr(b, l4, from, to);
          udp.rewriteDstPort(b, l4, (i & 1) === 0 ? 5353 : 53);
        }
        sink.value ^= b[l4 + 6];
      };
    },
  },
  floor: {
    name: "the same field writes, no checksum",
    ops: N,
    make: () => {
      const p = buildUdp(pool, { eth: { src: 1, dst: 2 }, ip: { src: INNER_SRC, dst: INNER_DST }, udp: { srcPort: 1, dstPort: 53 }, payload: new Uint8Array(64) });
      const b = p.buf;
      const l3 = p.l3;
      const l4 = p.l4;
      return () => {
        let acc = 0;
        for (let i = 0; i < N; i++) {
          const to = (i & 1) === 0 ? 0x0af40305 : INNER_DST;
          acc ^= ipv4.dstAddr(b, l3);
          ipv4.setDstAddr(b, l3, to);
          udp.setDstPort(b, l4, (i & 1) === 0 ? 5353 : 53);
        }
        sink.value ^= acc;
      };
    },
  },
};

export const pairs: FloorPair[] = [encapDecap, encapDecapCachedHash, checksumFull, checksumIncremental];

/** Runs the pairs whose suite name contains one of `filters` (all when none, or when "wire" is given). */
export default async function run(filters: string[] = []): Promise<void> {
  const all = filters.length === 0 || filters.includes("wire");
  const selected = pairs.filter((p) => all || filters.some((f) => p.suite.includes(f)));
  if (selected.length === 0) return;
  const rows = await runPairs("wire", selected);
  printTable(rows);
  writeFileSync(`${RESULTS_DIR}wire.json`, `${JSON.stringify({ ...environment(), results: rows }, null, 2)}\n`);
  console.log(`\nSaved to: ${RESULTS_DIR}wire.json`);
}

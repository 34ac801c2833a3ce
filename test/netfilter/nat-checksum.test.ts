// Property tests: NAT's incremental checksum updates (RFC 1624) equal a full recomputation.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MANIP_DST, MANIP_SRC, manipPkt } from "../../src/netfilter/index.js";
import { buildIcmp, buildTcp, buildUdp, PacketPool } from "../../src/packet/index.js";
import { icmp, ipv4, tcp, udp } from "../../src/wire/index.js";

const pool = new PacketPool();
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const port = fc.integer({ min: 0, max: 0xffff });
const payload = fc.uint8Array({ maxLength: 64 });

describe("NAT rewrites keep every checksum as a full recomputation would", () => {
  it("UDP and TCP: addresses and ports, either side", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(6, 17),
        u32,
        u32,
        port,
        port,
        payload,
        fc.constantFrom(MANIP_SRC, MANIP_DST),
        u32,
        port,
        fc.boolean(),
        (proto, src, dst, sport, dport, data, manip, addr, newPort, udpCsum) => {
          const spec = { eth: { src: 1, dst: 2 }, ip: { src, dst }, payload: data };
          const p =
            proto === 17
              ? buildUdp(pool, { ...spec, udp: { srcPort: sport, dstPort: dport, checksum: udpCsum } })
              : buildTcp(pool, { ...spec, tcp: { srcPort: sport, dstPort: dport, seq: 1, ack: 2 } });
          const b = p.buf;
          const l3 = p.l3;
          const l4 = p.l4;
          const end = p.tail;
          manipPkt(b, l3, l4, end, manip, addr, newPort);
          // The reference: the same fields written, every checksum computed from scratch.
          const ref = Uint8Array.from(b.subarray(0, end));
          if (manip === MANIP_SRC) ipv4.setSrcAddr(ref, l3, addr);
          else ipv4.setDstAddr(ref, l3, addr);
          ipv4.fillChecksum(ref, l3);
          const s = ipv4.srcAddr(ref, l3);
          const d = ipv4.dstAddr(ref, l3);
          if (proto === 17) {
            if (manip === MANIP_SRC) udp.setSrcPort(ref, l4, newPort);
            else udp.setDstPort(ref, l4, newPort);
            if (udpCsum) udp.fillChecksum(ref, l4, s, d, end - l4);
            expect(udp.checksum(b, l4)).toBe(udp.checksum(ref, l4)); // 0 ("none") stays 0
            if (udpCsum) expect(udp.verifyChecksum(b, l4, s, d, end - l4)).toBe(true);
          } else {
            if (manip === MANIP_SRC) tcp.setSrcPort(ref, l4, newPort);
            else tcp.setDstPort(ref, l4, newPort);
            tcp.fillChecksum(ref, l4, s, d, end - l4);
            // One's complement has two zeros: 0x0000 and 0xffff are the same checksum.
            const norm = (c: number) => (c === 0xffff ? 0 : c);
            expect(norm(tcp.checksum(b, l4))).toBe(norm(tcp.checksum(ref, l4)));
            expect(tcp.verifyChecksum(b, l4, s, d, end - l4)).toBe(true);
          }
          expect(ipv4.checksum(b, l3)).toBe(ipv4.checksum(ref, l3));
          expect(ipv4.verifyChecksum(b, l3)).toBe(true);
          p.free();
        },
      ),
      { numRuns: 500 },
    );
  });

  it("ICMP echo: the identifier plays the port", () => {
    fc.assert(
      fc.property(u32, u32, port, port, payload, port, fc.constantFrom(0, 8), (src, dst, id, seq, data, newId, type) => {
        const p = buildIcmp(pool, { eth: { src: 1, dst: 2 }, ip: { src, dst }, icmp: { type, ident: id, seq }, payload: data });
        manipPkt(p.buf, p.l3, p.l4, p.tail, MANIP_SRC, src, newId);
        expect(icmp.echoIdent(p.buf, p.l4)).toBe(newId);
        expect(icmp.verifyChecksum(p.buf, p.l4, p.tail)).toBe(true);
        p.free();
      }),
    );
  });
});

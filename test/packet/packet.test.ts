import { describe, expect, it } from "vitest";
import { DEFAULT_HEADROOM, Packet, PacketPool, POOL_BUFFER_SIZE } from "../../src/packet/index.js";

describe("Packet", () => {
  it("from() wraps bytes with headroom in front", () => {
    const p = Packet.from(Uint8Array.of(1, 2, 3));
    expect(p.head).toBe(DEFAULT_HEADROOM);
    expect(p.headroom).toBe(DEFAULT_HEADROOM);
    expect(p.length).toBe(3);
    expect([...p.bytes()]).toEqual([1, 2, 3]);
    expect(p.tailroom).toBe(POOL_BUFFER_SIZE - DEFAULT_HEADROOM - 3);
    expect(Packet.from(new Uint8Array(3000)).buf.length).toBe(DEFAULT_HEADROOM + 3000);
  });

  it("push prepends into headroom and pull strips, without moving bytes", () => {
    const p = Packet.from(Uint8Array.of(9, 9), 8);
    const h = p.push(4);
    expect(h).toBe(4);
    p.buf.set([1, 2, 3, 4], h);
    expect([...p.bytes()]).toEqual([1, 2, 3, 4, 9, 9]);
    expect(p.pull(4)).toBe(8);
    expect([...p.bytes()]).toEqual([9, 9]);
  });

  it("push past the headroom and pull past the frame are programmer errors", () => {
    const p = Packet.from(Uint8Array.of(1), 2);
    expect(() => p.push(3)).toThrow(RangeError);
    expect(() => p.pull(2)).toThrow(RangeError);
    expect(p.head).toBe(2);
    expect(p.length).toBe(1);
  });

  it("put appends at the tail; trim only shortens", () => {
    const p = new Packet(Buffer.alloc(16)).reset(4);
    expect(p.put(5)).toBe(4);
    expect(p.length).toBe(5);
    p.trim(9);
    expect(p.length).toBe(5);
    p.trim(2);
    expect(p.length).toBe(2);
    expect(() => p.put(11)).toThrow(RangeError);
  });

  it("reset clears metadata", () => {
    const p = Packet.from(Uint8Array.of(1));
    p.mark = 7;
    p.l3 = 14;
    p.ct = 3;
    p.notes = ["x"];
    p.reset(10);
    expect([p.head, p.tail, p.mark, p.l3, p.l4, p.ct, p.notes]).toEqual([10, 10, 0, -1, -1, -1, null]);
  });

  it("clone copies bytes and metadata into an independent buffer", () => {
    const pool = new PacketPool();
    const p = pool.alloc(64);
    p.buf.set([5, 6, 7], p.put(3));
    p.mark = 0x10;
    p.notes = ["a"];
    const c = p.clone();
    expect(c.pool).toBe(pool);
    expect([...c.bytes()]).toEqual([5, 6, 7]);
    expect(c.head).toBe(64);
    expect(c.mark).toBe(0x10);
    c.buf[c.head] = 0;
    c.notes?.push("b");
    expect(p.buf[p.head]).toBe(5);
    expect(p.notes).toEqual(["a"]);
    expect(pool.outstanding).toBe(2);
  });
});

describe("PacketPool", () => {
  it("reuses freed packets and counts outstanding ones", () => {
    const pool = new PacketPool();
    const a = pool.alloc();
    expect(pool.outstanding).toBe(1);
    a.free();
    expect(pool.outstanding).toBe(0);
    const b = pool.alloc(32);
    expect(b).toBe(a);
    expect(b.head).toBe(32);
    expect(b.length).toBe(0);
  });

  it("gives oversized frames a one-off buffer that is not pooled", () => {
    const pool = new PacketPool(256);
    const big = pool.alloc(64, 1000);
    expect(big.buf.length).toBe(1064);
    expect(big.pool).toBe(pool);
    big.free();
    expect(pool.outstanding).toBe(0);
    expect(pool.alloc()).not.toBe(big);
  });

  it("keeps at most maxFree packets", () => {
    const pool = new PacketPool(256, 1);
    const a = pool.alloc();
    const b = pool.alloc();
    a.free();
    b.free();
    expect(pool.alloc()).toBe(a);
    expect(pool.alloc()).not.toBe(b);
  });
});

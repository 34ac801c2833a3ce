// Property tests of the conntrack hash table against a Map model, and of the tuple helpers.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConntrackTable, invertTuple, Tuple } from "../../src/netfilter/index.js";

const key = (t: Tuple) => `${t.saddr}/${t.daddr}/${t.sport}/${t.dport}/${t.proto}`;

// Small domains so that tuples collide in hash and in value.
const arbTuple = fc.record({
  saddr: fc.constantFrom(0x0a000001, 0x0a000002, 0xc0a80001, 0xffffffff, 0),
  daddr: fc.constantFrom(0x0a000001, 0x0a600001, 0x0af40203),
  sport: fc.integer({ min: 0, max: 3 }).map((n) => [0, 53, 40000, 65535][n]),
  dport: fc.integer({ min: 0, max: 2 }).map((n) => [53, 80, 443][n]),
  proto: fc.constantFrom(6, 17),
});
const toTuple = (r: { saddr: number; daddr: number; sport: number; dport: number; proto: number }): Tuple => {
  const t = new Tuple();
  Object.assign(t, r);
  return t;
};

type Op = { kind: "insert"; a: Tuple; b: Tuple } | { kind: "delete"; i: number } | { kind: "lookup"; t: Tuple };
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("insert" as const), a: arbTuple.map(toTuple), b: arbTuple.map(toTuple) }),
  fc.record({ kind: fc.constant("delete" as const), i: fc.nat() }),
  fc.record({ kind: fc.constant("lookup" as const), t: arbTuple.map(toTuple) }),
);

describe("ConntrackTable", () => {
  it("finds exactly what a Map model holds, through inserts, deletes and growth", () => {
    fc.assert(
      fc.property(fc.array(arbOp, { maxLength: 300 }), fc.integer(), (ops, seed) => {
        const t = new ConntrackTable(1 << 20, seed, 8);
        const model = new Map<string, number>();
        const live: number[] = [];
        for (const op of ops) {
          if (op.kind === "insert") {
            const ka = key(op.a);
            const kb = key(op.b);
            if (ka === kb || model.has(ka) || model.has(kb)) continue;
            const s = t.alloc();
            t.setTuple(s, 0, op.a);
            t.setTuple(s, 1, op.b);
            t.link(s);
            model.set(ka, s * 2);
            model.set(kb, s * 2 + 1);
            live.push(s);
          } else if (op.kind === "delete") {
            if (live.length === 0) continue;
            const s = live.splice(op.i % live.length, 1)[0];
            const a = new Tuple();
            model.delete(key(t.getTuple(s, 0, a)));
            model.delete(key(t.getTuple(s, 1, a)));
            t.delete(s);
          } else {
            expect(t.findTuple(op.t)).toBe(model.get(key(op.t)) ?? -1);
          }
        }
        for (const [k, ref] of model) {
          const [saddr, daddr, sport, dport, proto] = k.split("/").map(Number);
          expect(t.findTuple(toTuple({ saddr, daddr, sport, dport, proto }))).toBe(ref);
        }
        expect(t.count).toBe(live.length);
        expect(t.confirmedCount).toBe(live.length);
      }),
      { numRuns: 300 },
    );
  });

  it("holds 100k entries with both directions findable", () => {
    const t = new ConntrackTable(200_000, 7);
    const a = new Tuple();
    const b = new Tuple();
    for (let i = 0; i < 100_000; i++) {
      Object.assign(a, { saddr: 0x0af40000 + (i >>> 8), daddr: 0x0a600001, sport: 1024 + (i & 0xff), dport: 53, proto: 17 });
      invertTuple(b, a);
      b.saddr = 0x0af50000 + (i & 0xffff);
      const s = t.alloc();
      t.setTuple(s, 0, a);
      t.setTuple(s, 1, b);
      t.link(s);
    }
    for (let i = 0; i < 100_000; i += 997) {
      Object.assign(a, { saddr: 0x0af40000 + (i >>> 8), daddr: 0x0a600001, sport: 1024 + (i & 0xff), dport: 53, proto: 17 });
      const ref = t.findTuple(a);
      expect(ref & 1).toBe(0);
      invertTuple(b, a);
      b.saddr = 0x0af50000 + (i & 0xffff);
      expect(t.findTuple(b)).toBe(ref + 1);
    }
  });

  it("inverts ICMP queries to their replies and refuses types with no reply", () => {
    const q = toTuple({ saddr: 1, daddr: 2, sport: 7, dport: (8 << 8) | 0, proto: 1 });
    const r = new Tuple();
    expect(invertTuple(r, q)).toBe(true);
    expect([r.saddr, r.daddr, r.sport, r.dport >>> 8]).toEqual([2, 1, 7, 0]);
    expect(invertTuple(r, toTuple({ saddr: 1, daddr: 2, sport: 0, dport: 9 << 8, proto: 1 }))).toBe(false);
  });
});

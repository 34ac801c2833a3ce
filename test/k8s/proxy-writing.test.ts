// The pieces kube-proxy's syncs are written with: the byte-buffer text writer (ASCII and UTF-8,
// growth, buffers reused between writers), EndpointSliceCache's order and deduplication of
// endpoints, which Services a partial sync rewrites, and the nftables table's endpoint chains and
// vmap rules, printed from their parts or from their rules once read.

import { describe, expect, it } from "vitest";
import {
  changedServices,
  endpointsMap,
  knftablesDump,
  nftablesRuleset,
  nftHashAndTruncate,
  nftHashAndTruncateParts,
  nftListRuleset,
  type ProxierSnapshot,
  servicePorts,
  snapshot,
  TextWriter,
} from "../../src/k8s/index.js";
import { FAKE_NFTABLES_PROXIER, makeTestEndpointSlice, makeTestService, overallCase } from "./proxy-helpers.js";

describe("TextWriter", () => {
  it("writes ASCII and non-ASCII pieces, numbers and lines, across growth", () => {
    const w = new TextWriter(4);
    const expected: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const piece = i % 7 === 0 ? `é€😀-${i}` : `line-${i}`;
      w.str(piece);
      w.str(" ");
      w.int(i);
      w.nl();
      expected.push(`${piece} ${i}`);
    }
    w.line("last");
    expect(w.lines).toBe(2001);
    expect(w.text()).toBe(`${expected.join("\n")}\nlast\n`);
  });

  it("concatenates writers in order, decoded once, and reuses their buffers afterwards", () => {
    const a = new TextWriter(8);
    a.line("*filter");
    const b = new TextWriter(8);
    b.line("ünïcode");
    const c = new TextWriter(8);
    expect(TextWriter.concat([a, b, c])).toBe("*filter\nünïcode\n");
    // A writer made from a released buffer starts empty.
    const d = new TextWriter(8);
    d.str("x");
    expect(d.text()).toBe("x");
    expect(TextWriter.concat([d])).toBe("x");
  });
});

describe("TextWriter headroom", () => {
  const writer = (text: string, headroom = 0) => {
    const w = new TextWriter(4, headroom);
    w.line(text);
    return w;
  };

  it("puts the texts before the largest one in its headroom when they fit, and copies all when not", () => {
    expect(TextWriter.concat([writer("a"), writer("bé"), writer("the largest text", 64), writer("z")])).toBe("a\nbé\nthe largest text\nz\n");
    expect(TextWriter.concat([writer("a".repeat(40)), writer("the largest text of all here", 8), writer("z")])).toBe(`${"a".repeat(40)}\nthe largest text of all here\nz\n`);
    const grown = new TextWriter(2, 16);
    for (let i = 0; i < 100; i++) grown.str("x");
    expect(grown.byteLength).toBe(100);
    expect(TextWriter.concat([writer("head"), grown])).toBe(`head\n${"x".repeat(100)}`);
  });
});

describe("endpointsMap (EndpointSliceCache)", () => {
  const ep = (ip: string, terminating = false, nodeName = "n1") => ({ addresses: [ip], nodeName, ready: !terminating, serving: true, terminating });

  it('sorts endpoints by "ip:port" as strings and keeps the running copy of a duplicate', () => {
    const slices = [
      makeTestEndpointSlice("ns", "svc", 1, [ep("10.0.0.9"), ep("10.0.0.10", true), ep("10.0.0.2")], [{ name: "p", port: 80 }]),
      makeTestEndpointSlice("ns", "svc", 2, [ep("10.0.0.10"), ep("10.0.0.2", true, "n2")], [{ name: "p", port: 80 }]),
    ];
    const got = endpointsMap(slices, "n1").get("ns/svc:p/TCP")!;
    expect(got.map((e) => `${e.endpoint} ${e.terminating} ${e.isLocal}`)).toEqual(["10.0.0.10:80 false true", "10.0.0.2:80 false true", "10.0.0.9:80 false true"]);
  });

  it("keeps the first copy when every later one is terminating, and leaves sorted lists as given", () => {
    const slices = [
      makeTestEndpointSlice("ns", "svc", 1, [ep("10.0.0.1", false, "n2")], [{ name: "p", port: 80 }]),
      makeTestEndpointSlice("ns", "svc", 2, [ep("10.0.0.1", true, "n1"), ep("10.0.0.3")], [{ name: "p", port: 80 }]),
    ];
    const got = endpointsMap(slices, "n1").get("ns/svc:p/TCP")!;
    expect(got.map((e) => `${e.endpoint} ${e.terminating} ${e.isLocal}`)).toEqual(["10.0.0.1:80 false false", "10.0.0.3:80 false true"]);
  });
});

describe("changedServices", () => {
  const svc = (name: string, ip: string, port = 80) =>
    makeTestService("ns", name, (s, ports) => {
      s.spec.clusterIP = ip;
      ports([{ name: "p", port }]);
    });
  const slice = (name: string, ips: string[], ready = true) =>
    makeTestEndpointSlice("ns", name, 1, ips.map((ip) => ({ addresses: [ip], nodeName: "n1", ready, serving: true, terminating: false })), [{ name: "p", port: 80 }]);
  const snap = (services: ReturnType<typeof svc>[], slices: ReturnType<typeof slice>[]): ProxierSnapshot => snapshot(services, slices, "n1");

  it("names Services whose ports or endpoints changed, and those added or removed", () => {
    const a = snap([svc("a", "172.30.0.1"), svc("b", "172.30.0.2"), svc("c", "172.30.0.3"), svc("d", "172.30.0.4")], [slice("a", ["10.0.0.1"]), slice("b", ["10.0.0.2"]), slice("c", ["10.0.0.3"])]);
    const b = snap(
      [svc("a", "172.30.0.1"), svc("b", "172.30.0.2", 81), svc("c", "172.30.0.3"), svc("e", "172.30.0.5")],
      [slice("a", ["10.0.0.1"]), slice("b", ["10.0.0.2"]), slice("c", ["10.0.0.3"], false)],
    );
    expect([...changedServices(a, b)].sort()).toEqual(["ns/b", "ns/c", "ns/d", "ns/e"]);
    expect(changedServices(b, b).size).toBe(0);
    expect(servicePorts([svc("a", "172.30.0.1")])).toHaveLength(1);
  });
});

describe("nftables endpoint chains and vmap rules", () => {
  it("name an endpoint's chain from its parts as hashAndTruncate names the joined string", () => {
    expect(nftHashAndTruncateParts("ns1/svc1/tcp/p80__", "10.180.0.1", "/80")).toBe("5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80");
    for (const [a, b, c] of [
      ["é/ü/tcp/x__", "10.0.0.1", "/1"],
      ["x".repeat(222), "y", "zz"],
      ["x".repeat(228), "y", "zz"],
      [`${"a".repeat(100)}/`, "b".repeat(100), `/tcp/${"c".repeat(60)}`],
    ])
      expect(nftHashAndTruncateParts(a, b, c)).toBe(nftHashAndTruncate(a + b + c));
  });

  const table = () => {
    const { services, slices } = overallCase();
    return nftablesRuleset(FAKE_NFTABLES_PROXIER, servicePorts(services), endpointsMap(slices, FAKE_NFTABLES_PROXIER.nodeName));
  };

  it("list the same whether printed from their parts or from their rules once read, and take changes to their rules", () => {
    const fromParts = nftListRuleset(table());
    const t = table();
    const dump = knftablesDump(t); // reads every chain's rules
    expect(dump).toContain("add rule ip kube-proxy endpoint-");
    expect(dump).toContain("update @affinity-");
    expect(dump).toMatch(/numgen random mod 2 vmap \{ 0 : goto endpoint-\S+ , 1 : goto endpoint-\S+ \}/);
    expect(nftListRuleset(t)).toBe(fromParts);
    const ep = t.chains.find((c) => c.name.startsWith("endpoint-"))!;
    ep.rules.push({ rule: "counter" });
    const changed = nftListRuleset(t);
    expect(changed).not.toBe(fromParts);
    expect(changed).toContain(`\tchain ${ep.name} {\n${ep.rules.map((r) => `\t\t${r.rule}\n`).join("")}\t}`);
  });
});

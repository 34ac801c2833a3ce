// The pod-side stub resolver: kubelet's resolv.conf, glibc's search order with ndots:5 (asserted on
// the wire), retries and timeouts in virtual time, /etc/hosts, seeded query IDs.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  type Cluster,
  ClusterDns,
  KubeProxy,
  podResolvConf,
  RESOLV_DEFAULTS,
  type ResolveResult,
  resolvConf,
  resolve,
  searchOrder,
} from "../../src/k8s/index.js";
import { NetCapture } from "../../src/net/index.js";
import { dnsCluster, dnsOnWire } from "./dns-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "kw-dns-resolver-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setup(): { c: Cluster; dns: ClusterDns } {
  const c = dnsCluster();
  KubeProxy.start(c);
  return { c, dns: ClusterDns.start(c, { install: false }) };
}

/** Resolves and runs the simulation until the answer is in. */
async function lookup(c: Cluster, pod: string, name: string, opts: Parameters<typeof resolve>[3] = {}): Promise<ResolveResult> {
  const p = resolve(c, pod, name, opts);
  c.sim.run();
  return p;
}

const K8S = { ...RESOLV_DEFAULTS, nameservers: ["10.96.0.10"], search: ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"], ndots: 5 };

describe("resolv.conf as kubelet writes it", () => {
  it("ClusterFirst pods: the kube-dns address, the namespace's search path, ndots:5", () => {
    const c = dnsCluster();
    expect(resolvConf(c, "client")).toBe("search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n");
    expect(resolvConf(c, "other/tool")).toBe("search other.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n");
    expect(podResolvConf(c, c.pod("client"))).toEqual(K8S);
    // CoreDNS itself runs with dnsPolicy Default: the node's resolv.conf, which kubewire does not model.
    const coredns = [...c.pods.values()].find((p) => p.name.startsWith("coredns"))!;
    expect(resolvConf(c, coredns)).toBe("");
  });

  it("glibc's order: fewer than ndots dots → every search domain, then the name; enough dots → the name first; a trailing dot → only the name", () => {
    expect(searchOrder("web", K8S)).toEqual(["web.default.svc.cluster.local", "web.svc.cluster.local", "web.cluster.local", "web"]);
    expect(searchOrder("a.b.c.d.e", K8S)).toEqual(["a.b.c.d.e.default.svc.cluster.local", "a.b.c.d.e.svc.cluster.local", "a.b.c.d.e.cluster.local", "a.b.c.d.e"]);
    expect(searchOrder("a.b.c.d.e.f", K8S)).toEqual(["a.b.c.d.e.f", "a.b.c.d.e.f.default.svc.cluster.local", "a.b.c.d.e.f.svc.cluster.local", "a.b.c.d.e.f.cluster.local"]);
    expect(searchOrder("web.default.svc.cluster.local.", K8S)).toEqual(["web.default.svc.cluster.local"]);
    expect(searchOrder("example.com", { ...K8S, ndots: 1 })).toEqual(["example.com", "example.com.default.svc.cluster.local", "example.com.svc.cluster.local", "example.com.cluster.local"]);
  });
});

describe("stub resolver on the wire", () => {
  it("`web` from a pod in default: first query web.default.svc.cluster.local to 10.96.0.10, answered at once", async () => {
    const { c } = setup();
    const file = join(dir, "web.pcapng");
    const cap = new NetCapture(file).attach(c.pod("client").ns.device("eth0")!);
    const r = await lookup(c, "client", "web");
    cap.close();
    expect(r).toMatchObject({ name: "web", addresses: ["10.96.0.20"], canonicalName: "web.default.svc.cluster.local", source: "dns", ttl: 30 });
    expect(r.error).toBeUndefined();
    // The query ID comes from the pod namespace's seeded stream.
    const id = c.pod("client").ns.rng.derive("dns-resolver/0").u32() & 0xffff;
    expect(r.exchanges).toEqual([
      expect.objectContaining({ name: "web.default.svc.cluster.local", id, server: "10.96.0.10", outcome: "NOERROR", addresses: ["10.96.0.20"], truncated: false }),
    ]);
    const wire = dnsOnWire(file).get("client/eth0")!;
    expect(wire.map((w) => [w.src, w.dst, w.dport, w.sport, w.msg.type, w.msg.id, w.msg.questions?.[0].name, w.msg.questions?.[0].type])).toEqual([
      [c.pod("client").ipString, "10.96.0.10", 53, r.exchanges[0].sport, "query", id, "web.default.svc.cluster.local", "A"],
      ["10.96.0.10", c.pod("client").ipString, r.exchanges[0].sport, 53, "response", id, "web.default.svc.cluster.local", "A"],
    ]);
    // What glibc sends: RD only, no EDNS, one question.
    expect(wire[0].msg).toMatchObject({ flag_rd: true, flag_ad: false, flag_cd: false, additionals: [], answers: [] });
  });

  it("walks the search list past NXDOMAIN: `web.default` from namespace other, `db-0.db` from default", async () => {
    const { c } = setup();
    const r = await lookup(c, "other/tool", "web.default");
    expect(r.exchanges.map((e) => [e.name, e.outcome])).toEqual([
      ["web.default.other.svc.cluster.local", "NXDOMAIN"],
      ["web.default.svc.cluster.local", "NOERROR"],
    ]);
    expect(r.addresses).toEqual(["10.96.0.20"]);
    // A fresh socket (and port) and a fresh ID per name, as res_send opens one per query.
    expect(new Set(r.exchanges.map((e) => e.sport)).size).toBe(2);
    expect(new Set(r.exchanges.map((e) => e.id)).size).toBe(2);
    const db = await lookup(c, "client", "db-0.db");
    expect(db.exchanges.map((e) => e.name)).toEqual(["db-0.db.default.svc.cluster.local"]);
    expect(db.addresses).toEqual([c.pod("db-0").ipString]);
  });

  it("an unknown name: three NXDOMAINs, then the name as is: SERVFAIL, tried `attempts` times → TRY_AGAIN", async () => {
    const { c } = setup();
    const r = await lookup(c, "client", "nope");
    expect(r.exchanges.map((e) => [e.name, e.outcome])).toEqual([
      ["nope.default.svc.cluster.local", "NXDOMAIN"],
      ["nope.svc.cluster.local", "NXDOMAIN"],
      ["nope.cluster.local", "NXDOMAIN"],
      ["nope", "SERVFAIL"],
      ["nope", "SERVFAIL"],
    ]);
    // The retry of one query keeps its ID.
    expect(r.exchanges[3].id).toBe(r.exchanges[4].id);
    expect(r).toMatchObject({ addresses: [], error: "TRY_AGAIN", errno: "ETIMEDOUT" });
    // A name that exists without an A record somewhere on the way: NO_DATA wins over the last failure.
    const ns = await lookup(c, "client", "default");
    expect(ns.exchanges.map((e) => e.outcome)).toEqual(["NXDOMAIN", "NOERROR", "NXDOMAIN", "SERVFAIL", "SERVFAIL"]);
    expect(ns.error).toBe("NO_DATA");
  });

  it("a fully qualified name (trailing dot) is asked once, as is", async () => {
    const { c } = setup();
    const r = await lookup(c, "client", "web-headless.default.svc.cluster.local.");
    expect(r.exchanges.map((e) => e.name)).toEqual(["web-headless.default.svc.cluster.local"]);
    expect(r.addresses).toEqual([c.pod("web-1").ipString, c.pod("web-2").ipString]);
  });

  it("follows a CNAME (ExternalName) to the addresses; a CNAME out of the cluster leaves NO_DATA", async () => {
    const { c } = setup();
    const alias = await lookup(c, "client", "alias");
    expect(alias).toMatchObject({ addresses: ["10.96.0.20"], canonicalName: "web.default.svc.cluster.local" });
    const ext = await lookup(c, "client", "ext");
    expect(ext).toMatchObject({ addresses: [], canonicalName: "example.com", error: "NO_DATA" });
  });

  it("no server answering: two 5 s timeouts per name, the search stops, the name as is is still tried", async () => {
    const { c } = setup();
    // A socket on port 53 that never answers, in a pod given as the nameserver.
    c.pod("other/tool").container().udpSocket().bind(53);
    const t0 = c.sim.now;
    const r = await lookup(c, "client", "web", { conf: { nameservers: [c.pod("other/tool").ipString] } });
    expect(r.exchanges.map((e) => [e.name, e.outcome, (e.sentAt - t0) / 1e9])).toEqual([
      ["web.default.svc.cluster.local", "timeout", 0],
      ["web.default.svc.cluster.local", "timeout", 5],
      ["web", "timeout", 10],
      ["web", "timeout", 15],
    ]);
    expect(r).toMatchObject({ error: "TRY_AGAIN", errno: "ETIMEDOUT", addresses: [] });
  });

  it("nothing listening behind kube-dns: ICMP port unreachable → ECONNREFUSED, and the search gives up at once", async () => {
    const { c, dns } = setup();
    dns.stop();
    const r = await lookup(c, "client", "web");
    expect(r.exchanges.map((e) => [e.name, e.outcome])).toEqual([
      ["web.default.svc.cluster.local", "ECONNREFUSED"],
      ["web.default.svc.cluster.local", "ECONNREFUSED"],
    ]);
    expect(r).toMatchObject({ error: "TRY_AGAIN", errno: "ECONNREFUSED" });
  });

  it("/etc/hosts and literal addresses answer without a query; invalid names are refused before one", async () => {
    const { c } = setup();
    expect(await lookup(c, "client", "localhost")).toMatchObject({ addresses: ["127.0.0.1"], source: "hosts", exchanges: [] });
    expect(await lookup(c, "client", "client")).toMatchObject({ addresses: [c.pod("client").ipString], source: "hosts" });
    expect(await lookup(c, "default/db-0", "db-0.db.default.svc.cluster.local")).toMatchObject({ addresses: [c.pod("db-0").ipString], source: "hosts" });
    expect(await lookup(c, "client", "10.96.0.20")).toMatchObject({ addresses: ["10.96.0.20"], source: "literal" });
    expect(await lookup(c, "client", `${"a".repeat(64)}.example`)).toMatchObject({ error: "INVALID_NAME", exchanges: [] });
    expect(await lookup(c, "client", "a..b")).toMatchObject({ error: "INVALID_NAME" });
    // A CoreDNS pod (dnsPolicy Default) has no nameserver here.
    const coredns = [...c.pods.values()].find((p) => p.name.startsWith("coredns"))!;
    expect(await lookup(c, coredns.key, "web.default.svc.cluster.local")).toMatchObject({ error: "NO_NAMESERVER" });
  });

  it("the callback form answers inside the simulation; the same seed gives the same exchanges", () => {
    const run = () => {
      const { c } = setup();
      const got: ResolveResult[] = [];
      resolve(c, "client", "nope", (r) => got.push(r));
      resolve(c, "client", "web-headless", { conf: { edns0: true } }, (r) => got.push(r));
      expect(got).toEqual([]);
      c.sim.run();
      return got;
    };
    const a = run();
    expect(a.map((r) => r.name).sort()).toEqual(["nope", "web-headless"]);
    expect(run()).toEqual(a);
  });
});

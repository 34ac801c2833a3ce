// The CoreDNS-like server: answers from the cluster's state at query time, as the kubernetes plugin
// gives them (records, rcodes, flags, TTLs, the SOA of negative answers), EDNS and truncation as
// CoreDNS's request.SizeAndDo and Scrub, malformed queries counted or answered FORMERR, never thrown.

import * as dnsPacket from "dns-packet";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addKubeDns, ClusterDns, type DnsServer, parseManifests, serveClusterDns } from "../../src/k8s/index.js";
import { answersOf, decode, dnsCluster, query } from "./dns-helpers.js";

const ZONE = "cluster.local";
const OPT = (size = 4096, flags = 0, ednsVersion = 0): dnsPacket.Answer => ({
  name: ".",
  type: "OPT",
  udpPayloadSize: size,
  extendedRcode: 0,
  ednsVersion,
  flags,
  flag_do: false,
  options: [],
});

function setup(opts: Parameters<typeof serveClusterDns>[2] = {}) {
  const c = dnsCluster();
  const dns = ClusterDns.start(c, { install: false, ...opts });
  const srv = [...dns.servers.values()][0];
  const ask = (name: string, type: dnsPacket.RecordType = "A", q: Parameters<typeof query>[2] = {}) => {
    const out = srv.handle(query(name, type, q));
    if (out === undefined) throw new Error("no reply");
    return decode(out);
  };
  return { c, dns, srv, ask, ip: (pod: string) => c.pod(pod).ipString };
}

describe("cluster DNS server: records", () => {
  it("runs in both CoreDNS pods of kubeadm's Deployment, bound to UDP 53 in each pod's namespace", () => {
    const { c, dns } = setup();
    const pods = [...c.pods.values()].filter((p) => p.pod.metadata.namespace === "kube-system");
    expect(pods).toHaveLength(2);
    expect([...dns.servers.keys()].sort()).toEqual(pods.map((p) => p.key).sort());
    for (const s of dns.servers.values()) expect(s.socket.address()).toEqual({ address: "0.0.0.0", family: "IPv4", port: 53 });
    expect(dns.errors).toEqual([]);
  });

  it("A for a Service: its ClusterIP, TTL 30, QR AA and RD copied, no RA, the question echoed with its ID", () => {
    const { ask } = setup();
    const m = ask("web.default.svc.cluster.local", "A", { id: 0xbeef });
    expect(m).toMatchObject({ id: 0xbeef, type: "response", rcode: "NOERROR", opcode: "QUERY", flag_qr: true, flag_aa: true, flag_rd: true, flag_ra: false, flag_tc: false });
    expect(m.questions).toEqual([{ name: "web.default.svc.cluster.local", type: "A", class: "IN" }]);
    expect(m.answers).toEqual([{ name: "web.default.svc.cluster.local", type: "A", ttl: 30, class: "IN", flush: false, data: "10.96.0.20" }]);
    expect(m.authorities).toEqual([]);
    expect(m.additionals).toEqual([]);
    // RD clear stays clear; the name's case is echoed as asked (names compare case-insensitively).
    const m2 = ask("WEB.Default.SVC.cluster.local", "A", { flags: 0 });
    expect(m2).toMatchObject({ flag_rd: false, flag_aa: true, rcode: "NOERROR" });
    expect(m2.answers?.[0]).toMatchObject({ name: "WEB.Default.SVC.cluster.local", data: "10.96.0.20" });
  });

  it("NXDOMAIN for unknown names in the zone, with the zone's SOA (ns.dns, hostmaster, 7200 1800 86400 30)", () => {
    const { ask } = setup();
    for (const name of ["nope.default.svc.cluster.local", "web.nowhere.svc.cluster.local", "a.b.c.web.default.svc.cluster.local", "web.cluster.local", "x.y.cluster.local"]) {
      const m = ask(name);
      expect(m, name).toMatchObject({ rcode: "NXDOMAIN", flag_aa: true, flag_qr: true, flag_ra: false, answers: [] });
      expect(m.authorities, name).toEqual([
        {
          name: ZONE,
          type: "SOA",
          ttl: 30,
          class: "IN",
          flush: false,
          data: { mname: `ns.dns.${ZONE}`, rname: `hostmaster.${ZONE}`, serial: 0, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 },
        },
      ]);
    }
  });

  it("NODATA (NOERROR, no answer, the SOA) for names that exist without the type asked", () => {
    const { ask } = setup();
    for (const [name, type] of [
      ["web.default.svc.cluster.local", "AAAA"],
      ["web.default.svc.cluster.local", "MX"],
      ["default.svc.cluster.local", "A"],
      ["other.svc.cluster.local", "A"],
      ["svc.cluster.local", "A"],
      [ZONE, "A"],
    ] as const) {
      const m = ask(name, type);
      expect(m, `${name} ${type}`).toMatchObject({ rcode: "NOERROR", flag_aa: true, answers: [] });
      expect(m.authorities?.map((a) => a.type)).toEqual(["SOA"]);
    }
  });

  it("headless Services: the ready endpoints' addresses, following readiness; endpoint and hostname names", () => {
    const { c, ask, ip } = setup();
    expect(answersOf(ask("web-headless.default.svc.cluster.local"))).toEqual([ip("web-1"), ip("web-2")]);
    c.setReady("web-2", false);
    expect(answersOf(ask("web-headless.default.svc.cluster.local"))).toEqual([ip("web-1")]);
    c.setReady("web-1", false);
    expect(ask("web-headless.default.svc.cluster.local").rcode).toBe("NXDOMAIN");
    c.setReady("web-1", true);
    // An endpoint by its dashed address (any Service), and a pod by hostname.subdomain.
    const dashed = ip("web-1").replaceAll(".", "-");
    expect(answersOf(ask(`${dashed}.web-headless.default.svc.cluster.local`))).toEqual([ip("web-1")]);
    expect(answersOf(ask(`${dashed}.web.default.svc.cluster.local`))).toEqual([ip("web-1")]);
    // A headless Service without ports still has A records; its pod answers to db-0.db.
    expect(answersOf(ask("db.default.svc.cluster.local"))).toEqual([ip("db-0")]);
    expect(answersOf(ask("db-0.db.default.svc.cluster.local"))).toEqual([ip("db-0")]);
    expect(ask("db-1.db.default.svc.cluster.local").rcode).toBe("NXDOMAIN");
  });

  it("answers from the cluster as it is at query time: a Service added, a pod deleted", () => {
    const { c, ask, ip } = setup();
    expect(ask("late.default.svc.cluster.local").rcode).toBe("NXDOMAIN");
    const m = parseManifests("apiVersion: v1\nkind: Service\nmetadata: {name: late}\nspec:\n  clusterIP: 10.96.0.77\n  ports: [{port: 1}]\n", { file: "late.yaml" });
    c.addService(m.objects[0] as Parameters<typeof c.addService>[0]);
    expect(answersOf(ask("late.default.svc.cluster.local"))).toEqual(["10.96.0.77"]);
    const web2 = ip("web-2");
    c.deletePod("web-2");
    expect(answersOf(ask("web-headless.default.svc.cluster.local"))).not.toContain(web2);
  });

  it("pod records: <a-b-c-d>.<ns>.pod.<zone> (pods insecure: any address; verified: a pod's)", () => {
    const { ask, ip } = setup();
    const dashed = ip("client").replaceAll(".", "-");
    expect(answersOf(ask(`${dashed}.default.pod.cluster.local`))).toEqual([ip("client")]);
    expect(answersOf(ask("1-2-3-4.default.pod.cluster.local"))).toEqual(["1.2.3.4"]);
    expect(ask("1-2-3.default.pod.cluster.local").rcode).toBe("NXDOMAIN");
    expect(ask("1-2-3-4.nowhere.pod.cluster.local").rcode).toBe("NXDOMAIN");
    const v = setup({ pods: "verified" });
    expect(answersOf(v.ask(`${dashed}.default.pod.cluster.local`))).toEqual([ip("client")]);
    expect(v.ask(`${dashed}.other.pod.cluster.local`).rcode).toBe("NXDOMAIN");
    expect(v.ask("1-2-3-4.default.pod.cluster.local").rcode).toBe("NXDOMAIN");
  });

  it("SRV for named ports: priority 0, the weight shared, the targets' addresses as additionals", () => {
    const { ask, ip } = setup();
    const m = ask("_echo._udp.web.default.svc.cluster.local", "SRV");
    expect(m.rcode).toBe("NOERROR");
    expect(answersOf(m, "SRV")).toEqual([{ priority: 0, weight: 100, port: 80, target: "web.default.svc.cluster.local" }]);
    expect(m.additionals?.map((a) => [a.name, a.type, "data" in a && a.data])).toEqual([["web.default.svc.cluster.local", "A", "10.96.0.20"]]);
    const h = ask("_echo._udp.web-headless.default.svc.cluster.local", "SRV");
    const names = ["web-1", "web-2"].map((p) => `${ip(p).replaceAll(".", "-")}.web-headless.default.svc.cluster.local`);
    expect(answersOf(h, "SRV")).toEqual(names.map((target) => ({ priority: 0, weight: 50, port: 8080, target })));
    expect(answersOf(h, "A")).toEqual([]);
    expect(h.additionals?.map((a) => "data" in a && a.data)).toEqual([ip("web-1"), ip("web-2")]);
    expect(answersOf(ask("_dns._udp.kube-dns.kube-system.svc.cluster.local", "SRV"), "SRV")).toEqual([
      { priority: 0, weight: 100, port: 53, target: "kube-dns.kube-system.svc.cluster.local" },
    ]);
    expect(answersOf(ask("_dns-tcp._tcp.kube-dns.kube-system.svc.cluster.local", "SRV"), "SRV")).toMatchObject([{ port: 53 }]);
    expect(ask("_echo._tcp.web.default.svc.cluster.local", "SRV").rcode).toBe("NXDOMAIN");
    expect(ask("_nope._udp.web.default.svc.cluster.local", "SRV").rcode).toBe("NXDOMAIN");
  });

  it("ExternalName: a CNAME, followed when the target is in the zone", () => {
    const { ask } = setup();
    const m = ask("ext.default.svc.cluster.local");
    expect(m).toMatchObject({ rcode: "NOERROR", flag_aa: true });
    expect(m.answers?.map((a) => [a.name, a.type, "data" in a && a.data])).toEqual([["ext.default.svc.cluster.local", "CNAME", "example.com"]]);
    const a = ask("alias.default.svc.cluster.local");
    expect(a.answers?.map((r) => [r.name, r.type, "data" in r && r.data])).toEqual([
      ["alias.default.svc.cluster.local", "CNAME", "web.default.svc.cluster.local"],
      ["web.default.svc.cluster.local", "A", "10.96.0.20"],
    ]);
  });

  it("the zone's own records: SOA and NS (with kube-dns's address as glue) at the apex, TXT dns-version", () => {
    const { ask } = setup();
    expect(ask(ZONE, "SOA").answers?.map((a) => a.type)).toEqual(["SOA"]);
    const ns = ask(ZONE, "NS");
    expect(answersOf(ns, "NS")).toEqual([`ns.dns.${ZONE}`]);
    expect(ns.additionals?.map((a) => [a.name, "data" in a && a.data])).toEqual([[`ns.dns.${ZONE}`, "10.96.0.10"]]);
    expect(answersOf(ask(`dns-version.${ZONE}`, "TXT"), "TXT")).toEqual([[Buffer.from("1.1.0")]]);
    expect(ask(ZONE, "AXFR").rcode).toBe("REFUSED");
  });

  it("PTR: a ClusterIP names its Service, an endpoint address its endpoint names; others fall through to SERVFAIL", () => {
    const { ask, ip } = setup();
    expect(answersOf(ask("20.0.96.10.in-addr.arpa", "PTR"), "PTR")).toEqual(["web.default.svc.cluster.local"]);
    const rev = ip("db-0").split(".").reverse().join(".");
    expect(answersOf(ask(`${rev}.in-addr.arpa`, "PTR"), "PTR")).toEqual(["db-0.db.default.svc.cluster.local"]);
    const m = ask("9.9.9.9.in-addr.arpa", "PTR");
    expect(m).toMatchObject({ rcode: "SERVFAIL", flag_aa: false, answers: [], authorities: [] });
  });

  it("names outside the zone: SERVFAIL (kubeadm's .:53 block without forward), not authoritative; REFUSED if configured", () => {
    const { ask } = setup();
    const m = ask("example.com", "A", { id: 7 });
    expect(m).toMatchObject({ id: 7, rcode: "SERVFAIL", flag_qr: true, flag_aa: false, flag_rd: true, answers: [], authorities: [] });
    expect(m.questions).toEqual([{ name: "example.com", type: "A", class: "IN" }]);
    expect(setup({ unanswered: "REFUSED" }).ask("example.com").rcode).toBe("REFUSED");
    // Options: RA when recursion is claimed, another TTL.
    expect(setup({ recursionAvailable: true, ttl: 5 }).ask("web.default.svc.cluster.local")).toMatchObject({ flag_ra: true, answers: [{ ttl: 5 }] });
  });
});

describe("cluster DNS server: EDNS, truncation, malformed queries", () => {
  it("EDNS(0): an OPT record back with the client's buffer size and DO copied; version 1 gets BADVERS", () => {
    const { ask } = setup();
    expect(ask("web.default.svc.cluster.local").additionals).toEqual([]);
    const m = ask("web.default.svc.cluster.local", "A", { additionals: [OPT(1232, dnsPacket.DNSSEC_OK)] });
    expect(m.rcode).toBe("NOERROR");
    expect(m.additionals).toEqual([{ name: ".", type: "OPT", udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: dnsPacket.DNSSEC_OK, flag_do: true, options: [] }]);
    const bad = ask("web.default.svc.cluster.local", "A", { additionals: [OPT(1232, 0, 1)] });
    // BADVERS is 16: 0 in the header, 1 in the OPT record's extended rcode.
    expect(bad).toMatchObject({ rcode: "NOERROR", answers: [], flag_aa: false });
    expect(bad.additionals).toMatchObject([{ type: "OPT", extendedRcode: 1, ednsVersion: 0 }]);
  });

  it("a reply larger than 512 bytes is cut and TC set; with EDNS and a big buffer it is whole", () => {
    const many = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: many}
spec:
  replicas: 16
  selector: {matchLabels: {app: many}}
  template:
    metadata: {labels: {app: many}}
    spec: {containers: [{name: main, image: busybox}]}
---
apiVersion: v1
kind: Service
metadata: {name: many-pods-behind-a-long-headless-name}
spec: {clusterIP: None, selector: {app: many}}
`;
    const c = dnsCluster({ extra: many });
    const srv = serveClusterDns(c, [...c.pods.values()].find((p) => p.name.startsWith("coredns"))!);
    const name = "many-pods-behind-a-long-headless-name.default.svc.cluster.local";
    const small = decode(srv.handle(query(name))!);
    expect(small.flag_tc).toBe(true);
    expect(small.answers!.length).toBeGreaterThan(0);
    expect(small.answers!.length).toBeLessThan(16);
    expect(dnsPacket.encodingLength(small)).toBeLessThanOrEqual(512);
    const big = decode(srv.handle(query(name, "A", { additionals: [OPT(4096)] }))!);
    expect(big.flag_tc).toBe(false);
    expect(big.answers).toHaveLength(16);
    expect(srv.stats.truncated).toBe(1);
  });

  it("drops what has no usable header and answers FORMERR or NOTIMP (header only, ID kept) as miekg/dns does", () => {
    const { srv } = setup();
    expect(srv.handle(Buffer.from([1, 2, 3, 4, 5]))).toBeUndefined();
    const response = query("web.default.svc.cluster.local");
    response[2] |= 0x80;
    expect(srv.handle(response)).toBeUndefined();
    expect(srv.stats.dropped).toMatchObject({ short: 1, response: 1 });
    const two = dnsPacket.encode({ type: "query", id: 0x4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name: "a" }, { type: "A", name: "b" }] });
    const truncated = query("web.default.svc.cluster.local", "A", { id: 0x4343 }).subarray(0, 20);
    const badLabel = Buffer.concat([query("x", "A", { id: 0x4444 }).subarray(0, 12), Buffer.from([0x40, 0x41, 0, 0, 1, 0, 1])]);
    for (const [msg, id] of [
      [two, 0x4242],
      [truncated, 0x4343],
      [badLabel, 0x4444],
    ] as const) {
      const r = srv.handle(Buffer.from(msg))!;
      expect(r).toHaveLength(12);
      expect(decode(r)).toMatchObject({ id, rcode: "FORMERR", flag_qr: true, flag_rd: true, flag_aa: false, questions: [], answers: [] });
    }
    const status = query("web.default.svc.cluster.local", "A", { id: 9 });
    status[2] = (status[2] & 0x87) | (2 << 3); // opcode STATUS
    expect(decode(srv.handle(status)!)).toMatchObject({ id: 9, rcode: "NOTIMP", opcode: "STATUS", flag_qr: true });
    expect(srv.stats.replies).toMatchObject({ FORMERR: 3, NOTIMP: 1 });
  });

  it("never throws on any datagram; whatever it sends back is a response with the query's ID", () => {
    const { srv } = setup();
    const head = query("web.default.svc.cluster.local");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.boolean(), (tail, keepHeader) => {
        const msg = Buffer.from(keepHeader ? Buffer.concat([head.subarray(0, 12), tail]) : tail);
        const r = (srv as DnsServer).handle(msg);
        if (r === undefined) return;
        expect(r.readUInt16BE(0)).toBe(msg.readUInt16BE(0));
        expect(r[2] & 0x80).toBe(0x80);
      }),
      { numRuns: 500 },
    );
    expect(srv.stats.internalErrors).toBe(0);
  });
});

describe("cluster DNS: over the wire, wiring, restarts", () => {
  it("a pod queries a CoreDNS pod directly over the pod network and gets the answer from port 53", async () => {
    const { c, dns } = setup();
    const server = [...dns.servers.values()][0];
    const cli = c.pod("client").container().udpSocket();
    cli.send(query("web.default.svc.cluster.local", "A", { id: 0x0101 }), 53, server.pod.ipString);
    c.sim.run();
    expect(cli.received).toHaveLength(1);
    expect(cli.received[0].rinfo).toMatchObject({ address: server.pod.ipString, port: 53 });
    expect(decode(cli.received[0].msg)).toMatchObject({ id: 0x0101, rcode: "NOERROR", answers: [{ data: "10.96.0.20" }] });
    expect(server.stats).toMatchObject({ received: 1, replies: { NOERROR: 1 } });
  });

  it("a CoreDNS container restart rebinds at once (before another app can take port 53); a deleted pod's server is gone", () => {
    const { c, dns } = setup();
    const [first, second] = [...dns.servers.keys()];
    const old = dns.servers.get(first)!;
    c.pod(first).container().restart();
    expect(old.closed).toBe(true);
    const again = dns.servers.get(first)!;
    expect(again).not.toBe(old);
    expect(again.closed).toBe(false);
    expect(() => c.pod(first).container().udpSocket().bind(53)).toThrow(/port 53 is in use/);
    const gone = dns.servers.get(second)!;
    c.deletePod(second);
    expect(gone.closed).toBe(true);
    expect([...dns.servers.keys()]).toEqual([first]);
    expect(c.pods.size).toBeGreaterThan(0);
    dns.stop();
    expect(again.closed).toBe(true);
    expect(dns.servers.size).toBe(0);
  });

  it("addKubeDns adds kubeadm's kube-dns Service and CoreDNS pods when the manifests lack them", () => {
    const c = dnsCluster({ kubeDns: false });
    expect(() => ClusterDns.start(c, { install: false })).toThrow(/no kube-system\/kube-dns Service with CoreDNS pods; add test\/k8s\/fixtures\/kube-dns.yaml/);
    const { service, pods } = addKubeDns(c, { replicas: 1 });
    expect(service.svc.spec.ports.map((p) => `${p.name} ${p.port}/${p.protocol}`)).toEqual(["dns 53/UDP", "dns-tcp 53/TCP", "metrics 9153/TCP"]);
    expect(service.svc.spec.selector).toEqual({ "k8s-app": "kube-dns" });
    expect(service.clusterIP).toBe(0x0a60000a);
    expect(pods.map((p) => p.key)).toEqual([expect.stringMatching(/^kube-system\/coredns-[a-z0-9]+-[a-z0-9]{5}$/)]);
    const dns = ClusterDns.start(c);
    expect([...dns.servers.keys()]).toEqual([pods[0].key]);
    // Started with install (the default) on a bare cluster: kubeadm's two replicas.
    const d2 = ClusterDns.start(dnsCluster({ kubeDns: false }));
    expect(d2.servers.size).toBe(2);
  });
});

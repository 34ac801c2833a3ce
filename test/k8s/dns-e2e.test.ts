// Cluster DNS end to end: kube-proxy on both nodes, one CoreDNS pod on node-1, a client on node-2.
// The client resolves `web` through the ClusterIP 10.96.0.10 (DNAT to CoreDNS over VXLAN, the reply
// un-DNATed), then sends UDP to the address it got and is echoed. Every hop is captured; tshark
// dissects the DNS on port 53 with no problem and reads the names and addresses expected.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as dnsPacket from "dns-packet";
import { afterAll, describe, expect, it } from "vitest";
import { addKubeDns, ClusterDns, KubeProxy, type ProxyMode, resolve } from "../../src/k8s/index.js";
import { NetCapture } from "../../src/net/index.js";
import { tsharkFields, tsharkProblems } from "../helpers/tshark.js";
import { decode, dnsCluster, dnsOnWire, query } from "./dns-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "kw-dns-e2e-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const VXLAN = { decodeAs: ["udp.port==8472,vxlan"] };
const CLIENT = "apiVersion: v1\nkind: Pod\nmetadata: {name: far-client}\nspec:\n  nodeName: node-2\n  containers: [{name: main, image: busybox}]\n";

describe.each(["iptables", "nftables"] as ProxyMode[])("cluster DNS through kube-proxy (%s mode)", (mode) => {
  it("resolve web via 10.96.0.10 → CoreDNS on the other node over VXLAN → echo from the Service it names", async () => {
    const c = dnsCluster({ kubeDns: false, extra: CLIENT });
    const { pods } = addKubeDns(c, { replicas: 1 });
    const coredns = pods[0];
    expect(coredns.node.name).toBe("node-1");
    KubeProxy.start(c, { mode });
    const dns = ClusterDns.start(c);
    for (const name of ["web-1", "web-2"]) {
      const s = c.pod(name).container().udpSocket().bind(8080);
      s.on("message", (msg, r) => s.send(msg, r.port, r.address));
    }
    const client = c.pod("far-client");
    expect(client.node.name).toBe("node-2");
    const file = join(dir, `dns-${mode}.pcapng`);
    const cap = new NetCapture(file).attachAll(...c.namespaces());

    const answer = resolve(c, client, "web");
    c.sim.run();
    const r = await answer;
    expect(r).toMatchObject({ addresses: ["10.96.0.20"], canonicalName: "web.default.svc.cluster.local" });
    expect(dns.server(coredns)?.stats).toMatchObject({ received: 1, replies: { NOERROR: 1 } });

    const sock = client.container().udpSocket();
    sock.send("hello", 80, r.addresses[0]);
    c.sim.run();
    cap.close();
    expect(sock.received.map((m) => [m.msg.toString(), m.rinfo.address, m.rinfo.port])).toEqual([["hello", "10.96.0.20", 80]]);

    // Hop by hop: to the Service from the client; to the CoreDNS pod inside the tunnel; back from the Service.
    const wire = dnsOnWire(file);
    const cip = client.ipString;
    const sport = r.exchanges[0].sport;
    const hop = (iface: string) => (wire.get(iface) ?? []).map((w) => `${w.encap ? "vxlan " : ""}${w.src}:${w.sport} > ${w.dst}:${w.dport} ${w.msg.type}`);
    expect(hop("far-client/eth0")).toEqual([`${cip}:${sport} > 10.96.0.10:53 query`, `10.96.0.10:53 > ${cip}:${sport} response`]);
    expect(hop("node-2/eth0")).toEqual([`vxlan ${cip}:${sport} > ${coredns.ipString}:53 query`, `vxlan ${coredns.ipString}:53 > ${cip}:${sport} response`]);
    expect(hop(`${coredns.ns.name}/eth0`)).toEqual([`${cip}:${sport} > ${coredns.ipString}:53 query`, `${coredns.ipString}:53 > ${cip}:${sport} response`]);
    const reply = wire.get("far-client/eth0")![1].msg;
    expect(reply).toMatchObject({ id: r.exchanges[0].id, flag_qr: true, flag_aa: true, flag_rd: true, rcode: "NOERROR" });

    expect(tsharkProblems(file, VXLAN)).toEqual([]);
    const atClient = tsharkFields(file, ["dns.flags.response", "dns.qry.name", "dns.a", "dns.resp.ttl"], { ...VXLAN, filter: 'dns && frame.interface_name == "far-client/eth0"' });
    expect(atClient).toEqual([
      { "dns.flags.response": "0", "dns.qry.name": "web.default.svc.cluster.local", "dns.a": "", "dns.resp.ttl": "" },
      { "dns.flags.response": "1", "dns.qry.name": "web.default.svc.cluster.local", "dns.a": "10.96.0.20", "dns.resp.ttl": "30" },
    ]);
  });
});

describe("cluster DNS replies on the wire", () => {
  it("every kind of reply (SRV, NXDOMAIN with SOA, CNAME, PTR, TXT, EDNS, FORMERR, SERVFAIL) is well-formed for tshark", () => {
    const c = dnsCluster();
    const dns = ClusterDns.start(c, { install: false });
    const server = [...dns.servers.values()][0];
    const file = join(dir, "replies.pcapng");
    const cap = new NetCapture(file).attach(c.pod("client").ns.devices.get("eth0")!);
    const cli = c.pod("client").container().udpSocket();
    const opt: dnsPacket.OptAnswer = { name: ".", type: "OPT", udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0x8000, flag_do: true, options: [] };
    const queries: Buffer[] = [
      query("_echo._udp.web-headless.default.svc.cluster.local", "SRV", { id: 1 }),
      query("nope.default.svc.cluster.local", "A", { id: 2 }),
      query("alias.default.svc.cluster.local", "A", { id: 3 }),
      query("20.0.96.10.in-addr.arpa", "PTR", { id: 4 }),
      query("dns-version.cluster.local", "TXT", { id: 5 }),
      query("web.default.svc.cluster.local", "A", { id: 6, additionals: [opt] }),
      query("example.com", "A", { id: 7 }),
      query("cluster.local", "SOA", { id: 8 }),
      query("cluster.local", "NS", { id: 9 }),
      Buffer.concat([query("x", "A", { id: 10 }).subarray(0, 12), Buffer.from([0x40, 0x41, 0, 0, 1, 0, 1])]),
    ];
    for (const q of queries) cli.send(q, 53, server.pod.ipString);
    c.sim.run();
    cap.close();
    expect(cli.received.map((m) => decode(m.msg).rcode)).toEqual(["NOERROR", "NXDOMAIN", "NOERROR", "NOERROR", "NOERROR", "NOERROR", "SERVFAIL", "NOERROR", "NOERROR", "FORMERR"]);
    expect(tsharkProblems(file, { minSeverity: "warning", filter: "dns.flags.response == 1" })).toEqual([]);
    const fields = tsharkFields(file, ["dns.id", "dns.flags.rcode", "dns.flags.authoritative", "dns.count.answers"], { filter: "dns.flags.response == 1" });
    expect(fields.map((f) => [Number(f["dns.id"]), Number(f["dns.flags.rcode"]), f["dns.flags.authoritative"], Number(f["dns.count.answers"])])).toEqual([
      [1, 0, "1", 2],
      [2, 3, "1", 0],
      [3, 0, "1", 2],
      [4, 0, "1", 1],
      [5, 0, "1", 1],
      [6, 0, "1", 1],
      [7, 2, "0", 0],
      [8, 0, "1", 1],
      [9, 0, "1", 1],
      [10, 1, "0", 0],
    ]);
  });
});

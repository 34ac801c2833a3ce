// Clusters and wire helpers for the cluster DNS tests: a two-node flannel VXLAN cluster with kube-dns
// (kubeadm's manifest, test/k8s/fixtures/kube-dns.yaml), Services of every kind DNS answers for,
// queries built and replies read with dns-packet, and the DNS messages of a capture, per interface.

import { readFileSync } from "node:fs";
import * as dnsPacket from "dns-packet";
import { readCapture } from "../../src/capture/index.js";
import { Cluster, parseClusterConfig, parseManifests } from "../../src/k8s/index.js";
import { formatIpv4, ipv4, udp } from "../../src/wire/index.js";

export const KUBE_DNS_YAML = readFileSync(new URL("./fixtures/kube-dns.yaml", import.meta.url), "utf8");

export const DNS_CLUSTER = `
apiVersion: kubewire.dev/v1alpha1
kind: Cluster
name: dns
seed: 5
nodes:
- {name: node-1, address: 192.168.50.11}
- {name: node-2, address: 192.168.50.12}
underlay: {cidr: 192.168.50.0/24}
cni: {backend: vxlan}
`;

const pod = (name: string, node: string, labels: string, extra = "", ns = "default") => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}, labels: {${labels}}}
spec:
  nodeName: ${node}${extra}
  containers: [{name: main, image: busybox, ports: [{name: echo, containerPort: 8080, protocol: UDP}]}]
`;

/** The workloads: web (ClusterIP and headless), db (headless, hostname/subdomain, no ports), ExternalNames, a pod in "other". */
export const DNS_WORKLOADS = [
  pod("client", "node-1", "app: client"),
  pod("web-1", "node-1", "app: web"),
  pod("web-2", "node-2", "app: web"),
  pod("db-0", "node-2", "app: db", "\n  hostname: db-0\n  subdomain: db"),
  pod("tool", "node-2", "app: tool", "", "other"),
  `
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: 10.96.0.20
  selector: {app: web}
  ports: [{name: echo, port: 80, targetPort: echo, protocol: UDP}]
---
apiVersion: v1
kind: Service
metadata: {name: web-headless}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: echo, port: 8080, protocol: UDP}]
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  type: ExternalName
  externalName: example.com
---
apiVersion: v1
kind: Service
metadata: {name: alias}
spec:
  type: ExternalName
  externalName: web.default.svc.cluster.local
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
`,
].join("\n---\n");

/** A cluster from the config and manifests; the kube-dns fixture included unless `kubeDns` is false. */
export function dnsCluster(opts: { kubeDns?: boolean; extra?: string; config?: string } = {}): Cluster {
  const cfg = parseClusterConfig(opts.config ?? DNS_CLUSTER, "cluster.yaml");
  if (!cfg.config) throw new Error(cfg.diagnostics.map((d) => d.message).join("\n"));
  const text = [DNS_WORKLOADS, ...(opts.kubeDns === false ? [] : [KUBE_DNS_YAML]), ...(opts.extra ? [opts.extra] : [])].join("\n---\n");
  const m = parseManifests(text, { file: "manifests.yaml" });
  if (m.diagnostics.some((d) => d.severity === "error")) throw new Error(m.diagnostics.map((d) => d.message).join("\n"));
  return Cluster.fromManifests(cfg.config, m.objects);
}

/** A query message as a stub resolver sends it (RD set). */
export function query(name: string, type: dnsPacket.RecordType = "A", opts: { id?: number; flags?: number; additionals?: dnsPacket.Answer[] } = {}): Buffer {
  return dnsPacket.encode({ type: "query", id: opts.id ?? 0x1234, flags: opts.flags ?? dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: "IN" }], additionals: opts.additionals });
}

export const decode = (b: Buffer | Uint8Array): dnsPacket.DecodedPacket & { rcode?: string; opcode?: string } => dnsPacket.decode(Buffer.from(b));

/** The data of the answers of one type, in order. */
export const answersOf = (m: dnsPacket.DecodedPacket, type = "A"): unknown[] => (m.answers ?? []).filter((a) => a.type === type).map((a) => ("data" in a ? a.data : undefined));

export interface DnsOnWire {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** Inside a VXLAN tunnel. */
  encap: boolean;
  msg: ReturnType<typeof decode>;
}

/** Every DNS message (UDP port 53, bare or inside VXLAN on 8472) in a pcapng, per interface name. */
export function dnsOnWire(file: string): Map<string, DnsOnWire[]> {
  const cap = readCapture(file);
  const out = new Map<string, DnsOnWire[]>();
  for (const r of cap.records) {
    const name = r.interfaceName ?? cap.interfaces[r.interfaceId]?.name ?? "";
    const m = dnsIn(r.data, 0, false);
    if (m === undefined) continue;
    const list = out.get(name) ?? [];
    list.push(m);
    out.set(name, list);
  }
  return out;
}

function dnsIn(b: Uint8Array, eth: number, encap: boolean): DnsOnWire | undefined {
  if (((b[eth + 12] << 8) | b[eth + 13]) !== 0x0800) return undefined;
  const o = eth + 14;
  if (ipv4.protocol(b, o) !== 17) return undefined;
  const l4 = o + ipv4.headerLength(b, o);
  const sport = udp.srcPort(b, l4);
  const dport = udp.dstPort(b, l4);
  if (dport === 8472) return dnsIn(b, l4 + 16, true);
  if (sport !== 53 && dport !== 53) return undefined;
  const msg = decode(b.subarray(l4 + 8, l4 + udp.length(b, l4)));
  return { src: formatIpv4(ipv4.srcAddr(b, o)), dst: formatIpv4(ipv4.dstAddr(b, o)), sport, dport, encap, msg };
}

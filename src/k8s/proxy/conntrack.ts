// kube-proxy's conntrack housekeeping for UDP Services (pkg/proxy/conntrack/cleanup.go:
// CleanStaleEntries): after a sync that changed a UDP Service's endpoints, every UDP entry sent to
// a Service IP:port or NodePort whose reply does not come from a serving endpoint is deleted, as
// `conntrack -D -p udp --orig-dst VIP --orig-port-dst P --reply-src EP --reply-port-src EPP` would.

import type { Netfilter } from "../../netfilter/index.js";
import type { EndpointInfo, ServicePortInfo } from "./servicemap.js";

/** Returns the number of entries deleted. */
export function cleanStaleEntries(nf: Netfilter, ports: readonly ServicePortInfo[], endpoints: ReadonlyMap<string, readonly EndpointInfo[]>): number {
  const byServiceIP = new Map<string, Set<string>>();
  const byNodePort = new Map<number, Set<string>>();
  for (const sp of ports) {
    if (sp.protocol !== "UDP") continue;
    // Serving endpoints, whatever the traffic policies or topology: changes to a Service must not cut existing flows.
    const serving = new Set<string>();
    for (const ep of endpoints.get(sp.key) ?? []) if (ep.serving) serving.add(ep.endpoint);
    // A Service without endpoints keeps its entries.
    if (serving.size === 0) continue;
    for (const ip of [sp.clusterIP, ...sp.loadBalancerVIPs, ...sp.externalIPs]) byServiceIP.set(`${ip}:${sp.port}`, serving);
    if (sp.nodePort !== 0) byNodePort.set(sp.nodePort, serving);
  }
  if (byServiceIP.size === 0 && byNodePort.size === 0) return 0;
  let deleted = 0;
  for (const e of nf.entries({ proto: "udp" })) {
    const reply = `${e.reply.src}:${e.reply.sport}`;
    const frontend = byServiceIP.get(`${e.orig.dst}:${e.orig.dport}`);
    if (frontend !== undefined && !frontend.has(reply))
      deleted += nf.delete({ proto: "udp", origDst: e.orig.dst, origDport: e.orig.dport, replySrc: e.reply.src, replySport: e.reply.sport });
    const nodePort = byNodePort.get(e.orig.dport!);
    if (nodePort !== undefined && !nodePort.has(reply)) deleted += nf.delete({ proto: "udp", origDport: e.orig.dport, replySrc: e.reply.src, replySport: e.reply.sport });
  }
  return deleted;
}

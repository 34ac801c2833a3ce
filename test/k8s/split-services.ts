// Services across a split cluster: a NodePort Service (so also a ClusterIP) for the server pod on
// node-2, reached by the client on node-1 through its ClusterIP and through node-1's NodePort
// (DNAT on node-1, masquerade for the NodePort, the endpoint across the underlay), over UDP and TCP;
// the traffic in one process on the virtual clock, the baseline the split run must equal.
import { createTcpConnection, createUdpSocket, NetCapture, runUntilSettled } from "../../src/net/index.js";
import type { Scenario } from "../../src/scenario/index.js";
import { formatIpv4 } from "../../src/wire/index.js";
import { buildCluster } from "./split-helpers.js";

export const SERVICES = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: server}
  ports:
  - {name: udp, protocol: UDP, port: 80, targetPort: 9000, nodePort: 30900}
  - {name: tcp, protocol: TCP, port: 80, targetPort: 7000, nodePort: 30700}
`;

export interface ServiceHop {
  proto: "udp" | "tcp";
  /** "clusterIP" or node-1's address. */
  via: "clusterIP" | "nodePort";
  srcPort: number;
  payload: string;
}

/** From the client pod (node-1): each protocol through the ClusterIP, then through node-1's NodePort. */
export const SERVICE_TRAFFIC: readonly ServiceHop[] = [
  { proto: "udp", via: "clusterIP", srcPort: 40100, payload: "udp to the ClusterIP" },
  { proto: "tcp", via: "clusterIP", srcPort: 41100, payload: "tcp to the ClusterIP" },
  { proto: "udp", via: "nodePort", srcPort: 40101, payload: "udp to node-1's NodePort" },
  { proto: "tcp", via: "nodePort", srcPort: 41101, payload: "tcp to node-1's NodePort" },
];

/** Where a hop is sent: the ClusterIP's port 80, or node-1's address and the NodePort. */
export function serviceTarget(s: Scenario, hop: ServiceHop): { addr: string; port: number } {
  const c = buildCluster(s);
  if (hop.via === "clusterIP") return { addr: formatIpv4(c.services.get("default/web")!.clusterIP as number), port: 80 };
  return { addr: formatIpv4(c.node("node-1").address), port: hop.proto === "udp" ? 30900 : 30700 };
}

/** The service traffic in one process on the virtual clock; the replies, in order. */
export async function baselineServices(s: Scenario, pcap: string): Promise<(string | undefined)[]> {
  const c = buildCluster(s);
  const cap = new NetCapture(pcap).attachAll(...c.namespaces());
  const client = c.pod("client").ns;
  const out: (string | undefined)[] = [];
  for (const hop of SERVICE_TRAFFIC) {
    const to = serviceTarget(s, hop);
    if (hop.proto === "udp") {
      const sock = createUdpSocket(client).bind(hop.srcPort).connect(to.port, to.addr);
      sock.send(hop.payload);
      c.sim.runFor(1e9);
      out.push(sock.received[0]?.msg.toString());
      sock.close();
      continue;
    }
    let got = "";
    const sock = createTcpConnection(client, { host: to.addr, port: to.port, localPort: hop.srcPort }, () => sock.write(hop.payload));
    sock.on("data", (d: Buffer) => {
      got += d.toString();
      if (got.length >= hop.payload.length) sock.end();
    });
    await runUntilSettled(c.sim, { until: c.sim.now + 2e9 });
    out.push(got || undefined);
  }
  cap.close();
  return out;
}

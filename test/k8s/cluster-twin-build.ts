// The Linux twin of a kubewire two-node cluster (client on node-1, server on node-2): the same
// namespaces, cni0, veths and MACs, and a real flannel.1 with flanneld's entries (vxlan) or host-gw routes.
import type { Cluster } from "../../src/k8s/index.js";
import { formatCidr, formatIpv4, formatMac } from "../../src/wire/index.js";
import type { LinuxTwin } from "../helpers/linux.js";

export /** Builds the twin of a kubewire two-node cluster (client on node-1, server on node-2). */
function buildTwin(t: LinuxTwin, c: Cluster, backend: "vxlan" | "host-gw"): void {
  const [n1, n2] = [c.node("node-1"), c.node("node-2")];
  for (const n of [n1, n2]) {
    t.ns(n.name);
    t.sysctl(n.name, "net.ipv4.ip_forward", 1);
  }
  t.veth("node-1", "eth0", "node-2", "eth0", { macA: formatMac(n1.eth0.mac), macB: formatMac(n2.eth0.mac) });
  for (const n of [n1, n2]) t.addr(n.name, "eth0", `${formatIpv4(n.address)}/24`);
  for (const podName of ["client", "server"]) {
    const p = c.pod(podName);
    const node = p.node.name;
    const br = p.node.ns.device("cni0");
    if (!t.run(node, ["ip", "link", "show", "cni0"]).stdout) {
      t.bridge(node, "cni0", { mac: formatMac(br.mac), mtu: br.mtu });
      t.addr(node, "cni0", `${formatIpv4(p.node.ipam.gateway)}/24`);
    }
    t.ns(podName);
    const host = p.attachment.hostVeth;
    t.veth(podName, "eth0", node, host.name, { macA: formatMac(p.attachment.podVeth.mac), macB: formatMac(host.mac), mtu: host.mtu });
    t.attach(node, host.name, "cni0");
    t.ip(node, ["link", "set", host.name, "type", "bridge_slave", "hairpin", "on"]);
    t.addr(podName, "eth0", `${p.ipString}/24`);
    t.route(podName, `default via ${formatIpv4(p.node.ipam.gateway)}`);
  }
  for (const [me, peer] of [[n1, n2], [n2, n1]] as const) {
    if (backend === "host-gw") {
      t.route(me.name, `${formatCidr(peer.podCIDR)} via ${formatIpv4(peer.address)} dev eth0`);
      continue;
    }
    const vx = c.vxlan.get(me.name)!;
    const peerVx = c.vxlan.get(peer.name)!;
    t.vxlan(me.name, "flannel.1", { id: 1, dev: "eth0", local: formatIpv4(me.address), dstport: 8472, learning: false, mac: formatMac(vx.mac), mtu: vx.mtu });
    t.addr(me.name, "flannel.1", `${formatIpv4(me.podCIDR.addr)}/32`);
    t.ipBatch(me.name, [
      `neigh replace ${formatIpv4(peer.podCIDR.addr)} lladdr ${formatMac(peerVx.mac)} dev flannel.1 nud permanent`,
      `route add ${formatCidr(peer.podCIDR)} via ${formatIpv4(peer.podCIDR.addr)} dev flannel.1 onlink`,
    ]);
    t.exec(me.name, ["bridge", "fdb", "append", formatMac(peerVx.mac), "dev", "flannel.1", "dst", formatIpv4(peer.address)]);
  }
}


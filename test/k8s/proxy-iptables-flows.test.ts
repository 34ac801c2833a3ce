// kube-proxy's packet-flow tests (pkg/proxy/iptables/proxier_test.go runPacketFlowTests) on
// kubewire's rules: where each packet ends up (endpoints, REJECT, DROP, ACCEPT) and whether it is
// marked for masquerade, by tracing the generated rules as kube-proxy's tracePacket does.

import { describe, expect, it } from "vitest";
import type { EndpointSlice } from "../../src/k8s/index.js";
import { iptablesRestoreText, type ProxierConfig, type ProxyService } from "../../src/k8s/index.js";
import {
  FAKE_IPTABLES_PROXIER,
  makeTestEndpointSlice,
  makeTestService,
  TEST_EXTERNAL_CLIENT,
  TEST_EXTERNAL_CLIENT_BLOCKED,
  TEST_EXTERNAL_IP,
  TEST_NODE_IP,
  TEST_NODE_IP_ALT,
  TEST_NODE_IPS,
  tracePacket,
} from "./proxy-helpers.js";

interface Flow {
  name: string;
  sourceIP: string;
  protocol?: "tcp" | "udp" | "sctp";
  destIP: string;
  destPort: number;
  output: string;
  masq?: boolean;
}

function runFlows(cfg: ProxierConfig, services: ProxyService[], slices: EndpointSlice[], flows: Flow[]): void {
  const text = iptablesRestoreText(cfg, services, slices);
  for (const f of flows) {
    const r = tracePacket(text, f.sourceIP, f.protocol ?? "tcp", f.destIP, f.destPort, TEST_NODE_IPS);
    expect({ name: f.name, output: r.output, masq: r.masq }).toEqual({ name: f.name, output: f.output, masq: f.masq ?? false });
  }
}

const P80 = [{ name: "p80", port: 80 }];

describe("packet flows", () => {
  it("TestNoEndpointsReject: ClusterIP, external IP, NodePort and LoadBalancer IP reject", () => {
    const svc = makeTestService("ns1", "svc1", (s, ports) => {
      s.spec.type = "LoadBalancer";
      s.spec.clusterIP = "172.30.0.41";
      s.spec.externalIPs = [TEST_EXTERNAL_IP];
      ports([{ name: "p80", port: 80, nodePort: 3001 }]);
      s.loadBalancerIngress = ["1.2.3.4"];
    });
    runFlows(FAKE_IPTABLES_PROXIER, [svc], [], [
      { name: "pod to cluster IP with no endpoints", sourceIP: "10.0.0.2", destIP: "172.30.0.41", destPort: 80, output: "REJECT" },
      { name: "external to external IP with no endpoints", sourceIP: TEST_EXTERNAL_CLIENT, destIP: TEST_EXTERNAL_IP, destPort: 80, output: "REJECT" },
      { name: "pod to NodePort with no endpoints", sourceIP: "10.0.0.2", destIP: TEST_NODE_IP, destPort: 3001, output: "REJECT" },
      { name: "external to NodePort with no endpoints", sourceIP: TEST_EXTERNAL_CLIENT, destIP: TEST_NODE_IP, destPort: 3001, output: "REJECT" },
      { name: "pod to LoadBalancer IP with no endpoints", sourceIP: "10.0.0.2", destIP: "1.2.3.4", destPort: 80, output: "REJECT" },
      { name: "external to LoadBalancer IP with no endpoints", sourceIP: TEST_EXTERNAL_CLIENT, destIP: "1.2.3.4", destPort: 80, output: "REJECT" },
    ]);
  });

  it("TestClusterIPGeneral: hairpin, several endpoints, targetPort, one port number on TCP, UDP and SCTP", () => {
    const svc1 = makeTestService("ns1", "svc1", (s, ports) => {
      s.spec.clusterIP = "172.30.0.41";
      ports([{ name: "http", port: 80 }]);
    });
    const svc2 = makeTestService("ns2", "svc2", (s, ports) => {
      s.spec.clusterIP = "172.30.0.42";
      ports([
        { name: "http", port: 80 },
        { name: "https", port: 443, targetPort: 8443 },
        { name: "dns-udp", port: 53, protocol: "UDP" },
        { name: "dns-tcp", port: 53, targetPort: 5353 },
        { name: "dns-sctp", port: 53, protocol: "SCTP" },
      ]);
    });
    const slices = [
      makeTestEndpointSlice("ns1", "svc1", 1, [{ addresses: ["10.180.0.1"], nodeName: "test-node" }], [{ name: "http", port: 80 }]),
      makeTestEndpointSlice(
        "ns2",
        "svc2",
        1,
        [
          { addresses: ["10.180.0.1"], nodeName: "test-node" },
          { addresses: ["10.180.2.1"], nodeName: "node2" },
        ],
        [
          { name: "http", port: 80 },
          { name: "https", port: 8443 },
          { name: "dns-udp", port: 53, protocol: "UDP" },
          { name: "dns-tcp", port: 5353 },
          { name: "dns-sctp", port: 53, protocol: "SCTP" },
        ],
      ),
    ];
    runFlows(FAKE_IPTABLES_PROXIER, [svc1, svc2], slices, [
      { name: "simple clusterIP", sourceIP: "10.180.0.2", destIP: "172.30.0.41", destPort: 80, output: "10.180.0.1:80" },
      { name: "hairpin to cluster IP", sourceIP: "10.180.0.1", destIP: "172.30.0.41", destPort: 80, output: "10.180.0.1:80", masq: true },
      { name: "clusterIP with multiple endpoints", sourceIP: "10.180.0.2", destIP: "172.30.0.42", destPort: 80, output: "10.180.0.1:80, 10.180.2.1:80" },
      { name: "clusterIP with TargetPort", sourceIP: "10.180.0.2", destIP: "172.30.0.42", destPort: 443, output: "10.180.0.1:8443, 10.180.2.1:8443" },
      { name: "TCP", sourceIP: "10.180.0.2", protocol: "tcp", destIP: "172.30.0.42", destPort: 53, output: "10.180.0.1:5353, 10.180.2.1:5353" },
      { name: "UDP", sourceIP: "10.180.0.2", protocol: "udp", destIP: "172.30.0.42", destPort: 53, output: "10.180.0.1:53, 10.180.2.1:53" },
      { name: "SCTP", sourceIP: "10.180.0.2", protocol: "sctp", destIP: "172.30.0.42", destPort: 53, output: "10.180.0.1:53, 10.180.2.1:53" },
      { name: "TCP-only port does not match UDP traffic", sourceIP: "10.180.0.2", protocol: "udp", destIP: "172.30.0.42", destPort: 80, output: "" },
      { name: "svc1 does not accept svc2's ports", sourceIP: "10.180.0.2", destIP: "172.30.0.41", destPort: 443, output: "" },
    ]);
  });

  it("TestLoadBalancer: LoadBalancerSourceRanges on the LB IPs, not on the NodePort; the node allowed through its own LB IP", () => {
    const svc = makeTestService("ns1", "svc1", (s, ports) => {
      s.spec.type = "LoadBalancer";
      s.spec.clusterIP = "172.30.0.41";
      ports([{ name: "p80", port: 80, nodePort: 3001 }]);
      s.loadBalancerIngress = ["1.2.3.4", "5.6.7.8"];
      s.spec.loadBalancerSourceRanges = ["192.168.0.0/24", " 203.0.113.0/25"];
    });
    const ep = "10.180.0.1:80";
    runFlows(FAKE_IPTABLES_PROXIER, [svc], [makeTestEndpointSlice("ns1", "svc1", 1, [{ addresses: ["10.180.0.1"] }], P80)], [
      { name: "pod to cluster IP", sourceIP: "10.0.0.2", destIP: "172.30.0.41", destPort: 80, output: ep },
      { name: "external to nodePort", sourceIP: TEST_EXTERNAL_CLIENT, destIP: TEST_NODE_IP, destPort: 3001, output: ep, masq: true },
      { name: "nodePort bypasses LoadBalancerSourceRanges", sourceIP: TEST_EXTERNAL_CLIENT_BLOCKED, destIP: TEST_NODE_IP, destPort: 3001, output: ep, masq: true },
      { name: "accepted external to LB1", sourceIP: TEST_EXTERNAL_CLIENT, destIP: "1.2.3.4", destPort: 80, output: ep, masq: true },
      { name: "accepted external to LB2", sourceIP: TEST_EXTERNAL_CLIENT, destIP: "5.6.7.8", destPort: 80, output: ep, masq: true },
      { name: "blocked external to LB1", sourceIP: TEST_EXTERNAL_CLIENT_BLOCKED, destIP: "1.2.3.4", destPort: 80, output: "DROP" },
      { name: "blocked external to LB2", sourceIP: TEST_EXTERNAL_CLIENT_BLOCKED, destIP: "5.6.7.8", destPort: 80, output: "DROP" },
      { name: "pod to LB1 (blocked by LoadBalancerSourceRanges)", sourceIP: "10.0.0.2", destIP: "1.2.3.4", destPort: 80, output: "DROP" },
      { name: "pod to LB2 (blocked by LoadBalancerSourceRanges)", sourceIP: "10.0.0.2", destIP: "5.6.7.8", destPort: 80, output: "DROP" },
      { name: "node to LB1 (allowed by LoadBalancerSourceRanges)", sourceIP: TEST_NODE_IP, destIP: "1.2.3.4", destPort: 80, output: ep, masq: true },
      { name: "node to LB2 (allowed by LoadBalancerSourceRanges)", sourceIP: TEST_NODE_IP, destIP: "5.6.7.8", destPort: 80, output: ep, masq: true },
      { name: "same node to LB1, SNATted to LB1 (implicitly allowed)", sourceIP: "1.2.3.4", destIP: "1.2.3.4", destPort: 80, output: ep, masq: true },
      { name: "same node to LB2, SNATted to LB2 (implicitly allowed)", sourceIP: "5.6.7.8", destIP: "5.6.7.8", destPort: 80, output: ep, masq: true },
    ]);
  });

  describe("TestNodePorts", () => {
    const cases: { name: string; localhostNodePorts: boolean; nodePortAddresses?: string[]; allowAltNodeIP: boolean }[] = [
      { name: "ipv4, localhost-nodeports enabled", localhostNodePorts: true, allowAltNodeIP: true },
      { name: "ipv4, localhost-nodeports disabled", localhostNodePorts: false, allowAltNodeIP: true },
      { name: "ipv4, localhost-nodeports disabled, localhost in nodeport-addresses", localhostNodePorts: false, nodePortAddresses: ["192.168.0.0/24", "127.0.0.1/32"], allowAltNodeIP: false },
      { name: "ipv4, localhost-nodeports enabled, multiple nodeport-addresses", localhostNodePorts: false, nodePortAddresses: ["192.168.0.0/24", "192.168.1.0/24", "2001:db8::/64"], allowAltNodeIP: true },
    ];
    for (const tc of cases)
      it(tc.name, () => {
        const svc = makeTestService("ns1", "svc1", (s, ports) => {
          s.spec.type = "NodePort";
          s.spec.clusterIP = "172.30.0.41";
          ports([{ name: "p80", port: 80, nodePort: 3001 }]);
        });
        const slice = makeTestEndpointSlice("ns1", "svc1", 1, [{ addresses: ["10.180.0.1"] }, { addresses: ["10.180.2.1"], nodeName: "test-node" }], P80);
        const cfg = { ...FAKE_IPTABLES_PROXIER, localhostNodePorts: tc.localhostNodePorts, nodePortAddresses: tc.nodePortAddresses };
        const output = "10.180.0.1:80, 10.180.2.1:80";
        runFlows(cfg, [svc], [slice], [
          { name: "pod to cluster IP", sourceIP: "10.0.0.2", destIP: "172.30.0.41", destPort: 80, output },
          { name: "external to nodePort", sourceIP: TEST_EXTERNAL_CLIENT, destIP: TEST_NODE_IP, destPort: 3001, output, masq: true },
          { name: "node to nodePort", sourceIP: TEST_NODE_IP, destIP: TEST_NODE_IP, destPort: 3001, output, masq: true },
          tc.localhostNodePorts
            ? { name: "localhost to nodePort gets masqueraded", sourceIP: "127.0.0.1", destIP: "127.0.0.1", destPort: 3001, output, masq: true }
            : { name: "localhost to nodePort is ignored", sourceIP: "127.0.0.1", destIP: "127.0.0.1", destPort: 3001, output: "" },
          tc.allowAltNodeIP
            ? { name: "external to nodePort on secondary IP", sourceIP: TEST_EXTERNAL_CLIENT, destIP: TEST_NODE_IP_ALT, destPort: 3001, output, masq: true }
            : { name: "secondary nodeIP ignores NodePorts", sourceIP: TEST_EXTERNAL_CLIENT, destIP: TEST_NODE_IP_ALT, destPort: 3001, output: "" },
        ]);
      });
  });

  const lbWithPolicy = (policy: "Local" | "Cluster") =>
    makeTestService("ns1", "svc1", (s, ports) => {
      s.spec.type = "LoadBalancer";
      s.spec.externalTrafficPolicy = policy;
      s.spec.clusterIP = "172.30.0.41";
      s.spec.externalIPs = [TEST_EXTERNAL_IP];
      ports([{ name: "p80", port: 80, nodePort: 3001, targetPort: 80 }]);
      s.spec.healthCheckNodePort = 30000;
      s.loadBalancerIngress = ["1.2.3.4"];
    });
  const twoEndpoints = makeTestEndpointSlice("ns1", "svc1", 1, [{ addresses: ["10.180.0.1"] }, { addresses: ["10.180.2.1"], nodeName: "test-node" }], P80);
  const both = "10.180.0.1:80, 10.180.2.1:80";

  it("TestExternalTrafficPolicyLocal: external sources reach only the local endpoint, unmasqueraded; pods reach all", () => {
    runFlows(FAKE_IPTABLES_PROXIER, [lbWithPolicy("Local")], [twoEndpoints], [
      { name: "pod to cluster IP hits both endpoints, unmasqueraded", sourceIP: "10.0.0.2", destIP: "172.30.0.41", destPort: 80, output: both },
      { name: "pod to external IP hits both endpoints, unmasqueraded", sourceIP: "10.0.0.2", destIP: TEST_EXTERNAL_IP, destPort: 80, output: both },
      { name: "external to external IP hits only local endpoint, unmasqueraded", sourceIP: TEST_EXTERNAL_CLIENT, destIP: TEST_EXTERNAL_IP, destPort: 80, output: "10.180.2.1:80" },
      { name: "pod to LB IP hits only both endpoints, unmasqueraded", sourceIP: "10.0.0.2", destIP: "1.2.3.4", destPort: 80, output: both },
      { name: "external to LB IP hits only local endpoint, unmasqueraded", sourceIP: TEST_EXTERNAL_CLIENT, destIP: "1.2.3.4", destPort: 80, output: "10.180.2.1:80" },
      { name: "pod to NodePort hits both endpoints, unmasqueraded", sourceIP: "10.0.0.2", destIP: TEST_NODE_IP, destPort: 3001, output: both },
      { name: "external to NodePort hits only local endpoint, unmasqueraded", sourceIP: TEST_EXTERNAL_CLIENT, destIP: TEST_NODE_IP, destPort: 3001, output: "10.180.2.1:80" },
    ]);
  });

  it("TestExternalTrafficPolicyCluster: external destinations are masqueraded, every endpoint used", () => {
    runFlows(FAKE_IPTABLES_PROXIER, [lbWithPolicy("Cluster")], [twoEndpoints], [
      { name: "pod to cluster IP hits both endpoints, unmasqueraded", sourceIP: "10.0.0.2", destIP: "172.30.0.41", destPort: 80, output: both },
      { name: "pod to external IP hits both endpoints, masqueraded", sourceIP: "10.0.0.2", destIP: TEST_EXTERNAL_IP, destPort: 80, output: both, masq: true },
      { name: "external to external IP hits both endpoints, masqueraded", sourceIP: TEST_EXTERNAL_CLIENT, destIP: TEST_EXTERNAL_IP, destPort: 80, output: both, masq: true },
      { name: "pod to LB IP hits both endpoints, masqueraded", sourceIP: "10.0.0.2", destIP: "1.2.3.4", destPort: 80, output: both, masq: true },
      { name: "external to LB IP hits both endpoints, masqueraded", sourceIP: TEST_EXTERNAL_CLIENT, destIP: "1.2.3.4", destPort: 80, output: both, masq: true },
      { name: "pod to NodePort hits both endpoints, masqueraded", sourceIP: "10.0.0.2", destIP: TEST_NODE_IP, destPort: 3001, output: both, masq: true },
      { name: "external to NodePort hits both endpoints, masqueraded", sourceIP: TEST_EXTERNAL_CLIENT, destIP: TEST_NODE_IP, destPort: 3001, output: both, masq: true },
    ]);
  });

  describe("TestInternalTrafficPolicy", () => {
    const cases: { name: string; policy: "Cluster" | "Local"; endpoints: [string, string][]; output: string }[] = [
      { name: "internalTrafficPolicy is cluster", policy: "Cluster", endpoints: [["10.0.1.1", "test-node"], ["10.0.1.2", "node1"], ["10.0.1.3", "node2"]], output: "10.0.1.1:80, 10.0.1.2:80, 10.0.1.3:80" },
      { name: "internalTrafficPolicy is local and there is one local endpoint", policy: "Local", endpoints: [["10.0.1.1", "test-node"], ["10.0.1.2", "node1"], ["10.0.1.3", "node2"]], output: "10.0.1.1:80" },
      { name: "internalTrafficPolicy is local and there are multiple local endpoints", policy: "Local", endpoints: [["10.0.1.1", "test-node"], ["10.0.1.2", "test-node"], ["10.0.1.3", "node2"]], output: "10.0.1.1:80, 10.0.1.2:80" },
      { name: "internalTrafficPolicy is local and there are no local endpoints", policy: "Local", endpoints: [["10.0.1.1", "node0"], ["10.0.1.2", "node1"], ["10.0.1.3", "node2"]], output: "DROP" },
    ];
    for (const c of cases)
      it(c.name, () => {
        const svc = makeTestService("ns1", "svc1", (s, ports) => {
          s.spec.clusterIP = "172.30.1.1";
          s.spec.selector = { foo: "bar" };
          s.spec.internalTrafficPolicy = c.policy;
          ports([{ name: "", port: 80 }]);
        });
        const slice = makeTestEndpointSlice("ns1", "svc1", 1, c.endpoints.map(([ip, nodeName]) => ({ addresses: [ip], nodeName })), [{ name: "", port: 80 }]);
        runFlows(FAKE_IPTABLES_PROXIER, [svc], [slice], [{ name: "pod to ClusterIP", sourceIP: "10.0.0.2", destIP: "172.30.1.1", destPort: 80, output: c.output }]);
        runFlows(FAKE_IPTABLES_PROXIER, [svc], [], [{ name: "endpoints deleted", sourceIP: "10.0.0.2", destIP: "172.30.1.1", destPort: 80, output: "REJECT" }]);
      });
  });

  describe("TestTerminatingEndpointsTrafficPolicyLocal", () => {
    const svc = makeTestService("ns1", "svc1", (s, ports) => {
      s.spec.type = "LoadBalancer";
      s.spec.externalTrafficPolicy = "Local";
      s.spec.clusterIP = "172.30.1.1";
      ports([{ name: "", port: 80, targetPort: 80 }]);
      s.spec.healthCheckNodePort = 30000;
      s.loadBalancerIngress = ["1.2.3.4"];
    });
    const t = (addr: string, ready: boolean, serving: boolean, terminating: boolean, nodeName: string) => ({ addresses: [addr], ready, serving, terminating, nodeName });
    const cases: { name: string; endpoints: ReturnType<typeof t>[]; pod: string; external: string }[] = [
      {
        name: "ready endpoints exist",
        endpoints: [t("10.0.1.1", true, true, false, "test-node"), t("10.0.1.2", true, true, false, "test-node"), t("10.0.1.3", false, true, true, "test-node"), t("10.0.1.4", false, false, true, "test-node"), t("10.0.1.5", true, true, false, "node-1")],
        pod: "10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80",
        external: "10.0.1.1:80, 10.0.1.2:80",
      },
      {
        name: "only terminating endpoints exist",
        endpoints: [t("10.0.1.2", false, true, true, "test-node"), t("10.0.1.3", false, true, true, "test-node"), t("10.0.1.4", false, false, true, "test-node"), t("10.0.1.5", true, true, false, "node-1")],
        pod: "10.0.1.5:80",
        external: "10.0.1.2:80, 10.0.1.3:80",
      },
      { name: "terminating endpoints on remote node", endpoints: [t("10.0.1.5", false, true, true, "node-1")], pod: "10.0.1.5:80", external: "DROP" },
      { name: "no usable endpoints on any node", endpoints: [t("10.0.1.5", false, false, true, "test-node"), t("10.0.1.5", false, false, true, "node-1")], pod: "REJECT", external: "REJECT" },
    ];
    for (const c of cases)
      it(c.name, () => {
        runFlows(FAKE_IPTABLES_PROXIER, [svc], [makeTestEndpointSlice("ns1", "svc1", 1, c.endpoints, [{ name: "", port: 80 }])], [
          { name: "pod to clusterIP", sourceIP: "10.0.0.2", destIP: "172.30.1.1", destPort: 80, output: c.pod },
          { name: "external to LB", sourceIP: TEST_EXTERNAL_CLIENT, destIP: "1.2.3.4", destPort: 80, output: c.external },
        ]);
      });
  });

  describe("TestTerminatingEndpointsTrafficPolicyCluster", () => {
    const svc = makeTestService("ns1", "svc1", (s, ports) => {
      s.spec.type = "LoadBalancer";
      s.spec.externalTrafficPolicy = "Cluster";
      s.spec.clusterIP = "172.30.1.1";
      ports([{ name: "", port: 80, targetPort: 80 }]);
      s.spec.healthCheckNodePort = 30000;
      s.loadBalancerIngress = ["1.2.3.4"];
    });
    const port = [{ name: "", port: 80 }];
    const t = (addr: string, ready: boolean, serving: boolean, terminating: boolean, nodeName: string) => ({ addresses: [addr], ready, serving, terminating, nodeName });
    const cases: { name: string; endpoints: ReturnType<typeof t>[]; output: string }[] = [
      {
        name: "ready endpoints exist",
        endpoints: [
          t("10.0.1.1", true, true, false, "test-node"),
          t("10.0.1.2", true, true, false, "test-node"),
          t("10.0.1.3", false, true, true, "another-node"),
          t("10.0.1.4", false, false, true, "another-node"),
          t("10.0.1.5", true, true, false, "another-node"),
        ],
        output: "10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80",
      },
      {
        name: "only terminating endpoints exist",
        endpoints: [
          t("10.0.1.2", false, true, true, "test-node"),
          t("10.0.1.3", false, true, true, "test-node"),
          t("10.0.1.4", false, false, true, "another-node"),
          t("10.0.1.5", false, true, true, "another-node"),
        ],
        output: "10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80",
      },
      { name: "terminating endpoints on remote node", endpoints: [t("10.0.1.5", false, true, true, "node-1")], output: "10.0.1.5:80" },
      { name: "no usable endpoints on any node", endpoints: [t("10.0.1.5", false, false, true, "test-node"), t("10.0.1.5", false, false, true, "node-1")], output: "REJECT" },
    ];
    for (const c of cases)
      it(c.name, () => {
        const masq = c.output !== "REJECT";
        runFlows(FAKE_IPTABLES_PROXIER, [svc], [makeTestEndpointSlice("ns1", "svc1", 1, c.endpoints, port)], [
          { name: "pod to clusterIP", sourceIP: "10.0.0.2", destIP: "172.30.1.1", destPort: 80, output: c.output },
          { name: "external to LB", sourceIP: TEST_EXTERNAL_CLIENT, destIP: "1.2.3.4", destPort: 80, output: c.output, masq },
        ]);
        // After the slice is deleted: REJECT.
        runFlows(FAKE_IPTABLES_PROXIER, [svc], [], [
          { name: "pod to clusterIP after endpoints deleted", sourceIP: "10.0.0.2", destIP: "172.30.1.1", destPort: 80, output: "REJECT" },
          { name: "external to LB after endpoints deleted", sourceIP: TEST_EXTERNAL_CLIENT, destIP: "1.2.3.4", destPort: 80, output: "REJECT" },
        ]);
      });
  });
});


// kube-proxy's nftables table from kubewire's Services and EndpointSlices, checked against
// pkg/proxy/nftables/proxier_test.go's expected transaction (normalised as its
// sortNFTablesTransaction does), and the `nft list ruleset` text against the real nft.

import { describe, expect, it } from "vitest";
import { endpointsMap, knftablesDump, nftablesRuleset, nftHashAndTruncate, nftListRuleset, nftRuleText, servicePorts } from "../../src/k8s/index.js";
import { describeLinux, useLinuxTwin } from "../helpers/linux.js";
import { NFT_BASE_RULES, OVERALL_NFTABLES } from "./proxy-expected.js";
import { FAKE_NFTABLES_PROXIER, overallCase, sortNFTablesTransaction } from "./proxy-helpers.js";

function overallTable() {
  const { services, slices } = overallCase();
  return nftablesRuleset(FAKE_NFTABLES_PROXIER, servicePorts(services), endpointsMap(slices, FAKE_NFTABLES_PROXIER.nodeName));
}

describe("nftables chain names (hashAndTruncate)", () => {
  it("prefix the name with 8 base32 characters of its sha256", () => {
    expect(nftHashAndTruncate("ns1/svc1/tcp/p80")).toBe("ULMVA6XW-ns1/svc1/tcp/p80");
    expect(nftHashAndTruncate("ns1/svc1/tcp/p80__10.180.0.1/80")).toBe("5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80");
    const long = nftHashAndTruncate(`${"a".repeat(100)}/${"b".repeat(100)}/tcp/${"c".repeat(60)}`);
    expect(long).toHaveLength(240);
    expect(long.endsWith("...")).toBe(true);
  });
});

describe("TestOverallNFTablesRules", () => {
  it("gives kube-proxy's transaction: base chains, maps, and per-service chains and elements", () => {
    expect(sortNFTablesTransaction(knftablesDump(overallTable()))).toBe(sortNFTablesTransaction(NFT_BASE_RULES + OVERALL_NFTABLES));
  });

  it("an empty cluster is baseRules", () => {
    expect(sortNFTablesTransaction(knftablesDump(nftablesRuleset(FAKE_NFTABLES_PROXIER, [], new Map())))).toBe(sortNFTablesTransaction(NFT_BASE_RULES));
  });
});

describe("nft list ruleset", () => {
  it("prints priorities by name, meta mark constants, folded single-element sets", () => {
    const text = nftListRuleset(overallTable());
    expect(text).toContain("\tchain filter-prerouting-pre-dnat {\n\t\ttype filter hook prerouting priority dstnat - 10; policy accept;\n\t\tct state new jump firewall-check\n\t}\n");
    expect(text).toContain("\tchain nat-postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\tjump masquerading\n\t}\n");
    expect(text).toContain("\t\tmeta mark & 0x00004000 == 0x00000000 return\n\t\tmeta mark set meta mark ^ 0x00004000\n\t\tmasquerade fully-random\n");
    expect(text).toContain('\t\tip daddr 172.30.0.0/16 drop comment "Drop traffic to unallocated ClusterIPs"\n');
    expect(text).toContain("\tset affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80 {\n\t\ttype ipv4_addr\n\t\tsize 65535\n\t\tflags dynamic,timeout\n\t\ttimeout 3h\n\t}\n");
    expect(nftRuleText("numgen random mod 2 vmap { 0 : goto a , 1 : goto b }")).toBe("numgen random mod 2 vmap { 0 : goto a, 1 : goto b }");
    expect(nftRuleText("ip saddr != { 192.168.0.0/24 , 203.0.113.0/25 } drop")).toBe("ip saddr != { 192.168.0.0/24, 203.0.113.0/25 } drop");
  });
});

describeLinux("the nftables table in the real nft (v1.0.6), in a throwaway netns", () => {
  const twin = useLinuxTwin();
  it("nft -f accepts `nft list ruleset`'s text and lists it back the same", () => {
    const text = nftListRuleset(overallTable());
    const t = twin();
    const ns = t.ns("node");
    t.exec(ns, ["nft", "-f", "-"], { input: text });
    const listed = t.exec(ns, ["nft", "list", "ruleset"]);
    // Element order within a set is the kernel's (hash order): compare the elements as sets.
    const split = (s: string) => {
      const elements: string[] = [];
      const rest = s.replace(/elements = \{ ([^}]*) \}/g, (_, inner: string) => {
        elements.push(...inner.split(/,\n\t*\s*|, /).map((e) => e.trim()));
        return "elements = { … }";
      });
      return { rest, elements: elements.sort() };
    };
    expect(split(listed).rest).toBe(split(text).rest);
    expect(split(listed).elements).toEqual(split(text).elements);
  });
});

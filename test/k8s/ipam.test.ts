import { describe, expect, it } from "vitest";
import { HostLocalIpam, IpamExhaustedError } from "../../src/k8s/cni/ipam.js";
import { formatIpv4, mustParseCidr, mustParseIpv4 } from "../../src/wire/index.js";

describe("host-local IPAM", () => {
  it("gateway .1, first pod .2, round-robin past freed addresses until the range wraps", () => {
    const ipam = new HostLocalIpam(mustParseCidr("10.244.1.0/24"));
    expect(formatIpv4(ipam.gateway)).toBe("10.244.1.1");
    expect(ipam.size).toBe(253);
    const a = ipam.allocate("default/a");
    const b = ipam.allocate("default/b");
    expect([a, b].map(formatIpv4)).toEqual(["10.244.1.2", "10.244.1.3"]);
    expect(ipam.release(a)).toBe("default/a");
    expect(formatIpv4(ipam.allocate("default/c"))).toBe("10.244.1.4");
    expect(ipam.dump()).toEqual(["10.244.1.3 default/b", "10.244.1.4 default/c"]);
  });

  it("wraps around to reuse freed addresses, and exhaustion is a clear error for that pod", () => {
    const ipam = new HostLocalIpam(mustParseCidr("10.244.9.0/29")); // .2 … .6
    const got = [1, 2, 3, 4, 5].map((i) => formatIpv4(ipam.allocate(`p${i}`)));
    expect(got).toEqual(["10.244.9.2", "10.244.9.3", "10.244.9.4", "10.244.9.5", "10.244.9.6"]);
    expect(() => ipam.allocate("default/late")).toThrow(IpamExhaustedError);
    expect(() => ipam.allocate("default/late")).toThrow(/no free address for pod default\/late in 10.244.9.0\/29/);
    ipam.release(mustParseIpv4("10.244.9.3"));
    expect(formatIpv4(ipam.allocate("default/late"))).toBe("10.244.9.3");
  });
});

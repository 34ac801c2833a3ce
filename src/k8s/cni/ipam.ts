// host-local IPAM (containernetworking/plugins, plugins/ipam/host-local): addresses from one
// node's podCIDR; the gateway is .1 (on cni0), the first pod gets .2, allocation continues
// round-robin after the last address handed out, and a freed address is reused only when the
// range wraps around. Exhaustion is an error for that pod, not for the node.

import { formatCidr, formatIpv4, type Ipv4Addr, type Ipv4Cidr, prefixMask } from "../../wire/index.js";

export class IpamExhaustedError extends Error {
  override name = "IpamExhaustedError";
}

export class HostLocalIpam {
  readonly gateway: Ipv4Addr;
  private readonly first: number;
  private readonly last: number;
  /** Allocated address → owner (the pod's "namespace/name"). */
  private readonly allocated = new Map<number, string>();
  private lastReserved: number;

  constructor(readonly range: Ipv4Cidr) {
    const net = range.addr >>> 0;
    const bcast = (net | ~prefixMask(range.len)) >>> 0;
    this.gateway = (net + 1) as Ipv4Addr;
    this.first = net + 2;
    this.last = bcast - 1;
    this.lastReserved = this.first - 1;
  }

  /** Capacity of the range for pods (network, gateway and broadcast excluded). */
  get size(): number {
    return Math.max(0, this.last - this.first + 1);
  }

  get used(): number {
    return this.allocated.size;
  }

  /** The next free address after the last one handed out, wrapping around; throws when none is left. */
  allocate(owner: string): Ipv4Addr {
    const n = this.size;
    for (let i = 1; i <= n; i++) {
      const a = this.first + ((this.lastReserved - this.first + i) % n);
      if (!this.allocated.has(a)) {
        this.allocated.set(a, owner);
        this.lastReserved = a;
        return a as Ipv4Addr;
      }
    }
    throw new IpamExhaustedError(
      `no free address for pod ${owner} in ${formatCidr(this.range)} (${n} addresses, all in use): delete pods, or give the node a larger podCIDR (nodeCIDRMaskSize)`,
    );
  }

  /** Frees `addr`; returns the owner it had. */
  release(addr: number): string | undefined {
    const owner = this.allocated.get(addr);
    this.allocated.delete(addr);
    return owner;
  }

  ownerOf(addr: number): string | undefined {
    return this.allocated.get(addr);
  }

  /** What /var/lib/cni/networks/<net>/ would hold: address → owner. */
  dump(): string[] {
    return [...this.allocated].sort((a, b) => a[0] - b[0]).map(([a, o]) => `${formatIpv4(a)} ${o}`);
  }
}

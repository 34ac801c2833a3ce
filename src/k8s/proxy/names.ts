// Chain names and probabilities as kube-proxy computes them: pkg/proxy/iptables/proxier.go
// (portProtoHash, servicePortEndpointChainName, computeProbability) and pkg/proxy/nftables/proxier.go
// (hashAndTruncate, servicePortChainNameBase, servicePortEndpointChainNameBase).

import { sha256Words } from "./sha256.js";

/** base32.StdEncoding's alphabet, as character codes. */
const BASE32 = Array.from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", (c) => c.charCodeAt(0));
/** The codes of one name being made (reused: a name is made by one String.fromCharCode). */
const codes: number[] = [];

/** `prefix` + the first `chars` characters of base32.StdEncoding(sha256(s + t + u)), as one flat string. */
export function hashName(prefix: string, chars: number, s: string, t = "", u = ""): string {
  const h = sha256Words(s, t, u);
  codes.length = 0;
  for (let i = 0; i < prefix.length; i++) codes.push(prefix.charCodeAt(i));
  for (let k = 0, bit = 0; k < chars; k++, bit += 5) {
    // Five bits from `bit` on, big-endian: within one word, or across two.
    const w = bit >> 5;
    const o = bit & 31;
    const v = o <= 27 ? h[w] >>> (27 - o) : (h[w] << (o - 27)) | (h[w + 1] >>> (59 - o));
    codes.push(BASE32[v & 31]);
  }
  return String.fromCharCode.apply(null, codes);
}

/** The first `chars` characters of base32.StdEncoding(sha256(s)). */
export const sha256Base32 = (s: string, chars: number): string => hashName("", chars, s);

export const IPT_PREFIX = { svc: "KUBE-SVC-", svl: "KUBE-SVL-", fw: "KUBE-FW-", ext: "KUBE-EXT-", sep: "KUBE-SEP-" } as const;

/** The iptables chain names of one service port ("ns/svc:port" + "tcp"). */
export interface IptablesServiceChains {
  svc: string;
  svl: string;
  fw: string;
  ext: string;
}

/** portProtoHash: 16 base32 characters of sha256(servicePortName + protocol). */
export function iptablesServiceChains(servicePortName: string, protocol: string): IptablesServiceChains {
  const h = sha256Base32(servicePortName + protocol, 16);
  return { svc: IPT_PREFIX.svc + h, svl: IPT_PREFIX.svl + h, fw: IPT_PREFIX.fw + h, ext: IPT_PREFIX.ext + h };
}

/** servicePortEndpointChainName: KUBE-SEP- + 16 base32 characters of sha256(servicePortName + protocol + "ip:port"). */
export const iptablesEndpointChain = (servicePortName: string, protocol: string, endpoint: string): string =>
  hashName(IPT_PREFIX.sep, 16, servicePortName, protocol, endpoint);

/** isServiceChainName: the chains kube-proxy owns and may delete when stale. */
export const isIptablesServiceChain = (chain: string): boolean =>
  chain.startsWith("KUBE-SVC-") || chain.startsWith("KUBE-SVL-") || chain.startsWith("KUBE-SEP-") || chain.startsWith("KUBE-FW-") || chain.startsWith("KUBE-EXT-");

/** knftables.NameLengthMax (256) minus the longest prefix (16). */
const NFT_BASE_MAX = 256 - 16;
const NFT_HASH_CHARS = 8;
const DASH = 0x2d;

/** hashAndTruncate: "HASH8-name", cut to 240 characters with "..." when longer. */
export function nftHashAndTruncate(name: string): string {
  const n = `${sha256Base32(name, 8)}-${name}`;
  return n.length > NFT_BASE_MAX ? `${n.slice(0, NFT_BASE_MAX - 3)}...` : n;
}

/** nftHashAndTruncate(s + t + u) made as one flat string, without the joined name in between. */
export function nftHashAndTruncateParts(s: string, t: string, u: string): string {
  if (s.length + t.length + u.length + NFT_HASH_CHARS + 1 > NFT_BASE_MAX) return nftHashAndTruncate(s + t + u);
  const h = sha256Words(s, t, u);
  codes.length = 0;
  for (let k = 0; k < NFT_HASH_CHARS; k++) codes.push(BASE32[(k < 6 ? h[0] >>> (27 - 5 * k) : k === 6 ? (h[0] << 3) | (h[1] >>> 29) : h[1] >>> 24) & 31]);
  codes.push(DASH);
  for (const part of [s, t, u]) for (let i = 0; i < part.length; i++) codes.push(part.charCodeAt(i));
  return String.fromCharCode.apply(null, codes);
}

/** servicePortChainNameBase: "HASH-namespace/name/protocol/portName". */
export const nftServiceBase = (namespace: string, name: string, protocol: string, port: string): string => nftHashAndTruncate(`${namespace}/${name}/${protocol}/${port}`);

/** servicePortEndpointChainNameBase: "HASH-namespace/name/protocol/portName__ip/port". */
export const nftEndpointBase = (namespace: string, name: string, protocol: string, port: string, ip: string, epPort: number): string =>
  nftHashAndTruncate(`${namespace}/${name}/${protocol}/${port}__${ip.replaceAll(":", ".")}/${epPort}`);

/**
 * computeProbability: fmt.Sprintf("%0.10f", 1/n). Go rounds the exact binary value half to even;
 * toFixed rounds ties up, which differs for exact ties such as 1/2048 = 0.00048828125.
 */
export function computeProbability(n: number): string {
  const x = 1 / n;
  const exact = x.toFixed(60); // every digit of a double this size is exact at 60 places
  const dot = exact.indexOf(".");
  const rest = exact.slice(dot + 11);
  if (rest[0] !== "5" || !/^5?0*$/.test(rest)) return x.toFixed(10);
  const kept = exact.slice(0, dot + 11);
  const last = kept.charCodeAt(kept.length - 1) - 48;
  return last % 2 === 0 ? kept : x.toFixed(10);
}

/** kube-proxy's precomputed probabilities: 1/n strings for n up to the largest service seen. */
export class Probabilities {
  private readonly cache: string[] = ["<bad value>"];

  get(n: number): string {
    for (let i = this.cache.length; i <= n; i++) this.cache.push(computeProbability(i));
    return this.cache[n];
  }
}

/** Memoised names: hashing is the costliest part of a sync, and names outlive syncs (kube-proxy keeps them on its serviceInfo/endpointInfo). */
export class NameCache {
  private readonly svc = new Map<string, IptablesServiceChains>();
  private readonly sep = new Map<string, Map<string, string>>();
  private readonly nft = new Map<string, string>();
  private readonly nftEp = new Map<string, Map<string, string>>();

  iptablesService(servicePortName: string, protocol: string): IptablesServiceChains {
    const k = servicePortName + protocol;
    let v = this.svc.get(k);
    if (v === undefined) this.svc.set(k, (v = iptablesServiceChains(servicePortName, protocol)));
    return v;
  }

  iptablesEndpoint(servicePortName: string, protocol: string, endpoint: string): string {
    return this.iptablesEndpoints(servicePortName, protocol)(endpoint);
  }

  /** The KUBE-SEP name of each endpoint ("ip:port") of one service port. */
  iptablesEndpoints(servicePortName: string, protocol: string): (endpoint: string) => string {
    const k = servicePortName + protocol;
    let m = this.sep.get(k);
    if (m === undefined) this.sep.set(k, (m = new Map()));
    const names = m;
    return (endpoint) => {
      let v = names.get(endpoint);
      if (v === undefined) names.set(endpoint, (v = iptablesEndpointChain(servicePortName, protocol, endpoint)));
      return v;
    };
  }

  nftBase(name: string): string {
    let v = this.nft.get(name);
    if (v === undefined) this.nft.set(name, (v = nftHashAndTruncate(name)));
    return v;
  }

  /**
   * The name bases of one service port's endpoints: `prefix` is "namespace/name/protocol/port__",
   * each endpoint given as "ip:port" (its base hashes "prefix" + "ip/port"). One small map per
   * service port: a single map of 100k names cost more than their hashing.
   */
  nftEndpointBases(prefix: string): (ip: string, port: number, endpoint: string) => string {
    let m = this.nftEp.get(prefix);
    if (m === undefined) this.nftEp.set(prefix, (m = new Map()));
    const bases = m;
    return (ip, port, endpoint) => {
      let v = bases.get(endpoint);
      if (v === undefined) bases.set(endpoint, (v = nftHashAndTruncateParts(prefix, ip.replaceAll(":", "."), `/${port}`)));
      return v;
    };
  }

  /** Forgets everything (names of long-gone services would otherwise pile up). */
  clear(): void {
    this.svc.clear();
    this.sep.clear();
    this.nft.clear();
    this.nftEp.clear();
  }
}

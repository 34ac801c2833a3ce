// A CoreDNS-like server in a pod: UDP port 53 in the pod's namespace, answering from the cluster's
// state at query time (records.ts). The request checks are miekg/dns's (server.go serveDNS and
// defaultMsgAcceptFunc), the reply building CoreDNS's (SetReply, the kubernetes plugin setting AA
// and not RA, request.SizeAndDo for EDNS, Scrub for truncation). Nothing here throws per datagram:
// what cannot be answered is counted, and answered FORMERR where miekg/dns would.

import type { Answer, DecodedPacket, OptAnswer, Packet } from "dns-packet";
import type { RemoteInfo, UdpSocket } from "../../net/index.js";
import { formatIpv4 } from "../../wire/index.js";
import type { Cluster } from "../cluster/cluster.js";
import type { PodRuntime } from "../cluster/pod.js";
import { matchesLabels } from "../manifest/index.js";
import {
  DnsFlag,
  type DnsHeader,
  decodeMessage,
  EDNS_DO,
  encodeMessage,
  encodingLength,
  headerOnlyReply,
  OPCODE_QUERY,
  opcodeOf,
  plainQuestionName,
  readHeader,
} from "./codec.js";
import { lookup, type PodMode, Rcode, type ZoneOptions } from "./records.js";

export const DNS_PORT = 53;
/** The kubernetes plugin's default TTL, s. */
export const DEFAULT_DNS_TTL = 30;
/** The largest UDP reply without EDNS (RFC 1035 §4.2.1). */
const UDP_MIN_SIZE = 512;

export interface DnsServerOptions {
  /** The zone answered (default: the cluster config's kubeProxy.clusterDomain, "cluster.local"). */
  clusterDomain?: string;
  /** TTL of every record, s. Default 30. */
  ttl?: number;
  /** Default "insecure", as kubeadm's Corefile. */
  pods?: PodMode;
  /**
   * The rcode of names outside the zones. Default SERVFAIL: kubeadm's server block is `.:53`, so
   * every name reaches the kubernetes plugin, which passes it on to no next plugin once `forward`
   * is gone (plugin.NextOrFailure). REFUSED is what a server block for the cluster zone alone gives.
   */
  unanswered?: "SERVFAIL" | "REFUSED";
  /** Set RA in replies. Default false: CoreDNS's kubernetes plugin does not (coredns#2408). */
  recursionAvailable?: boolean;
  /** Default 53. */
  port?: number;
  /** The container that runs the server (default: the pod's first). */
  container?: string;
}

export interface DnsServerStats {
  /** Datagrams received. */
  received: number;
  /** Replies sent, by rcode name (NOERROR, NXDOMAIN, FORMERR …). */
  replies: Record<string, number>;
  /** Datagrams dropped without a reply, by reason. */
  dropped: { short: number; response: number; sendFailed: number };
  /** Replies cut to fit the client's buffer (TC set). */
  truncated: number;
  /** Lookups that failed inside kubewire (answered SERVFAIL); a bug if ever non-zero. */
  internalErrors: number;
}

const RCODE_NAMES: Record<number, string> = { 0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED", 16: "BADVERS" };

export class DnsServer {
  readonly socket: UdpSocket;
  readonly stats: DnsServerStats = { received: 0, replies: {}, dropped: { short: 0, response: 0, sendFailed: 0 }, truncated: 0, internalErrors: 0 };
  readonly clusterDomain: string;
  private readonly ttl: number;
  private readonly pods: PodMode;
  private readonly unanswered: number;
  private readonly ra: boolean;
  /** When the cluster last changed, s of virtual time: the SOA serial (CoreDNS: APIConn.Modified). */
  private serial: number;
  private readonly unsubscribe: () => void;

  constructor(
    readonly cluster: Cluster,
    readonly pod: PodRuntime,
    opts: DnsServerOptions = {},
  ) {
    this.clusterDomain = opts.clusterDomain ?? cluster.config.kubeProxy.clusterDomain;
    this.ttl = opts.ttl ?? DEFAULT_DNS_TTL;
    this.pods = opts.pods ?? "insecure";
    this.unanswered = opts.unanswered === "REFUSED" ? Rcode.REFUSED : Rcode.SERVFAIL;
    this.ra = opts.recursionAvailable ?? false;
    this.serial = Math.floor(cluster.sim.now / 1e9);
    this.socket = pod.container(opts.container).udpSocket();
    try {
      this.socket.bind(opts.port ?? DNS_PORT);
    } catch (e) {
      this.socket.close();
      throw new Error(`CoreDNS in pod ${pod.key}: cannot bind UDP ${opts.port ?? DNS_PORT} (${e instanceof Error ? e.message : e})`);
    }
    this.unsubscribe = cluster.on(() => {
      this.serial = Math.floor(cluster.sim.now / 1e9);
    });
    this.socket.on("message", (msg, rinfo) => this.receive(msg, rinfo));
    this.socket.once("close", () => this.unsubscribe());
  }

  get closed(): boolean {
    return this.socket.closed;
  }

  close(): void {
    this.socket.close();
  }

  private receive(msg: Buffer, rinfo: RemoteInfo): void {
    const reply = this.handle(msg);
    if (reply === undefined) return;
    if (this.socket.send(reply, rinfo.port, rinfo.address) !== undefined) this.stats.dropped.sendFailed++;
  }

  /** The reply to one query datagram, or undefined when it is dropped. Counted in `stats`. */
  handle(msg: Buffer): Buffer | undefined {
    this.stats.received++;
    const h = readHeader(msg);
    // A header that does not parse gets no reply: any reply could be used to amplify.
    if (h === undefined) return void this.stats.dropped.short++;
    if (h.flags & DnsFlag.QR) return void this.stats.dropped.response++;
    const opcode = opcodeOf(h.flags);
    if (opcode !== OPCODE_QUERY) return this.count(headerOnlyReply(h, opcode, Rcode.NOTIMP), Rcode.NOTIMP);
    if (h.qdcount !== 1 || h.ancount > 1 || h.nscount > 1 || h.arcount > 2) return this.formErr(h);
    const d = decodeMessage(msg);
    if (!d.ok || !plainQuestionName(msg)) return this.formErr(h);
    const q = d.msg;
    const opts = (q.additionals ?? []).filter((a): a is OptAnswer => a.type === "OPT");
    if (opts.length > 1 || (opts.length === 1 && opts[0].name !== ".")) return this.formErr(h);
    const opt = opts[0];
    // edns.Version: only EDNS version 0 is spoken; anything newer is told BADVERS at once.
    if (opt && opt.ednsVersion > 0) return this.reply(q, h, { rcode: Rcode.BADVERS, authoritative: false, answers: [], authorities: [], additionals: [] }, opt);
    const question = q.questions![0];
    let res: ReturnType<typeof lookup>;
    try {
      res = lookup(this.cluster, question.name, question.type, this.zoneOptions());
    } catch {
      this.stats.internalErrors++;
      res = { rcode: Rcode.SERVFAIL, authoritative: false, answers: [], authorities: [], additionals: [] };
    }
    return this.reply(q, h, res, opt);
  }

  private zoneOptions(): ZoneOptions {
    return { clusterDomain: this.clusterDomain, ttl: this.ttl, pods: this.pods, unanswered: this.unanswered, serial: this.serial, nsAddresses: this.nsAddresses() };
  }

  /** The ClusterIPs of the Services that select this pod (the glue of ns.dns.<zone>). */
  private nsAddresses(): string[] {
    const out: string[] = [];
    for (const s of this.cluster.services.values()) {
      const sel = s.svc.spec.selector;
      if (s.clusterIP !== 0 && sel && s.svc.metadata.namespace === this.pod.pod.metadata.namespace && matchesLabels(sel, this.pod.labels)) out.push(formatIpv4(s.clusterIP));
    }
    return out;
  }

  /** SetReply + the answer, the OPT record (SizeAndDo) and Scrub to the client's buffer size. */
  private reply(q: DecodedPacket, h: DnsHeader, res: ReturnType<typeof lookup>, opt: OptAnswer | undefined): Buffer | undefined {
    let flags = (h.flags & (DnsFlag.RD | DnsFlag.CD)) | (res.rcode & 0xf);
    if (res.authoritative) flags |= DnsFlag.AA;
    if (this.ra) flags |= DnsFlag.RA;
    const additionals: Answer[] = [...res.additionals];
    if (opt) {
      const replyOpt: OptAnswer = {
        name: ".",
        type: "OPT",
        udpPayloadSize: opt.udpPayloadSize,
        extendedRcode: res.rcode >> 4,
        ednsVersion: 0,
        flags: opt.flags & EDNS_DO,
        flag_do: (opt.flags & EDNS_DO) !== 0,
        options: [],
      };
      additionals.push(replyOpt);
    }
    const p: Packet = { type: "response", id: h.id, flags, questions: q.questions, answers: res.answers, authorities: res.authorities, additionals };
    const max = opt ? Math.max(UDP_MIN_SIZE, opt.udpPayloadSize) : UDP_MIN_SIZE;
    if (this.truncate(p, max)) {
      p.flags = (p.flags ?? 0) | DnsFlag.TC;
      this.stats.truncated++;
    }
    const out = encodeMessage(p);
    if (out === undefined) {
      this.stats.internalErrors++;
      return this.count(headerOnlyReply(h, OPCODE_QUERY, Rcode.SERVFAIL), Rcode.SERVFAIL);
    }
    const question = q.questions?.[0];
    return this.count(out, res.rcode, question && `${question.type} ${question.name} ${res.answers.length} answers`);
  }

  /**
   * dns.Msg.Truncate: drops records from the end (additionals, then authority, then answers, the
   * OPT record kept) until the reply fits; true when answers or authority records were dropped.
   */
  private truncate(p: Packet, max: number): boolean {
    if (encodingLength(p) <= max) return false;
    const extra = p.additionals!;
    const optAt = extra.findIndex((a) => a.type === "OPT");
    const opt = optAt >= 0 ? extra.splice(optAt, 1) : [];
    const answers = p.answers!;
    const authorities = p.authorities!;
    const before = answers.length + authorities.length;
    while (encodingLength({ ...p, additionals: [...extra, ...opt] }) > max) {
      if (extra.length) extra.pop();
      else if (authorities.length) authorities.pop();
      else if (answers.length) answers.pop();
      else break;
    }
    p.additionals = [...extra, ...opt];
    return answers.length + authorities.length < before;
  }

  private formErr(h: DnsHeader): Buffer {
    return this.count(headerOnlyReply(h, OPCODE_QUERY, Rcode.FORMERR), Rcode.FORMERR);
  }

  private count(b: Buffer, rcode: number, what?: string): Buffer {
    const name = RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
    this.stats.replies[name] = (this.stats.replies[name] ?? 0) + 1;
    const sim = this.cluster.sim;
    if (sim.trace.on) sim.trace.emit({ t: sim.now, ns: this.pod.ns.name, kind: "socket", action: "dns-reply", detail: `${name}${what ? ` ${what}` : ""} (${b.length} bytes)` });
    return b;
  }
}

/** Runs the DNS server in a pod (a pod object or "namespace/name"): binds UDP 53 in its namespace. */
export function serveClusterDns(cluster: Cluster, pod: PodRuntime | string, opts: DnsServerOptions = {}): DnsServer {
  return new DnsServer(cluster, typeof pod === "string" ? cluster.pod(pod) : pod, opts);
}

// A stub resolver like glibc's getaddrinfo(AF_INET) with `hosts: files dns`: /etc/hosts first, then
// real A queries over UDP, one connected socket per query (resolv/res_send.c: send_dg), the search
// list walked as res_search does (search.ts). Runs inside the simulation: every step happens in a
// socket callback or a timer, so the answer arrives during sim.run(), in virtual time.

import type { Answer, DecodedPacket } from "dns-packet";
import type { SocketError, UdpSocket } from "../../net/index.js";
import type { Rng, Sim, Timer } from "../../sim/index.js";
import { parseIpv4 } from "../../wire/index.js";
import { DnsFlag, decodeMessage, encodeMessage, rcodeOf, readHeader } from "./codec.js";
import { checkQueryName } from "./names.js";
import type { ResolvConf } from "./resolv-conf.js";
import { type QueryOutcome, searchNames } from "./search.js";

/** glibc uses the first three nameservers (MAXNS). */
const MAXNS = 3;
/** The buffer glibc advertises with `options edns0` (RESOLV_EDNS_BUFFER_SIZE). */
const EDNS_BUFFER = 1200;
const RCODE_NAMES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];

export type ResolveError = "HOST_NOT_FOUND" | "NO_DATA" | "TRY_AGAIN" | "NO_RECOVERY" | "NO_NAMESERVER" | "INVALID_NAME";

/** One query datagram sent and how it ended. */
export interface DnsExchange {
  /** The name asked (no trailing dot). */
  name: string;
  id: number;
  server: string;
  /** The query's source port. */
  sport: number;
  /** Virtual time of the send and of the outcome, ns. */
  sentAt: number;
  doneAt: number;
  /** The reply's rcode name (NOERROR, NXDOMAIN …), or "timeout", "ECONNREFUSED", or the send error. */
  outcome: string;
  /** The A records of the reply. */
  addresses: string[];
  /** The reply had TC set (glibc would retry over TCP, which is not modelled: its records are used). */
  truncated: boolean;
}

export interface ResolveResult {
  name: string;
  /** IPv4 addresses, in the order of the answer (no RFC 6724 sorting). */
  addresses: string[];
  /** The owner name of the addresses: the name that answered, after any CNAMEs. */
  canonicalName: string;
  /** Unset on success: h_errno of the failure, or why nothing was asked. */
  error?: ResolveError;
  /** errno when no usable reply came: ECONNREFUSED (an ICMP error, nothing answered) or ETIMEDOUT. */
  errno?: "ECONNREFUSED" | "ETIMEDOUT";
  /** Where the answer came from. */
  source: "literal" | "hosts" | "dns" | "none";
  /** Smallest TTL of the records used, s. */
  ttl?: number;
  /** Every datagram sent, in order. */
  exchanges: DnsExchange[];
}

export interface StubContext {
  sim: Sim;
  conf: ResolvConf;
  /** Opens a UDP socket in the resolving namespace (a pod container's, a node's). */
  open: () => UdpSocket;
  /** Draws query IDs. */
  rng: Rng;
  /** /etc/hosts: lowercased name → address. */
  hosts?: ReadonlyMap<string, string>;
  /** The namespace's name, for trace events. */
  nsName: string;
}

/** A query's reply as res_query reads it. */
interface Reply {
  msg: DecodedPacket;
  rcode: number;
}

/** Resolves `name` to IPv4 addresses; `done` is called once, inside the simulation. */
export function stubResolve(cx: StubContext, name: string, done: (r: ResolveResult) => void): void {
  const result: ResolveResult = { name, addresses: [], canonicalName: name, source: "none", exchanges: [] };
  const finish = () => cx.sim.sched.enqueue(done, result);
  if (parseIpv4(name).ok) {
    result.addresses = [name];
    result.source = "literal";
    return finish();
  }
  const invalid = checkQueryName(name);
  if (invalid !== undefined) {
    result.error = "INVALID_NAME";
    return finish();
  }
  const fromHosts = cx.hosts?.get((name.endsWith(".") ? name.slice(0, -1) : name).toLowerCase());
  if (fromHosts !== undefined) {
    result.addresses = [fromHosts];
    result.source = "hosts";
    return finish();
  }
  // res_init skips nameserver lines that are not addresses.
  const servers = cx.conf.nameservers.filter((n) => parseIpv4(n).ok).slice(0, MAXNS);
  if (servers.length === 0) {
    result.error = "NO_NAMESERVER";
    return finish();
  }
  result.source = "dns";
  const walk = searchNames(name, cx.conf);
  let lastReply: Reply | undefined;
  const step = (outcome: QueryOutcome | undefined): void => {
    const it = outcome === undefined ? walk.next() : walk.next(outcome);
    if (!it.done) {
      resSend(cx, servers, it.value, result.exchanges, (o, reply) => {
        if (reply) lastReply = reply;
        step(o);
      });
      return;
    }
    const end = it.value;
    if (end.herrno === "OK" && lastReply) readAnswer(result, lastReply.msg);
    else if (end.herrno !== "OK") result.error = end.herrno;
    if (end.errno) result.errno = end.errno;
    finish();
  };
  step(undefined);
}

/** getanswer_r: A records whose owner is the query name or the target of a CNAME chain from it. */
function readAnswer(result: ResolveResult, msg: DecodedPacket): void {
  let owner = msg.questions?.[0]?.name ?? result.name;
  let ttl = Number.POSITIVE_INFINITY;
  for (const a of msg.answers ?? []) {
    if (a.name.toLowerCase() !== owner.toLowerCase()) continue;
    if (a.type === "CNAME") {
      owner = a.data;
      ttl = Math.min(ttl, a.ttl ?? 0);
    } else if (a.type === "A") {
      result.addresses.push(a.data);
      ttl = Math.min(ttl, a.ttl ?? 0);
    }
  }
  result.canonicalName = owner;
  if (ttl !== Number.POSITIVE_INFINITY) result.ttl = ttl;
  if (result.addresses.length === 0) result.error = "NO_DATA";
}

/**
 * __res_context_send for one name: every try (attempts) over every nameserver, a fresh connected
 * socket for each send (the socket is closed after every failure), the same query ID throughout.
 * SERVFAIL, NOTIMP and REFUSED move on to the next server; any other reply ends it.
 */
function resSend(cx: StubContext, servers: string[], qname: string, log: DnsExchange[], done: (o: QueryOutcome, reply?: Reply) => void): void {
  const id = cx.rng.u32() & 0xffff;
  const additionals: Answer[] = cx.conf.edns0 ? [{ name: ".", type: "OPT", udpPayloadSize: EDNS_BUFFER, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [];
  const query = encodeMessage({ type: "query", id, flags: DnsFlag.RD, questions: [{ type: "A", name: qname, class: "IN" }], additionals });
  let tries = 0;
  let nsIndex = 0;
  let gotSomewhere = false;
  let lastRcode: number | undefined;
  let lastReply: Reply | undefined;

  const next = (): void => {
    if (nsIndex >= servers.length) {
      nsIndex = 0;
      tries++;
    }
    if (tries >= cx.conf.attempts || query === undefined) {
      // All tries failed: res_query sets TRY_AGAIN; hp->rcode is that of the last reply received.
      return done({ herrno: "TRY_AGAIN", rcode: lastRcode, errno: gotSomewhere ? "ETIMEDOUT" : "ECONNREFUSED" }, lastReply);
    }
    sendDg(nsIndex++);
  };

  const sendDg = (ns: number): void => {
    const server = servers[ns];
    const sock = cx.open();
    sock.connect(53, server);
    const ex: DnsExchange = { name: qname, id, server, sport: sock.localPort, sentAt: cx.sim.now, doneAt: -1, outcome: "", addresses: [], truncated: false };
    log.push(ex);
    trace(cx, "dns-query", `A ${qname} id ${id} to ${server}:53 from :${sock.localPort}`);
    let timer: Timer | undefined;
    const end = (outcome: string): void => {
      ex.outcome = outcome;
      ex.doneAt = cx.sim.now;
      timer?.cancel();
      sock.off("message", onMessage);
      sock.off("error", onError);
      sock.close();
    };
    const onMessage = (msg: Buffer): void => {
      const reply = matchReply(msg, id, qname);
      if (reply === undefined) return; // not ours: keep waiting (res_queriesmatch)
      gotSomewhere = true;
      lastRcode = reply.rcode;
      lastReply = reply;
      ex.addresses = [];
      for (const a of reply.msg.answers ?? []) if (a.type === "A") ex.addresses.push(a.data);
      ex.truncated = reply.msg.flag_tc;
      const name = RCODE_NAMES[reply.rcode] ?? `RCODE${reply.rcode}`;
      end(name);
      trace(cx, "dns-answer", `${name} ${qname} id ${id}${ex.addresses.length ? ` ${ex.addresses.join(" ")}` : ""}`);
      if (reply.rcode === 2 || reply.rcode === 4 || reply.rcode === 5) return next();
      done(herrnoOf(reply), reply);
    };
    const onError = (e: SocketError): void => {
      end(e.code);
      next();
    };
    sock.on("message", onMessage);
    sock.on("error", onError);
    const err = sock.send(query!);
    if (err !== undefined) {
      end(err);
      return next();
    }
    // send_dg: retrans << ns, divided among the servers after the first, at least 1 s.
    let seconds = cx.conf.timeout << ns;
    if (ns > 0) seconds = Math.floor(seconds / servers.length);
    timer = cx.sim.sched.after(Math.max(seconds, 1) * 1e9, () => {
      gotSomewhere = true;
      end("timeout");
      next();
    });
  };
  next();
}

/** The reply to our query, or undefined when it is not one (too short, not a response, another ID or question). */
function matchReply(msg: Buffer, id: number, qname: string): Reply | undefined {
  const h = readHeader(msg);
  if (h === undefined || !(h.flags & DnsFlag.QR) || h.id !== id) return undefined;
  const d = decodeMessage(msg);
  if (!d.ok) return undefined;
  const rcode = rcodeOf(h.flags);
  const q = d.msg.questions?.[0];
  // A header-only FORMERR/NOTIMP carries no question; any other reply must echo ours.
  if (q === undefined ? rcode !== 1 && rcode !== 4 : q.name.toLowerCase() !== qname.toLowerCase() || q.type !== "A") return undefined;
  return { msg: d.msg, rcode };
}

/** __res_context_query: a NOERROR reply with answers is a success; otherwise h_errno from the rcode. */
function herrnoOf(r: Reply): QueryOutcome {
  const ancount = r.msg.answers?.length ?? 0;
  if (r.rcode === 0 && ancount > 0) return { herrno: "OK", rcode: 0 };
  const herrno = r.rcode === 3 ? "HOST_NOT_FOUND" : r.rcode === 2 ? "TRY_AGAIN" : r.rcode === 0 ? "NO_DATA" : "NO_RECOVERY";
  return { herrno, rcode: r.rcode };
}

function trace(cx: StubContext, action: string, detail: string): void {
  const sim = cx.sim;
  if (sim.trace.on) sim.trace.emit({ t: sim.now, ns: cx.nsName, kind: "socket", action, detail });
}

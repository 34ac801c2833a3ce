// -m recent (net/netfilter/xt_recent.c revision 1, libxt_recent.c): named lists of recently seen
// addresses with time stamps, per network namespace. kube-proxy's sessionAffinity: the endpoint
// chain `--set`s the client, the service chain `--rcheck --seconds T --reap`s it first.
// Time is the simulation's virtual clock (ns) where the kernel counts jiffies.

import { formatIpv4, ipv4, parseIpv4 } from "../../../wire/index.js";
import { fail } from "../fail.js";
import { defineMatch, type XtEnv, type XtParam } from "../xt.js";

const XT_RECENT_CHECK = 1;
const XT_RECENT_SET = 2;
const XT_RECENT_UPDATE = 4;
const XT_RECENT_REMOVE = 8;
const XT_RECENT_TTL = 16;
const XT_RECENT_REAP = 32;
const XT_RECENT_MAX_NSTAMPS = 256;
/** Module parameters ip_list_tot and ip_pkt_list_tot. */
const IP_LIST_TOT = 100;
const IP_PKT_LIST_TOT = 20;

export interface RecentSpec {
  name: string;
  checkSet: number;
  seconds: number;
  hitCount: number;
  /** true: --rsource (default), false: --rdest. */
  source: boolean;
  mask: number;
  invert: boolean;
}

export interface RecentEntry {
  addr: number;
  ttl: number;
  /** Ring of time stamps (virtual ns); `index` is the next slot, `nstamps` how many are valid. */
  stamps: number[];
  index: number;
  nstamps: number;
}

/** One named list (struct recent_table). Map order is the LRU order: oldest first. */
export class RecentTable {
  readonly entries = new Map<number, RecentEntry>();
  /** Time stamps kept per entry: a power of two >= the largest --hitcount using the list. */
  nstampsMax = 32;

  constructor(readonly name: string) {}

  /** The addresses and their last-seen times, as /proc/net/xt_recent/NAME lists them. */
  dump(): string[] {
    return [...this.entries.values()].map((e) => `src=${formatIpv4(e.addr)} ttl: ${e.ttl} last_seen: ${e.stamps[(e.index + this.nstampsMax - 1) % this.nstampsMax]}`);
  }

  /** echo +ADDR > /proc/net/xt_recent/NAME: adds an address as seen at `now`. */
  add(addr: string, now: number): void {
    const a = parseIpv4(addr);
    if (!a.ok) throw new Error(a.error);
    const e = this.entries.get(a.value | 0);
    if (e) this.update(e, now);
    else this.init(a.value, 0, now);
  }

  lookup(addr: number, ttl: number): RecentEntry | undefined {
    const e = this.entries.get(addr | 0);
    return e !== undefined && (ttl === 0 || e.ttl === ttl) ? e : undefined;
  }

  /** recent_entry_init: evicts the oldest entry when the list is full. */
  init(addr: number, ttl: number, now: number): RecentEntry {
    if (this.entries.size >= IP_LIST_TOT) {
      const oldest = this.entries.keys().next().value as number;
      this.entries.delete(oldest);
    }
    const stamps = new Array<number>(this.nstampsMax).fill(0);
    stamps[0] = now;
    const e: RecentEntry = { addr, ttl, stamps, index: 1, nstamps: 1 };
    this.entries.set(addr | 0, e);
    return e;
  }

  /** recent_entry_update: a new stamp, and the entry becomes the most recent. */
  update(e: RecentEntry, now: number): void {
    const mask = this.nstampsMax - 1;
    e.index &= mask;
    e.stamps[e.index++] = now;
    if (e.index > e.nstamps) e.nstamps = e.index;
    e.index &= mask;
    this.entries.delete(e.addr | 0);
    this.entries.set(e.addr | 0, e);
  }

  /** recent_entry_reap: drops the least recently seen entry if its last stamp is before `time`. */
  reap(time: number, working: RecentEntry, update: boolean): void {
    const oldest = this.entries.values().next().value as RecentEntry | undefined;
    if (oldest === undefined || (oldest === working && update)) return;
    const last = oldest.stamps[(oldest.index + this.nstampsMax - 1) & (this.nstampsMax - 1)];
    if (time > last) this.entries.delete(oldest.addr | 0);
  }
}

/** The list `name` of this engine, created on first use (recent_mt_check). */
export function recentTable(env: XtEnv, name: string, hitCount: number): RecentTable {
  let t = env.recent.get(name) as RecentTable | undefined;
  if (t === undefined) {
    t = new RecentTable(name);
    env.recent.set(name, t);
  }
  const want = Math.max(IP_PKT_LIST_TOT, hitCount);
  while (t.nstampsMax < want) t.nstampsMax *= 2;
  return t;
}

const ACTIONS: Record<string, number> = { "--set": XT_RECENT_SET, "--rcheck": XT_RECENT_CHECK, "--update": XT_RECENT_UPDATE, "--remove": XT_RECENT_REMOVE };

export const recentMatch = defineMatch<RecentSpec>({
  name: "recent",
  options: {
    "--set": { args: 0, invert: true },
    "--rcheck": { args: 0, invert: true },
    "--update": { args: 0, invert: true },
    "--remove": { args: 0, invert: true },
    "--seconds": { args: 1 },
    "--reap": { args: 0 },
    "--hitcount": { args: 1 },
    "--rttl": { args: 0 },
    "--name": { args: 1 },
    "--rsource": { args: 0 },
    "--rdest": { args: 0 },
    "--mask": { args: 1 },
  },
  init: () => ({ name: "DEFAULT", checkSet: 0, seconds: 0, hitCount: 0, source: true, mask: 0xffffffff, invert: false }),
  parse(spec, option, args, invert) {
    const action = ACTIONS[option];
    if (action !== undefined) {
      const have = spec.checkSet & (XT_RECENT_SET | XT_RECENT_CHECK | XT_RECENT_UPDATE | XT_RECENT_REMOVE);
      if (have !== 0) {
        const other = Object.keys(ACTIONS).find((k) => ACTIONS[k] === have);
        fail(`recent: option "${option}" cannot be used together with "${other}"`, option, "one of --set, --rcheck, --update, --remove");
      }
      spec.checkSet |= action;
      spec.invert = invert;
      return;
    }
    const a = args[0];
    switch (option) {
      case "--seconds":
      case "--hitcount":
        if (!/^[0-9]+$/.test(a) || Number(a) > 0xffffffff) fail(`recent: ${option} "${a}" is not a number`, a, "an unsigned number");
        if (option === "--seconds") spec.seconds = Number(a);
        else spec.hitCount = Number(a);
        break;
      case "--reap":
        spec.checkSet |= XT_RECENT_REAP;
        break;
      case "--rttl":
        spec.checkSet |= XT_RECENT_TTL;
        break;
      case "--name":
        if (a.length === 0 || a.length > 199 || a.includes("/")) fail(`recent: invalid list name "${a}"`, a, "1-199 characters without /");
        spec.name = a;
        break;
      case "--rsource":
        spec.source = true;
        break;
      case "--rdest":
        spec.source = false;
        break;
      case "--mask": {
        const m = parseIpv4(a);
        if (!m.ok) fail(`recent: --mask "${a}" is not an IPv4 mask`, a, "a dotted mask such as 255.255.255.255");
        spec.mask = m.value;
        break;
      }
    }
  },
  final(spec) {
    const actions = spec.checkSet & (XT_RECENT_SET | XT_RECENT_CHECK | XT_RECENT_UPDATE | XT_RECENT_REMOVE);
    if (actions === 0) fail("recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'", "-m recent", "--set, --rcheck, --update or --remove");
    if (spec.checkSet & XT_RECENT_REAP && spec.seconds === 0) fail('recent: option "--reap" also requires "--seconds"', "--reap", "--seconds N");
    if ((spec.seconds || spec.hitCount || spec.checkSet & (XT_RECENT_TTL | XT_RECENT_REAP)) && !(spec.checkSet & (XT_RECENT_CHECK | XT_RECENT_UPDATE)))
      fail("recent: --set and --remove can not be used with --seconds, --hitcount, --rttl or --reap", "-m recent", "--rcheck or --update");
    if (spec.hitCount >= XT_RECENT_MAX_NSTAMPS) fail(`recent: hitcount (${spec.hitCount}) is larger than allowed maximum (${XT_RECENT_MAX_NSTAMPS - 1})`, `${spec.hitCount}`);
  },
  save(spec) {
    let s = spec.invert ? " !" : "";
    if (spec.checkSet & XT_RECENT_SET) s += " --set";
    if (spec.checkSet & XT_RECENT_CHECK) s += " --rcheck";
    if (spec.checkSet & XT_RECENT_UPDATE) s += " --update";
    if (spec.checkSet & XT_RECENT_REMOVE) s += " --remove";
    if (spec.seconds) s += ` --seconds ${spec.seconds}`;
    if (spec.checkSet & XT_RECENT_REAP) s += " --reap";
    if (spec.hitCount) s += ` --hitcount ${spec.hitCount}`;
    if (spec.checkSet & XT_RECENT_TTL) s += " --rttl";
    s += ` --name ${spec.name}`;
    s += ` --mask ${formatIpv4(spec.mask)}`;
    s += spec.source ? " --rsource" : " --rdest";
    return s;
  },
  compile(spec, env) {
    const t = recentTable(env, spec.name, spec.hitCount);
    const { checkSet, invert, mask, source, hitCount } = spec;
    const windowNs = spec.seconds * 1e9;
    return (p: XtParam): boolean => recentMatchPacket(t, p, checkSet, invert, mask, source, hitCount, windowNs);
  },
});

/** recent_mt. */
function recentMatchPacket(t: RecentTable, p: XtParam, checkSet: number, invert: boolean, mask: number, source: boolean, hitCount: number, windowNs: number): boolean {
  let ret = invert;
  const addr = ((source ? p.saddr : p.daddr) & mask) >>> 0;
  let ttl = ipv4.ttl(p.b, p.l3);
  // "use TTL as seen before forwarding": a forwarded packet has already lost one.
  if (p.ctx.outdev !== null && p.ctx.indev !== null) ttl++;
  const now = p.ctx.ns.sim.sched.now;
  const e = t.lookup(addr, checkSet & XT_RECENT_TTL ? ttl : 0);
  if (e === undefined) {
    if (!(checkSet & XT_RECENT_SET)) return ret;
    t.init(addr, ttl, now);
    return !ret;
  }
  if (checkSet & XT_RECENT_SET) ret = !ret;
  else if (checkSet & XT_RECENT_REMOVE) {
    t.entries.delete(e.addr | 0);
    return !ret;
  } else {
    const time = now - windowNs;
    let hits = 0;
    for (let i = 0; i < e.nstamps; i++) {
      if (windowNs !== 0 && time > e.stamps[i]) continue;
      if (hitCount === 0 || ++hits >= hitCount) {
        ret = !ret;
        break;
      }
    }
    if (checkSet & XT_RECENT_REAP) t.reap(time, e, (checkSet & XT_RECENT_UPDATE) !== 0 && ret);
  }
  if (checkSet & XT_RECENT_SET || (checkSet & XT_RECENT_UPDATE && ret)) {
    t.update(e, now);
    e.ttl = ttl;
  }
  return ret;
}

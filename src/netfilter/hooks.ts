// The netfilter hook table of a namespace (net/netfilter/core.c: nf_register_net_hook,
// nf_hook_slow) and its installation with conntrack, NAT, br_netfilter and the rule tables at the
// kernel's priorities (iptable_raw/mangle/filter/nat, nf_conntrack_proto.c's ipv4_conntrack_ops,
// nf_nat_proto.c's nf_nat_ipv4_ops).

import { Bridge, Hook, type NetDevice, type NetNamespace, type NfHookTable, Verdict } from "../net/index.js";
import type { Packet } from "../packet/index.js";
import { ipv4 } from "../wire/index.js";
import { BrNetfilter } from "./conntrack/br_netfilter.js";
import { Conntrack, NF_CONNTRACK_MAX_DEFAULT } from "./conntrack/core.js";
import { type CtEntry, type CtFilter, conntrackDelete, conntrackEntries, conntrackFlush, conntrackList } from "./conntrack/dump.js";
import { Nat } from "./conntrack/nat.js";
import { IPS } from "./conntrack/table.js";
import { CtInfo, CtStateBit, type NatApi, type NfContext, Priority, type RuleTableRunner, type TableName } from "./types.js";

export type NfHookFn = (ctx: NfContext) => Verdict;

/** One registered hook function (struct nf_hook_ops). */
export interface NfHookOps {
  hook: Hook;
  priority: number;
  fn: NfHookFn;
  /** For listings: "conntrack", "nat", "filter", … */
  name: string;
}

/** Runs before a hook's functions; returns a verdict to end the walk with, or -1 to walk. */
export type NfHookGate = (hook: Hook, pkt: Packet, indev: NetDevice | null, outdev: NetDevice | null, bridged: boolean) => number;

/** NF_IP_PRI_FIRST. */
export const PRIORITY_FIRST = -0x80000000;

/**
 * Per hook, the functions in priority order (equal priorities in registration order), walked as
 * nf_hook_slow walks them: the first verdict other than Accept ends the walk. One NfContext per
 * nesting depth is reused (a hook may send a packet that runs hooks of its own, e.g. REJECT).
 */
export class NfHooks implements NfHookTable {
  private readonly ops: NfHookOps[][] = [[], [], [], [], []];
  private readonly fns: NfHookFn[][] = [[], [], [], [], []];
  private readonly ctxs: NfContext[] = [];
  private depth = 0;
  gate: NfHookGate | null = null;

  constructor(readonly ns: NetNamespace) {}

  /** nf_register_net_hook. Returns the function that unregisters it. */
  register(op: NfHookOps): () => void {
    const list = this.ops[op.hook];
    let i = list.length;
    while (i > 0 && list[i - 1].priority > op.priority) i--;
    list.splice(i, 0, op);
    this.fns[op.hook] = list.map((o) => o.fn);
    return () => this.unregister(op);
  }

  unregister(op: NfHookOps): void {
    const list = this.ops[op.hook];
    const i = list.indexOf(op);
    if (i < 0) return;
    list.splice(i, 1);
    this.fns[op.hook] = list.map((o) => o.fn);
  }

  /** The functions at a hook, in walk order (`nft list hooks`). */
  list(hook: Hook): readonly NfHookOps[] {
    return this.ops[hook];
  }

  run(hook: Hook, pkt: Packet, indev: NetDevice | null, outdev: NetDevice | null, bridged: boolean): Verdict {
    if (this.gate !== null) {
      const g = this.gate(hook, pkt, indev, outdev, bridged);
      if (g >= 0) return g as Verdict;
    }
    const fns = this.fns[hook];
    if (fns.length === 0) return Verdict.Accept;
    const ctx = this.depth < this.ctxs.length ? this.ctxs[this.depth] : this.newContext();
    this.depth++;
    ctx.hook = hook;
    ctx.pkt = pkt;
    // br_netfilter hands the IP hooks the bridge, not its ports, as in/out device.
    ctx.indev = bridged && indev !== null && indev.master !== null ? indev.master : indev;
    ctx.outdev = bridged && outdev !== null && outdev.master !== null ? outdev.master : outdev;
    ctx.bridged = bridged;
    ctx.ctstate = CtStateBit.Invalid;
    let v: Verdict = Verdict.Accept;
    for (let i = 0; i < fns.length; i++) {
      v = fns[i](ctx);
      if (v !== Verdict.Accept) break;
    }
    this.depth--;
    return v;
  }

  private newContext(): NfContext {
    const ctx: NfContext = { ns: this.ns, hook: Hook.PreRouting, pkt: null as unknown as Packet, indev: null, outdev: null, bridged: false, ctstate: 0 };
    this.ctxs.push(ctx);
    return ctx;
  }
}

/** `-m conntrack --ctstate` bits of a packet (xt_conntrack.c: conntrack_mt). */
export function ctstateOf(ct: Conntrack, pkt: Packet): number {
  const s = pkt.ct;
  if (s < 0) return pkt.ctinfo === CtInfo.Untracked ? CtStateBit.Untracked : CtStateBit.Invalid;
  const ctinfo = pkt.ctinfo;
  let bits: number =
    ctinfo === CtInfo.New ? CtStateBit.New : ctinfo === CtInfo.Related || ctinfo === CtInfo.RelatedReply ? CtStateBit.Related : CtStateBit.Established;
  const st = ct.table.status[s];
  if (st & IPS.SRC_NAT) bits |= CtStateBit.Snat;
  if (st & IPS.DST_NAT) bits |= CtStateBit.Dnat;
  return bits;
}

/** The tables of each hook and their priorities (iptable_*.c's valid_hooks). */
const TABLE_HOOKS: Record<Exclude<TableName, "nat">, { priority: number; hooks: Hook[] }> = {
  raw: { priority: Priority.Raw, hooks: [Hook.PreRouting, Hook.LocalOut] },
  mangle: { priority: Priority.Mangle, hooks: [Hook.PreRouting, Hook.LocalIn, Hook.Forward, Hook.LocalOut, Hook.PostRouting] },
  filter: { priority: Priority.Filter, hooks: [Hook.LocalIn, Hook.Forward, Hook.LocalOut] },
};

export interface NetfilterOptions {
  rules?: RuleTableRunner;
  /** nf_conntrack_max (default 262144). */
  conntrackMax?: number;
}

/** Netfilter as installed in one namespace: its hooks, conntrack table, NAT and rule tables. */
export class Netfilter {
  readonly hooks: NfHooks;
  readonly conntrack: Conntrack;
  readonly nat: Nat;
  readonly brNetfilter: BrNetfilter;
  private rulesRunner: RuleTableRunner | null = null;
  /** The runner has a nat table (asked once per setRules, not per connection). */
  private natRules = false;
  private unregisterRules: (() => void)[] = [];

  constructor(
    readonly ns: NetNamespace,
    opts: NetfilterOptions = {},
  ) {
    this.hooks = new NfHooks(ns);
    this.conntrack = new Conntrack(ns, opts.conntrackMax ?? NF_CONNTRACK_MAX_DEFAULT);
    this.nat = new Nat(this.conntrack);
    this.brNetfilter = new BrNetfilter(ns, this.conntrack);
    this.hooks.gate = (hook, pkt, indev, _outdev, bridged) => this.gate(hook, pkt, indev, bridged);
    this.registerCore();
    this.setRules(opts.rules ?? null);
  }

  /** The rule engine in use, or null. */
  get rules(): RuleTableRunner | null {
    return this.rulesRunner;
  }

  /** Swaps the rule engine (kube-proxy's resync): its tables are registered at their priorities. */
  setRules(runner: RuleTableRunner | null): void {
    for (const u of this.unregisterRules) u();
    this.unregisterRules = [];
    this.rulesRunner = runner;
    this.natRules = runner?.tables().includes("nat") ?? false;
    if (runner === null) return;
    const ct = this.conntrack;
    for (const table of runner.tables()) {
      if (table === "nat") continue; // consulted by the nat hooks, for first packets only
      const { priority, hooks } = TABLE_HOOKS[table];
      const fn: NfHookFn = (ctx) => {
        ctx.ctstate = ctstateOf(ct, ctx.pkt);
        return runner.run(table, ctx);
      };
      for (const hook of hooks) this.unregisterRules.push(this.hooks.register({ hook, priority, fn, name: table }));
    }
  }

  /** `conntrack -L [filter]`. */
  list(filter?: CtFilter): string[] {
    return conntrackList(this.conntrack, filter);
  }

  /** The entries, decoded. */
  entries(filter?: CtFilter): CtEntry[] {
    return conntrackEntries(this.conntrack, filter);
  }

  /** `conntrack -D [filter]`: returns the number of entries deleted. */
  delete(filter: CtFilter): number {
    return conntrackDelete(this.conntrack, filter);
  }

  /** `conntrack -F`. */
  flush(): number {
    return conntrackFlush(this.conntrack);
  }

  private registerCore(): void {
    const ct = this.conntrack;
    const nat = this.nat;
    const h = this.hooks;
    // ipv4_conntrack_in / ipv4_conntrack_local.
    const ctIn: NfHookFn = (ctx) => {
      const v = ct.in(ctx.hook, ctx.pkt, ctx.hook === Hook.LocalOut ? ctx.outdev : ctx.indev);
      ctx.ctstate = ctstateOf(ct, ctx.pkt);
      return v;
    };
    h.register({ hook: Hook.PreRouting, priority: Priority.Conntrack, fn: ctIn, name: "conntrack" });
    h.register({ hook: Hook.LocalOut, priority: Priority.Conntrack, fn: ctIn, name: "conntrack" });
    // nf_nat_ipv4_ops: the nat table is looked up through the rule engine, if it has one.
    const lookup: NfHookFn = (ctx) => {
      const r = this.rulesRunner;
      if (r === null || !this.natRules) return Verdict.Accept;
      ctx.ctstate = ctstateOf(ct, ctx.pkt);
      return r.run("nat", ctx);
    };
    const natFn: NfHookFn = (ctx) => nat.hook(ctx, lookup);
    h.register({ hook: Hook.PreRouting, priority: Priority.NatDst, fn: natFn, name: "nat" });
    h.register({ hook: Hook.LocalOut, priority: Priority.NatDst, fn: natFn, name: "nat" });
    h.register({ hook: Hook.PostRouting, priority: Priority.NatSrc, fn: natFn, name: "nat" });
    h.register({ hook: Hook.LocalIn, priority: Priority.NatSrc, fn: natFn, name: "nat" });
    // nf_confirm.
    const confirm: NfHookFn = (ctx) => ct.confirm(ctx.pkt);
    h.register({ hook: Hook.PostRouting, priority: Priority.ConntrackConfirm, fn: confirm, name: "confirm" });
    h.register({ hook: Hook.LocalIn, priority: Priority.ConntrackConfirm, fn: confirm, name: "confirm" });
  }

  /** What runs before the hooks: br_netfilter's checks, ip_sabotage_in, and dropping foreign conntrack references. */
  private gate(hook: Hook, pkt: Packet, indev: NetDevice | null, bridged: boolean): number {
    if (bridged) {
      if (hook === Hook.PreRouting) return this.brNetfilter.preRouting(pkt, indev!);
      pkt.l4 = pkt.l3 + ipv4.headerLength(pkt.buf, pkt.l3);
      return -1;
    }
    if (hook === Hook.PreRouting) {
      // ip_sabotage_in: a bridged frame passed up already went through PREROUTING on the bridge.
      if (indev instanceof Bridge && this.ns.sysctl.bridgeNfCallIptables) return Verdict.Accept;
      // Loopback keeps the entry it got on the way out; anything else comes from another
      // namespace, whose conntrack state is not ours (veth scrubs it: skb_scrub_packet).
      if (indev !== this.ns.lo || (pkt.ct >= 0 && !this.conntrack.attachedValid(pkt))) {
        pkt.ct = -1;
        pkt.ctinfo = 0;
      }
    } else if (hook === Hook.LocalOut && pkt.ct >= 0 && !this.conntrack.attachedValid(pkt)) {
      pkt.ct = -1;
      pkt.ctinfo = 0;
    }
    return -1;
  }
}

/**
 * Installs netfilter in a namespace: conntrack (in at PREROUTING/OUTPUT, confirm at
 * POSTROUTING/INPUT), NAT (DNAT at PREROUTING/OUTPUT, SNAT at POSTROUTING/INPUT), the rule
 * tables the runner has at their priorities, and br_netfilter on its bridges (present and future).
 */
export function installNetfilter(ns: NetNamespace, opts: NetfilterOptions = {}): Netfilter {
  if (ns.state.has("netfilter")) throw new Error(`${ns.name}: netfilter is already installed (use netfilterOf(ns).setRules to change the rules)`);
  const nf = new Netfilter(ns, opts);
  ns.state.set("netfilter", nf);
  ns.nf = nf.hooks;
  nf.brNetfilter.attachAll();
  return nf;
}

/** The namespace's Netfilter, or null if none is installed. */
export const netfilterOf = (ns: NetNamespace): Netfilter | null => (ns.state.get("netfilter") as Netfilter | undefined) ?? null;

/** The namespace's NAT (for DNAT/SNAT/MASQUERADE targets), or null if netfilter is not installed. */
export const natApiOf = (ns: NetNamespace): NatApi | null => netfilterOf(ns)?.nat ?? null;

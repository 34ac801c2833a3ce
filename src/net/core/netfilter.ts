// The netfilter hook points of the IPv4 stack (include/uapi/linux/netfilter.h). The stack calls
// the namespace's hook table at each point; src/netfilter installs one. With none installed the
// cost is one null check.

import type { Packet } from "../../packet/index.js";
import type { NetDevice } from "./device.js";

export const Hook = { PreRouting: 0, LocalIn: 1, Forward: 2, LocalOut: 3, PostRouting: 4 } as const;
export type Hook = (typeof Hook)[keyof typeof Hook];
export const HOOK_NAMES = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"] as const;

/** NF_DROP, NF_ACCEPT, NF_STOLEN: what a hook walk tells the stack (nf_hook_slow). */
export const Verdict = { Drop: 0, Accept: 1, Stolen: 2 } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

export interface NfHookTable {
  /**
   * Runs every hook function registered at `hook` in priority order over the IPv4 packet at
   * pkt.l3. Accept: the caller continues (okfn). Drop: the caller drops with NETFILTER_DROP.
   * Stolen: the hook took the packet. `bridged` is true when called from the bridge path
   * (bridge-nf-call-iptables).
   */
  run(hook: Hook, pkt: Packet, indev: NetDevice | null, outdev: NetDevice | null, bridged: boolean): Verdict;
}

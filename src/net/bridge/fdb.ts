// The bridge forwarding database (net/bridge/br_fdb.c): MAC → port, learned from source
// addresses and aged out after ageing_time (300 s); local entries for the bridge's own and its
// ports' MACs; static entries added by hand. Ageing is checked lazily on lookup and dump.

import { formatMac, type MacAddr } from "../../wire/index.js";
import type { NetDevice } from "../core/device.js";

export interface FdbEntry {
  readonly mac: MacAddr;
  /** The port behind which the MAC lives; null for the bridge's own MAC. */
  port: NetDevice | null;
  /** Local: frames to this MAC are for the host (br_fdb local/permanent). */
  readonly local: boolean;
  readonly isStatic: boolean;
  updated: number;
}

export const BR_DEFAULT_AGEING_TIME = 300e9;

export class Fdb {
  readonly entries = new Map<number, FdbEntry>();
  ageingTime = BR_DEFAULT_AGEING_TIME;

  get(mac: number, now: number): FdbEntry | undefined {
    const e = this.entries.get(mac);
    if (e === undefined) return undefined;
    if (!e.local && !e.isStatic && now - e.updated > this.ageingTime) {
      this.entries.delete(mac);
      return undefined;
    }
    return e;
  }

  /** br_fdb_update: learns or refreshes `mac` behind `port`. Returns "learn", "move", or null if only refreshed. */
  learn(mac: MacAddr, port: NetDevice, now: number): "learn" | "move" | null {
    const e = this.entries.get(mac);
    if (e === undefined) {
      this.entries.set(mac, { mac, port, local: false, isStatic: false, updated: now });
      return "learn";
    }
    if (e.local || e.isStatic) return null;
    e.updated = now;
    if (e.port !== port) {
      e.port = port;
      return "move";
    }
    return null;
  }

  addLocal(mac: MacAddr, port: NetDevice | null): void {
    this.entries.set(mac, { mac, port, local: true, isStatic: true, updated: 0 });
  }

  /** `bridge fdb add MAC dev PORT master static`. */
  addStatic(mac: MacAddr, port: NetDevice): void {
    this.entries.set(mac, { mac, port, local: false, isStatic: true, updated: 0 });
  }

  /** Forgets everything learned behind `port` (the port left the bridge). */
  flushPort(port: NetDevice): void {
    for (const [k, e] of this.entries) if (e.port === port) this.entries.delete(k);
  }

  /** `bridge fdb show br BR` lines. */
  dump(bridge: NetDevice, now: number): string[] {
    const out: string[] = [];
    for (const e of [...this.entries.values()].sort((a, b) => a.mac - b.mac)) {
      if (!e.local && !e.isStatic && now - e.updated > this.ageingTime) continue;
      const dev = e.port ?? bridge;
      const flags = e.local ? " permanent" : e.isStatic ? " static" : "";
      out.push(`${formatMac(e.mac)} dev ${dev.name}${e.port ? ` master ${bridge.name}` : ""}${flags}`);
    }
    return out;
  }
}

export { formatMac };

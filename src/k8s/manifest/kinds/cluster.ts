// v1 Namespace and Node: cluster-scoped, little more than a name and labels (a Node manifest
// may also give its podCIDR, taints and addresses).

import type { Namespace, Node, NodeAddress, ObjectMeta, Taint } from "../../model.js";
import type { Cursor } from "../cursor.js";
import type { Base } from "./base.js";
import { readCidr, readIpv4 } from "./values.js";

const NODE_SPEC_FIELDS = ["podCIDR", "podCIDRs", "providerID", "unschedulable", "taints", "configSource", "externalID"];
const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

export function readNamespace(c: Cursor, metadata: ObjectMeta, base: Base): Namespace {
  const spec = c.get("spec");
  if (spec.isMap()) spec.known(["finalizers"]);
  return { ...base, kind: "Namespace", metadata };
}

export function readNode(c: Cursor, metadata: ObjectMeta, base: Base): Node {
  const s = c.get("spec");
  const spec: Node["spec"] = { podCIDRs: [], unschedulable: false, taints: [] };
  if (s.isMap()) {
    s.known(NODE_SPEC_FIELDS);
    const podCIDR = readCidr(s.get("podCIDR"));
    if (podCIDR !== undefined) spec.podCIDR = podCIDR;
    const list = s.get("podCIDRs");
    if (list.isSeq()) for (const item of list.items()) {
      const cidr = readCidr(item);
      if (cidr !== undefined) spec.podCIDRs.push(cidr);
    }
    if (spec.podCIDR !== undefined && spec.podCIDRs.length === 0) spec.podCIDRs.push(spec.podCIDR);
    spec.unschedulable = s.get("unschedulable").bool() ?? false;
    const taints = s.get("taints");
    if (taints.isSeq()) for (const t of taints.items()) {
      const taint = readTaint(t);
      if (taint) spec.taints.push(taint);
    }
  }
  const addresses: NodeAddress[] = [];
  const a = c.get("status").get("addresses");
  if (a.isSeq()) for (const item of a.items()) {
    const type = item.get("type").requiredStr("InternalIP, ExternalIP or Hostname");
    const isIp = type === "InternalIP" || type === "ExternalIP";
    const address = isIp ? readIpv4(item.get("address")) : item.get("address").requiredStr();
    if (type !== undefined && address !== undefined) addresses.push({ type, address });
  }
  return { ...base, kind: "Node", metadata, spec, status: { addresses } };
}

function readTaint(t: Cursor): Taint | undefined {
  if (!t.isMap()) return undefined;
  t.known(["key", "value", "effect", "timeAdded"]);
  const key = t.get("key").requiredStr("a taint key");
  const effectCursor = t.get("effect");
  const effect = effectCursor.requiredStr(TAINT_EFFECTS.join(", "));
  if (effect !== undefined && !TAINT_EFFECTS.includes(effect))
    effectCursor.error("invalid-value", `"${effect}" is not a taint effect (expected ${TAINT_EFFECTS.join(", ")})`);
  if (key === undefined || effect === undefined) return undefined;
  const value = t.get("value").str();
  return value === undefined ? { key, effect } : { key, value, effect };
}

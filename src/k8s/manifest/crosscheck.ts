// Checks between the cluster config and the manifests that neither can make alone: nodes named
// in manifests exist, Service selectors select something, ClusterIPs are in the Service range
// and unique, NodePorts unique, EndpointSlices belong to a Service, namespaces exist.

import { cidrContains, formatCidr, parseIpv4 } from "../../wire/index.js";
import type { ClusterConfig } from "../config.js";
import type { K8sObject, Service } from "../model.js";
import { objectRef } from "../model.js";
import type { Diagnostic, DiagnosticCode, Position } from "./diagnostics.js";
import { fieldPosition } from "./parse.js";
import { formatSelector, matchesLabels } from "./selector.js";

/** Namespaces every cluster has without a manifest. */
export const BUILTIN_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

/** Every problem between `config` and the parsed `objects` (the result of parseManifests). */
export function crossCheck(config: ClusterConfig, objects: readonly K8sObject[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const report = (
    o: K8sObject,
    path: string,
    severity: "error" | "warning",
    code: DiagnosticCode,
    message: string,
    extra: { hint?: string; related?: Position } = {},
  ) => out.push({ ...fieldPosition(o, path), severity, code, object: objectRef(o), path, message, ...extra });

  const nodeNames = config.nodes.map((n) => n.name);
  const checkNode = (o: K8sObject, path: string, name: string | undefined) => {
    if (name === undefined || nodeNames.includes(name)) return;
    report(o, path, "error", "unknown-node", `node "${name}" is not in the cluster config (its nodes: ${nodeNames.join(", ")})`, {
      hint: `add {name: ${name}, address: …} to nodes in the cluster config, or use one of its nodes`,
    });
  };

  const services = objects.filter((o): o is Service => o.kind === "Service");
  const clusterIPs = new Map<string, Service>();
  const nodePorts = new Map<string, Service>();
  const declared = new Set([...BUILTIN_NAMESPACES, ...objects.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name)]);
  const undeclared = new Set<string>();

  for (const o of objects) {
    const ns = o.metadata.namespace;
    if (ns && !declared.has(ns) && !undeclared.has(ns)) {
      undeclared.add(ns);
      report(o, "metadata.namespace", "warning", "unknown-namespace", `namespace "${ns}" has no Namespace manifest`, {
        hint: `add a Namespace ${ns} (kubectl apply would fail with "namespaces \\"${ns}\\" not found")`,
      });
    }
    switch (o.kind) {
      case "Node":
        checkNode(o, "metadata.name", o.metadata.name);
        break;
      case "Pod":
        checkNode(o, "spec.nodeName", o.spec.nodeName);
        break;
      case "Deployment":
      case "ReplicaSet":
        checkNode(o, "spec.template.spec.nodeName", o.spec.template.spec.nodeName);
        break;
      case "EndpointSlice":
        o.endpoints.forEach((e, i) => {
          checkNode(o, `endpoints[${i}].nodeName`, e.nodeName);
        });
        if (o.serviceName !== undefined && !services.some((s) => s.metadata.namespace === ns && s.metadata.name === o.serviceName))
          report(o, 'metadata.labels["kubernetes.io/service-name"]', "warning", "unknown-service", `no Service ${ns}/${o.serviceName} for this slice`);
        break;
      case "Service":
        checkClusterIP(o, config, clusterIPs, report);
        checkNodePorts(o, nodePorts, report);
        checkSelects(o, objects, report);
        break;
    }
  }
  return out;
}

type Report = (
  o: K8sObject,
  path: string,
  severity: "error" | "warning",
  code: DiagnosticCode,
  message: string,
  extra?: { hint?: string; related?: Position },
) => void;

function checkClusterIP(s: Service, config: ClusterConfig, seen: Map<string, Service>, report: Report): void {
  const ip = s.spec.clusterIP;
  if (ip === undefined || ip === "None") return;
  const parsed = parseIpv4(ip);
  if (parsed.ok && !cidrContains(config.serviceCIDR, parsed.value))
    report(s, "spec.clusterIP", "error", "cluster-ip-outside", `${ip} is outside the serviceCIDR ${formatCidr(config.serviceCIDR)}`, {
      hint: "pick an address in serviceCIDR, or leave clusterIP out to have one allocated",
    });
  const other = seen.get(ip);
  if (other)
    report(s, "spec.clusterIP", "error", "duplicate-cluster-ip", `${ip} is already the clusterIP of ${objectRef(other)}`, {
      related: fieldPosition(other, "spec.clusterIP"),
      hint: "each Service needs its own clusterIP; leave it out to have one allocated",
    });
  else seen.set(ip, s);
}

function checkNodePorts(s: Service, seen: Map<string, Service>, report: Report): void {
  s.spec.ports.forEach((p, i) => {
    if (p.nodePort === undefined) return;
    const key = `${p.nodePort}/${p.protocol}`;
    const other = seen.get(key);
    if (other && other !== s)
      report(s, `spec.ports[${i}].nodePort`, "error", "duplicate-node-port", `NodePort ${key} is already used by ${objectRef(other)}`, {
        hint: "leave nodePort out to have a free one allocated",
      });
    else seen.set(key, s);
  });
}

/** A Service with a selector that matches no Pod and no pod template in its namespace. */
function checkSelects(s: Service, objects: readonly K8sObject[], report: Report): void {
  const selector = s.spec.selector;
  if (!selector || s.spec.type === "ExternalName") return;
  const candidates: Array<{ o: K8sObject; labels: Record<string, string> }> = [];
  for (const o of objects) {
    if (o.kind === "Pod") candidates.push({ o, labels: o.metadata.labels });
    else if (o.kind === "Deployment" || o.kind === "ReplicaSet") candidates.push({ o, labels: o.spec.template.metadata.labels });
  }
  const ns = s.metadata.namespace;
  if (candidates.some((c) => c.o.metadata.namespace === ns && matchesLabels(selector, c.labels))) return;
  const elsewhere = candidates.find((c) => matchesLabels(selector, c.labels));
  const here = candidates.filter((c) => c.o.metadata.namespace === ns && Object.keys(c.labels).length > 0);
  let hint: string;
  if (elsewhere)
    hint = `${objectRef(elsewhere.o)} matches, but a Service selects only pods in its own namespace (${ns})`;
  else if (here.length > 0)
    hint = `pod labels in namespace ${ns}: ${here
      .slice(0, 3)
      .map((c) => `${formatSelector(c.labels)} (${c.o.kind} ${c.o.metadata.name})`)
      .join("; ")}`;
  else hint = `there are no pods or pod templates in namespace ${ns}; for endpoints given by hand, remove the selector and add an EndpointSlice`;
  report(s, "spec.selector", "error", "selects-nothing", `selector ${formatSelector(selector)} matches no Pod or pod template in namespace ${ns}`, {
    hint,
  });
}

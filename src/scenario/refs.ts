// How a scenario names the ends of its traffic: pods (`client`, `ns/client`, `pod/ns/client`),
// Services (`svc/web`, `lb/web` for a LoadBalancer's address), nodes (`node/node-1`), hosts on the
// underlay (`external/laptop`) and plain addresses; a target adds `:PORT` (a number or a port
// name) and may end in `/udp`. Syntax is checked when the file is read; names are resolved
// against the running cluster, since pods come and go.

import type { Cluster, PodRuntime, ServiceRuntime } from "../k8s/index.js";
import type { NetNamespace } from "../net/index.js";
import { formatIpv4, type Ipv4Addr, parseIpv4 } from "../wire/index.js";
import { nearest } from "./yaml.js";

export type HostKind = "ip" | "pod" | "service" | "lb" | "node" | "external" | "name";

/** A host as written: a kind and a name (`ns/name` for pods and Services), or an address. */
export interface HostRef {
  readonly kind: HostKind;
  readonly name: string;
  readonly addr?: Ipv4Addr;
}

export interface TargetRef {
  readonly host: HostRef;
  /** A port number, or a port's name (a Service port or a container port). */
  readonly port: number | string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string; hint?: string };

const PREFIXES: Record<string, HostKind> = { pod: "pod", svc: "service", service: "service", lb: "lb", node: "node", external: "external" };
const LOOKS_LIKE_IP = /^[0-9.]+$/;
const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
export const HOST_FORMS = "NAME, NAMESPACE/NAME, pod/NAME, svc/NAME, lb/NAME, node/NAME, external/NAME or an IPv4 address";

/** Parses a host (no port). */
export function parseHost(text: string): Parsed<HostRef> {
  const s = text.trim();
  if (s === "") return { ok: false, message: "the host is empty", hint: `write ${HOST_FORMS}` };
  if (LOOKS_LIKE_IP.test(s)) {
    const r = parseIpv4(s);
    return r.ok ? { ok: true, value: { kind: "ip", name: s, addr: r.value } } : { ok: false, message: r.error };
  }
  const slash = s.indexOf("/");
  const prefix = slash > 0 ? PREFIXES[s.slice(0, slash)] : undefined;
  const kind: HostKind = prefix ?? "name";
  const name = prefix ? s.slice(slash + 1) : s;
  const parts = name.split("/");
  const maxParts = kind === "node" || kind === "external" ? 1 : 2;
  if (name === "" || parts.length > maxParts || parts.some((p) => !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(p))) {
    const unknownPrefix = slash > 0 && !prefix && parts.length > 2 ? ` ("${s.slice(0, slash)}/" is not a prefix kubewire knows)` : "";
    return { ok: false, message: `"${s}" is not a host${unknownPrefix}`, hint: `write ${HOST_FORMS}` };
  }
  return { ok: true, value: { kind, name } };
}

/** Parses `HOST:PORT` with an optional `/udp`. */
export function parseTarget(text: string, protocol = "udp"): Parsed<TargetRef> {
  let s = text.trim();
  const proto = /\/(udp|tcp|sctp)$/i.exec(s);
  if (proto) {
    if (proto[1].toLowerCase() !== protocol)
      return { ok: false, message: `"${text}" names ${proto[1].toLowerCase()}, but this step sends ${protocol}`, hint: `drop the "/${proto[1]}" suffix` };
    s = s.slice(0, proto.index);
  }
  const colon = s.lastIndexOf(":");
  if (colon < 0) return { ok: false, message: `"${text}" has no port`, hint: "write HOST:PORT, e.g. 10.96.0.10:53 or svc/web:80" };
  const host = parseHost(s.slice(0, colon));
  if (!host.ok) return host;
  const p = s.slice(colon + 1);
  if (/^[0-9]+$/.test(p)) {
    const port = Number(p);
    if (port < 1 || port > 65535) return { ok: false, message: `port ${p} is out of range (expected 1-65535)` };
    return { ok: true, value: { host: host.value, port } };
  }
  if (!PORT_NAME.test(p)) return { ok: false, message: `"${p}" is not a port (expected a number 1-65535 or a port name)` };
  if (host.value.kind === "ip") return { ok: false, message: `an address needs a port number, not the name "${p}"` };
  return { ok: true, value: { host: host.value, port: p } };
}

export const formatHost = (h: HostRef): string => (h.kind === "ip" || h.kind === "name" ? h.name : `${h.kind === "service" ? "svc" : h.kind}/${h.name}`);
export const formatTarget = (t: TargetRef): string => `${formatHost(t.host)}:${t.port}`;

/** Where a resolved host lives: a namespace to send from (pods, nodes, hosts) and/or an address to send to. */
export interface ResolvedHost {
  readonly kind: Exclude<HostKind, "name">;
  /** "pod default/client", "Service default/web", "node node-1", "10.0.0.1". */
  readonly label: string;
  readonly addr: Ipv4Addr;
  readonly ns?: NetNamespace;
  readonly pod?: PodRuntime;
  readonly service?: ServiceRuntime;
}

export type Resolved<T> = { ok: true; value: T } | { ok: false; message: string; hint?: string };

const key = (name: string) => (name.includes("/") ? name : `default/${name}`);

/** Resolves a host against the cluster as it is now. `sender`: it must be something that can send. */
export function resolveHost(c: Cluster, h: HostRef, sender = false): Resolved<ResolvedHost> {
  if (h.kind === "ip") {
    if (sender) return { ok: false, message: `traffic is sent from a pod, a node or an external host, not from an address (${h.name})` };
    return { ok: true, value: { kind: "ip", label: h.name, addr: h.addr! } };
  }
  if (h.kind !== "name") return resolveKind(c, h.kind, h.name, sender);
  const kinds: Exclude<HostKind, "ip" | "name">[] = sender ? ["pod", "node", "external"] : ["pod", "service", "node", "external"];
  const found = kinds.map((k) => ({ k, r: resolveKind(c, k, h.name, sender) })).filter((x) => x.r.ok);
  if (found.length === 1) return found[0].r;
  if (found.length > 1)
    return {
      ok: false,
      message: `"${h.name}" is ambiguous: it is a ${found.map((f) => f.k).join(" and a ")}`,
      hint: `write ${found.map((f) => `${f.k === "service" ? "svc" : f.k}/${h.name}`).join(" or ")}`,
    };
  return { ok: false, ...notFound(c, h.name, sender) };
}

function resolveKind(c: Cluster, kind: Exclude<HostKind, "ip" | "name">, name: string, sender: boolean): Resolved<ResolvedHost> {
  switch (kind) {
    case "pod": {
      const p = c.pods.get(key(name));
      if (!p) return { ok: false, ...notFound(c, name, sender, "pod") };
      return { ok: true, value: { kind, label: `pod ${p.key}`, addr: p.ip, ns: p.ns, pod: p } };
    }
    case "service":
    case "lb": {
      if (sender) return { ok: false, message: `a Service cannot send traffic (${name})`, hint: "send from a pod, a node or an external host" };
      const s = c.services.get(key(name));
      if (!s) return { ok: false, ...notFound(c, name, sender, "service") };
      if (kind === "service") {
        if (s.clusterIP === 0) return { ok: false, message: `Service ${s.key} has no ClusterIP (headless or ExternalName)`, hint: "send to one of its pods instead" };
        return { ok: true, value: { kind, label: `Service ${s.key}`, addr: s.clusterIP, service: s } };
      }
      const lb = s.svc.loadBalancerIngress[0] ?? s.svc.spec.loadBalancerIP;
      const r = lb === undefined ? undefined : parseIpv4(lb);
      if (!r?.ok)
        return {
          ok: false,
          message: `Service ${s.key} has no load-balancer address`,
          hint: "give it status.loadBalancer.ingress: [{ip: …}] (what the cloud controller would write) and type: LoadBalancer",
        };
      return { ok: true, value: { kind, label: `LoadBalancer ${s.key}`, addr: r.value, service: s } };
    }
    case "node": {
      const n = c.nodes.get(name);
      if (!n) return { ok: false, message: `no node "${name}"`, hint: `the nodes are ${[...c.nodes.keys()].join(", ")}` };
      return { ok: true, value: { kind, label: `node ${n.name}`, addr: n.address, ns: n.ns } };
    }
    case "external": {
      const ns = c.externals.get(name);
      if (!ns) {
        const have = [...c.externals.keys()];
        return { ok: false, message: `no external host "${name}"`, hint: have.length ? `the external hosts are ${have.join(", ")}` : "add one first with a step `external-host: {name, address}`" };
      }
      const eth = ns.devices.get("eth0");
      return { ok: true, value: { kind, label: `external ${name}`, addr: eth?.primaryAddr ?? (0 as Ipv4Addr), ns } };
    }
  }
}

/** "no pod "wbe"" with the nearest names, or the pods of a Deployment when its name was given. */
function notFound(c: Cluster, name: string, sender: boolean, only?: "pod" | "service"): { message: string; hint?: string } {
  const what = only ?? (sender ? "pod, node or external host" : "pod, Service, node or external host");
  const pods = [...c.pods.keys()];
  const owned = pods.filter((p) => p.startsWith(`${key(name)}-`));
  if (owned.length > 0 && only !== "service")
    return { message: `no ${what} "${name}"`, hint: `"${name}" runs pods ${owned.map((p) => p.replace(/^default\//, "")).join(", ")}: name one of them` };
  const names = [
    ...(only !== "service" ? pods.map((p) => p.replace(/^default\//, "")) : []),
    ...(only !== "pod" && !sender ? [...c.services.keys()].map((s) => s.replace(/^default\//, "")) : []),
    ...(only ? [] : [...c.nodes.keys(), ...c.externals.keys()]),
  ];
  const guess = nearest(name, names);
  const list = names.length > 8 ? `${names.slice(0, 8).join(", ")}, …` : names.join(", ");
  return { message: `no ${what} "${name}"${guess ? ` (did you mean "${guess}"?)` : ""}`, hint: names.length ? `known: ${list}` : undefined };
}

/** Resolves a target's port: a number, or a Service port / container port by name. */
export function resolvePort(host: ResolvedHost, port: number | string): Resolved<number> {
  if (typeof port === "number") return { ok: true, value: port };
  if (host.service) {
    const p = host.service.svc.spec.ports.find((sp) => sp.name === port);
    if (p) return { ok: true, value: p.port };
    return { ok: false, message: `Service ${host.service.key} has no port named "${port}"`, hint: `its ports: ${host.service.svc.spec.ports.map((sp) => sp.name || sp.port).join(", ")}` };
  }
  if (host.pod) {
    for (const ctr of host.pod.pod.spec.containers) for (const p of ctr.ports) if (p.name === port) return { ok: true, value: p.containerPort };
    return { ok: false, message: `pod ${host.pod.key} has no container port named "${port}"` };
  }
  return { ok: false, message: `${host.label} has no named ports; give a number` };
}

/** Resolves `HOST:PORT` to an address and port. */
export function resolveTarget(c: Cluster, t: TargetRef): Resolved<{ host: ResolvedHost; addr: string; port: number }> {
  const h = resolveHost(c, t.host);
  if (!h.ok) return h;
  const p = resolvePort(h.value, t.port);
  if (!p.ok) return p;
  return { ok: true, value: { host: h.value, addr: formatIpv4(h.value.addr), port: p.value } };
}

// A running pod: a network namespace held by its pause container, joined to the node by the CNI
// bridge plugin. Its containers share the namespace (one IP, one lo: they talk over localhost);
// restarting a container closes what it had open and keeps the namespace and the IP; deleting the
// pod tears down the veth and frees the IP.

import { createUdpSocket, type NetNamespace, type UdpSocket } from "../../net/index.js";
import { formatIpv4, type Ipv4Addr } from "../../wire/index.js";
import type { PodAttachment } from "../cni/bridge.js";
import type { Pod } from "../model.js";
import type { ClusterNode } from "./node.js";

/** A container of a pod: what it opened is closed when it restarts. */
export class ContainerRuntime {
  restarts = 0;
  private readonly sockets = new Set<UdpSocket>();

  constructor(
    readonly pod: PodRuntime,
    readonly name: string,
  ) {}

  /** A UDP socket opened by this container, in the pod's namespace. */
  udpSocket(): UdpSocket {
    const s = createUdpSocket(this.pod.ns);
    this.sockets.add(s);
    s.once("close", () => this.sockets.delete(s));
    return s;
  }

  /** The process exits and is started again: its sockets close; the pod's namespace stays. */
  restart(): void {
    for (const s of [...this.sockets]) s.close();
    this.restarts++;
  }

  /** Sockets this container has open. */
  get openSockets(): number {
    return this.sockets.size;
  }
}

export class PodRuntime {
  readonly containers = new Map<string, ContainerRuntime>();
  /** Ready pods are endpoints of the Services that select them. */
  ready = true;
  deleted = false;

  constructor(
    readonly pod: Pod,
    readonly node: ClusterNode,
    readonly ns: NetNamespace,
    readonly ip: Ipv4Addr,
    readonly attachment: PodAttachment,
  ) {
    for (const c of pod.spec.containers) this.containers.set(c.name, new ContainerRuntime(this, c.name));
  }

  /** "namespace/name". */
  get key(): string {
    return `${this.pod.metadata.namespace}/${this.pod.metadata.name}`;
  }

  get name(): string {
    return this.pod.metadata.name;
  }

  get labels(): Record<string, string> {
    return this.pod.metadata.labels;
  }

  get ipString(): string {
    return formatIpv4(this.ip);
  }

  container(name?: string): ContainerRuntime {
    const c = name === undefined ? this.containers.values().next().value : this.containers.get(name);
    if (!c) throw new Error(`pod ${this.key} has no container ${name ?? ""} (has: ${[...this.containers.keys()].join(", ")})`);
    return c;
  }
}

// The programs a scenario's pods run. With `apps: echo` (the default) every container gets a UDP
// echo server on each of its UDP containerPorts and a TCP app on each of its TCP containerPorts
// (the first kind in TCP_APP_KINDS that serves the port: the echo server serves any), bound to
// 0.0.0.0 in the pod's namespace, so that Services and pods answer. A container that restarts
// starts its servers again; a deleted pod's servers are gone.

import type { Cluster, PodRuntime } from "../k8s/index.js";
import type { RemoteInfo, UdpSocket } from "../net/index.js";
import { httpEchoApp } from "./http-app.js";
import type { AppsMode } from "./model.js";
import { peerOf, type TcpAccept, type TcpApp, type TcpAppKind, tcpEchoApp } from "./tcp-apps.js";

export type { TcpAccept, TcpApp, TcpAppContext, TcpAppKind } from "./tcp-apps.js";

/** The kinds of TCP app, in the order they are offered a port; the echo server, which serves any, comes last. */
const TCP_APP_KINDS: readonly TcpAppKind[] = [httpEchoApp, tcpEchoApp];

/** A datagram an app received. */
export interface Delivery {
  readonly pod: PodRuntime;
  readonly container: string;
  readonly port: number;
  readonly payload: string;
  readonly from: RemoteInfo;
  readonly t: number;
}

export class Apps {
  private readonly sockets = new Map<string, UdpSocket[]>();
  private readonly listeners: ((d: Delivery) => void)[] = [];
  private readonly tcpApps = new Map<string, TcpApp[]>();
  private readonly acceptListeners: ((a: TcpAccept) => void)[] = [];

  constructor(
    readonly cluster: Cluster,
    readonly mode: AppsMode,
  ) {}

  /** Starts the apps of every pod now and of every pod added later. */
  start(): void {
    for (const p of this.cluster.pods.values()) this.startPod(p);
    this.cluster.on((e) => {
      if (e.kind === "pod-added") this.startPod(e.pod);
      else if (e.kind === "pod-deleted")
        for (const c of e.pod.containers.keys()) {
          this.sockets.delete(`${e.pod.key}/${c}`);
          for (const a of this.tcpApps.get(`${e.pod.key}/${c}`) ?? []) a.destroy();
          this.tcpApps.delete(`${e.pod.key}/${c}`);
        }
    });
  }

  /** Called with every datagram an app receives (before it answers). Returns the unsubscribe function. */
  onDelivery(l: (d: Delivery) => void): () => void {
    this.listeners.push(l);
    return () => this.listeners.splice(this.listeners.indexOf(l), 1);
  }

  /** Called with every connection a TCP app accepts. Returns the unsubscribe function. */
  onTcpAccept(l: (a: TcpAccept) => void): () => void {
    this.acceptListeners.push(l);
    return () => this.acceptListeners.splice(this.acceptListeners.indexOf(l), 1);
  }

  /** The container's process exits and starts again: its sockets close, its servers are bound anew. */
  restart(pod: PodRuntime, container: string): void {
    for (const a of this.tcpApps.get(`${pod.key}/${container}`) ?? []) a.close();
    pod.container(container).restart();
    this.startContainer(pod, container);
  }

  /** "udp/9000 (main)", "tcp/8080 (main)" per listening server of a pod, for reports. */
  describe(pod: PodRuntime): string[] {
    const out: string[] = [];
    for (const c of pod.containers.keys()) {
      for (const s of this.sockets.get(`${pod.key}/${c}`) ?? []) if (!s.closed) out.push(`udp/${s.localPort} (${c})`);
      for (const a of this.tcpApps.get(`${pod.key}/${c}`) ?? []) out.push(`tcp/${a.port} (${c}${a.kind === "echo" ? "" : `, ${a.kind}`})`);
    }
    return out;
  }

  private startPod(p: PodRuntime): void {
    for (const c of p.containers.keys()) this.startContainer(p, c);
  }

  private startContainer(p: PodRuntime, name: string): void {
    const list: UdpSocket[] = [];
    const tcp: TcpApp[] = [];
    this.sockets.set(`${p.key}/${name}`, list);
    this.tcpApps.set(`${p.key}/${name}`, tcp);
    if (this.mode !== "echo") return;
    const spec = p.pod.spec.containers.find((c) => c.name === name);
    for (const port of spec?.ports ?? []) {
      if (port.protocol === "TCP") {
        const kind = TCP_APP_KINDS.find((k) => k.serves(port));
        const accepted = (sk: TcpAccept["sk"]) => {
          const a: TcpAccept = { pod: p, container: name, port: port.containerPort, kind: kind!.name, from: peerOf(sk), t: this.cluster.sim.now, sk };
          for (const l of [...this.acceptListeners]) l(a);
        };
        // Undefined: two containers declaring one port, the second cannot bind (as in a real pod).
        const app = kind?.start({ cluster: this.cluster, pod: p, container: name, port, accepted });
        if (app) tcp.push(app);
        continue;
      }
      if (port.protocol !== "UDP") continue;
      const s = p.container(name).udpSocket();
      try {
        s.bind(port.containerPort);
      } catch {
        // Two containers declaring one port: the second cannot bind, as in a real pod.
        s.close();
        continue;
      }
      s.on("message", (msg, rinfo) => {
        const d: Delivery = { pod: p, container: name, port: port.containerPort, payload: msg.toString("utf8"), from: rinfo, t: this.cluster.sim.now };
        for (const l of [...this.listeners]) l(d);
        s.send(msg, rinfo.port, rinfo.address);
      });
      list.push(s);
    }
  }
}

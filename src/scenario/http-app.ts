// The HTTP backend a scenario's pods run: with `apps: echo` (the default) every TCP containerPort
// whose name starts with "http" (http, http-alt, http-web …; not https*, which speaks TLS) gets
// an HTTP echo server instead of the TCP echo (node:http over the emulated TCP, answering with the
// Gateway API conformance suite's echo JSON: pod, namespace, path, host, method, headers), so a
// request shows which backend answered and what the proxy in front of it added. A port an L7
// controller's proxy holds already (ingress-nginx's http on 80) is left to it.

import { type ContainerPort, type EchoServed, HttpEchoServer } from "../k8s/index.js";
import type { TcpApp, TcpAppKind } from "./tcp-apps.js";

/** The ports an HTTP echo backend serves: TCP, named http* but not https*. */
export const servesHttp = (p: ContainerPort): boolean => p.protocol === "TCP" && p.name !== undefined && p.name.startsWith("http") && !p.name.startsWith("https");

const served: ((s: EchoServed) => void)[] = [];

/** Called with every request any HTTP echo backend serves. Returns the unsubscribe function. */
export function onHttpServed(l: (s: EchoServed) => void): () => void {
  served.push(l);
  return () => served.splice(served.indexOf(l), 1);
}

class HttpEchoApp implements TcpApp {
  readonly kind = "http";

  constructor(readonly server: HttpEchoServer) {}

  get port(): number {
    return this.server.port;
  }

  close(): void {
    this.server.close();
  }

  destroy(): void {
    this.server.destroy();
  }
}

export const httpEchoApp: TcpAppKind = {
  name: "http",
  serves: servesHttp,
  start(cx) {
    const server = new HttpEchoServer(cx.pod, cx.port.containerPort, (s) => cx.accepted(s));
    if (!server.listening) return undefined;
    server.onServed((x) => {
      for (const l of [...served]) l(x);
    });
    return new HttpEchoApp(server);
  },
};

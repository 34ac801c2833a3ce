// A gateway per Gateway object, as Gateway API implementations provision them (Envoy Gateway,
// Istio, NGINX Gateway Fabric): a Deployment and a LoadBalancer Service named after the Gateway in
// its namespace, one port per listener port, and the same L7 proxy as ingress-nginx's serving the
// Gateway's route table (compileGateway). Each Gateway gets its own load-balancer address.

import type { Cluster, ServiceRuntime } from "../cluster/cluster.js";
import type { Gateway, K8sObject } from "../model.js";
import { deployManifest, L7Controller, type L7ControllerOptions } from "./controller.js";
import { gatewayManifest } from "./controller-manifest.js";
import { compileGateway, type GatewayRouter } from "./gateway-router.js";
import { FAKE_CERTIFICATE } from "./tls-fallback.js";

export interface GatewayControllerOptions extends L7ControllerOptions {
  /** The load-balancer address of the i-th Gateway (default 203.0.113.90 + i). */
  loadBalancerIP?: (gateway: Gateway, i: number) => string;
}

/** The address a Gateway's Service gets: spec.addresses[0] when it is an IPAddress, else 203.0.113.90 + i. */
export function gatewayAddress(gw: Gateway, i: number): string {
  const a = Array.isArray(gw.spec.addresses) ? (gw.spec.addresses[0] as { type?: string; value?: string } | undefined) : undefined;
  if (a && (a.type === undefined || a.type === "IPAddress") && typeof a.value === "string") return a.value;
  return `203.0.113.${90 + i}`;
}

/** Adds each Gateway's Service and pods (no proxies: a dry run's cluster); the routers, in Gateway order. */
export function deployGateways(cluster: Cluster, objects: readonly K8sObject[], opts: GatewayControllerOptions = {}): { gw: Gateway; router: GatewayRouter; service: ServiceRuntime }[] {
  const gateways = objects.filter((o): o is Gateway => o.kind === "Gateway");
  return gateways.map((gw, i) => {
    const router = compileGateway(objects, gw, { fallback: FAKE_CERTIFICATE });
    const ports = [...new Set(router.listeners.map((l) => l.port))].map((port) => ({ name: `port-${port}`, port }));
    const ns = gw.metadata.namespace;
    const name = gw.metadata.name;
    const ip = opts.loadBalancerIP?.(gw, i) ?? gatewayAddress(gw, i);
    const service = deployManifest(cluster, gatewayManifest(ns, name, ports, ip), `kubewire:gateway-${ns}-${name}.yaml`, `${ns}/${name}-gateway`);
    return { gw, router, service };
  });
}

/** Starts a gateway for every Gateway in the objects; none when there is none. */
export function startGateways(cluster: Cluster, objects: readonly K8sObject[], opts: GatewayControllerOptions = {}): L7Controller[] {
  return deployGateways(cluster, objects, opts).map(({ gw, router, service }) => {
    const key = `${gw.metadata.namespace}/${gw.metadata.name}`;
    return new L7Controller(cluster, `Gateway ${key}`, service, router, cluster.sim.rng.derive(`gateway/${key}`), opts);
  });
}

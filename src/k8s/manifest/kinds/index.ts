// The kinds kubewire reads: which API group and versions serve each, whether it is namespaced,
// which name rule applies, its top-level fields, and its reader.

import type { K8sObject, ObjectMeta } from "../../model.js";
import type { Cursor } from "../cursor.js";
import type { NameRule } from "../names.js";
import type { Base } from "./base.js";
import { readNamespace, readNode } from "./cluster.js";
import { readEndpointSlice } from "./endpointslice.js";
import {
  checkGateway,
  checkGatewayClass,
  checkHTTPRoute,
  checkIngress,
  checkIngressClass,
  looseReader,
  readSecret,
} from "./loose.js";
import { readPod } from "./pod.js";
import { readService } from "./service.js";
import { readDeployment, readReplicaSet } from "./workload.js";

export interface KindInfo {
  /** API group ("" for core). */
  group: string;
  versions: readonly string[];
  namespaced: boolean;
  nameRule: NameRule;
  topFields: readonly string[];
  read: (c: Cursor, metadata: ObjectMeta, base: Base) => K8sObject | undefined;
}

const WITH_SPEC = ["apiVersion", "kind", "metadata", "spec", "status"] as const;
const GATEWAY_VERSIONS = ["v1", "v1beta1"] as const;

export const KINDS: Readonly<Record<string, KindInfo>> = {
  Namespace: { group: "", versions: ["v1"], namespaced: false, nameRule: "dns1123-label", topFields: WITH_SPEC, read: readNamespace },
  Node: { group: "", versions: ["v1"], namespaced: false, nameRule: "dns1123-subdomain", topFields: WITH_SPEC, read: readNode },
  Pod: { group: "", versions: ["v1"], namespaced: true, nameRule: "dns1123-subdomain", topFields: WITH_SPEC, read: readPod },
  Service: { group: "", versions: ["v1"], namespaced: true, nameRule: "dns1035-label", topFields: WITH_SPEC, read: readService },
  Secret: {
    group: "",
    versions: ["v1"],
    namespaced: true,
    nameRule: "dns1123-subdomain",
    topFields: ["apiVersion", "kind", "metadata", "type", "data", "stringData", "immutable"],
    read: readSecret,
  },
  Deployment: { group: "apps", versions: ["v1"], namespaced: true, nameRule: "dns1123-subdomain", topFields: WITH_SPEC, read: readDeployment },
  ReplicaSet: { group: "apps", versions: ["v1"], namespaced: true, nameRule: "dns1123-subdomain", topFields: WITH_SPEC, read: readReplicaSet },
  EndpointSlice: {
    group: "discovery.k8s.io",
    versions: ["v1"],
    namespaced: true,
    nameRule: "dns1123-subdomain",
    topFields: ["apiVersion", "kind", "metadata", "addressType", "endpoints", "ports"],
    read: readEndpointSlice,
  },
  Ingress: {
    group: "networking.k8s.io",
    versions: ["v1"],
    namespaced: true,
    nameRule: "dns1123-subdomain",
    topFields: WITH_SPEC,
    read: looseReader("Ingress", checkIngress),
  },
  IngressClass: {
    group: "networking.k8s.io",
    versions: ["v1"],
    namespaced: false,
    nameRule: "dns1123-subdomain",
    topFields: WITH_SPEC,
    read: looseReader("IngressClass", checkIngressClass),
  },
  GatewayClass: {
    group: "gateway.networking.k8s.io",
    versions: GATEWAY_VERSIONS,
    namespaced: false,
    nameRule: "dns1123-subdomain",
    topFields: WITH_SPEC,
    read: looseReader("GatewayClass", checkGatewayClass),
  },
  Gateway: {
    group: "gateway.networking.k8s.io",
    versions: GATEWAY_VERSIONS,
    namespaced: true,
    nameRule: "dns1123-subdomain",
    topFields: WITH_SPEC,
    read: looseReader("Gateway", checkGateway),
  },
  HTTPRoute: {
    group: "gateway.networking.k8s.io",
    versions: GATEWAY_VERSIONS,
    namespaced: true,
    nameRule: "dns1123-subdomain",
    topFields: WITH_SPEC,
    read: looseReader("HTTPRoute", checkHTTPRoute),
  },
};

/** "apps/v1" → {group: "apps", version: "v1"}; "v1" → core. */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf("/");
  return slash < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export const preferredApiVersion = (k: KindInfo): string => (k.group ? `${k.group}/${k.versions[0]}` : k.versions[0]);

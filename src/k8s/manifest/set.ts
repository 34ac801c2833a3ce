// The parsed objects sorted into one list per kind, for the runtime to walk.

import type { K8sObject, Kind, ObjectOfKind } from "../model.js";

export type ManifestSet = { [K in Kind]: ObjectOfKind<K>[] };

export function byKind(objects: readonly K8sObject[]): ManifestSet {
  const set: ManifestSet = {
    Namespace: [],
    Node: [],
    Pod: [],
    Deployment: [],
    ReplicaSet: [],
    Service: [],
    EndpointSlice: [],
    Ingress: [],
    IngressClass: [],
    Secret: [],
    GatewayClass: [],
    Gateway: [],
    HTTPRoute: [],
  };
  for (const o of objects) (set[o.kind] as K8sObject[]).push(o);
  return set;
}

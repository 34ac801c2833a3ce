// The Kubernetes objects kubewire understands, typed after the API (k8s.io/api core/v1, apps/v1,
// discovery/v1), with the defaults the API server applies already filled in. Every object
// carries where it came from, so that later stages can point their errors at the manifest.
// IPs stay strings here, as in the API; the cluster config holds parsed numbers.

import type { Position } from "./manifest/diagnostics.js";

/** Where an object was defined: file, 1-based document number, line and column of its first key. */
export interface Source {
  readonly file: string;
  readonly doc: number;
  readonly line: number;
  readonly col: number;
}

export interface ObjectMeta {
  name: string;
  /** "default" when the manifest gives none; "" for cluster-scoped kinds (Namespace, Node…). */
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Set on objects kubewire generates (ReplicaSets of a Deployment, Pods of a ReplicaSet). */
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  controller: boolean;
}

interface ObjectBase<K extends string> {
  apiVersion: string;
  kind: K;
  metadata: ObjectMeta;
  source: Source;
}

export type Protocol = "TCP" | "UDP" | "SCTP";

// ---- Label selectors (metav1.LabelSelector) ----

export type SelectorOperator = "In" | "NotIn" | "Exists" | "DoesNotExist";

export interface LabelSelectorRequirement {
  key: string;
  operator: SelectorOperator;
  values: string[];
}

/** Both parts are ANDed; an empty selector (neither part) matches everything. */
export interface LabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions: LabelSelectorRequirement[];
}

// ---- Namespace and Node ----

export interface Namespace extends ObjectBase<"Namespace"> {}

export interface NodeAddress {
  type: string;
  address: string;
}

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface Node extends ObjectBase<"Node"> {
  spec: { podCIDR?: string; podCIDRs: string[]; unschedulable: boolean; taints: Taint[] };
  status: { addresses: NodeAddress[] };
}

// ---- Pods ----

export interface ContainerPort {
  name?: string;
  containerPort: number;
  /** Default TCP. */
  protocol: Protocol;
  hostPort?: number;
  hostIP?: string;
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  ports: ContainerPort[];
}

export type DnsPolicy = "ClusterFirst" | "ClusterFirstWithHostNet" | "Default" | "None";
export type RestartPolicy = "Always" | "OnFailure" | "Never";

export interface PodSpec {
  containers: Container[];
  initContainers: Container[];
  nodeName?: string;
  nodeSelector: Record<string, string>;
  hostNetwork: boolean;
  /** Default ClusterFirst. */
  dnsPolicy: DnsPolicy;
  /** Default Always. */
  restartPolicy: RestartPolicy;
  hostname?: string;
  subdomain?: string;
}

export interface Pod extends ObjectBase<"Pod"> {
  spec: PodSpec;
}

export interface PodTemplateSpec {
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: PodSpec;
}

// ---- Workloads ----

export interface DeploymentSpec {
  /** Default 1. */
  replicas: number;
  selector: LabelSelector;
  template: PodTemplateSpec;
}

export interface Deployment extends ObjectBase<"Deployment"> {
  spec: DeploymentSpec;
}

export interface ReplicaSet extends ObjectBase<"ReplicaSet"> {
  spec: DeploymentSpec;
}

// ---- Services and EndpointSlices ----

export type ServiceType = "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName";
export type TrafficPolicy = "Cluster" | "Local";

export interface ServicePort {
  /** "" when the Service has a single unnamed port. */
  name: string;
  /** Default TCP. */
  protocol: Protocol;
  port: number;
  /** A container port number, or the name of a container port. Default: `port`. */
  targetPort: number | string;
  /** As given; unset NodePorts are allocated by the runtime. */
  nodePort?: number;
  appProtocol?: string;
}

export interface ServiceSpec {
  /** Default ClusterIP. */
  type: ServiceType;
  /** An IPv4 address, "None" for a headless Service, or undefined: allocate one. */
  clusterIP?: string;
  clusterIPs: string[];
  /** Undefined: no selector, the EndpointSlices are given by hand. */
  selector?: Record<string, string>;
  ports: ServicePort[];
  /** Default None. */
  sessionAffinity: "None" | "ClientIP";
  /** Set (default 10800 s) only when sessionAffinity is ClientIP. */
  sessionAffinityConfig?: { clientIP: { timeoutSeconds: number } };
  /** Default Cluster for NodePort and LoadBalancer; undefined for other types. */
  externalTrafficPolicy?: TrafficPolicy;
  /** Default Cluster. */
  internalTrafficPolicy: TrafficPolicy;
  externalIPs: string[];
  loadBalancerIP?: string;
  loadBalancerSourceRanges: string[];
  externalName?: string;
  healthCheckNodePort?: number;
  publishNotReadyAddresses: boolean;
  allocateLoadBalancerNodePorts?: boolean;
}

export interface Service extends ObjectBase<"Service"> {
  spec: ServiceSpec;
  /** status.loadBalancer.ingress[].ip, when the manifest gives it. */
  loadBalancerIngress: string[];
}

export interface ObjectReference {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
}

/** Conditions with kube-proxy's reading of a missing value: ready and serving true, terminating false. */
export interface EndpointConditions {
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

export interface Endpoint {
  addresses: string[];
  conditions: EndpointConditions;
  nodeName?: string;
  hostname?: string;
  zone?: string;
  targetRef?: ObjectReference;
}

export interface EndpointPort {
  /** "" when unnamed. */
  name: string;
  port?: number;
  /** Default TCP. */
  protocol: Protocol;
  appProtocol?: string;
}

export interface EndpointSlice extends ObjectBase<"EndpointSlice"> {
  addressType: "IPv4";
  endpoints: Endpoint[];
  ports: EndpointPort[];
  /** The kubernetes.io/service-name label: the Service this slice belongs to. */
  serviceName?: string;
}

// ---- Kept loosely, for the L7 proxy (Ingress, Gateway API) ----

interface LooseObject<K extends string> extends ObjectBase<K> {
  /** The spec as plain data, as written. */
  spec: Record<string, unknown>;
  /** The position of every field path in the manifest (`spec.rules[0].backendRefs[1].port`). */
  positions: ReadonlyMap<string, Position>;
}

export interface Ingress extends LooseObject<"Ingress"> {}
export interface IngressClass extends LooseObject<"IngressClass"> {}
export interface GatewayClass extends LooseObject<"GatewayClass"> {}
export interface Gateway extends LooseObject<"Gateway"> {}
export interface HTTPRoute extends LooseObject<"HTTPRoute"> {}

export interface Secret extends ObjectBase<"Secret"> {
  /** Default Opaque. */
  type: string;
  /** data (base64-decoded) merged with stringData, as the API server stores it. */
  data: Record<string, Buffer>;
  positions: ReadonlyMap<string, Position>;
}

export type K8sObject =
  | Namespace
  | Node
  | Pod
  | Deployment
  | ReplicaSet
  | Service
  | EndpointSlice
  | Ingress
  | IngressClass
  | Secret
  | GatewayClass
  | Gateway
  | HTTPRoute;

export type Kind = K8sObject["kind"];

/** The object of a given kind. */
export type ObjectOfKind<K extends Kind> = Extract<K8sObject, { kind: K }>;

/** "Service default/web" or "Node node-1": how diagnostics name an object. */
export function objectRef(o: { kind: string; metadata: { name: string; namespace: string } }): string {
  return o.metadata.namespace ? `${o.kind} ${o.metadata.namespace}/${o.metadata.name}` : `${o.kind} ${o.metadata.name}`;
}

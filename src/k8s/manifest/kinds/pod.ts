// Pods and pod templates: the networking-relevant part of a PodSpec (containers and their
// ports, nodeName, nodeSelector, hostNetwork, DNS), every other PodSpec field known and ignored.

import type { Container, ContainerPort, DnsPolicy, ObjectMeta, Pod, PodSpec, PodTemplateSpec, RestartPolicy } from "../../model.js";
import type { Cursor } from "../cursor.js";
import { checkName } from "../names.js";
import type { Base } from "./base.js";
import { META_FIELDS, readLabels } from "./meta.js";
import { readEnum, readIpv4, readPort, readPortName, readProtocol } from "./values.js";

/** core/v1 PodSpec fields (v1.33). */
const POD_SPEC_FIELDS = [
  "volumes", "initContainers", "containers", "ephemeralContainers", "restartPolicy",
  "terminationGracePeriodSeconds", "activeDeadlineSeconds", "dnsPolicy", "nodeSelector",
  "serviceAccountName", "serviceAccount", "automountServiceAccountToken", "nodeName", "hostNetwork",
  "hostPID", "hostIPC", "shareProcessNamespace", "securityContext", "imagePullSecrets", "hostname",
  "subdomain", "affinity", "schedulerName", "tolerations", "hostAliases", "priorityClassName",
  "priority", "dnsConfig", "readinessGates", "runtimeClassName", "enableServiceLinks",
  "preemptionPolicy", "overhead", "topologySpreadConstraints", "setHostnameAsFQDN", "os",
  "hostUsers", "schedulingGates", "resourceClaims", "resources",
] as const;

/** core/v1 Container fields. */
const CONTAINER_FIELDS = [
  "name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources",
  "resizePolicy", "restartPolicy", "volumeMounts", "volumeDevices", "livenessProbe",
  "readinessProbe", "startupProbe", "lifecycle", "terminationMessagePath",
  "terminationMessagePolicy", "imagePullPolicy", "securityContext", "stdin", "stdinOnce", "tty",
] as const;

const CONTAINER_PORT_FIELDS = ["name", "hostPort", "containerPort", "protocol", "hostIP"] as const;
const DNS_POLICIES: readonly DnsPolicy[] = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"];
const RESTART_POLICIES: readonly RestartPolicy[] = ["Always", "OnFailure", "Never"];

export function readPod(c: Cursor, metadata: ObjectMeta, base: Base): Pod | undefined {
  const spec = c.get("spec");
  if (!spec.present) {
    spec.missing("a pod spec with containers");
    return undefined;
  }
  const podSpec = readPodSpec(spec);
  return podSpec && { ...base, kind: "Pod", metadata, spec: podSpec };
}

/** spec.template of a Deployment or ReplicaSet. */
export function readPodTemplate(t: Cursor): PodTemplateSpec | undefined {
  if (!t.present) {
    t.missing("a pod template with metadata.labels and spec.containers");
    return undefined;
  }
  if (!t.isMap()) return undefined;
  t.known(["metadata", "spec"]);
  const m = t.get("metadata");
  let labels: Record<string, string> = {};
  let annotations: Record<string, string> = {};
  if (m.isMap()) {
    m.known(META_FIELDS);
    labels = readLabels(m.get("labels")) ?? {};
    annotations = m.get("annotations").stringMap() ?? {};
  }
  const spec = t.get("spec");
  if (!spec.present) {
    spec.missing("a pod spec with containers");
    return undefined;
  }
  const podSpec = readPodSpec(spec);
  return podSpec && { metadata: { labels, annotations }, spec: podSpec };
}

export function readPodSpec(s: Cursor): PodSpec | undefined {
  if (!s.isMap()) return undefined;
  s.known(POD_SPEC_FIELDS);
  const seen: Seen = { containers: new Set(), ports: new Set() };
  const containersCursor = s.get("containers");
  const containers = readContainers(containersCursor, seen);
  if (containers.length === 0 && (!containersCursor.present || containersCursor.kind === "seq"))
    containersCursor.error("missing-field", "a pod needs at least one container", {
      hint: "add containers: [{name: app, image: nginx}]",
    });
  const initContainers = readContainers(s.get("initContainers"), seen);

  const nodeNameCursor = s.get("nodeName");
  const nodeName = nodeNameCursor.str();
  if (nodeName !== undefined) {
    const problem = checkName(nodeName, "dns1123-subdomain");
    if (problem) nodeNameCursor.error("invalid-name", problem.message, { hint: problem.hint });
  }
  const hostname = s.get("hostname").str();
  const subdomain = s.get("subdomain").str();
  for (const [field, value] of [["hostname", hostname], ["subdomain", subdomain]] as const) {
    const problem = value !== undefined ? checkName(value, "dns1123-label") : undefined;
    if (problem) s.get(field).error("invalid-name", problem.message, { hint: problem.hint });
  }
  return {
    containers,
    initContainers,
    nodeName,
    nodeSelector: readLabels(s.get("nodeSelector")) ?? {},
    hostNetwork: s.get("hostNetwork").bool() ?? false,
    dnsPolicy: readEnum(s.get("dnsPolicy"), DNS_POLICIES, "a DNS policy") ?? "ClusterFirst",
    restartPolicy: readEnum(s.get("restartPolicy"), RESTART_POLICIES, "a restart policy") ?? "Always",
    hostname,
    subdomain,
  };
}

/** Container names, and port names across containers, are unique within a pod. */
interface Seen {
  containers: Set<string>;
  ports: Set<string>;
}

function readContainers(c: Cursor, seen: Seen): Container[] {
  if (!c.isSeq()) return [];
  const out: Container[] = [];
  for (const item of c.items()) {
    const container = readContainer(item, seen);
    if (container) out.push(container);
  }
  return out;
}

function readContainer(c: Cursor, seen: Seen): Container | undefined {
  if (!c.isMap()) return undefined;
  c.known(CONTAINER_FIELDS);
  const nameCursor = c.get("name");
  const name = nameCursor.requiredStr("a container name");
  if (name !== undefined) {
    const problem = checkName(name, "dns1123-label");
    if (problem) nameCursor.error("invalid-name", problem.message, { hint: problem.hint });
    if (seen.containers.has(name)) nameCursor.error("duplicate-value", `container name "${name}" is used twice in this pod`);
    seen.containers.add(name);
  }
  const ports: ContainerPort[] = [];
  const portsCursor = c.get("ports");
  if (portsCursor.isSeq()) {
    for (const p of portsCursor.items()) {
      const port = readContainerPort(p);
      if (!port) continue;
      ports.push(port);
      if (port.name === undefined) continue;
      if (seen.ports.has(port.name))
        p.get("name").error("duplicate-value", `port name "${port.name}" is used twice in this pod`, {
          hint: "named ports must be unique across a pod's containers",
        });
      seen.ports.add(port.name);
    }
  }
  const command = c.get("command").present ? c.get("command").strings() : undefined;
  const args = c.get("args").present ? c.get("args").strings() : undefined;
  if (name === undefined) return undefined;
  return { name, image: c.get("image").str(), command, args, ports };
}

function readContainerPort(p: Cursor): ContainerPort | undefined {
  if (!p.isMap()) return undefined;
  p.known(CONTAINER_PORT_FIELDS);
  const portCursor = p.get("containerPort");
  if (!portCursor.present) portCursor.missing("a port number 1-65535");
  const containerPort = readPort(portCursor);
  const protocol = readProtocol(p.get("protocol"));
  const port: ContainerPort = { containerPort: containerPort ?? 0, protocol };
  const name = readPortName(p.get("name"));
  if (name !== undefined) port.name = name;
  const hostPort = readPort(p.get("hostPort"));
  if (hostPort !== undefined) port.hostPort = hostPort;
  const hostIP = readIpv4(p.get("hostIP"));
  if (hostIP !== undefined) port.hostIP = hostIP;
  return containerPort === undefined ? undefined : port;
}


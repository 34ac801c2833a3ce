// Reading manifests: documents, files, folders, JSON and List, source positions, and the
// defaults the API server would apply.

import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  byKind,
  fieldPosition,
  formatDiagnostics,
  listManifestFiles,
  loadManifests,
  parseManifests,
} from "../../src/k8s/manifest/index.js";
import type { Deployment, Pod, Service } from "../../src/k8s/model.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));

function parseOk(text: string) {
  const r = parseManifests(text, { file: "t.yaml" });
  expect(formatDiagnostics(r.diagnostics)).toBe("");
  return r.objects;
}

describe("documents", () => {
  it("reads every document of a stream, skipping empty and comment-only ones", () => {
    const objects = parseOk(
      "# leading comment\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n# nothing here\n---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n---\n",
    );
    expect(objects.map((o) => [o.metadata.name, o.source.doc, o.source.line])).toEqual([
      ["a", 1, 3],
      ["b", 4, 10],
    ]);
  });

  it("records where each object starts", () => {
    const [ns] = parseOk("\n\n  # indented comment\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n");
    expect(ns.source).toEqual({ file: "t.yaml", doc: 1, line: 4, col: 1 });
  });

  it("names inline text <inline> unless told otherwise", () => {
    const r = parseManifests("kind: Namespace\n");
    expect(r.diagnostics[0].file).toBe("<inline>");
  });

  it("reads JSON and unpacks a v1 List", () => {
    const objects = parseOk(
      '{"apiVersion": "v1", "kind": "List", "items": [\n {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}},\n {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b"}}\n]}',
    );
    expect(objects.map((o) => [o.metadata.name, o.source.line, o.source.col])).toEqual([
      ["a", 2, 3],
      ["b", 3, 3],
    ]);
  });

  it("reports list items' problems with paths relative to the item", () => {
    const r = parseManifests('{"apiVersion": "v1", "kind": "List", "items": [\n {"apiVersion": "v1", "kind": "Namespace", "metadata": {"nam": "a"}}\n]}');
    expect(r.diagnostics.map((d) => [d.path, d.line])).toEqual([
      ["metadata.name", 2],
      ["metadata.nam", 2],
    ]);
  });

  it("follows YAML anchors and aliases", () => {
    const objects = parseOk(
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels: &labels {app: web}\n  annotations: *labels\nspec:\n  containers: [{name: web}]\n",
    );
    expect(objects[0].metadata.annotations).toEqual({ app: "web" });
  });

  it("keeps a valid object when another document is broken", () => {
    const r = parseManifests("apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: bad}\n");
    expect(r.objects.map((o) => o.metadata.name)).toEqual(["ok"]);
    expect(r.diagnostics.map((d) => [d.doc, d.path])).toEqual([[2, "spec"]]);
  });

  it("applies a default namespace like kubectl -n", () => {
    const r = parseManifests("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: a}]}\n", {
      defaultNamespace: "shop",
    });
    expect(r.objects[0].metadata.namespace).toBe("shop");
  });

  it("ignores (with a warning) a namespace on a cluster-scoped object", () => {
    const r = parseManifests("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, namespace: default}\n");
    expect(r.objects[0].metadata.namespace).toBe("");
    expect(r.diagnostics.map((d) => [d.severity, d.code, d.path])).toEqual([["warning", "ignored-field", "metadata.namespace"]]);
  });

  it("finds the position of any field of a parsed object", () => {
    const [svc] = parseOk("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n    targetPort: 8080\n");
    expect(fieldPosition(svc, "spec.ports[0].targetPort")).toMatchObject({ line: 8, col: 17 });
    expect(fieldPosition(svc, "spec.selector")).toMatchObject({ line: 6, col: 3 }); // not written: its parent
  });
});

describe("files and folders", () => {
  it("lists a folder's .yaml, .yml and .json files sorted by name, like kubectl apply -f", () => {
    const files = listManifestFiles(`${FIXTURES}dir`).map((f) => f.slice(FIXTURES.length));
    expect(files).toEqual(["dir/10-namespace.yaml", "dir/20-app.yml", "dir/30-extra.json"]);
  });

  it("descends into subfolders with recursive, like kubectl apply -R", () => {
    const files = listManifestFiles(`${FIXTURES}dir`, true).map((f) => f.slice(FIXTURES.length));
    expect(files).toEqual(["dir/10-namespace.yaml", "dir/20-app.yml", "dir/30-extra.json", "dir/nested/40-more.yaml"]);
  });

  it("loads a folder in order, each object knowing its file", () => {
    const r = loadManifests(`${FIXTURES}dir`, { recursive: true });
    expect(r.objects.map((o) => `${o.kind} ${o.metadata.name} ${o.source.file.slice(FIXTURES.length)}:${o.source.line}`)).toEqual([
      "Namespace shop dir/10-namespace.yaml:1",
      "Pod cart dir/20-app.yml:1",
      "Service cart dir/30-extra.json:6",
      "Namespace nested dir/nested/40-more.yaml:1",
    ]);
  });

  it("loads several paths at once", () => {
    const r = loadManifests([`${FIXTURES}nginx.yaml`, `${FIXTURES}nodeport.yaml`]);
    expect(r.diagnostics).toEqual([]);
    expect(r.objects.map((o) => o.metadata.name)).toEqual(["nginx-deployment", "nginx", "my-service", "myapp"]);
  });

  it("reports a path that does not exist, without throwing", () => {
    const r = loadManifests(`${FIXTURES}missing.yaml`);
    expect(r.objects).toEqual([]);
    expect(r.diagnostics).toMatchObject([{ code: "io", file: `${FIXTURES}missing.yaml`, message: "no such file or folder" }]);
  });
});

describe("defaults", () => {
  it("fills a Service's defaults as the API server does", () => {
    const [svc] = parseOk("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n") as Service[];
    expect(svc.metadata.namespace).toBe("default");
    expect(svc.spec).toEqual({
      type: "ClusterIP",
      clusterIP: undefined,
      clusterIPs: [],
      selector: { app: "web" },
      ports: [{ name: "", protocol: "TCP", port: 80, targetPort: 80 }],
      sessionAffinity: "None",
      internalTrafficPolicy: "Cluster",
      externalIPs: [],
      loadBalancerSourceRanges: [],
      publishNotReadyAddresses: false,
    });
  });

  it("sets externalTrafficPolicy Cluster only for NodePort and LoadBalancer", () => {
    const objects = parseOk(
      "apiVersion: v1\nkind: Service\nmetadata: {name: np}\nspec: {type: NodePort, ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: lb}\nspec: {type: LoadBalancer, ports: [{port: 80}]}\n",
    ) as Service[];
    expect(objects.map((s) => s.spec.externalTrafficPolicy)).toEqual(["Cluster", "Cluster"]);
  });

  it("defaults the ClientIP affinity timeout to 10800 s and keeps a given one", () => {
    const objects = parseOk(
      "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {sessionAffinity: ClientIP, ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec:\n  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}\n  ports: [{port: 80}]\n",
    ) as Service[];
    expect(objects.map((s) => s.spec.sessionAffinityConfig?.clientIP.timeoutSeconds)).toEqual([10800, 60]);
  });

  it("treats an empty selector as no selector, and keeps a headless Service's None", () => {
    const [svc] = parseOk("apiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec: {clusterIP: None, selector: {}}\n") as Service[];
    expect(svc.spec.selector).toBeUndefined();
    expect(svc.spec.clusterIP).toBe("None");
    expect(svc.spec.ports).toEqual([]);
  });

  it("defaults container port protocols, Deployment replicas and pod policies", () => {
    const [d] = parseOk(
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: web\n        ports: [{containerPort: 8080, name: http}]\n",
    ) as Deployment[];
    expect(d.spec.replicas).toBe(1);
    expect(d.spec.template.spec.containers[0].ports).toEqual([{ containerPort: 8080, protocol: "TCP", name: "http" }]);
    expect(d.spec.template.spec).toMatchObject({ dnsPolicy: "ClusterFirst", restartPolicy: "Always", hostNetwork: false });
  });

  it("reads the networking fields of a pod", () => {
    const [p] = parseOk(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: probe}\nspec:\n  hostNetwork: true\n  dnsPolicy: ClusterFirstWithHostNet\n  nodeSelector: {disk: ssd}\n  hostname: probe\n  subdomain: probes\n  containers:\n  - name: p\n    ports: [{containerPort: 53, protocol: UDP, hostPort: 5353, hostIP: 0.0.0.0}]\n",
    ) as Pod[];
    expect(p.spec).toMatchObject({
      hostNetwork: true,
      dnsPolicy: "ClusterFirstWithHostNet",
      nodeSelector: { disk: "ssd" },
      hostname: "probe",
      subdomain: "probes",
    });
    expect(p.spec.containers[0].ports[0]).toEqual({ containerPort: 53, protocol: "UDP", hostPort: 5353, hostIP: "0.0.0.0" });
  });
});

describe("byKind", () => {
  it("sorts objects into one typed list per kind", () => {
    const r = loadManifests([`${FIXTURES}nginx.yaml`, `${FIXTURES}endpointslice.yaml`]);
    const set = byKind(r.objects);
    expect(set.Deployment.map((d) => d.spec.replicas)).toEqual([3]);
    expect(set.Service.map((s) => s.metadata.name)).toEqual(["nginx", "example"]);
    expect(set.EndpointSlice[0].serviceName).toBe("example");
    expect(set.Pod).toEqual([]);
  });
});

describe("YAML as kubectl reads it (1.1)", () => {
  it("reads yes/on as booleans and reports them where a string is needed, as written", () => {
    const r = parseManifests("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels: {debug: yes}\nspec:\n  hostNetwork: on\n  containers: [{name: a}]\n");
    expect(r.diagnostics.map((d) => [d.path, d.message, d.hint])).toEqual([
      ["metadata.labels.debug", "yes is not a string (metadata.labels must be a map of labels (strings to strings))", 'quote it: debug: "yes"'],
    ]);
  });

  it("applies merge keys", () => {
    const objects = parseOk(
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels:\n    <<: {app: web, tier: a}\n    tier: b\nspec:\n  containers: [{name: a}]\n",
    );
    expect(objects[0].metadata.labels).toEqual({ tier: "b", app: "web" });
  });
});

// One test per manifest diagnostic: the file, document, line, column, field path and message.
// The YAML is written flush left so that the line numbers in the assertions can be counted.

import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type Diagnostic, formatDiagnostic, loadManifests, parseManifests } from "../../src/k8s/manifest/index.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));

/** The single error the text produces; fails if there is none or more than one. */
function theError(text: string, file = "shop.yaml"): Diagnostic {
  const errors = parseManifests(text, { file }).diagnostics.filter((d) => d.severity === "error");
  expect(errors.map(formatDiagnostic)).toHaveLength(1);
  return errors[0];
}

const SERVICE = (spec: string) => `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
${spec}`;

describe("document structure", () => {
  it("reports a YAML syntax error with its line and column", () => {
    const d = theError("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [web\n");
    expect(d).toMatchObject({ code: "yaml-syntax", file: "shop.yaml", doc: 1, line: 5, path: "" });
    expect(d.message).toMatch(/^YAML: /);
  });

  it("reports a duplicate YAML key", () => {
    const d = theError("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n");
    expect(d).toMatchObject({ code: "yaml-syntax", line: 5, col: 3 });
    expect(d.message).toBe("YAML: Map keys must be unique");
  });

  it("reports a document that is not a map", () => {
    const d = theError("- apiVersion: v1\n  kind: Namespace\n");
    expect(d).toMatchObject({ code: "not-an-object", line: 1, col: 1 });
    expect(d.message).toBe("a list is not a Kubernetes object (expected a map with apiVersion, kind and metadata)");
  });

  it("reports a missing apiVersion", () => {
    const d = theError("kind: Namespace\nmetadata:\n  name: shop\n");
    expect(d).toMatchObject({ code: "missing-field", path: "apiVersion", line: 1, col: 1, doc: 1 });
    expect(d.message).toBe("required field is missing (expected an API version such as v1 or apps/v1)");
  });

  it("reports a missing kind, in the right document", () => {
    const d = theError("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nmetadata:\n  name: b\n");
    expect(d).toMatchObject({ code: "missing-field", path: "kind", doc: 2, line: 5, col: 1 });
  });

  it("reports a missing metadata", () => {
    const d = theError("apiVersion: v1\nkind: Namespace\n");
    expect(d).toMatchObject({ code: "missing-field", path: "metadata", object: "Namespace", line: 1 });
  });

  it("reports a missing metadata.name at the metadata key", () => {
    const d = theError("apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {app: web}\nspec:\n  containers: [{name: a}]\n");
    expect(d).toMatchObject({ code: "missing-field", path: "metadata.name", line: 3, col: 1 });
    expect(formatDiagnostic(d)).toBe(
      "shop.yaml:3:1 (document 1, Pod): metadata.name: required field is missing (expected a name)",
    );
  });

  it("rejects generateName, which needs a server to pick the name", () => {
    const d = theError("apiVersion: v1\nkind: Pod\nmetadata:\n  generateName: web-\nspec:\n  containers: [{name: a}]\n");
    expect(d).toMatchObject({ code: "invalid-value", path: "metadata.generateName", line: 4, col: 17 });
  });

  it("reports a known kind at the wrong version", () => {
    const d = theError("apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: web}\n");
    expect(d).toMatchObject({ code: "api-version", path: "apiVersion", line: 1, col: 13 });
    expect(d.message).toBe("Deployment is not served at extensions/v1beta1 (expected apps/v1)");
    expect(d.hint).toBe("use apiVersion: apps/v1");
  });

  it("reports a misspelt kind of a modelled group as an error", () => {
    const d = theError("apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: web}\n");
    expect(d).toMatchObject({ code: "unknown-kind", path: "kind", line: 2, col: 7 });
    expect(d.message).toBe('"Deploymnet" is not a kind of apps/v1 (did you mean "Deployment"?)');
  });

  it("warns about an unknown kind and skips it", () => {
    const r = parseManifests(
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x.example.com}\n---\napiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata: {name: g}\n",
    );
    expect(r.objects).toEqual([]);
    expect(r.diagnostics.map((d) => [d.severity, d.code, d.doc, d.line])).toEqual([
      ["warning", "unknown-kind", 1, 2],
      ["warning", "unknown-kind", 2, 7],
      ["warning", "unknown-kind", 3, 11],
    ]);
    expect(r.diagnostics[0].message).toBe("v1 ConfigMap is not modelled by kubewire; skipped");
  });
});

describe("names", () => {
  it("reports a Pod name that is not a DNS-1123 subdomain, with a fix", () => {
    const d = theError("apiVersion: v1\nkind: Pod\nmetadata:\n  name: Web_Server\nspec:\n  containers: [{name: a}]\n");
    expect(d).toMatchObject({ code: "invalid-name", path: "metadata.name", line: 4, col: 9, object: "Pod default/Web_Server" });
    expect(d.message).toMatch(/^"Web_Server" is not a valid name \(expected a DNS-1123 subdomain: /);
    expect(d.hint).toBe('did you mean "web-server"?');
  });

  it("reports a Service name that is not a DNS-1035 label", () => {
    const d = theError("apiVersion: v1\nkind: Service\nmetadata:\n  name: 1web\nspec:\n  ports: [{port: 80}]\n");
    expect(d).toMatchObject({ code: "invalid-name", path: "metadata.name", line: 4 });
    expect(d.message).toMatch(/expected a DNS-1035 label: .*starting with a letter/);
  });

  it("reports a bad namespace", () => {
    const d = theError("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: My.Shop\nspec:\n  containers: [{name: a}]\n");
    expect(d).toMatchObject({ code: "invalid-name", path: "metadata.namespace", line: 5, col: 14 });
  });

  it("reports a bad label value", () => {
    const d = theError("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    team: -payments\n");
    expect(d).toMatchObject({ code: "invalid-label", path: "metadata.labels.team", line: 6, col: 11 });
  });

  it("reports a label value that is not a string, suggesting quotes", () => {
    const d = theError("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    critical: true\n");
    expect(d).toMatchObject({ code: "wrong-type", path: "metadata.labels.critical", line: 6, col: 15 });
    expect(d.message).toBe("true is not a string (metadata.labels must be a map of labels (strings to strings))");
    expect(d.hint).toBe('quote it: critical: "true"');
  });
});

describe("unknown fields", () => {
  it("reports spec.selectr on a Service and suggests selector", () => {
    const d = theError(SERVICE("  selectr:\n    app: web\n  ports:\n  - port: 80\n"));
    expect(d).toMatchObject({ code: "unknown-field", path: "spec.selectr", line: 6, col: 3, object: "Service default/web" });
    expect(d.message).toBe('unknown field "selectr" (did you mean "selector"?)');
  });

  it("reports a typo in a container and in metadata", () => {
    const r = parseManifests(
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  label: {app: web}\nspec:\n  containers:\n  - name: web\n    imagePullPolicyy: Always\n",
      { file: "pod.yaml" },
    );
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      'pod.yaml:5:3 (document 1, Pod default/web): metadata.label: unknown field "label" (did you mean "labels"?)',
      'pod.yaml:9:5 (document 1, Pod default/web): spec.containers[0].imagePullPolicyy: unknown field "imagePullPolicyy" (did you mean "imagePullPolicy"?)',
    ]);
    expect(r.objects).toEqual([]);
  });

  it("lists the known fields when nothing is close", () => {
    const d = theError(SERVICE("  ports:\n  - port: 80\n    zzzzzz: 1\n"));
    expect(d).toMatchObject({ code: "unknown-field", path: "spec.ports[0].zzzzzz", line: 8, col: 5 });
    expect(d.hint).toBe("known fields here: name, protocol, appProtocol, port, targetPort, nodePort");
  });

  it("suggests the right case for a field", () => {
    const d = theError(SERVICE("  clusterIp: 10.96.0.20\n  ports: [{port: 80}]\n"));
    expect(d.message).toBe('unknown field "clusterIp" (did you mean "clusterIP"?)');
  });
});

describe("IPs", () => {
  it("reports a bad clusterIP", () => {
    const d = theError(SERVICE("  clusterIP: 10.96.0.300\n  ports: [{port: 80}]\n"));
    expect(d).toMatchObject({ code: "invalid-ip", path: "spec.clusterIP", line: 6, col: 14 });
    expect(d.message).toBe('"10.96.0.300" is not an IPv4 address (octet "300" is not a number 0-255)');
  });

  it("reports clusterIP none with the right spelling", () => {
    const d = theError(SERVICE("  clusterIP: none\n  ports: [{port: 80}]\n"));
    expect(d).toMatchObject({ code: "invalid-ip", path: "spec.clusterIP" });
    expect(d.hint).toMatch(/clusterIP: None/);
  });

  it("reports a bad endpoint address", () => {
    const d = theError(
      "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-1\n  labels: {kubernetes.io/service-name: web}\naddressType: IPv4\nendpoints:\n- addresses: [10.244.1.5]\n- addresses:\n  - 10.244.1\n",
    );
    expect(d).toMatchObject({ code: "invalid-ip", path: "endpoints[1].addresses[0]", line: 10, col: 5 });
    expect(d.message).toBe('"10.244.1" is not an IPv4 address (expected four dotted octets, e.g. 10.0.0.1)');
  });

  it("reports an IPv6 EndpointSlice as unsupported", () => {
    const d = theError(
      "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-1\n  labels: {kubernetes.io/service-name: web}\naddressType: IPv6\nendpoints: []\n",
    );
    expect(d).toMatchObject({ code: "invalid-value", path: "addressType", line: 6, col: 14 });
    expect(d.message).toBe('"IPv6" is not supported (expected IPv4; kubewire models IPv4 only)');
  });
});

describe("ports", () => {
  it("reports a port that is not a number, as in the issue's example", () => {
    const r = loadManifests(`${FIXTURES}bad/shop.yaml`);
    expect(r.diagnostics).toHaveLength(1);
    const d = r.diagnostics[0];
    expect(d).toMatchObject({ doc: 2, line: 14, col: 11, path: "spec.ports[0].port", code: "invalid-port" });
    expect(formatDiagnostic(d)).toBe(
      `${FIXTURES}bad/shop.yaml:14:11 (document 2, Service default/web): spec.ports[0].port: "eighty" is not a port number (expected an integer 1-65535)`,
    );
    expect(r.objects.map((o) => o.kind)).toEqual(["Namespace"]);
  });

  it("reports a port out of range", () => {
    const d = theError(SERVICE("  ports:\n  - port: 70000\n"));
    expect(d).toMatchObject({ code: "invalid-port", path: "spec.ports[0].port", line: 7, col: 11 });
    expect(d.message).toBe("70000 is not a port number (expected an integer 1-65535)");
  });

  it("reports a quoted port number with the fix", () => {
    const d = theError(SERVICE('  ports:\n  - port: "80"\n'));
    expect(d.hint).toBe("write 80 without quotes");
  });

  it("reports a container port of 0", () => {
    const d = theError("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: web\n    ports:\n    - containerPort: 0\n");
    expect(d).toMatchObject({ code: "invalid-port", path: "spec.containers[0].ports[0].containerPort", line: 8, col: 22 });
  });

  it("reports a quoted numeric targetPort", () => {
    const d = theError(SERVICE('  ports:\n  - port: 80\n    targetPort: "8080"\n'));
    expect(d).toMatchObject({ code: "invalid-port", path: "spec.ports[0].targetPort", line: 8, col: 17 });
    expect(d.hint).toBe("write targetPort: 8080 without quotes to target port number 8080");
  });

  it("reports a targetPort name that is not a port name", () => {
    const d = theError(SERVICE("  ports:\n  - port: 80\n    targetPort: http_alt\n"));
    expect(d.message).toMatch(/^"http_alt" is not a valid port name/);
  });

  it("reports a nodePort outside 30000-32767", () => {
    const d = theError(SERVICE("  type: NodePort\n  ports:\n  - port: 80\n    nodePort: 8080\n"));
    expect(d).toMatchObject({ code: "invalid-node-port", path: "spec.ports[0].nodePort", line: 9, col: 15 });
    expect(d.message).toBe("8080 is not in the NodePort range (expected an integer 30000-32767)");
    expect(d.hint).toMatch(/leave it out to have one allocated/);
  });

  it("reports a nodePort on a ClusterIP Service", () => {
    const d = theError(SERVICE("  ports:\n  - port: 80\n    nodePort: 30080\n"));
    expect(d).toMatchObject({ code: "invalid-node-port", path: "spec.ports[0].nodePort", line: 8 });
    expect(d.hint).toBe("add type: NodePort, or remove nodePort");
  });

  it("requires names when a Service has several ports, and unique ports", () => {
    const r = parseManifests(SERVICE("  ports:\n  - name: a\n    port: 80\n  - port: 80\n"), { file: "s.yaml" });
    expect(r.diagnostics.map((d) => [d.code, d.path, d.line])).toEqual([
      ["missing-field", "spec.ports[1].name", 9],
      ["duplicate-value", "spec.ports[1].port", 9],
    ]);
  });

  it("requires at least one port", () => {
    const d = theError(SERVICE("  selector: {app: web}\n"));
    expect(d).toMatchObject({ code: "missing-field", path: "spec.ports" });
  });

  it("reports a bad protocol with a suggestion", () => {
    const d = theError(SERVICE("  ports:\n  - port: 53\n    protocol: udp\n"));
    expect(d.message).toBe('"udp" is not a protocol (expected TCP, UDP or SCTP) (did you mean "UDP"?)');
  });
});

describe("Service fields", () => {
  it("reports externalTrafficPolicy on a ClusterIP Service", () => {
    const d = theError(SERVICE("  externalTrafficPolicy: Local\n  ports: [{port: 80}]\n"));
    expect(d).toMatchObject({ code: "invalid-value", path: "spec.externalTrafficPolicy", line: 6 });
  });

  it("reports an unknown Service type with a suggestion", () => {
    const d = theError(SERVICE("  type: Nodeport\n  ports: [{port: 80}]\n"));
    expect(d.message).toBe(
      '"Nodeport" is not a Service type (expected ClusterIP, NodePort, LoadBalancer or ExternalName) (did you mean "NodePort"?)',
    );
  });
});

describe("selectors", () => {
  it("reports a Service selector that is a list", () => {
    const d = theError(SERVICE("  selector:\n  - app=web\n  ports: [{port: 80}]\n"));
    expect(d).toMatchObject({ code: "invalid-selector", path: "spec.selector", line: 7, col: 3 });
    expect(d.message).toBe("a list is not a selector (expected a map of label keys to string values)");
  });

  it("reports a selector value that is not a string", () => {
    const d = theError(SERVICE("  selector:\n    app: web\n    version: 2\n  ports: [{port: 80}]\n"));
    expect(d).toMatchObject({ code: "invalid-selector", path: "spec.selector.version", line: 8, col: 14 });
    expect(d.message).toBe("2 is not a string (a selector is a map of label keys to strings)");
    expect(d.hint).toBe('quote it: version: "2"');
  });

  it("reports a Deployment-style selector on a Service", () => {
    const d = theError(SERVICE("  selector:\n    matchLabels:\n      app: web\n  ports: [{port: 80}]\n"));
    expect(d).toMatchObject({ code: "invalid-selector", path: "spec.selector.matchLabels", line: 7, col: 5 });
    expect(d.hint).toBe("move the labels up: `selector: {app: web}`");
  });
});

const DEPLOYMENT = (selector: string, labels = "app: web") => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
${selector}
  template:
    metadata:
      labels: {${labels}}
    spec:
      containers:
      - name: web
        image: nginx
`;

describe("Deployments", () => {
  it("reports a selector that does not match the template labels", () => {
    const d = theError(DEPLOYMENT("  selector:\n    matchLabels: {app: web}", "app: nginx"), "web.yaml");
    expect(d).toMatchObject({ code: "selector-mismatch", path: "spec.template.metadata.labels", line: 11, col: 15 });
    expect(formatDiagnostic(d)).toBe(
      "web.yaml:11:15 (document 1, Deployment default/web): spec.template.metadata.labels: selector app=web does not match the template labels (app=nginx); the API server rejects this\n" +
        "  hint: give spec.template.metadata.labels the labels spec.selector asks for: {app: web}",
    );
  });

  it("reports a matchExpressions selector that does not match", () => {
    const d = theError(
      DEPLOYMENT("  selector:\n    matchExpressions:\n    - {key: tier, operator: In, values: [frontend]}", "app: web, tier: backend"),
    );
    expect(d.code).toBe("selector-mismatch");
    expect(d.message).toMatch(/^selector tier in \(frontend\) does not match/);
  });

  it("reports a missing selector, suggesting one from the template", () => {
    const d = theError(DEPLOYMENT("  minReadySeconds: 0"));
    expect(d).toMatchObject({ code: "missing-field", path: "spec.selector", line: 5 });
    expect(d.hint).toBe("add selector: {matchLabels: {app: web}}");
  });

  it("reports an empty selector", () => {
    const d = theError(DEPLOYMENT("  selector: {}"));
    expect(d).toMatchObject({ code: "invalid-selector", path: "spec.selector", line: 7 });
  });

  it("reports a plain map as a Deployment selector", () => {
    const d = theError(DEPLOYMENT("  selector:\n    app: web"));
    expect(d).toMatchObject({ code: "invalid-selector", path: "spec.selector", line: 8 });
    expect(d.hint).toMatch(/selector: \{matchLabels: \{app: "web"\}\}/);
  });

  it("reports matchLabels values that are not strings", () => {
    const d = theError(DEPLOYMENT("  selector:\n    matchLabels:\n      app: web\n      v: 1", "app: web, v: '1'"));
    expect(d).toMatchObject({ code: "invalid-selector", path: "spec.selector.matchLabels.v", line: 10, col: 10 });
  });

  it("reports an In requirement without values", () => {
    const d = theError(DEPLOYMENT("  selector:\n    matchExpressions:\n    - key: app\n      operator: In"));
    expect(d).toMatchObject({ code: "invalid-selector", path: "spec.selector.matchExpressions[0].values" });
    expect(d.hint).toBe("add values: [...], or use Exists");
  });

  it("reports an unknown operator", () => {
    const d = theError(DEPLOYMENT("  selector:\n    matchExpressions:\n    - {key: app, operator: in, values: [web]}"));
    expect(d.message).toMatch(/^"in" is not a selector operator .*did you mean "In"/);
  });

  it("reports a pod with no containers", () => {
    const d = theError("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: []\n");
    expect(d).toMatchObject({ code: "missing-field", path: "spec.containers", line: 5, col: 15 });
  });

  it("reports duplicate container names", () => {
    const d = theError("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n  - name: a\n  - name: a\n");
    expect(d).toMatchObject({ code: "duplicate-value", path: "spec.containers[1].name", line: 7, col: 11 });
  });
});

describe("duplicates", () => {
  it("reports an object defined twice in one file, pointing at the first", () => {
    const text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n";
    const r = parseManifests(text, { file: "ns.yaml" });
    expect(r.objects).toHaveLength(1);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({ code: "duplicate-object", doc: 2, line: 9, col: 9, path: "metadata.name" });
    expect(formatDiagnostic(r.diagnostics[0])).toMatch(
      /^ns\.yaml:9:9 \(document 2, Namespace shop\): metadata\.name: Namespace shop is already defined \(see ns\.yaml:4:9\)/,
    );
  });

  it("reports a duplicate across the files of a folder", () => {
    const r = loadManifests(`${FIXTURES}dir`);
    const d = r.diagnostics.filter((x) => x.code === "duplicate-object");
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ file: `${FIXTURES}dir/30-extra.json`, line: 14, object: "Pod shop/cart" });
    expect(d[0].related).toMatchObject({ file: `${FIXTURES}dir/20-app.yml`, line: 4, col: 9 });
  });

  it("tells objects of different namespaces or kinds apart", () => {
    const text =
      "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: a}\nspec: {ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: b}\nspec: {ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: a}\nspec: {containers: [{name: a}]}\n";
    expect(parseManifests(text).diagnostics).toEqual([]);
  });
});

describe("loosely kept kinds", () => {
  it("reports a TLS Secret without a key", () => {
    const d = theError("apiVersion: v1\nkind: Secret\nmetadata: {name: tls}\ntype: kubernetes.io/tls\ndata:\n  tls.crt: aGVsbG8=\n");
    expect(d).toMatchObject({ code: "missing-field", path: "data", line: 6, col: 3 });
    expect(d.message).toBe('a kubernetes.io/tls Secret needs data["tls.key"]');
  });

  it("reports Secret data that is not base64", () => {
    const d = theError("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  password: hunter2!\n");
    expect(d).toMatchObject({ code: "invalid-value", path: "data.password", line: 5, col: 13 });
  });

  it("reports a Gateway without a class or listeners", () => {
    const r = parseManifests("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec: {}\n");
    expect(r.diagnostics.map((d) => [d.code, d.path])).toEqual([
      ["missing-field", "spec.gatewayClassName"],
      ["missing-field", "spec.listeners"],
    ]);
  });

  it("warns about an EndpointSlice without its service-name label", () => {
    const r = parseManifests(
      "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-1\naddressType: IPv4\nendpoints: []\n",
    );
    expect(r.objects).toHaveLength(1);
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({ severity: "warning", path: "metadata", line: 3 });
    expect(r.diagnostics[0].message).toBe("no kubernetes.io/service-name label: kube-proxy ignores this slice");
  });
});

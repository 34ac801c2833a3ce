// The `http` step and the L7 controllers in a scenario run: ingress-nginx added by kubewire for an
// Ingress, HTTP echo backends on ports named http, requests from outside the cluster through the
// load balancer, with expectations on status, backend, headers, redirect and certificate; the TLS
// keys land in the capture (Decryption Secrets Block) unless told not to, and in an SSLKEYLOGFILE.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runScenarioAsync, ScenarioRun } from "../../src/scenario/index.js";
import { tsharkFieldLists } from "../helpers/tshark.js";
import { SHOP_CERT, SHOP_KEY } from "../k8s/ingress-proxy-helpers.js";
import { errorsOf, mustParse } from "./fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "kw-http-step-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const indent = (s: string, n: number) => s.trim().split("\n").map((l) => " ".repeat(n) + l).join("\n");

const MANIFESTS = `
- |
  apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web}
  spec:
    replicas: 2
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec: {containers: [{name: echo, image: example/echo, ports: [{name: http, containerPort: 8080}]}]}
  ---
  apiVersion: v1
  kind: Service
  metadata: {name: web}
  spec:
    selector: {app: web}
    ports: [{port: 80, targetPort: http}]
  ---
  apiVersion: v1
  kind: Secret
  metadata: {name: shop-tls}
  type: kubernetes.io/tls
  stringData:
    tls.crt: |
${indent(SHOP_CERT, 6)}
    tls.key: |
${indent(SHOP_KEY, 6)}
  ---
  apiVersion: networking.k8s.io/v1
  kind: Ingress
  metadata: {name: shop}
  spec:
    ingressClassName: nginx
    tls: [{hosts: [shop.example.com], secretName: shop-tls}]
    rules:
    - host: shop.example.com
      http:
        paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]
`;

const scenario = (traffic: string) => `apiVersion: kubewire.dev/v1alpha1
kind: Scenario
name: http-step
cluster:
  seed: 3
  nodes:
  - {name: node-1, address: 192.168.50.11}
  - {name: node-2, address: 192.168.50.12}
  underlay: {cidr: 192.168.50.0/24, gateway: 192.168.50.1}
  cni: {backend: vxlan}
manifests:${MANIFESTS}
traffic:
- external-host: {name: laptop, address: 192.168.50.100, routes: ["203.0.113.80/32 via NODE"]}
${traffic}`;

const LB = "lb/ingress-nginx/ingress-nginx-controller";

describe("the http step", () => {
  it("through ingress-nginx from outside: 308 to https, then HTTPS to a backend with ingress-nginx's headers", async () => {
    const probe = new ScenarioRun(mustParse(scenario("").replace("NODE", "192.168.50.11")));
    const node = [...probe.cluster.pods.values()].find((p) => p.pod.metadata.namespace === "ingress-nginx")!.node;
    probe.finish();
    const nodeIp = `192.168.50.${node.name === "node-1" ? 11 : 12}`;
    const text = scenario(`- http: {from: external/laptop, url: "http://shop.example.com/cart", connect: "${LB}:80"}
  expect: {status: 308, location: "https://shop.example.com/cart"}
- http: {from: external/laptop, url: "https://shop.example.com/cart", connect: "${LB}:443", ca: shop-tls}
  expect: {status: 200, backend: web, certificate: shop.example.com, headers: {X-Forwarded-Proto: https, X-Forwarded-For: 192.168.50.100}}
- http: {from: external/laptop, url: "https://other.example.com/", connect: "${LB}:443", insecure: true}
  expect: {status: 404, certificate: Kubernetes Ingress Controller Fake Certificate, bodyContains: "404 Not Found"}
`).replace("NODE", nodeIp);
    const keys = join(dir, "keys.log");
    const pcap = join(dir, "http-step.pcapng");
    const run = await runScenarioAsync(mustParse(text), { pcapng: pcap, sslKeyLogFile: keys });
    expect(run.outcomes.map((o) => [o.pass, o.why])).toEqual([
      [true, ""],
      [true, ""],
      [true, ""],
      [true, ""],
    ]);
    // Trusting the Secret's certificate (ca: shop-tls), the certificate is verified.
    expect(run.outcomes[2].observed).toMatch(/^200 OK .*answered by pod default\/web-.*TLSv1\.3 certificate "shop\.example\.com"$/);
    // The routing decision is a trace event (and the comment of the packet that carries the proxied request).
    expect(run.events.filter((e) => e.kind === "log" && e.text.startsWith("l7 ")).map((e) => (e as { text: string }).text)).toEqual([
      expect.stringMatching(/^l7 Ingress default\/shop: host shop\.example\.com path \/ \(Prefix\) → 10\.244\.\d+\.\d+:8080$/),
    ]);
    expect(readFileSync(keys, "utf8")).toMatch(/^CLIENT_TRAFFIC_SECRET_0 [0-9a-f]{64} [0-9a-f]{64,96}$/m);
    // The DSB is in the capture: tshark decrypts the requests.
    const uris = tsharkFieldLists(pcap, ["http.request.uri"], { filter: "http.request && tls" }).map((r) => r["http.request.uri"][0]);
    expect(uris).toContain("/cart");
  });

  it("leaves the keys out when told (tlsKeys: false)", async () => {
    const text = scenario(`- http: {from: external/laptop, url: "https://shop.example.com/", connect: "${LB}:443", insecure: true}`).replace("NODE", "192.168.50.11");
    const pcap = join(dir, "nokeys.pcapng");
    await runScenarioAsync(mustParse(text), { pcapng: pcap, tlsKeys: false });
    expect(tsharkFieldLists(pcap, ["frame.number"], { filter: "http && tls" })).toEqual([]);
  });

  it("the synchronous runner says why it cannot run an http step", () => {
    const text = scenario(`- http: {from: external/laptop, url: "http://shop.example.com/", connect: "${LB}:80"}`).replace("NODE", "192.168.50.11");
    const run = new ScenarioRun(mustParse(text));
    run.runAll();
    run.finish();
    expect(run.outcomes[1]).toMatchObject({ pass: false, why: expect.stringMatching(/runAllAsync/) });
  });

  it("rejects a bad URL, a bad method and a name with nowhere to connect, with file and line", () => {
    const errs = errorsOf(
      scenario(`- http: {from: external/laptop, url: "ftp://x/"}
- http: {from: external/laptop, url: "http://10.0.0.1/", method: FETCH}`).replace("NODE", "192.168.50.11"),
    );
    expect(errs.map((e) => [e.line, e.message])).toEqual([
      [66, expect.stringMatching(/"ftp:\/\/x\/" is not an http:\/\/ or https:\/\/ URL/)],
      [67, expect.stringMatching(/"FETCH" is not an HTTP method/)],
    ]);
    // Checked against the cluster once the file reads well: a name with no connect.
    const unresolved = errorsOf(scenario(`- http: {from: external/laptop, url: "http://shop.example.com/"}`).replace("NODE", "192.168.50.11"));
    expect(unresolved.map((e) => [e.line, e.message, e.hint])).toEqual([[66, "shop.example.com is a name, and the http step resolves none", expect.stringMatching(/connect: HOST:PORT/)]]);
    const noCa = errorsOf(scenario(`- http: {from: external/laptop, url: "https://10.0.0.1/", ca: no-such}`).replace("NODE", "192.168.50.11"));
    expect(noCa.map((e) => [e.line, e.message])).toEqual([[66, "no Secret default/no-such with a ca.crt or tls.crt"]]);
  });
});

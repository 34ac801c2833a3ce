// The step types on a running cluster: what each observes, and when its expectations pass or fail (and why).
import { describe, expect, it } from "vitest";
import { runScenario, type StepOutcome } from "../../src/scenario/index.js";
import { mustParse, scenarioYaml } from "./fixtures.js";

function run(traffic: string, opts: Parameters<typeof scenarioYaml>[1] = {}): StepOutcome[] {
  return runScenario(mustParse(scenarioYaml(traffic, opts))).outcomes;
}

const DEPLOYMENT = `
- |
  apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web}
  spec:
    replicas: 2
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec: {containers: [{name: main, image: busybox, ports: [{containerPort: 8080, protocol: UDP}]}]}
  ---
  apiVersion: v1
  kind: Service
  metadata: {name: web}
  spec: {selector: {app: web}, ports: [{port: 80, protocol: UDP, targetPort: 8080}]}`;

describe("udp", () => {
  it("reports delivery, the source the app saw and the reply", () => {
    const [o] = run("- udp: {from: client, to: server:echo, payload: ping-pong, srcPort: 5000}\n  expect: {reply: ping-pong, at: server, seenFrom: '10.244.0.2:5000', replyFrom: '10.244.1.2:9000', delivered: true}");
    expect(o.pass).toBe(true);
    expect(o.observed).toBe('delivered to pod default/server (main, udp/9000) from 10.244.0.2:5000; reply "ping-pong" from 10.244.1.2:9000');
  });

  it("fails with why when the expectation is not met", () => {
    const [o] = run("- udp: {from: client, to: server:9000, payload: a}\n  expect: {reply: b, seenFrom: 10.9.9.9}");
    expect(o.pass).toBe(false);
    expect(o.why).toMatch(/^expected reply "b", got "a"; expected the app to see it from 10\.9\.9\.9, it saw 10\.244\.0\.2:\d+$/);
  });

  it("a closed port: ICMP port unreachable, ECONNREFUSED, the drop reason", () => {
    const [o] = run("- udp: {from: client, to: server:9001}\n  expect: {reply: false, delivered: false, icmp: icmp-port-unreachable, error: ECONNREFUSED, dropped: NO_SOCKET}");
    expect(o).toMatchObject({ pass: true });
    expect(o.observed).toContain("icmp port-unreachable from 10.244.1.2");
  });

  it("apps: none runs no servers", () => {
    const text = scenarioYaml("- udp: {from: client, to: server:9000}\n  expect: {error: ECONNREFUSED}").replace("timeout", "x").replace("manifests:", "apps: none\nmanifests:");
    expect(runScenario(mustParse(text)).outcomes[0].pass).toBe(true);
  });

  it("no route: the send fails at once (ENETUNREACH) on a node without a default route", () => {
    const [o] = run("- udp: {from: node/node-1, to: 203.0.113.5:53}\n  expect: {error: ENETUNREACH}");
    expect(o.pass).toBe(true);
    expect(o.end - o.start).toBe(0);
  });

  it("a step without expect passes and says what happened", () => {
    const [o] = run("- udp: {from: client, to: server:9001}");
    expect(o.pass).toBe(true);
    expect(o.observed).toMatch(/no reply/);
  });

  it("waits no longer than its timeout", () => {
    const [o] = run("- udp: {from: client, to: 10.244.1.99:9000}\n  timeout: 2s\n  expect: {reply: false}");
    expect(o.pass).toBe(true);
    expect(o.end - o.start).toBe(2e9);
  });
});

describe("ping", () => {
  it("gets a reply across the nodes, or says it did not", () => {
    const [a, b] = run("- ping: {from: client, to: server}\n  expect: {reply: true}\n- ping: {from: client, to: 10.244.1.99}\n  expect: {reply: true}");
    expect(a).toMatchObject({ pass: true, observed: "reply from 10.244.1.2 ttl 62" });
    expect(b).toMatchObject({ pass: false, why: "expected an echo reply, got none" });
  });
});

describe("changes to the cluster", () => {
  it("restart: the container's servers close and bind again, the IP stays", () => {
    const [o, after] = run("- restart: {pod: server, container: main}\n- udp: {from: client, to: server:9000}\n  expect: {reply: hello}");
    expect(o.observed).toBe("restarted main; pod keeps 10.244.1.2; listening again on udp/9000 (main)");
    expect(after.pass).toBe(true);
  });

  it("delete: a bare pod is gone; a Deployment's pod is replaced with a new name and IP", () => {
    const s = mustParse(scenarioYaml("- delete: {pod: server}", { extra: DEPLOYMENT }));
    const r = runScenario(s);
    expect(r.outcomes[0].observed).toBe("deleted (freed 10.244.1.2)");
    const webPods = [...r.cluster.pods.keys()].filter((k) => k.startsWith("default/web-"));
    expect(webPods).toHaveLength(2);
    const victim = webPods[0].slice("default/".length);
    const r2 = runScenario(mustParse(scenarioYaml(`- delete: {pod: ${victim}}`, { extra: DEPLOYMENT })));
    expect(r2.outcomes[0].observed).toMatch(/^deleted \(freed [0-9.]+\); its ReplicaSet started default\/web-[a-z0-9]+-[a-z0-9]{5} at [0-9.]+ on node-/);
    expect(r2.cluster.pods.has(webPods[0])).toBe(false);
    expect([...r2.cluster.pods.keys()].filter((k) => k.startsWith("default/web-"))).toHaveLength(2);
  });

  it("scale: pods are added on the least loaded node and removed newest first; endpoints follow", () => {
    const s = mustParse(scenarioYaml("- scale: {deployment: web, replicas: 4}\n- scale: {deployment: web, replicas: 1}", { extra: DEPLOYMENT }));
    const r = runScenario(s);
    expect(r.outcomes[0].observed).toMatch(/^started default\/web-\S+ at \S+ on node-1; started default\/web-\S+ at \S+ on node-2$/);
    expect(r.outcomes[1].observed.split("; ")).toHaveLength(3);
    const slices = r.cluster.endpointSlices("default/web");
    expect(slices.flatMap((sl) => sl.endpoints)).toHaveLength(1);
  });

  it("scale: an unknown Deployment is an error before anything runs", () => {
    const r = mustParse.bind(null);
    expect(() => r(scenarioYaml("- scale: {deployment: wbe, replicas: 3}", { extra: DEPLOYMENT }))).toThrow(/no Deployment "wbe" in the manifests/);
  });

  it("ready: a not-ready pod leaves its Services' endpoints", () => {
    const s = mustParse(scenarioYaml("- ready: {pod: server, ready: false}", { extra: "\n- |\n  apiVersion: v1\n  kind: Service\n  metadata: {name: echo}\n  spec: {selector: {app: server}, ports: [{port: 7, protocol: UDP, targetPort: 9000}]}" }));
    const r = runScenario(s);
    expect(r.outcomes[0].observed).toBe("not ready: out of its Services' endpoints");
    expect(r.cluster.endpointSlices("default/echo")[0].endpoints[0].conditions.ready).toBe(false);
  });

  it("wait moves the virtual clock; each step starts on a fresh millisecond", () => {
    const o = run("- wait: 1500ms\n- wait: 1s");
    expect(o.map((x) => [x.start, x.end])).toEqual([
      [0, 1.5e9],
      [1.501e9, 2.501e9],
    ]);
  });

  it("external-host: a client on the underlay reaches a node; it is checked to be on the underlay", () => {
    const [, o] = run("- external-host: {name: laptop, address: 192.168.50.100}\n- ping: {from: external/laptop, to: node/node-2}\n  expect: {reply: true}");
    expect(o).toMatchObject({ pass: true, observed: "reply from 192.168.50.12 ttl 64" });
    expect(() => mustParse(scenarioYaml("- external-host: {name: laptop, address: 10.0.0.1}"))).toThrow(/10\.0\.0\.1 is outside the underlay 192\.168\.50\.0\/24/);
    expect(() => mustParse(scenarioYaml("- external-host: {name: laptop, address: 192.168.50.11}"))).toThrow(/already node-1's address/);
    expect(() => mustParse(scenarioYaml("- udp: {from: external/laptop, to: node-1:53}"))).toThrow(/no external host "laptop"/);
  });
});

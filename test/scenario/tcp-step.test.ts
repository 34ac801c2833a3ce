// The tcp step and the TCP apps of scenario pods: a connection through a ClusterIP to the echo
// server on another node (accepted where, seen from where, the echo, the close), refused by a RST
// and by kube-proxy's REJECT, unanswered, the app restarted with its container and gone with its
// pod; expectations that fail say why; the captures are reproducible and clean per interface.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TcpState, tcpConnect } from "../../src/net/index.js";
import { runScenario, runScenarioAsync, ScenarioRun, type StepOutcome } from "../../src/scenario/index.js";
import { tsharkFields, tsharkProblems } from "../helpers/tshark.js";
import { errorsOf, lineOf, mustParse, scenarioYaml } from "./fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "kw-tcp-step-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MANIFESTS = `
- |
  apiVersion: v1
  kind: Pod
  metadata: {name: client, labels: {app: client}}
  spec: {nodeName: node-1, containers: [{name: main, image: busybox}]}
  ---
  apiVersion: v1
  kind: Pod
  metadata: {name: server, labels: {app: web}}
  spec:
    nodeName: node-2
    containers: [{name: main, image: busybox, ports: [{name: web, containerPort: 8080}, {name: dns, containerPort: 5353, protocol: UDP}]}]
  ---
  apiVersion: v1
  kind: Service
  metadata: {name: web}
  spec: {clusterIP: 10.96.0.80, selector: {app: web}, ports: [{name: http, port: 80, targetPort: web}]}
  ---
  apiVersion: v1
  kind: Service
  metadata: {name: empty}
  spec: {clusterIP: 10.96.0.90, ports: [{port: 80}]}
  ---
  apiVersion: v1
  kind: Service
  metadata: {name: local}
  spec: {type: NodePort, externalTrafficPolicy: Local, clusterIP: 10.96.0.70, selector: {app: web}, ports: [{port: 80, targetPort: web, nodePort: 30080}]}
`;

const scenario = (traffic: string, extra = "") => scenarioYaml(traffic, { manifests: MANIFESTS, gateway: true }).replace("manifests:", `${extra}manifests:`);
const run = (traffic: string, extra = ""): StepOutcome[] => runScenario(mustParse(scenario(traffic, extra))).outcomes;

describe("tcp step", () => {
  it("through a ClusterIP to the echo server on the other node: accepted there, from the client's IP, echoed, closed", () => {
    const [o] = run("- tcp: {from: client, to: svc/web:http, send: hello tcp, srcPort: 40000}\n  expect: {connected: true, reply: hello tcp, at: server, seenFrom: '10.244.0.2:40000', replyFrom: '10.96.0.80:80'}");
    expect(o.why).toBe("");
    expect(o.observed).toBe('connected from 10.244.0.2:40000; accepted by pod default/server (main, tcp/8080) from 10.244.0.2:40000; reply "hello tcp" from 10.96.0.80:80; closed');
    expect(o.pass).toBe(true);
  });

  it("a closed port: refused by the pod's RST,ACK", () => {
    const [o] = run("- tcp: {from: client, to: server:8081, send: x}\n  expect: {refused: true, connected: false, error: ECONNREFUSED, replyFrom: '10.244.1.2:8081'}");
    expect(o.pass).toBe(true);
    expect(o.observed).toMatch(/^refused \(RST from 10\.244\.1\.2:8081\), from 10\.244\.0\.2:\d+; .*error ECONNREFUSED$/);
  });

  it("a Service without endpoints: kube-proxy's REJECT answers with ICMP port unreachable, connect() gets ECONNREFUSED", () => {
    const [o] = run("- tcp: {from: client, to: svc/empty:80}\n  expect: {refused: true, icmp: port-unreachable, replyFrom: 10.244.0.1, dropped: NETFILTER_DROP}");
    expect(o.why).toBe("");
    expect(o.observed).toContain("refused (icmp port-unreachable from 10.244.0.1)");
  });

  it("unanswered: a NodePort with externalTrafficPolicy Local on a node without an endpoint drops the SYN; the step waits its timeout", () => {
    const [, o] = run("- external-host: {name: laptop, address: 192.168.50.100}\n- tcp: {from: external/laptop, to: node/node-1:30080}\n  timeout: 4s\n  expect: {timeout: true, connected: false}");
    expect(o.pass).toBe(true);
    expect(o.observed).toMatch(/^no answer to the SYN from 192\.168\.50\.100:\d+ within 4s/);
    expect(o.end - o.start).toBe(4e9);
  });

  it("NodePort Local on the endpoint's node: the app sees the laptop's own address", () => {
    const [, o] = run("- external-host: {name: laptop, address: 192.168.50.100}\n- tcp: {from: external/laptop, to: node/node-2:30080, send: hi, srcPort: 41000}\n  expect: {reply: hi, seenFrom: '192.168.50.100:41000', replyFrom: '192.168.50.12:30080'}");
    expect(o.why).toBe("");
  });

  it("expectations that do not hold say why", () => {
    const [o] = run("- tcp: {from: client, to: svc/web:80, send: a}\n  expect: {refused: true, reply: b, seenFrom: 10.9.9.9, at: client}");
    expect(o.pass).toBe(false);
    expect(o.why).toMatch(
      /^expected the connection to be refused, it was established; expected reply "b", got "a"; expected pod default\/client to accept it, pod default\/server did; expected the app to see it from 10\.9\.9\.9, it saw 10\.244\.0\.2:\d+$/,
    );
  });

  it("connect and close without data (send left out): no reply expected, both ends closed", () => {
    const [o] = run("- tcp: {from: client, to: server:web}\n  expect: {connected: true, reply: false, at: server}");
    expect(o.pass).toBe(true);
    expect(o.observed).toMatch(/; closed$/);
  });

  it("the app restarts with its container; apps: none runs no TCP server", () => {
    const [r, after] = run("- restart: {pod: server}\n- tcp: {from: client, to: server:8080, send: again}\n  expect: {reply: again}");
    expect(r.observed).toBe("restarted main; pod keeps 10.244.1.2; listening again on udp/5353 (main), tcp/8080 (main)");
    expect(after.pass).toBe(true);
    const [none] = run("- tcp: {from: client, to: server:8080}\n  expect: {refused: true}", "apps: none\n");
    expect(none.pass).toBe(true);
  });

  it("a restart while a connection is open closes it from the server's side (FIN), and the server listens again", () => {
    const r = new ScenarioRun(mustParse(scenario("- wait: 1ms")));
    const server = r.cluster.pod("server");
    const sk = tcpConnect(r.cluster.pod("client").ns, { daddr: server.ip, dport: 8080 }, { tcpEvent: () => {} });
    if (typeof sk === "string") throw new Error(sk);
    r.runUntil(1e9, () => sk.state === TcpState.ESTABLISHED);
    expect(sk.state).toBe(TcpState.ESTABLISHED);
    r.apps.restart(server, "main");
    r.runUntil(2e9, () => sk.fin_rcvd);
    expect(sk.state).toBe(TcpState.CLOSE_WAIT);
    expect(r.apps.describe(server)).toEqual(["udp/5353 (main)", "tcp/8080 (main)"]);
    r.finish();
  });

  it("a deleted pod's app is gone with it", () => {
    const s = mustParse(scenario("- delete: {pod: server}\n- tcp: {from: client, to: 10.244.1.2:8080}\n  timeout: 4s\n  expect: {connected: false}"));
    const r = runScenario(s);
    expect(r.outcomes.map((o) => o.pass)).toEqual([true, true]);
    expect(r.outcomes[1].observed).not.toContain("accepted");
  });
});

describe("tcp step under the asynchronous runner", () => {
  it("gives the same outcomes and the same capture as the synchronous one against the TCP echo", async () => {
    const traffic = "- tcp: {from: client, to: svc/web:80, send: hello}\n  expect: {reply: hello, at: server}\n- tcp: {from: client, to: server:8081}\n  expect: {refused: true}";
    const [a, b] = [join(dir, "sync.pcapng"), join(dir, "async.pcapng")];
    const sync = runScenario(mustParse(scenario(traffic)), { pcapng: a });
    const async = await runScenarioAsync(mustParse(scenario(traffic)), { pcapng: b });
    expect(async.outcomes.map((o) => [o.pass, o.observed])).toEqual(sync.outcomes.map((o) => [o.pass, o.observed]));
    expect(readFileSync(b).equals(readFileSync(a))).toBe(true);
  });

  it("talks to an HTTP app (a port named http*, node:http): a raw request, the response, the close", async () => {
    const text = scenario('- tcp: {from: client, to: server:8080, send: "GET /raw HTTP/1.0\\r\\n\\r\\n"}\n  expect: {connected: true, reply: true, at: server}').replace("{name: web, containerPort: 8080}", "{name: http, containerPort: 8080}");
    const r = await runScenarioAsync(mustParse(text));
    const [o] = r.outcomes;
    expect(o.why).toBe("");
    expect(o.observed).toMatch(/^connected from 10\.244\.0\.2:\d+; accepted by pod default\/server \(main, tcp\/8080\) from 10\.244\.0\.2:\d+; reply "HTTP\/1\.1 200 OK\\r\\n.*"\/raw\\".*; closed$/);
  });
});

describe("tcp step: the file", () => {
  it("is checked where it is written", () => {
    const text = scenario("- tcp: {from: client, to: server:web/udp, sned: x}\n  expect: {conected: true, error: EMSGSIZE}");
    const e = errorsOf(text);
    expect(e.map((d) => d.message)).toEqual([
      expect.stringMatching(/unknown field "sned"/),
      '"server:web/udp" names udp, but this step sends tcp',
      expect.stringMatching(/unknown field "conected"/),
      expect.stringMatching(/^"EMSGSIZE" is not an error a TCP socket reports here \(expected /),
    ]);
    expect(e[0].line).toBe(lineOf(text, "sned"));
  });
});

describe("tcp step: captures", () => {
  const TRAFFIC = "- tcp: {from: client, to: svc/web:80, send: hello}\n  expect: {reply: hello}\n- tcp: {from: client, to: svc/empty:80}\n  expect: {refused: true}\n- tcp: {from: client, to: server:8081}\n  expect: {refused: true}";

  it("the same scenario gives byte-identical pcapng", () => {
    const files = [0, 1].map((i) => {
      const file = join(dir, `repro-${i}.pcapng`);
      const r = runScenario(mustParse(scenario(TRAFFIC)), { pcapng: file });
      expect(r.pass).toBe(true);
      return readFileSync(file);
    });
    expect(files[0].equals(files[1])).toBe(true);
  });

  it("per interface, tshark finds no warning but the expected resets; the SYN is DNATed on the client's node", () => {
    const per = join(dir, "per-if");
    mkdirSync(per);
    const file = join(dir, "per.pcapng");
    const r = runScenario(mustParse(scenario(TRAFFIC)), { pcapng: file, perInterfaceDir: per });
    expect(r.pass).toBe(true);
    // Every interface but the loopbacks (nothing crosses them here).
    const pcaps = readdirSync(per).filter((f) => !f.endsWith("_lo.pcap"));
    expect(pcaps.length).toBe(11);
    for (const f of pcaps) {
      const problems = tsharkProblems(join(per, f), { minSeverity: "warning", decodeAs: ["udp.port==8472,vxlan"] }).filter((p) => !(p.messages.length === 1 && /Connection reset/.test(p.messages[0])));
      expect({ f, problems }).toEqual({ f, problems: [] });
    }
    const syn = (iface: string) =>
      tsharkFields(file, ["ip.dst", "tcp.dstport"], { filter: `frame.interface_name == "${iface}" && tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport != 8081 && !icmp`, decodeAs: ["udp.port==8472,vxlan"] }).map(
        (x) => `${x["ip.dst"]}:${x["tcp.dstport"]}`,
      );
    expect(syn("client/eth0")).toEqual(["10.96.0.80:80", "10.96.0.90:80"]);
    expect(syn("node-1/flannel.1")).toEqual(["10.244.1.2:8080"]);
    expect(syn("server/eth0")).toEqual(["10.244.1.2:8080"]);
  });
});

/**
 * The Linux twin: the same topology as a kubewire scenario, built from real network namespaces,
 * veths, bridges, VXLAN devices and iptables, so the tests can compare kubewire's frames with the
 * frames the kernel puts on the wire.
 *
 * RULES (the workplace watches for them; every helper here enforces them, keep it so):
 *  - A twin lives wholly in network namespaces that the test itself creates (`LinuxTwin.ns`).
 *    Links join those namespaces to each other only: a veth is created from inside one twin
 *    namespace with its peer moved straight into another twin namespace. Nothing is ever created
 *    in, moved to, or attached to the host's own namespace or the host's interfaces.
 *  - Nothing is sent from the host's namespace to any pod, service or node address: every command
 *    that touches the network runs inside a twin namespace (`ip -n NS ...` / `ip netns exec NS ...`),
 *    and the twin refuses namespace names it did not create. Traffic goes only to the test's
 *    namespaces or to loopback inside them.
 *  - Namespace names are unique across parallel processes: `kw-<pid36>-<counter36><rand>`,
 *    at most 15 characters. The test's logical names ("pod-a", "node") are kept for the test.
 *  - Namespaces are removed also when a test fails: `cleanup()` from afterEach (see
 *    `useLinuxTwin`/`withLinuxTwin`), plus a process exit/signal handler for the twins still alive,
 *    plus a sweep of stale namespaces left by a killed process (dead owner pid, older than 10 min).
 *  - IPv6 is disabled in every twin namespace (all + default before any interface is created, and
 *    on each interface) so the captures stay quiet: no router solicitations, no MLD. Likewise IGMP
 *    reports for link-local groups are off (a bridge's 224.0.0.106 join), unless `quietIgmp: false`.
 *  - Every external command has a timeout, so a test never hangs.
 *
 * Tools used: iproute2 (ip, ss), tcpdump, socat, iptables (nft and legacy), tshark (reading pcaps).
 * On CI (CI=true) a missing capability is an error (`requireLinux`), elsewhere the tests skip.
 */
import { type ChildProcess, execFile, spawn as spawnChild, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe } from "vitest";

/** Default timeout of one synchronous command, in ms. */
export const DEFAULT_TIMEOUT_MS = 10_000;
const IFNAMSIZ = 15;
const NAME_PREFIX = "kw-";
const NAME_RE = /^kw-([0-9a-z]{1,7})-[0-9a-z]+$/;
const STALE_AGE_MS = 10 * 60_000;

// ---------------------------------------------------------------------------------------------
// Low-level command running (host side: only `ip`, `tshark`, `--version` probes; never traffic)

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The command as run, for messages. */
  command: string;
}

export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
}

function quote(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

function runRaw(file: string, args: readonly string[], opts: RunOptions = {}): RunResult {
  const r = spawnSync(file, args, {
    input: opts.input,
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    killSignal: "SIGKILL",
    maxBuffer: 64 * 1024 * 1024,
    encoding: "utf8",
    stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  const command = quote([file, ...args]);
  if (r.error && (r.error as NodeJS.ErrnoException).code !== "ETIMEDOUT") {
    return { status: null, signal: null, stdout: "", stderr: String(r.error.message), command };
  }
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? "", stderr: r.stderr ?? "", command };
}

function describeFailure(r: RunResult, timeoutMs: number): string {
  const why = r.signal === "SIGKILL" ? `timed out after ${timeoutMs} ms` : r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
  return `${r.command}: ${why}${r.stderr.trim() ? `\n${r.stderr.trim()}` : ""}`;
}

function runOk(file: string, args: readonly string[], opts: RunOptions = {}): string {
  const r = runRaw(file, args, opts);
  if (r.status !== 0) throw new Error(describeFailure(r, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS));
  return r.stdout;
}

/** Whether `cmd` is an executable file on PATH (no run: tshark takes ~0.6 s to start). */
function onPath(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
    if (!dir) continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      // next
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Availability

export interface LinuxAvailability {
  ok: boolean;
  why?: string;
}

let availability: LinuxAvailability | undefined;

/**
 * Whether this machine can build Linux twins: Linux, root, iproute2 with netns and veth, tcpdump,
 * socat and tshark. Probes once per process (creates and deletes one namespace), then caches.
 */
export function linuxAvailable(): LinuxAvailability {
  if (availability) return availability;
  availability = probe();
  return availability;
}

function probe(): LinuxAvailability {
  if (process.platform !== "linux") return { ok: false, why: `platform is ${process.platform}, not linux` };
  if (process.getuid?.() !== 0) return { ok: false, why: "not root (network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN)" };
  const missing = ["ip", "tcpdump", "socat", "tshark", "iptables-restore", "ss"].filter((c) => !onPath(c));
  if (missing.length > 0) {
    return { ok: false, why: `missing commands: ${missing.join(", ")} (see scripts/prereqs.sh)` };
  }
  const name = uniqueName();
  try {
    runOk("ip", ["netns", "add", name], { timeoutMs: 5000 });
  } catch (e) {
    return { ok: false, why: `cannot create a network namespace: ${(e as Error).message}` };
  }
  try {
    runOk("ip", ["-n", name, "link", "set", "lo", "up"], { timeoutMs: 5000 });
    runOk("ip", ["-n", name, "link", "add", "p0", "type", "veth", "peer", "name", "p1"], { timeoutMs: 5000 });
    runOk("ip", ["-n", name, "link", "add", "br0", "type", "bridge"], { timeoutMs: 5000 });
    runOk("ip", ["netns", "exec", name, "true"], { timeoutMs: 5000 });
  } catch (e) {
    return { ok: false, why: `network namespace works but veth/bridge/netns exec do not: ${(e as Error).message}` };
  } finally {
    runRaw("ip", ["netns", "del", name], { timeoutMs: 5000 });
  }
  return { ok: true };
}

function ciIsSet(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false";
}

let warnedSkip = false;

/**
 * true when Linux twins can run. When they cannot: on CI (env CI set) throws a clear error, so the
 * test file fails loudly; elsewhere returns false (and warns once) so the caller skips:
 * `describe.skipIf(!requireLinux())(...)`, or use `describeLinux`.
 */
export function requireLinux(): boolean {
  const a = linuxAvailable();
  if (a.ok) return true;
  if (ciIsSet()) {
    throw new Error(
      `Linux twin tests cannot run on CI: ${a.why}. CI must run as root with iproute2, tcpdump, socat, tshark, iptables ` +
        "(scripts/prereqs.sh installs them); twin tests are skipped only outside CI.",
    );
  }
  if (!warnedSkip) {
    warnedSkip = true;
    console.warn(`[linux twin] skipping Linux twin tests: ${a.why}`);
  }
  return false;
}

/** `describe` that skips without Linux twin capabilities (and fails on CI, see `requireLinux`). */
export function describeLinux(name: string, fn: () => void): void {
  describe.skipIf(!requireLinux())(name, fn);
}

// ---------------------------------------------------------------------------------------------
// Unique names, live twins, exit handler, stale sweep

let counter = 0;

function uniqueName(): string {
  counter += 1;
  const rand = randomBytes(4).readUInt32BE(0).toString(36).padStart(3, "0").slice(-3);
  const name = `${NAME_PREFIX}${process.pid.toString(36)}-${counter.toString(36)}${rand}`;
  if (name.length > IFNAMSIZ) throw new Error(`internal: namespace name ${name} longer than ${IFNAMSIZ}`);
  return name;
}

const liveTwins = new Set<LinuxTwin>();
let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", cleanupAllTwins);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = () => {
      cleanupAllTwins();
      // With no other listener left the default action (termination) would have happened:
      // re-raise so it does.
      process.removeListener(sig, onSignal);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/** Cleans up every twin of this process still alive (the exit handler calls this). */
export function cleanupAllTwins(): void {
  for (const t of [...liveTwins]) {
    try {
      t.cleanup();
    } catch {
      // best effort at exit
    }
  }
}

/** Real names of namespaces in `ip netns list`. */
export function listNetns(): string[] {
  const out = runRaw("ip", ["netns", "list"], { timeoutMs: 5000 }).stdout;
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((n): n is string => !!n);
}

let swept = false;

/**
 * Deletes twin namespaces left by a process that was killed (SIGKILL: no exit handler ran):
 * names of our exact pattern, whose owner pid is gone, older than 10 minutes (so a live
 * process in another pid namespace sharing /run/netns is never touched).
 */
export function sweepStaleTwins(): string[] {
  const removed: string[] = [];
  for (const name of listNetns()) {
    const m = NAME_RE.exec(name);
    if (!m) continue;
    const pid = Number.parseInt(m[1], 36);
    if (pid === process.pid || pidAlive(pid)) continue;
    try {
      if (Date.now() - statSync(`/run/netns/${name}`).mtimeMs < STALE_AGE_MS) continue;
    } catch {
      continue;
    }
    if (runRaw("ip", ["netns", "del", name], { timeoutMs: 5000 }).status === 0) removed.push(name);
  }
  return removed;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

// ---------------------------------------------------------------------------------------------
// ICMP echo (socat raw socket: no dependency on a `ping` binary, and a deterministic payload)

/** The internet checksum (RFC 1071) of `buf`. */
export function inetChecksum(buf: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (buf.length % 2 === 1) sum += buf[buf.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An ICMP echo request (type 8), checksum filled in. */
export function icmpEchoRequest(id: number, seq: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b[0] = 8;
  b[1] = 0;
  b.writeUInt16BE(id & 0xffff, 4);
  b.writeUInt16BE(seq & 0xffff, 6);
  payload.copy(b, 8);
  b.writeUInt16BE(inetChecksum(b), 2);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Processes and captures

export interface TwinProcess {
  readonly pid: number;
  readonly ns: string;
  readonly command: string;
  /** Everything written to stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True once the process has exited. */
  done(): boolean;
  kill(signal?: NodeJS.Signals): void;
  /** Waits until stdout+stderr match `re`; rejects on exit or timeout. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
}

export interface Capture {
  readonly ns: string;
  readonly ifname: string;
  /** Path of the pcap file tcpdump writes (-U: flushed after each packet). */
  readonly file: string;
  /**
   * Waits until the file has stopped growing, stops tcpdump (SIGINT), waits for it to exit, and
   * returns the pcap path. Idempotent.
   */
  stop(): Promise<string>;
}

export interface CaptureOptions {
  /** A tcpdump filter expression, e.g. "icmp or arp". */
  filter?: string;
  /** Put the interface in promiscuous mode (tcpdump's default). Default true. */
  promisc?: boolean;
  /** Snap length. Default: tcpdump's (262144). */
  snaplen?: number;
}

export interface VethOptions {
  macA?: string;
  macB?: string;
  mtu?: number;
  /** Bring both ends up. Default true. */
  up?: boolean;
}

export interface BridgeOptions {
  mac?: string;
  mtu?: number;
  /** Extra `type bridge` arguments, e.g. ["forward_delay", "0", "stp_state", "0"]. */
  args?: string[];
  /** Default true. */
  up?: boolean;
}

export interface VxlanOptions {
  id: number;
  /** Underlay device (a twin interface). */
  dev: string;
  dstport?: number;
  local?: string;
  remote?: string;
  /** Default false (flannel's `nolearning`). */
  learning?: boolean;
  mac?: string;
  mtu?: number;
  up?: boolean;
}

export interface PingOptions {
  id?: number;
  seq?: number;
  /** Default "kubewire" (8 bytes). */
  payload?: Buffer | string;
  timeoutMs?: number;
}

export interface PingResult {
  ok: boolean;
  /** The ICMP echo reply as received (ICMP header + payload), when ok. */
  reply?: Buffer;
  ms: number;
}

export interface UdpOptions {
  srcPort?: number;
  /** Source address to bind. */
  srcAddr?: string;
}

export interface UdpRequestResult {
  /** First reply data received (the stream of replies, when several came before the stop). */
  reply?: Buffer;
  /** An ICMP port unreachable came back (ECONNREFUSED on the connected socket). */
  refused: boolean;
  timedOut: boolean;
  ms: number;
}

export interface IptablesOptions {
  /** Which iptables: the default `iptables` (nft backend here), or explicitly nft / legacy. */
  backend?: "default" | "nft" | "legacy";
  /** iptables-restore --noflush. */
  noflush?: boolean;
  /** iptables-save -t TABLE. */
  table?: string;
}

export interface LinuxTwinOptions {
  /** Keep the temp directory (pcaps) after cleanup, for debugging. Default: env KUBEWIRE_KEEP_TWIN=1. */
  keepFiles?: boolean;
  /**
   * Set net.ipv4.igmp_link_local_mcast_reports=0 in every namespace (default true). Otherwise a
   * bridge with multicast snooping (the default, as on a real CNI bridge) joins 224.0.0.106
   * (all-snoopers) and sends IGMPv3 reports for it at random times in its first second, from the
   * bridge's address, on every port: noise in the captures. The kernel default is 1.
   */
  quietIgmp?: boolean;
}

function checkIfname(ifname: string): void {
  if (!/^[^\s/:]+$/.test(ifname) || ifname.length > IFNAMSIZ) {
    throw new Error(`interface name "${ifname}" is invalid: at most ${IFNAMSIZ} characters, no spaces, '/' or ':'`);
  }
}

function words(spec: string | string[]): string[] {
  return Array.isArray(spec) ? spec : spec.trim().split(/\s+/);
}

/**
 * One Linux twin (one per test): namespaces with logical names, links between them, captures,
 * background processes. `cleanup()` undoes everything; call it from afterEach (or use
 * `useLinuxTwin` / `withLinuxTwin`).
 */
export class LinuxTwin {
  /** Temp directory for pcaps and other files of this twin. */
  readonly dir: string;
  private readonly names = new Map<string, string>();
  private readonly procs = new Set<TwinProcess>();
  private readonly captures: Capture[] = [];
  private readonly keepFiles: boolean;
  private readonly quietIgmp: boolean;
  private cleaned = false;

  constructor(opts: LinuxTwinOptions = {}) {
    installExitHandlers();
    if (!swept) {
      swept = true;
      sweepStaleTwins();
    }
    this.keepFiles = opts.keepFiles ?? process.env.KUBEWIRE_KEEP_TWIN === "1";
    this.quietIgmp = opts.quietIgmp ?? true;
    this.dir = mkdtempSync(join(tmpdir(), "kubewire-twin-"));
    liveTwins.add(this);
  }

  /** Logical names of this twin's namespaces, in creation order. */
  get namespaces(): string[] {
    return [...this.names.keys()];
  }

  /** Real `ip netns` names of this twin's namespaces. */
  get realNames(): string[] {
    return [...this.names.values()];
  }

  /** The real `ip netns` name of a logical namespace. */
  real(ns: string): string {
    const r = this.names.get(ns);
    if (!r) {
      throw new Error(`namespace "${ns}" is not one of this twin's (${this.namespaces.join(", ") || "none yet"}); create it with twin.ns("${ns}")`);
    }
    return r;
  }

  /**
   * Creates a namespace with a unique real name, disables IPv6 in it (all + default + lo), turns
   * off IGMP reports for link-local groups (see `quietIgmp`) and brings up `lo`. Returns the
   * logical name.
   */
  ns(name: string): string {
    this.alive();
    if (this.names.has(name)) throw new Error(`namespace "${name}" already exists in this twin`);
    const real = uniqueName();
    runOk("ip", ["netns", "add", real]);
    this.names.set(name, real);
    this.exec(name, [
      "sh",
      "-c",
      "set -e; if [ -d /proc/sys/net/ipv6 ]; then for c in all default lo; do echo 1 > /proc/sys/net/ipv6/conf/$c/disable_ipv6; done; fi; " +
        'if [ "$1" = 1 ]; then echo 0 > /proc/sys/net/ipv4/igmp_link_local_mcast_reports; fi; ip link set dev lo up',
      "sh",
      this.quietIgmp ? "1" : "0",
    ]);
    return name;
  }

  /** `ip -n NS ARGS...` (inside the namespace). Returns stdout. */
  ip(ns: string, args: string | string[], opts: RunOptions = {}): string {
    return this.wrap(ns, () => runOk("ip", ["-n", this.real(ns), ...words(args)], opts));
  }

  /** Several `ip` commands in one go (`ip -n NS -batch -`), one per line. */
  ipBatch(ns: string, lines: string[]): void {
    this.wrap(ns, () => runOk("ip", ["-n", this.real(ns), "-batch", "-"], { input: lines.join("\n") + "\n" }));
  }

  /** Runs `cmd` inside the namespace (`ip netns exec`), synchronously, with a timeout. Throws on failure. */
  exec(ns: string, cmd: string[], opts: RunOptions = {}): string {
    const r = this.run(ns, cmd, opts);
    if (r.status !== 0) throw new Error(`[${ns}] ${describeFailure(r, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)}`);
    return r.stdout;
  }

  /** Like `exec` but never throws: the exit status and outputs. */
  run(ns: string, cmd: string[], opts: RunOptions = {}): RunResult {
    return runRaw("ip", ["netns", "exec", this.real(ns), ...cmd], opts);
  }

  /** Sets a sysctl inside the namespace: key "net.ipv4.ip_forward" (or a path "net/ipv4/conf/eth0.1/..."). */
  sysctl(ns: string, key: string, value: string | number): void {
    const path = `/proc/sys/${key.includes("/") ? key : key.replace(/\./g, "/")}`;
    this.exec(ns, ["sh", "-c", 'printf "%s\\n" "$1" > "$2"', "sh", String(value), path]);
  }

  /** Reads a sysctl inside the namespace. */
  getSysctl(ns: string, key: string): string {
    const path = `/proc/sys/${key.includes("/") ? key : key.replace(/\./g, "/")}`;
    return this.exec(ns, ["cat", path]).trim();
  }

  /**
   * A veth pair: `ifA` in `nsA`, `ifB` in `nsB` (created from inside nsA, the peer placed directly
   * in nsB). IPv6 disabled on both ends, both up unless `up: false`.
   */
  veth(nsA: string, ifA: string, nsB: string, ifB: string, opts: VethOptions = {}): void {
    checkIfname(ifA);
    checkIfname(ifB);
    const a = [ifA, ...(opts.macA ? ["address", opts.macA] : []), ...(opts.mtu ? ["mtu", String(opts.mtu)] : [])];
    const b = [ifB, ...(opts.macB ? ["address", opts.macB] : []), ...(opts.mtu ? ["mtu", String(opts.mtu)] : [])];
    const up = opts.up ?? true;
    const peerNs = nsA === nsB ? [] : ["netns", this.real(nsB)];
    this.newLink(nsA, ifA, ["link", "add", ...a, "type", "veth", "peer", "name", ...b, ...peerNs], up && nsA !== nsB);
    this.newLink(nsB, ifB, [], up);
    if (up && nsA === nsB) this.up(nsA, ifA);
  }

  /** A Linux bridge `name` in `ns` (IPv6 disabled, up). */
  bridge(ns: string, name: string, opts: BridgeOptions = {}): void {
    checkIfname(name);
    this.newLink(ns, name, [
      "link",
      "add",
      "name",
      name,
      ...(opts.mac ? ["address", opts.mac] : []),
      ...(opts.mtu ? ["mtu", String(opts.mtu)] : []),
      "type",
      "bridge",
      ...(opts.args ?? []),
    ], opts.up ?? true);
  }

  /** Makes `ifname` a port of `bridge` (both in `ns`). */
  attach(ns: string, ifname: string, bridge: string): void {
    this.ip(ns, ["link", "set", "dev", ifname, "master", bridge]);
  }

  /** A VXLAN device (flannel-style by default: nolearning). IPv6 disabled, up. */
  vxlan(ns: string, name: string, opts: VxlanOptions): void {
    checkIfname(name);
    this.newLink(ns, name, [
      "link",
      "add",
      name,
      ...(opts.mac ? ["address", opts.mac] : []),
      ...(opts.mtu ? ["mtu", String(opts.mtu)] : []),
      "type",
      "vxlan",
      "id",
      String(opts.id),
      "dstport",
      String(opts.dstport ?? 8472),
      ...(opts.local ? ["local", opts.local] : []),
      ...(opts.remote ? ["remote", opts.remote] : []),
      opts.learning ? "learning" : "nolearning",
      "dev",
      opts.dev,
    ], opts.up ?? true);
  }

  /** `ip addr add CIDR dev IF`. */
  addr(ns: string, ifname: string, cidr: string): void {
    this.ip(ns, ["addr", "add", cidr, "dev", ifname]);
  }

  /** `ip route add SPEC`, e.g. route(ns, "default via 10.0.0.1"). */
  route(ns: string, spec: string | string[]): void {
    this.ip(ns, ["route", "add", ...words(spec)]);
  }

  /** Pins a MAC address (tests pin MACs so frames compare byte for byte). */
  setMac(ns: string, ifname: string, mac: string): void {
    this.ip(ns, ["link", "set", "dev", ifname, "address", mac]);
  }

  up(ns: string, ifname: string): void {
    this.ip(ns, ["link", "set", "dev", ifname, "up"]);
  }

  down(ns: string, ifname: string): void {
    this.ip(ns, ["link", "set", "dev", ifname, "down"]);
  }

  /** The MAC address of an interface. */
  mac(ns: string, ifname: string): string {
    const info = JSON.parse(this.ip(ns, ["-j", "link", "show", "dev", ifname])) as Array<{ address: string }>;
    return info[0].address;
  }

  /** Starts a background process in the namespace; it is killed on cleanup. */
  spawn(ns: string, cmd: string[]): TwinProcess {
    this.alive();
    const real = this.real(ns);
    const child: ChildProcess = spawnChild("ip", ["netns", "exec", real, ...cmd], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let finished = false;
    child.stdout?.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (err += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on("error", (e) => {
        err += String(e);
        finished = true;
        resolve({ code: null, signal: null });
      });
      child.on("exit", (code, signal) => {
        finished = true;
        resolve({ code, signal });
      });
    });
    const command = `[${ns}] ${quote(cmd)}`;
    const proc: TwinProcess = {
      pid: child.pid ?? -1,
      ns,
      command,
      stdout: () => out,
      stderr: () => err,
      exited,
      done: () => finished,
      kill: (signal: NodeJS.Signals = "SIGKILL") => {
        if (!finished && child.pid) {
          try {
            process.kill(child.pid, signal);
          } catch {
            // already gone
          }
        }
      },
      waitFor: (re: RegExp, timeoutMs = 5000) =>
        new Promise<void>((resolve, reject) => {
          const start = Date.now();
          const tick = () => {
            if (re.test(out) || re.test(err)) return resolve();
            if (finished) return reject(new Error(`${command} exited before printing ${re}:\n${err}${out}`));
            if (Date.now() - start > timeoutMs) return reject(new Error(`${command} did not print ${re} within ${timeoutMs} ms:\n${err}${out}`));
            setTimeout(tick, 5);
          };
          tick();
        }),
    };
    this.procs.add(proc);
    void exited.then(() => this.procs.delete(proc));
    return proc;
  }

  /**
   * Starts `tcpdump -i IF -w FILE -U -n --immediate-mode` in the namespace and resolves once it
   * is listening. `stop()` returns the pcap path.
   */
  async capture(ns: string, ifname: string, opts: CaptureOptions = {}): Promise<Capture> {
    const file = join(this.dir, `${ns}_${ifname}_${this.captures.length}.pcap`.replace(/[^\w.-]/g, "_"));
    const args = ["tcpdump", "-i", ifname, "-w", file, "-U", "-n", "--immediate-mode", "-Z", "root"];
    if (opts.promisc === false) args.push("-p");
    if (opts.snaplen) args.push("-s", String(opts.snaplen));
    if (opts.filter) args.push(...words(opts.filter));
    const proc = this.spawn(ns, args);
    await proc.waitFor(/listening on/, 5000);
    let stopped: Promise<string> | undefined;
    const capture: Capture = {
      ns,
      ifname,
      file,
      stop: () => {
        stopped ??= (async () => {
          await settle(file);
          proc.kill("SIGINT");
          const exit = await Promise.race([proc.exited, delay(3000).then(() => undefined)]);
          if (!exit) {
            proc.kill("SIGKILL");
            throw new Error(`${proc.command} did not exit within 3 s of SIGINT`);
          }
          return file;
        })();
        return stopped;
      },
    };
    this.captures.push(capture);
    return capture;
  }

  /** Stops all captures still running; returns their files in start order. */
  async stopCaptures(): Promise<string[]> {
    return Promise.all(this.captures.map((c) => c.stop()));
  }

  /**
   * Sends one ICMP echo request from `ns` to `dst` (socat raw socket; the kernel builds the IP
   * header) and waits for the matching echo reply.
   */
  async ping(ns: string, dst: string, opts: PingOptions = {}): Promise<PingResult> {
    const id = opts.id ?? 0x6b77;
    const seq = opts.seq ?? 1;
    const payload = typeof opts.payload === "string" ? Buffer.from(opts.payload) : (opts.payload ?? Buffer.from("kubewire"));
    const req = icmpEchoRequest(id, seq, payload);
    const tail = req.subarray(4); // id, seq, payload: the same in the reply
    const timeoutMs = opts.timeoutMs ?? 2000;
    const start = Date.now();
    const reply = await this.exchange(ns, ["socat", "-b", "65535", `-T${timeoutMs / 1000}`, "-t", `${timeoutMs / 1000}`, "-", `IP4-DATAGRAM:${dst}:1`], req, timeoutMs, (buf) => {
      for (let i = buf.indexOf(tail); i >= 0; i = buf.indexOf(tail, i + 1)) {
        if (i >= 4 && buf[i - 4] === 0 && buf[i - 3] === 0) return buf.subarray(i - 4, i + tail.length);
      }
      return undefined;
    });
    return { ok: reply.match !== undefined, reply: reply.match, ms: Date.now() - start };
  }

  /** Sends one UDP datagram from `ns` and returns at once (socat UDP4-SENDTO). */
  sendUdp(ns: string, dst: string, port: number, payload: Buffer | string, opts: UdpOptions = {}): void {
    this.exec(ns, ["socat", "-u", "-b", "65535", "-", `UDP4-SENDTO:${dst}:${port}${udpSrcOpts(opts)}`], {
      input: typeof payload === "string" ? Buffer.from(payload) : payload,
    });
  }

  /**
   * Sends one UDP datagram from `ns` on a connected socket and waits for a reply, an ICMP port
   * unreachable (refused), or the timeout.
   */
  async udpRequest(ns: string, dst: string, port: number, payload: Buffer | string, opts: UdpOptions & { timeoutMs?: number } = {}): Promise<UdpRequestResult> {
    const timeoutMs = opts.timeoutMs ?? 2000;
    const start = Date.now();
    const data = typeof payload === "string" ? Buffer.from(payload) : payload;
    if (data.length === 0) throw new Error("udpRequest: empty payload (socat cannot send an empty datagram)");
    const r = await this.exchange(
      ns,
      ["socat", "-b", "65535", `-T${timeoutMs / 1000}`, "-t", `${timeoutMs / 1000}`, "-", `UDP4-CONNECT:${dst}:${port}${udpSrcOpts(opts)}`],
      data,
      timeoutMs,
      (buf) => (buf.length > 0 ? buf : undefined),
    );
    return { reply: r.match, refused: /Connection refused/.test(r.stderr), timedOut: r.timedOut, ms: Date.now() - start };
  }

  /** A UDP echo server on `port` in `ns` (socat), resolved once the socket is bound. */
  async udpEcho(ns: string, port: number): Promise<TwinProcess> {
    const p = this.spawn(ns, ["socat", `UDP4-RECVFROM:${port},reuseaddr,fork`, "PIPE"]);
    const start = Date.now();
    while (!this.run(ns, ["ss", "-Hnul", `sport = :${port}`]).stdout.trim()) {
      if (p.done()) throw new Error(`${p.command} exited: ${p.stderr()}`);
      if (Date.now() - start > 5000) throw new Error(`${p.command} not bound after 5 s`);
      await delay(10);
    }
    return p;
  }

  /** `iptables-restore` inside the namespace. */
  iptablesRestore(ns: string, rules: string, opts: IptablesOptions = {}): void {
    const bin = iptablesBin(opts.backend, "restore");
    this.exec(ns, [bin, ...(opts.noflush ? ["--noflush"] : [])], { input: rules.endsWith("\n") ? rules : `${rules}\n` });
  }

  /** `iptables-save` inside the namespace. */
  iptablesSave(ns: string, opts: IptablesOptions = {}): string {
    return this.exec(ns, [iptablesBin(opts.backend, "save"), ...(opts.table ? ["-t", opts.table] : [])]);
  }

  /**
   * Kills the processes started here, deletes the namespaces (which removes their veths) and the
   * temp files. Synchronous (usable from an exit handler) and idempotent.
   */
  cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    liveTwins.delete(this);
    for (const p of this.procs) p.kill("SIGKILL");
    this.procs.clear();
    const errors: string[] = [];
    if (this.names.size > 0) {
      const lines = [...this.names.values()].map((n) => `netns del ${n}`).join("\n");
      runRaw("ip", ["-force", "-batch", "-"], { input: `${lines}\n`, timeoutMs: 10_000 });
      const left = new Set(listNetns());
      for (const n of this.names.values()) if (left.has(n)) errors.push(n);
    }
    if (!this.keepFiles) rmSync(this.dir, { recursive: true, force: true });
    else if (existsSync(this.dir)) console.warn(`[linux twin] kept files in ${this.dir}`);
    if (errors.length > 0) throw new Error(`linux twin cleanup: namespaces not deleted: ${errors.join(", ")}`);
  }

  private alive(): void {
    if (this.cleaned) throw new Error("this LinuxTwin has been cleaned up; make a new one per test");
  }

  private wrap<T>(ns: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw new Error(`[${ns}] ${(e as Error).message}`);
    }
  }

  /**
   * In one command inside `ns`: `ip ARGS` (when given), then IPv6 off on `ifname` (the namespace
   * default already did it; belt and braces), then `ifname` up (when `up`).
   */
  private newLink(ns: string, ifname: string, ipArgs: string[], up: boolean): void {
    const script =
      'set -e; i=$1; u=$2; shift 2; if [ $# -gt 0 ]; then ip "$@"; fi; ' +
      'f=/proc/sys/net/ipv6/conf/$i/disable_ipv6; if [ -e "$f" ]; then echo 1 > "$f"; fi; ' +
      'if [ "$u" = 1 ]; then ip link set dev "$i" up; fi';
    this.exec(ns, ["sh", "-c", script, "sh", ifname, up ? "1" : "0", ...ipArgs]);
  }

  /**
   * Runs `cmd` with `input` on stdin, accumulating stdout until `match` finds what it waits for
   * (then kills the process) or the timeout passes.
   */
  private async exchange(
    ns: string,
    cmd: string[],
    input: Buffer,
    timeoutMs: number,
    match: (stdout: Buffer) => Buffer | undefined,
  ): Promise<{ match?: Buffer; stderr: string; timedOut: boolean }> {
    this.alive();
    const child = spawnChild("ip", ["netns", "exec", this.real(ns), ...cmd], { stdio: ["pipe", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let stderr = "";
    let found: Buffer | undefined;
    let timedOut = false;
    const entry: TwinProcess = {
      pid: child.pid ?? -1,
      ns,
      command: quote(cmd),
      stdout: () => "",
      stderr: () => stderr,
      exited: Promise.resolve({ code: null, signal: null }),
      done: () => child.exitCode !== null || child.signalCode !== null,
      kill: (s: NodeJS.Signals = "SIGKILL") => {
        child.kill(s);
      },
      waitFor: () => Promise.resolve(),
    };
    this.procs.add(entry);
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, timeoutMs + 500);
      child.stdout.on("data", (d: Buffer) => {
        chunks.push(d);
        if (found === undefined) {
          found = match(Buffer.concat(chunks));
          if (found !== undefined) child.kill("SIGKILL");
        }
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        this.procs.delete(entry);
        resolve({ match: found, stderr, timedOut: timedOut || (found === undefined && code === 0) });
      });
      child.on("error", (e) => {
        stderr += String(e);
      });
      child.stdin.on("error", () => {
        // the process may exit before reading everything
      });
      child.stdin.end(input);
    });
  }
}

function udpSrcOpts(opts: UdpOptions): string {
  return `${opts.srcPort !== undefined ? `,sourceport=${opts.srcPort}` : ""}${opts.srcAddr ? `,bind=${opts.srcAddr}` : ""}`;
}

function iptablesBin(backend: IptablesOptions["backend"], op: "restore" | "save"): string {
  return backend === "nft" ? `iptables-nft-${op}` : backend === "legacy" ? `iptables-legacy-${op}` : `iptables-${op}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits until `file` has not grown for 60 ms (at most 1 s). */
async function settle(file: string): Promise<void> {
  const size = () => {
    try {
      return statSync(file).size;
    } catch {
      return -1;
    }
  };
  let last = size();
  let stableSince = Date.now();
  const start = Date.now();
  while (Date.now() - stableSince < 60 && Date.now() - start < 1000) {
    await delay(15);
    const s = size();
    if (s !== last) {
      last = s;
      stableSince = Date.now();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// vitest glue

/**
 * Inside a describe: a fresh LinuxTwin before each test, cleaned up after each test (also when
 * the test fails). Returns the accessor.
 */
export function useLinuxTwin(opts: LinuxTwinOptions = {}): () => LinuxTwin {
  let twin: LinuxTwin | undefined;
  beforeEach(() => {
    twin = new LinuxTwin(opts);
  });
  afterEach(() => {
    const t = twin;
    twin = undefined;
    t?.cleanup();
  });
  return () => {
    if (!twin) throw new Error("useLinuxTwin(): the twin exists only while a test runs");
    return twin;
  };
}

/** Runs `fn` with a new LinuxTwin and cleans it up afterwards, whether `fn` succeeds or throws. */
export async function withLinuxTwin<T>(fn: (twin: LinuxTwin) => T | Promise<T>, opts: LinuxTwinOptions = {}): Promise<T> {
  const twin = new LinuxTwin(opts);
  try {
    return await fn(twin);
  } finally {
    twin.cleanup();
  }
}

// ---------------------------------------------------------------------------------------------
// Reading pcaps back (tshark; it only reads files here)

function tsharkArgs(file: string, fields: string[], filter?: string): string[] {
  const args = ["-n", "-r", file, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"];
  for (const f of fields) args.push("-e", f);
  if (filter) args.push("-Y", filter);
  return args;
}

function tsharkRows(out: string, fields: string[]): Array<Record<string, string>> {
  return out
    .split("\n")
    .filter((l) => l.length > 0)
    .map((line) => {
      const cols = line.split("\t");
      const row: Record<string, string> = {};
      fields.forEach((f, i) => {
        row[f] = cols[i] ?? "";
      });
      return row;
    });
}

/**
 * `tshark -r FILE -T fields -e F1 -e F2 ...` → one object per frame, keyed by field name
 * (multiple occurrences comma-separated, absent fields ""). `filter` is a display filter (-Y).
 * tshark's root warning on stderr is ignored. tshark takes ~0.6 s to start: read each file once
 * with all the fields needed, and several files with `pcapFieldsAll` (in parallel).
 */
export function pcapFields(file: string, fields: string[], opts: { filter?: string } = {}): Array<Record<string, string>> {
  return tsharkRows(runOk("tshark", tsharkArgs(file, fields, opts.filter), { timeoutMs: 30_000 }), fields);
}

/** `pcapFields` on several files at once (concurrent tshark processes), in order. */
export function pcapFieldsAll(files: string[], fields: string[], opts: { filter?: string } = {}): Promise<Array<Array<Record<string, string>>>> {
  return Promise.all(
    files.map(
      (file) =>
        new Promise<Array<Record<string, string>>>((resolve, reject) => {
          execFile("tshark", tsharkArgs(file, fields, opts.filter), { timeout: 30_000, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
            if (err) reject(new Error(`tshark -r ${file}: ${err.message}\n${stderr}`));
            else resolve(tsharkRows(stdout, fields));
          });
        }),
    ),
  );
}

// ingress-nginx end to end: a laptop outside the cluster → the LoadBalancer address → the NodePort
// on the controller's node → the controller pod (TLS terminated, routed) → a backend pod on the
// other node over VXLAN, HTTP and HTTPS, every hop captured and dissected by tshark. With the
// Decryption Secrets Block tshark shows the HTTP inside TLS; without it, none. TLS randoms come
// from OpenSSL and cannot be seeded: the TLS captures are the one exception to byte-identical
// reruns (frames, sizes and flow are the same; the encrypted bytes are not).

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { INGRESS_NGINX_LB_IP } from "../../src/k8s/ingress/controller.js";
import { httpRequest } from "../../src/k8s/ingress/http-client.js";
import type { EchoResponse } from "../../src/k8s/ingress/http-echo.js";
import { runUntilSettled } from "../../src/net/index.js";
import { tsharkFieldLists, tsharkProblems } from "../helpers/tshark.js";
import { e2e, hopFile } from "./ingress-e2e-helpers.js";
import { SHOP_CERT } from "./ingress-proxy-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "kw-ingress-e2e-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const VXLAN = { decodeAs: ["udp.port==8472,vxlan"] };
const LB = { addr: INGRESS_NGINX_LB_IP, port: 0 };

describe("ingress-nginx end to end", () => {
  it("HTTP: laptop → LoadBalancer → NodePort → controller pod → backend pod on node-2 over VXLAN", async () => {
    const file = join(dir, "http.pcapng");
    const { c, ingress, laptop, cap } = e2e(file);
    const ex = httpRequest(laptop, { url: "http://shop.example.com/cart", connect: { ...LB, port: 80 } });
    await runUntilSettled(c.sim);
    cap.close();
    expect(ex.error).toBeUndefined();
    // Plain HTTP to a host with TLS: ingress-nginx's ssl-redirect answers 308 to https.
    expect(ex.result?.status).toBe(308);
    expect(ex.result?.headers.location).toBe("https://shop.example.com/cart");
    expect(ingress.log.map((l) => l.status)).toEqual([308]);
    expect(tsharkProblems(file, VXLAN)).toEqual([]);
  });

  it("HTTPS with SNI: the Secret's certificate, the request decrypted in the capture at each hop", async () => {
    const file = join(dir, "https.pcapng");
    const { c, ingress, laptop, cap, keylog, clientKeylog } = e2e(file);
    const ex = httpRequest(laptop, { url: "https://shop.example.com/cart?item=1", connect: { ...LB, port: 443 }, ca: SHOP_CERT }, { keylog: clientKeylog });
    await runUntilSettled(c.sim);
    cap.close();
    expect(ex.error).toBeUndefined();
    const r = ex.result!;
    expect(r.status).toBe(200);
    expect(r.tls).toMatchObject({ authorized: true, subject: "shop.example.com", protocol: "TLSv1.3" });
    const e = JSON.parse(r.body) as EchoResponse;
    expect(e.namespace).toBe("shop");
    // externalTrafficPolicy Local: the controller sees the laptop's own address.
    expect(e.headers["X-Forwarded-For"]).toEqual(["192.168.50.100"]);
    expect(e.headers["X-Forwarded-Proto"]).toEqual(["https"]);
    expect(e.headers["X-Forwarded-Port"]).toEqual(["443"]);
    expect(r.headers["strict-transport-security"]).toBe("max-age=31536000; includeSubDomains");
    expect(keylog.some((l) => l.startsWith("CLIENT_TRAFFIC_SECRET_0 "))).toBe(true);
    const backend = c.pod(`shop/${e.pod}`);
    const ctrl = [...ingress.proxies.values()][0].pod;

    // SNI on the wire equals the host.
    const sni = tsharkFieldLists(file, ["tls.handshake.extensions_server_name"], { filter: "tls.handshake.type == 1" });
    expect(sni.map((x) => x["tls.handshake.extensions_server_name"][0])).toContain("shop.example.com");
    // tshark -Y http on the whole capture shows the decrypted request and response.
    const all = tsharkFieldLists(file, ["http.request.uri", "http.response.code"], { ...VXLAN, filter: "http" });
    expect(all.some((h) => h["http.request.uri"][0] === "/cart?item=1")).toBe(true);
    expect(all.some((h) => h["http.response.code"][0] === "200")).toBe(true);
    // Hop by hop (each interface's frames on their own, so one connection's copies are not taken for retransmissions).
    const F = ["ip.src", "ip.dst", "http.request.uri", "http.response.code", "frame.comment"];
    const hop = (iface: string) => tsharkFieldLists(hopFile(file, iface), F, { ...VXLAN, filter: "http" });
    const line = (h: Record<string, string[]>) => `${h["ip.src"].join(",")} > ${h["ip.dst"].join(",")} ${h["http.request.uri"][0] ?? h["http.response.code"][0]}`;
    // The laptop talks to the load balancer's address, through TLS.
    expect(hop("laptop/eth0").map(line)).toEqual([`192.168.50.100 > ${INGRESS_NGINX_LB_IP} /cart?item=1`, `${INGRESS_NGINX_LB_IP} > 192.168.50.100 200`]);
    // In the controller pod: DNATed to its address with the laptop's address kept (externalTrafficPolicy
    // Local: no SNAT); then the proxy's own request to the backend pod, the decision as its comment.
    const inCtrl = hop(`${ctrl.ns.name}/eth0`);
    expect(inCtrl.map(line)).toEqual([
      `192.168.50.100 > ${ctrl.ipString} /cart?item=1`,
      `${ctrl.ipString} > ${backend.ipString} /cart?item=1`,
      `${backend.ipString} > ${ctrl.ipString} 200`,
      `${ctrl.ipString} > 192.168.50.100 200`,
    ]);
    expect(inCtrl[1]["frame.comment"]).toEqual([`Ingress shop/web: host shop.example.com path / (Prefix) → ${backend.ipString}:8080`]);
    // Across the underlay inside VXLAN, and delivered in the backend's pod.
    expect(hop("node-1/eth0").map(line)).toEqual([
      `192.168.50.100 > ${INGRESS_NGINX_LB_IP} /cart?item=1`,
      `192.168.50.11,${ctrl.ipString} > 192.168.50.12,${backend.ipString} /cart?item=1`,
      `192.168.50.12,${backend.ipString} > 192.168.50.11,${ctrl.ipString} 200`,
      `${INGRESS_NGINX_LB_IP} > 192.168.50.100 200`,
    ]);
    expect(hop(`${backend.ns.name}/eth0`).map(line)).toEqual([`${ctrl.ipString} > ${backend.ipString} /cart?item=1`, `${backend.ipString} > ${ctrl.ipString} 200`]);
    expect(tsharkProblems(file, VXLAN)).toEqual([]);
  });

  it("without the Decryption Secrets Block, no HTTP is seen inside TLS", async () => {
    const file = join(dir, "https-nodsb.pcapng");
    const { c, laptop, cap, ingress, keylog, clientKeylog } = e2e(file, { dsb: false });
    const ex = httpRequest(laptop, { url: "https://shop.example.com/", connect: { ...LB, port: 443 }, ca: SHOP_CERT }, { keylog: clientKeylog });
    await runUntilSettled(c.sim);
    cap.close();
    expect(ex.result?.status).toBe(200);
    const ctrl = [...ingress.proxies.values()][0].pod;
    expect(keylog.length).toBeGreaterThan(0);
    // The only HTTP is the proxy's plain upstream leg to port 8080; nothing inside TLS on the laptop's side.
    const http = tsharkFieldLists(file, ["tcp.port"], { ...VXLAN, filter: "http" });
    expect(http.length).toBeGreaterThan(0);
    expect(http.every((h) => h["tcp.port"].includes("8080"))).toBe(true);
    expect(tsharkFieldLists(hopFile(file, "laptop/eth0"), ["frame.number"], { filter: "http" })).toEqual([]);
    expect(tsharkFieldLists(file, ["tls.app_data"], { filter: `tls.app_data && frame.interface_name == "${ctrl.ns.name}/eth0"` }).length).toBeGreaterThan(0);
    expect(tsharkProblems(file, VXLAN)).toEqual([]);
  });

  it("reruns: the HTTP capture is byte-identical; the HTTPS one has the same frames, sizes and flow, not the same bytes", async () => {
    const run = async (name: string, url: string, port: number) => {
      const file = join(dir, name);
      const { c, laptop, cap, clientKeylog } = e2e(file);
      const ex = httpRequest(laptop, { url, connect: { ...LB, port }, insecure: true }, { keylog: clientKeylog });
      await runUntilSettled(c.sim);
      cap.close();
      expect(ex.error).toBeUndefined();
      return file;
    };
    const [h1, h2] = [await run("http-1.pcapng", "http://shop.example.com/", 80), await run("http-2.pcapng", "http://shop.example.com/", 80)];
    expect(readFileSync(h1).equals(readFileSync(h2))).toBe(true);
    // TLS randoms (and so keys and ciphertext) come from OpenSSL and cannot be seeded. With an RSA
    // certificate (the fallback's) the sizes are stable too; an ECDSA signature's DER length varies
    // by a byte or two from run to run, and the handshake's size with it.
    const [s1, s2] = [await run("https-1.pcapng", "https://other.example.com/", 443), await run("https-2.pcapng", "https://other.example.com/", 443)];
    expect(readFileSync(s1).equals(readFileSync(s2))).toBe(false);
    const flow = (f: string) => tsharkFieldLists(f, ["frame.interface_name", "frame.time_epoch", "frame.len", "ip.src", "ip.dst", "tcp.flags"], {}).map((r) => Object.values(r).join(" "));
    expect(flow(s1)).toEqual(flow(s2));
  });
});

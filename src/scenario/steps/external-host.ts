// `external-host: {name, address, routes?}`: a host outside the cluster on the underlay (a
// laptop, a load balancer's client), with eth0 at `address`, a default route via the underlay
// gateway if there is one, and routes of its own in `ip route` words (`203.0.113.10/32 via
// 192.168.50.11`: what a cloud load balancer or a BGP speaker does for a LoadBalancer address).

import { checkName } from "../../k8s/index.js";
import { cidrContains, formatCidr, parseCidr, parseIpv4 } from "../../wire/index.js";
import { code, type Located } from "../model.js";
import { locate } from "./fields.js";
import { defineStep } from "./registry.js";

export interface ExternalHostSpec {
  name: Located<string>;
  address: Located<string>;
  routes: Located<{ dst: string; via: string }>[];
}

const ROUTE = /^(\S+)\s+via\s+(\S+)$/;

export const externalHostStep = defineStep<ExternalHostSpec>({
  type: "external-host",
  synopsis: 'external-host: {name, address, routes?: ["CIDR via IP"]}',
  expects: false,
  timed: false,
  read(body) {
    if (!body.isMap()) return undefined;
    body.known(["name", "address", "routes"]);
    const n = body.get("name");
    const name = n.requiredStr("a host name");
    if (name !== undefined) {
      const problem = checkName(name, "dns1123-label");
      if (problem) n.error(code("invalid-name"), problem.message, { hint: problem.hint });
    }
    const a = body.get("address");
    const address = a.requiredStr("an IPv4 address on the underlay");
    if (address !== undefined) {
      const r = parseIpv4(address);
      if (!r.ok) a.error(code("invalid-ip"), `"${address}" is not an IPv4 address: ${r.error}`);
    }
    const routes: ExternalHostSpec["routes"] = [];
    const r = body.get("routes");
    if (r.present && r.isSeq())
      for (const item of r.items()) {
        const text = item.str();
        const m = text === undefined ? null : ROUTE.exec(text.trim());
        const dst = m ? parseCidr(m[1] === "default" ? "0.0.0.0/0" : m[1], false) : undefined;
        const via = m ? parseIpv4(m[2]) : undefined;
        if (text === undefined) continue;
        if (!m || !dst?.ok || !via?.ok) {
          item.error(code("invalid-value"), `"${text}" is not a route (expected "CIDR via IP", e.g. "203.0.113.10/32 via 192.168.50.11")`, {
            hint: dst && !dst.ok ? dst.error : via && !via.ok ? via.error : undefined,
          });
          continue;
        }
        routes.push(locate(item, { dst: m[1], via: m[2] }));
      }
    if (name === undefined || address === undefined) return undefined;
    return { name: locate(n, name), address: locate(a, address), routes };
  },
  check(s, cx) {
    const c = cx.cluster;
    const addr = parseIpv4(s.address.value);
    if (!addr.ok) return;
    const u = c.config.underlay;
    if (!cidrContains(u.cidr, addr.value)) return cx.error(s.address, "address-outside", `${s.address.value} is outside the underlay ${formatCidr(u.cidr)}`, "external hosts sit on the nodes' underlay: pick a free address in underlay.cidr");
    const taken = [...c.namespaces()].find((ns) => [...ns.devices.values()].some((d) => d.addrs.some((x) => x.addr === addr.value)));
    if (taken) return cx.error(s.address, "duplicate-address", `${s.address.value} is already ${taken.name}'s address`);
    if (c.externals.has(s.name.value) || c.nodes.has(s.name.value) || c.pods.has(`default/${s.name.value}`))
      return cx.error(s.name, "duplicate-value", `"${s.name.value}" is already the name of a host in this scenario`);
    for (const r of s.routes) {
      const via = parseIpv4(r.value.via);
      if (via.ok && !cidrContains(u.cidr, via.value)) cx.error(r, "address-outside", `the next hop ${r.value.via} is not on the underlay ${formatCidr(u.cidr)}`);
    }
    c.addExternalHost(s.name.value, s.address.value);
  },
  title: (s) => `external host ${s.name.value} at ${s.address.value}`,
  run(s, rt) {
    try {
      const ns = rt.cluster.addExternalHost(s.name.value, s.address.value);
      for (const r of s.routes) ns.addRoute({ dst: r.value.dst, via: r.value.via, dev: "eth0" });
    } catch (e) {
      return { pass: false, observed: "not added", why: (e as Error).message };
    }
    rt.captureNewDevices();
    const routes = s.routes.map((r) => `; route ${r.value.dst} via ${r.value.via}`).join("");
    return { pass: true, observed: `${s.name.value}/eth0 ${s.address.value} on the underlay${routes}` };
  },
});

// Hostname matching for the L7 router: the Host header as the proxy sees it, the Ingress rule's
// `*.` wildcard (exactly one DNS label, Kubernetes Ingress docs "Hostname wildcards") and the
// Gateway API's (a suffix match over any number of labels, gateway_types.go Listener.Hostname),
// and the intersection of a listener's hostname with an HTTPRoute's hostnames.

/** The Host header without its port, lower case, without a trailing dot; undefined stays undefined. */
export function normalizeHost(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  let h = host.trim().toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    h = end < 0 ? h : h.slice(0, end + 1);
  } else {
    const colon = h.lastIndexOf(":");
    if (colon >= 0 && /^[0-9]*$/.test(h.slice(colon + 1))) h = h.slice(0, colon);
  }
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

export const isWildcard = (pattern: string): boolean => pattern.startsWith("*.");

/**
 * Ingress: an exact host, or `*.foo.com` matching one label in front of foo.com
 * (`bar.foo.com`, not `baz.bar.foo.com` nor `foo.com`).
 */
export function ingressHostMatches(pattern: string, host: string): boolean {
  if (!isWildcard(pattern)) return pattern === host;
  const suffix = pattern.slice(1); // ".foo.com"
  if (!host.endsWith(suffix)) return false;
  const label = host.slice(0, host.length - suffix.length);
  return label.length > 0 && !label.includes(".");
}

/** Gateway API: an exact hostname, or `*.example.com` matching any host below example.com (any number of labels). */
export function gatewayHostMatches(pattern: string, host: string): boolean {
  if (!isWildcard(pattern)) return pattern === host;
  const suffix = pattern.slice(1);
  return host.length > suffix.length && host.endsWith(suffix);
}

/**
 * The hostnames an HTTPRoute serves on a listener (HTTPRoute spec.hostnames): with no listener
 * hostname, the route's own (or every host); with no route hostnames, the listener's; otherwise
 * each route hostname that matches the listener's, a wildcard narrowed to the listener's
 * hostname when that one is the more specific. Empty: no intersection, the route is not attached.
 * `undefined` in the result stands for "any host".
 */
export function intersectHostnames(listener: string | undefined, route: readonly string[]): (string | undefined)[] {
  if (route.length === 0) return [listener];
  if (listener === undefined) return [...route];
  const out: string[] = [];
  for (const h of route) {
    if (h === listener || gatewayHostMatches(listener, h)) out.push(h);
    else if (gatewayHostMatches(h, listener)) out.push(listener);
  }
  return [...new Set(out)];
}

/**
 * Listener precedence among listeners distinct only by hostname (gateway_types.go): exact before
 * wildcard, more dots right of the wildcard first, the empty hostname last.
 */
export function listenerHostRank(hostname: string | undefined): number {
  if (hostname === undefined) return 0;
  if (!isWildcard(hostname)) return 1_000_000 + hostname.length;
  return 1_000 * (hostname.split(".").length - 1) + hostname.length;
}

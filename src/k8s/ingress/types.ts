// The contract between the L7 routing model (Ingress and Gateway API objects compiled into a
// route table) and the L7 proxy that serves it (node:http and node:tls over emulated TCP). The
// router is pure: it sees a request's listener, host, method, path, query and headers, and says
// where it goes; the proxy owns sockets, TLS, upstream connections and the headers it adds.

/** The port the proxy accepted the request on, as the controller pod sees it. */
export interface L7Listener {
  /** The container port (ingress-nginx: 80 and 443; a Gateway listener: its port). */
  readonly port: number;
  readonly protocol: "HTTP" | "HTTPS";
  /** The Gateway listener's name, when routing for a Gateway. */
  readonly name?: string;
}

/** What the router needs of a request. Header names are lower case. */
export interface L7Request {
  readonly listener: L7Listener;
  /** The Host header (or :authority) without the port, lower case; undefined when absent. */
  readonly host: string | undefined;
  /** The TLS SNI, for HTTPS listeners. */
  readonly sni?: string;
  readonly method: string;
  /** The path as received, without the query string. */
  readonly path: string;
  /** The query string without "?" ("" when none). */
  readonly query: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** "1.0", "1.1" (the default when absent) or "2.0": HTTP/1.1 and later need a Host, HTTP/1.0 may go without. */
  readonly httpVersion?: string;
}

/** A Kubernetes object a decision came from, for notes and warnings. */
export interface L7Source {
  readonly kind: "Ingress" | "HTTPRoute";
  readonly namespace: string;
  readonly name: string;
  /** "host shop.example.com path /cart (Prefix)" or "rule 2 match 0". */
  readonly detail: string;
}

/** One Service port a request may go to; the proxy resolves it to ready endpoints (pod IP:targetPort). */
export interface L7Backend {
  readonly namespace: string;
  readonly service: string;
  /** The Service port: a number, or a port name (Ingress `port.name`). */
  readonly port: number | string;
  /** Relative weight among the decision's backends (Ingress: 1). */
  readonly weight: number;
  /**
   * Set when this backend cannot be used (Gateway API: a backendRef to a missing Service): the
   * share of requests that picks it is answered with this status (500) instead of being proxied.
   */
  readonly failure?: { readonly status: number; readonly reason: string };
}

export type L7Decision =
  /** Proxy to one of the backends, chosen by weight with the proxy's seeded RNG. */
  | {
      readonly kind: "proxy";
      readonly source: L7Source;
      readonly backends: readonly L7Backend[];
      /** Request headers to set or add before proxying (Gateway RequestHeaderModifier), lower-case names. */
      readonly setHeaders?: Readonly<Record<string, string>>;
      /** Request headers to append to (RequestHeaderModifier `add`: after any existing value, comma-separated), lower-case names. */
      readonly addHeaders?: Readonly<Record<string, string>>;
      /** Request headers to remove (RequestHeaderModifier `remove`), lower-case names. */
      readonly removeHeaders?: readonly string[];
    }
  /** 308 (ingress-nginx ssl-redirect) or a Gateway RequestRedirect. */
  | { readonly kind: "redirect"; readonly source: L7Source; readonly status: number; readonly location: string }
  /**
   * Answer without proxying: 404 from the default backend when nothing matched; 503 when the
   * matched Service is missing or has no endpoints (ingress-nginx), 500 for a Gateway rule whose
   * backendRefs are all invalid; 400 for a request the router refuses (no Host on HTTP/1.1).
   */
  | { readonly kind: "respond"; readonly source?: L7Source; readonly status: number; readonly reason: string };

/** A certificate and key (PEM), from a kubernetes.io/tls Secret or the fallback. */
export interface L7Certificate {
  readonly cert: string;
  readonly key: string;
  /** "Secret shop/shop-tls" or "fallback (Kubernetes Ingress Controller Fake Certificate)". */
  readonly origin: string;
}

/** A problem found while compiling the objects: the object still routes what it can. */
export interface L7Warning {
  /** "Ingress shop/web". */
  readonly object: string;
  /** "spec.rules[0].http.paths[1].backend.service.name" */
  readonly field: string;
  readonly message: string;
  /** file:line, when the object came from a manifest file. */
  readonly where?: string;
}

/** A compiled route table for one controller (an IngressClass, or a Gateway). */
export interface L7Router {
  /** The listeners the controller pod opens. */
  readonly listeners: readonly L7Listener[];
  route(req: L7Request): L7Decision;
  /** The certificate to present for an SNI on an HTTPS listener (undefined SNI: the default). */
  certificate(listener: L7Listener, sni: string | undefined): L7Certificate;
  readonly warnings: readonly L7Warning[];
  /** The nginx.conf-style dump (`kubewire dump ingress`): server blocks per host, upstream blocks per backend. */
  describe(endpoints: (b: L7Backend) => readonly string[]): string;
}

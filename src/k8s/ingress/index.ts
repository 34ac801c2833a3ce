// The L7 layer: the routing model behind the ingress controller and the Gateway API gateway
// (Ingress and HTTPRoute objects compiled into route tables, see types.ts for the contract), the
// L7 proxy that serves them, the controllers that run it in their pods, and the HTTP client and
// echo backend that talk to it.

export * from "./conf.js";
export * from "./controller.js";
export * from "./controller-gateway.js";
export { gatewayLabels, INGRESS_NGINX_LABELS } from "./controller-manifest.js";
export * from "./gateway-compile.js";
export * from "./gateway-describe.js";
export * from "./gateway-router.js";
export * from "./gateway-rules.js";
export * from "./hostname.js";
export * from "./http-client.js";
export * from "./http-echo.js";
export * from "./ingress-compile.js";
export * from "./ingress-describe.js";
export * from "./ingress-router.js";
export * from "./path.js";
export * from "./proxy.js";
export * from "./refs.js";
export * from "./tls-fallback.js";
export * from "./types.js";
export * from "./weights.js";

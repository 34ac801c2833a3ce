// The L7 routing model behind the ingress controller and the Gateway API gateway: Ingress and
// HTTPRoute objects compiled into route tables the L7 proxy serves (see types.ts for the contract).

export * from "./conf.js";
export { gatewayLabels, INGRESS_NGINX_LABELS } from "./controller-manifest.js";
export * from "./gateway-compile.js";
export * from "./gateway-describe.js";
export * from "./gateway-router.js";
export * from "./gateway-rules.js";
export * from "./hostname.js";
export * from "./ingress-compile.js";
export * from "./ingress-describe.js";
export * from "./ingress-router.js";
export * from "./path.js";
export * from "./refs.js";
export * from "./types.js";
export * from "./weights.js";

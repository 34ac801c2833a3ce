// biome-ignore-all assist/source/organizeImports: the layers are listed in their order (DESIGN.md).
// kubewire's main export: the public surface of every layer, in layer order. Each layer is also
// importable on its own (kubewire/wire, kubewire/net …), and as a namespace from here (the CLI
// only as one: `cli.main(argv)`).
export * from "./wire/index.js";
export * from "./packet/index.js";
export * from "./capture/index.js";
export * from "./sim/index.js";
export * from "./net/index.js";
export * from "./netfilter/index.js";
export * from "./k8s/index.js";
export * from "./scenario/index.js";
export * as wire from "./wire/index.js";
export * as packet from "./packet/index.js";
export * as capture from "./capture/index.js";
export * as sim from "./sim/index.js";
export * as net from "./net/index.js";
export * as netfilter from "./netfilter/index.js";
export * as k8s from "./k8s/index.js";
export * as scenario from "./scenario/index.js";
export * as cli from "./cli/index.js";

// Names two layers both export: the earlier layer's keeps the plain name, the later one's is
// renamed (and stays reachable under its own namespace: netfilter.TcpState, k8s.ParseResult).
export type { ParseResult } from "./wire/index.js";
export type { TcpSpec } from "./packet/index.js";
export { TcpState } from "./net/index.js";
export { TcpState as ConntrackTcpState } from "./netfilter/index.js";
export type { TcpSpec as TcpMatchSpec } from "./netfilter/index.js";
export type { ParseResult as ManifestParseResult } from "./k8s/index.js";

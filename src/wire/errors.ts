// Typed parse errors for the wire codecs. A failed check returns one of these (never throws);
// the caller maps it to a drop reason and a per-device counter.

export type Layer = "ethernet" | "arp" | "ipv4" | "icmp" | "udp" | "tcp" | "vxlan";

export type WireError =
  /** Fewer bytes than the header or its length field needs. */
  | { kind: "truncated"; layer: Layer; need: number; have: number }
  /** A length field that cannot be true (IHL < 5, UDP length < 8, data offset < 5 …). */
  | { kind: "bad-length"; layer: Layer; field: string; value: number }
  /** A version field other than the one this codec reads (IPv4 version ≠ 4). */
  | { kind: "bad-version"; layer: Layer; value: number }
  /** A checksum that does not verify. */
  | { kind: "bad-checksum"; layer: Layer; value: number }
  /** Well-formed but outside what is modelled (e.g. ARP for a non-IPv4 protocol). */
  | { kind: "unsupported"; layer: Layer; what: string }
  /** Anything else structurally wrong (an option running past the header, a flag that must be set). */
  | { kind: "malformed"; layer: Layer; reason: string };

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: WireError };

export const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });
export const fail = <T = never>(error: WireError): ParseResult<T> => ({ ok: false, error });
export const truncated = (layer: Layer, need: number, have: number): WireError => ({
  kind: "truncated",
  layer,
  need,
  have,
});

/** One line for logs and traces: "ipv4: truncated (need 20, have 13)". */
export function formatWireError(e: WireError): string {
  switch (e.kind) {
    case "truncated":
      return `${e.layer}: truncated (need ${e.need}, have ${e.have})`;
    case "bad-length":
      return `${e.layer}: bad ${e.field} ${e.value}`;
    case "bad-version":
      return `${e.layer}: bad version ${e.value}`;
    case "bad-checksum":
      return `${e.layer}: bad checksum 0x${e.value.toString(16).padStart(4, "0")}`;
    case "unsupported":
      return `${e.layer}: unsupported ${e.what}`;
    case "malformed":
      return `${e.layer}: malformed (${e.reason})`;
  }
}

// The bulk of kube-proxy's nftables table, kept as its parts: one chain per endpoint (hairpin
// masquerade, affinity update, DNAT) and one `numgen … vmap` rule per policy chain. A large table
// has 100k of them; their names and rule texts are made only when something reads them
// (knftablesDump, a test), while `nft list ruleset` writes them straight from the parts.

import type { NftChain, NftRule } from "./nftables.js";
import type { EndpointInfo, ServicePortInfo } from "./servicemap.js";
import { asciiBytes, type TextWriter } from "./textwriter.js";

const ENDPOINT = "endpoint-";
const ENDPOINT_BYTES = asciiBytes(ENDPOINT);

/** An endpoint's chain: `endpoint-BASE`, its rules made from the endpoint when read. */
export class EndpointChain implements NftChain {
  private made: NftRule[] | null = null;
  private fullName: string | null = null;

  constructor(
    /** The name's hashed base ("HASH-ns/svc/proto/port__ip/port"). */
    readonly nameBase: string,
    readonly ep: EndpointInfo,
    /** Its service port: the protocol, and ClientIP affinity (the affinity set is updated before the DNAT). */
    readonly sp: ServicePortInfo,
  ) {}

  get name(): string {
    if (this.fullName === null) this.fullName = ENDPOINT + this.nameBase;
    return this.fullName;
  }

  /** The chain's rules (made on first read; changes to the array are kept and printed). */
  get rules(): NftRule[] {
    if (this.made === null) {
      // Hairpin: traffic that loops back to its originator is masqueraded.
      this.made = [{ rule: `ip saddr ${this.ep.ip} jump mark-for-masquerade` }];
      if (this.sp.clientIPAffinity) this.made.push({ rule: `update @affinity-${this.nameBase} { ip saddr }` });
      this.made.push({ rule: `meta l4proto ${this.sp.proto} dnat to ${this.ep.endpoint}` });
    }
    return this.made;
  }

  /** Its rules as they were made: printable from the parts. */
  get untouched(): boolean {
    return this.made === null;
  }

  /** The chain's name, as written in a listing. */
  writeName(out: TextWriter): void {
    if (this.fullName !== null) out.str(this.fullName);
    else {
      out.bytes(ENDPOINT_BYTES);
      out.str(this.nameBase);
    }
  }
}

const RULE_INDENT = asciiBytes("\t\t");
const HAIRPIN = asciiBytes("\t\tip saddr ");
const MARK_FOR_MASQUERADE = asciiBytes(" jump mark-for-masquerade\n");
const AFFINITY_UPDATE = asciiBytes("\t\tupdate @affinity-");
const FROM_SOURCE = asciiBytes(" { ip saddr }\n");
const L4PROTO = asciiBytes("\t\tmeta l4proto ");
const DNAT_TO = asciiBytes(" dnat to ");
const NUMGEN = asciiBytes("numgen random mod ");
const VMAP_OPEN = asciiBytes(" vmap { ");
const VMAP_CLOSE = asciiBytes(" }");
const ELEMENT_SEP = asciiBytes(", ");
const GOTO = asciiBytes(" : goto ");

/** The rules of an untouched endpoint chain, as `nft list ruleset` prints them (they print as written). */
export function writeEndpointRules(c: EndpointChain, out: TextWriter): void {
  out.bytes(HAIRPIN);
  out.str(c.ep.ip);
  out.bytes(MARK_FOR_MASQUERADE);
  out.lines++;
  if (c.sp.clientIPAffinity) {
    out.bytes(AFFINITY_UPDATE);
    out.str(c.nameBase);
    out.bytes(FROM_SOURCE);
    out.lines++;
  }
  out.bytes(L4PROTO);
  out.str(c.sp.proto);
  out.bytes(DNAT_TO);
  out.str(c.ep.endpoint);
  out.nl();
}

/** writeServiceToEndpointRules' last rule: `numgen random mod N vmap { 0 : goto endpoint-… , … }`, its text made when read. */
export class NumgenVmapRule implements NftRule {
  private text: string | null = null;

  constructor(readonly targets: readonly EndpointChain[]) {}

  get rule(): string {
    if (this.text === null) this.text = `numgen random mod ${this.targets.length} vmap { ${this.targets.map((c, i) => `${i} : goto ${c.name}`).join(" , ")} }`;
    return this.text;
  }

  /** The rule as `nft list ruleset` prints it: the anonymous map's " , " separators become ", ". */
  write(out: TextWriter): void {
    out.bytes(RULE_INDENT);
    out.bytes(NUMGEN);
    out.int(this.targets.length);
    out.bytes(VMAP_OPEN);
    this.targets.forEach((c, i) => {
      if (i > 0) out.bytes(ELEMENT_SEP);
      out.int(i);
      out.bytes(GOTO);
      c.writeName(out);
    });
    out.bytes(VMAP_CLOSE);
    out.nl();
  }
}

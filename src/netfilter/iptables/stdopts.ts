// The standard options of an iptables rule (iptables' opts[] in xshared.c): their spellings, one
// bit each for "multiple -s flags not allowed", and what each takes as its argument.

type StdOption = "src" | "dst" | "proto" | "in" | "out" | "match" | "jump" | "goto" | "frag" | "counters";

const STANDARD: Readonly<Record<string, StdOption>> = {
  "-s": "src",
  "--source": "src",
  "--src": "src",
  "-d": "dst",
  "--destination": "dst",
  "--dst": "dst",
  "-p": "proto",
  "--protocol": "proto",
  "-i": "in",
  "--in-interface": "in",
  "-o": "out",
  "--out-interface": "out",
  "-m": "match",
  "--match": "match",
  "-j": "jump",
  "--jump": "jump",
  "-g": "goto",
  "--goto": "goto",
  "-f": "frag",
  "--fragment": "frag",
  "-c": "counters",
  "--set-counters": "counters",
};

/** Standard options as bits, for "multiple -s flags not allowed". */
export const S_SRC = 1;
export const S_DST = 2;
export const S_PROTO = 4;
export const S_IN = 8;
export const S_OUT = 16;
export const S_MATCH = 32;
export const S_JUMP = 64;
export const S_GOTO = 128;
export const S_FRAG = 256;
export const S_COUNTERS = 512;
const STD_BITS: Readonly<Record<StdOption, number>> = {
  src: S_SRC,
  dst: S_DST,
  proto: S_PROTO,
  in: S_IN,
  out: S_OUT,
  match: S_MATCH,
  jump: S_JUMP,
  goto: S_GOTO,
  frag: S_FRAG,
  counters: S_COUNTERS,
};
export const STD_OPTIONS: ReadonlyMap<string, number> = new Map(Object.entries(STANDARD).map(([k, v]) => [k, STD_BITS[v]]));

/** Per length of a long standard option, a bit per letter at index 2 ("--s…" for --source): most extension options fail this test. */
const LONG_FIRST = new Int32Array(32);
for (const k of STD_OPTIONS.keys()) if (k.length > 2) LONG_FIRST[k.length] |= 1 << (k.charCodeAt(2) & 31);

/**
 * The standard option `tok` (which starts with "-") stands for, as its S_* bit, or 0 when it is
 * not one (an extension's option). Called for every option of every rule a restore reads: the
 * short forms are a switch, the long ones pass a length-and-letter test before the map lookup.
 */
export function stdOption(tok: string): number {
  const n = tok.length;
  if (n === 2)
    switch (tok.charCodeAt(1)) {
      case 115 /* s */:
        return S_SRC;
      case 100 /* d */:
        return S_DST;
      case 112 /* p */:
        return S_PROTO;
      case 105 /* i */:
        return S_IN;
      case 111 /* o */:
        return S_OUT;
      case 109 /* m */:
        return S_MATCH;
      case 106 /* j */:
        return S_JUMP;
      case 103 /* g */:
        return S_GOTO;
      case 102 /* f */:
        return S_FRAG;
      case 99 /* c */:
        return S_COUNTERS;
      default:
        return 0;
    }
  if (n >= 32 || (LONG_FIRST[n] & (1 << (tok.charCodeAt(2) & 31))) === 0) return 0;
  return STD_OPTIONS.get(tok) ?? 0;
}

/** What each standard option's argument is, for "requires an argument". */
export const STD_WHAT: Readonly<Record<number, string>> = {
  [S_SRC]: "an address or network",
  [S_DST]: "an address or network",
  [S_PROTO]: "a protocol",
  [S_IN]: "an interface name",
  [S_OUT]: "an interface name",
  [S_MATCH]: "a match name",
  [S_COUNTERS]: "PKTS BYTES",
  [S_JUMP]: "a target or chain name",
  [S_GOTO]: "a chain name",
};

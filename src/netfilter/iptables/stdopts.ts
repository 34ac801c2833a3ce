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

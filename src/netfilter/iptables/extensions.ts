// The match and target extensions kubewire knows, by the name -m / -j use (libxtables' registry).

import { addrtypeMatch } from "./matches/addrtype.js";
import { commentMatch } from "./matches/comment.js";
import { conntrackMatch } from "./matches/conntrack.js";
import { icmpMatch } from "./matches/icmp.js";
import { markMatch } from "./matches/mark.js";
import { multiportMatch } from "./matches/multiport.js";
import { recentMatch } from "./matches/recent.js";
import { setMatch } from "./matches/set.js";
import { statisticMatch } from "./matches/statistic.js";
import { tcpMatch, udpMatch } from "./matches/tcpudp.js";
import { logTarget } from "./targets/log.js";
import { markTarget } from "./targets/mark.js";
import { dnatTarget, masqueradeTarget, snatTarget } from "./targets/nat.js";
import { rejectTarget } from "./targets/reject.js";
import type { MatchExtension, TargetExtension } from "./xt.js";

export const MATCHES: ReadonlyMap<string, MatchExtension> = new Map(
  [tcpMatch, udpMatch, icmpMatch, multiportMatch, addrtypeMatch, markMatch, conntrackMatch, statisticMatch, commentMatch, recentMatch, setMatch].map((m) => [m.name, m]),
);

export const TARGETS: ReadonlyMap<string, TargetExtension> = new Map(
  [rejectTarget, dnatTarget, snatTarget, masqueradeTarget, markTarget, logTarget].map((t) => [t.name, t]),
);

/** The built-in verdicts of the standard target. */
export const STANDARD_VERDICTS = ["ACCEPT", "DROP", "RETURN"] as const;

/** The match a protocol loads implicitly for its options (`-p tcp --dport 80` → `-m tcp`). */
export const PROTO_MATCH: Readonly<Record<number, string>> = { 6: "tcp", 17: "udp", 1: "icmp" };

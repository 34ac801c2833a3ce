// The interface an upper-layer protocol (ICMP, UDP, TCP) registers with a namespace
// (struct net_protocol): it receives locally delivered packets.

import type { Packet } from "../../packet/index.js";
import type { NetDevice } from "./device.js";
import type { NetNamespace } from "./netns.js";

/**
 * Handles a locally delivered packet: pkt.l3 is the IPv4 header, pkt.l4 the transport header,
 * pkt.tail the end of the IP datagram. Takes ownership of pkt.
 */
export type ProtoHandler = (ns: NetNamespace, dev: NetDevice, pkt: Packet) => void;

/** Handles an ICMP error quoting a packet of this protocol: `quoted` is the offset of the quoted IPv4 header. */
export type ProtoErrHandler = (ns: NetNamespace, pkt: Packet, quoted: number, type: number, code: number, info: number) => void;

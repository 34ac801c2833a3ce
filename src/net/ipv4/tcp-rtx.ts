// The retransmission queue of a TCP socket (tcp_rtx_queue) as a ring of the transmitted segments
// not yet acknowledged: [seq, seq+len), when each was sent, its flags; the lost ones marked for
// retransmission. TcpSock extends it.

/** Transmitted segments [seq, seq+len) not yet acknowledged, oldest first, in typed arrays. */
export class TcpRtxRing {
  // The ring starts small (a handshake and a short exchange fit) and doubles: a typed array is
  // costly to create, and connection set-up rates depend on it.
  txCap = 8;
  txSeq = new Uint32Array(8);
  txLen = new Int32Array(8);
  txTime = new Float64Array(8);
  txFlags = new Uint8Array(8);
  txHead = 0;
  txCount = 0;
  /** Ring entries [rtxNext, lostEnd) (relative to the head) are lost and await retransmission. */
  lostEnd = 0;
  rtxNext = 0;

  /** Packets in flight (tcp_packets_in_flight): sent, not acknowledged, not marked lost. */
  get packetsInFlight(): number {
    return this.txCount - (this.lostEnd - this.rtxNext);
  }

  /** Appends a transmitted segment to the retransmission ring. */
  txPush(seq: number, len: number, flags: number, now: number): void {
    if (this.txCount === this.txCap) this.txGrow();
    const i = (this.txHead + this.txCount) & (this.txCap - 1);
    this.txSeq[i] = seq;
    this.txLen[i] = len;
    this.txTime[i] = now;
    this.txFlags[i] = flags;
    this.txCount++;
  }

  /** Ring index of the k-th unacknowledged segment. */
  txAt(k: number): number {
    return (this.txHead + k) & (this.txCap - 1);
  }

  /** Drops the head segment (fully acknowledged). */
  txShift(): void {
    this.txHead = (this.txHead + 1) & (this.txCap - 1);
    this.txCount--;
    if (this.lostEnd > 0) this.lostEnd--;
    if (this.rtxNext > 0) this.rtxNext--;
  }

  private txGrow(): void {
    const cap = this.txCap * 2;
    const seq = new Uint32Array(cap);
    const len = new Int32Array(cap);
    const time = new Float64Array(cap);
    const flags = new Uint8Array(cap);
    for (let k = 0; k < this.txCount; k++) {
      const i = this.txAt(k);
      seq[k] = this.txSeq[i];
      len[k] = this.txLen[i];
      time[k] = this.txTime[i];
      flags[k] = this.txFlags[i];
    }
    this.txSeq = seq;
    this.txLen = len;
    this.txTime = time;
    this.txFlags = flags;
    this.txCap = cap;
    this.txHead = 0;
  }
}

// Packet: a reusable descriptor over one buffer with headroom, like a kernel sk_buff. A frame is
// born in one buffer and stays there until it is delivered or dropped: encapsulation push()es a
// header into headroom, decapsulation pull()s one off; nothing is copied per hop.

/** Headroom reserved in front of a new frame: room for outer Ethernet+IPv4+UDP+VXLAN twice over. */
export const DEFAULT_HEADROOM = 128;
/** Buffer size of a pooled packet: headroom plus a 1514-byte frame fits, with tailroom to spare. */
export const POOL_BUFFER_SIZE = 2048;

export class Packet {
  /** The whole backing buffer; valid bytes are buf[head, tail). */
  readonly buf: Buffer;
  /** Offset of the first byte of the frame (the outermost header). */
  head = 0;
  /** Offset one past the last byte of the frame. */
  tail = 0;
  /** Offset of the network header (IPv4/ARP) once known, else -1 (skb->network_header). */
  l3 = -1;
  /** Offset of the transport header once known, else -1 (skb->transport_header). */
  l4 = -1;
  /** Interface index the frame arrived on (0 = locally generated). */
  iif = 0;
  /** Ingress device, opaque at this layer (the net layer stores its Device here). */
  dev: unknown = null;
  /** Netfilter mark (skb->mark). */
  mark = 0;
  /** Conntrack entry slot (-1 = none) and ctinfo, set by the conntrack hook. */
  ct = -1;
  ctinfo = 0;
  /** Virtual time the frame was received or created, in nanoseconds. */
  tstamp = 0;
  /**
   * Flow hash (skb->hash), its 32 bits as a signed integer; 0 = not computed. vxlanEncap computes
   * it when 0 and keeps it here, as skb_get_hash does; vxlanDecap clears it for the inner frame.
   */
  hash = 0;
  /** Trace notes gathered on the way (a pcapng comment); null when tracing is off. */
  notes: string[] | null = null;
  /** The pool this descriptor returns to on free(), or null for a one-off. */
  pool: PacketPool | null = null;

  /**
   * A DataView over the same bytes, made once with the buffer: 16/32-bit big-endian field writes
   * through it cost one call instead of two byte stores (the VXLAN hot path uses it).
   */
  readonly view: DataView;
  /**
   * The same bytes as host-order 32-bit words when the buffer starts 4-aligned (pooled buffers do),
   * else empty: vxlanEncap writes its template with aligned word stores where the head allows.
   */
  readonly words: Int32Array;

  constructor(buf: Buffer) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.words = (buf.byteOffset & 3) === 0 ? new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2) : new Int32Array(0);
  }

  /** Length of the frame in bytes. */
  get length(): number {
    return this.tail - this.head;
  }

  get headroom(): number {
    return this.head;
  }

  get tailroom(): number {
    return this.buf.length - this.tail;
  }

  /** Prepends n bytes and returns the new head offset. Past the headroom is a programmer error. */
  push(n: number): number {
    if (n > this.head) throw new RangeError(`Packet.push(${n}): only ${this.head} bytes of headroom`);
    this.head -= n;
    return this.head;
  }

  /** Strips n bytes from the front and returns the new head offset. */
  pull(n: number): number {
    if (n > this.tail - this.head) throw new RangeError(`Packet.pull(${n}): frame is ${this.tail - this.head} bytes`);
    this.head += n;
    return this.head;
  }

  /** Appends n bytes at the tail and returns the offset where they start. */
  put(n: number): number {
    if (n > this.buf.length - this.tail)
      throw new RangeError(`Packet.put(${n}): only ${this.buf.length - this.tail} bytes of tailroom`);
    const at = this.tail;
    this.tail += n;
    return at;
  }

  /** Cuts the frame to n bytes (e.g. to the IPv4 total length, dropping Ethernet padding). */
  trim(n: number): void {
    if (n < this.tail - this.head) this.tail = this.head + n;
  }

  /** A view of the frame's bytes. Allocates a view: for the cold path (capture, tests, printing). */
  bytes(): Buffer {
    return this.buf.subarray(this.head, this.tail);
  }

  /** Resets the descriptor for reuse with `headroom` bytes in front and an empty frame. */
  reset(headroom = DEFAULT_HEADROOM): this {
    this.head = this.tail = headroom;
    this.l3 = this.l4 = -1;
    this.iif = 0;
    this.dev = null;
    this.mark = 0;
    this.ct = -1;
    this.ctinfo = 0;
    this.tstamp = 0;
    this.hash = 0;
    this.notes = null;
    return this;
  }

  /** A copy of this packet (bytes and metadata) from the same pool, for flooding and duplication. */
  clone(): Packet {
    const p = this.pool ? this.pool.alloc(this.head) : new Packet(Buffer.allocUnsafe(this.buf.length)).reset(this.head);
    this.buf.copy(p.buf, this.head, this.head, this.tail);
    p.tail = this.tail;
    p.l3 = this.l3;
    p.l4 = this.l4;
    p.iif = this.iif;
    p.dev = this.dev;
    p.mark = this.mark;
    p.ct = this.ct;
    p.ctinfo = this.ctinfo;
    p.tstamp = this.tstamp;
    p.hash = this.hash;
    p.notes = this.notes ? this.notes.slice() : null;
    return p;
  }

  /** Returns the descriptor and its buffer to the pool. The packet must not be used afterwards. */
  free(): void {
    this.pool?.release(this);
  }

  /** Wraps existing bytes (a frame read from a capture, a test vector) with headroom in front. */
  static from(bytes: Uint8Array, headroom = DEFAULT_HEADROOM): Packet {
    const size = Math.max(POOL_BUFFER_SIZE, headroom + bytes.length);
    const p = new Packet(Buffer.allocUnsafe(size)).reset(headroom);
    p.buf.set(bytes, headroom);
    p.tail = headroom + bytes.length;
    return p;
  }
}

/**
 * A free list of packets with POOL_BUFFER_SIZE buffers. alloc() reuses a freed packet when one is
 * there; frames larger than the pooled size get a one-off buffer that is not pooled.
 */
export class PacketPool {
  private readonly free: Packet[] = [];
  /** Packets handed out and not yet released (for leak checks in tests). */
  outstanding = 0;

  constructor(
    readonly bufferSize = POOL_BUFFER_SIZE,
    readonly maxFree = 4096,
  ) {}

  /** A packet with `headroom` bytes in front and room for at least `size` bytes of frame. */
  alloc(headroom = DEFAULT_HEADROOM, size = 0): Packet {
    this.outstanding++;
    if (headroom + size > this.bufferSize) {
      const p = new Packet(Buffer.allocUnsafe(headroom + size));
      p.pool = this;
      return p.reset(headroom);
    }
    const p = this.free.pop() ?? new Packet(Buffer.allocUnsafe(this.bufferSize));
    p.pool = this;
    return p.reset(headroom);
  }

  release(p: Packet): void {
    this.outstanding--;
    if (p.buf.length === this.bufferSize && this.free.length < this.maxFree) this.free.push(p);
  }
}

/** The process-wide default pool. */
export const defaultPool = new PacketPool();

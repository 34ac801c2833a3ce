// The staging buffer behind the pcap and pcapng writers: whole blocks are encoded into one
// moderate buffer that goes to a file descriptor (writeSync) or a sink when full and on close().
import { closeSync, openSync, writeSync } from "node:fs";

/** Anything with a write(bytes): an in-memory collector in tests, a Node stream later. */
export interface ByteSink {
  /**
   * Receives a chunk the sink may keep: the writer never reuses a chunk it has handed over.
   * The return value is ignored (no backpressure: a stream sink buffers what it is given).
   */
  write(chunk: Uint8Array): unknown;
  /** Called once by the writer's close(), if present (a Node Writable ends). */
  end?(): unknown;
}

/** Where a capture goes: a file path (created or truncated), an open file descriptor, or a sink. */
export type CaptureTarget = string | number | ByteSink;

export interface WriterOptions {
  /** Size of the staging buffer in bytes; default 64 KiB. A bigger block is staged on its own. */
  bufferSize?: number;
  /** With a file descriptor target: close it on close() (default false: the caller owns it). */
  closeFd?: boolean;
}

/** A frame in a buffer with its bounds and virtual time (structurally, a Packet). */
export interface CapturableFrame {
  readonly buf: Uint8Array;
  readonly head: number;
  readonly tail: number;
  /** Virtual time in nanoseconds. */
  readonly tstamp: number | bigint;
  /** Trace notes; written as packet comments where the format has them (pcapng). */
  readonly notes?: readonly string[] | null;
}

export const DEFAULT_BUFFER_SIZE = 64 * 1024;

/** Collects everything written into memory; for tests and small captures. */
export class MemorySink implements ByteSink {
  readonly chunks: Uint8Array[] = [];
  ended = false;
  write(chunk: Uint8Array): void {
    this.chunks.push(chunk);
  }
  end(): void {
    this.ended = true;
  }
  /** All bytes written so far, as one Buffer. */
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export abstract class StagedWriter {
  /** The staging buffer; blocks are encoded at buf[pos…]. */
  protected buf: Buffer;
  protected view: DataView;
  protected pos = 0;
  private readonly capacity: number;
  private fd = -1;
  private readonly ownsFd: boolean;
  private readonly sink: ByteSink | null = null;
  private flushed = 0;
  private closed = false;

  constructor(target: CaptureTarget, opts: WriterOptions = {}) {
    this.capacity = Math.max(opts.bufferSize ?? DEFAULT_BUFFER_SIZE, 256);
    this.buf = Buffer.allocUnsafe(this.capacity);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    if (typeof target === "string") {
      this.fd = openSync(target, "w");
      this.ownsFd = true;
    } else if (typeof target === "number") {
      this.fd = target;
      this.ownsFd = opts.closeFd === true;
    } else {
      this.sink = target;
      this.ownsFd = false;
    }
  }

  /** Bytes handed to the file or sink plus bytes staged: the size the capture will have. */
  get bytesWritten(): number {
    return this.flushed + this.pos;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Makes room for a block of n bytes at buf[pos]. Flushes when it does not fit; a block bigger
   * than the buffer gets a buffer of its own until the next flush, so blocks are never split.
   */
  protected reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.closed) throw new Error("capture writer: write after close()");
    this.flush();
    if (n > this.buf.length) this.setBuffer(Buffer.allocUnsafe(n));
  }

  /** Stages a block encoded elsewhere (the cold blocks: SHB, IDB, DSB, file header). */
  protected stageBlock(block: Uint8Array): void {
    this.reserve(block.length);
    this.buf.set(block, this.pos);
    this.pos += block.length;
  }

  /** Hands the staged blocks to the file or sink. */
  flush(): void {
    const n = this.pos;
    if (n === 0) return;
    if (this.sink) {
      // A copy: the sink may keep the chunk (a stream queues it) and the buffer is reused.
      const chunk = Buffer.allocUnsafe(n);
      this.buf.copy(chunk, 0, 0, n);
      this.sink.write(chunk);
    } else {
      let off = 0;
      while (off < n) off += writeSync(this.fd, this.buf, off, n - off);
    }
    this.flushed += n;
    this.pos = 0;
    if (this.buf.length > this.capacity) this.setBuffer(Buffer.allocUnsafe(this.capacity));
  }

  /** Flushes and releases the file (or ends the sink). Idempotent. */
  close(): void {
    if (this.closed) return;
    try {
      this.flush();
    } finally {
      this.closed = true;
      // An empty buffer sends every later write to reserve()'s slow path, which refuses it.
      this.setBuffer(Buffer.alloc(0));
      if (this.sink) this.sink.end?.();
      else if (this.ownsFd) closeSync(this.fd);
      this.fd = -1;
    }
  }

  private setBuffer(b: Buffer): void {
    this.buf = b;
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
}

// A text built line by line, joined as it grows: every few thousand lines become one flat string
// while they are still young, so a sync of 400k lines neither keeps 400k small strings alive
// until the end nor flattens them all in one final join (what dominated kube-proxy's write).

/** Lines per chunk: a chunk of ~300 KB goes straight to V8's large-object space, never copied. */
const CHUNK = 4096;

export class LineBuffer {
  private readonly chunks: string[] = [];
  private readonly pending: string[] = [];
  private count = 0;

  push(line: string): void {
    this.pending.push(line);
    this.count++;
    if (this.pending.length === CHUNK) {
      this.chunks.push(this.pending.join("\n"));
      this.pending.length = 0;
    }
  }

  /** The number of lines pushed. */
  get length(): number {
    return this.count;
  }

  /** Appends the text's chunks to `out`, for one join of several buffers (an empty buffer adds ""). */
  appendTo(out: string[]): void {
    if (this.pending.length > 0) {
      this.chunks.push(this.pending.join("\n"));
      this.pending.length = 0;
    }
    if (this.chunks.length === 0) out.push("");
    else for (const c of this.chunks) out.push(c);
  }

  /** The lines joined by "\n" (no trailing newline). */
  text(): string {
    if (this.pending.length > 0) {
      this.chunks.push(this.pending.join("\n"));
      this.pending.length = 0;
    }
    return this.chunks.length === 1 ? this.chunks[0] : this.chunks.join("\n");
  }
}

// The progress bar: drawn on a terminal once a run takes a while, erased at the end; never in a pipe.
import { afterEach, describe, expect, it, vi } from "vitest";
import { Progress } from "../../src/cli/progress.js";

function io(tty: boolean) {
  const written: string[] = [];
  return { written, io: { out: (s: string) => void written.push(s), err: () => {}, tty } };
}

afterEach(() => vi.restoreAllMocks());

describe("progress", () => {
  it("draws on a terminal after a moment, in place, and erases itself", () => {
    const t = io(true);
    const now = vi.spyOn(Date, "now").mockReturnValue(1000);
    const p = new Progress(t.io, true);
    p.update(0, 4, "first");
    expect(t.written).toEqual([]);
    now.mockReturnValue(2000);
    p.update(2, 4, "third step");
    expect(t.written).toEqual([`\r\x1b[2K[${"#".repeat(12)}${".".repeat(12)}] 2/4 third step`]);
    p.clear();
    expect(t.written.at(-1)).toBe("\r\x1b[2K");
  });

  it("stays silent when stdout is not a terminal, or when quiet", () => {
    vi.spyOn(Date, "now").mockReturnValueOnce(0).mockReturnValue(10_000);
    const pipe = io(false);
    new Progress(pipe.io, true).update(1, 2, "x");
    const quiet = io(true);
    new Progress(quiet.io, false).update(1, 2, "x");
    expect([...pipe.written, ...quiet.written]).toEqual([]);
  });
});

// kubewire as a user runs it: a child process (through tsx, so no build is needed).
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tsharkProblems } from "../helpers/tshark.js";
import { cliProcess } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "kw-proc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("kubewire run as a child process", () => {
  it("exits 0 and writes the capture, which tshark reads cleanly and which equals pcaps/", () => {
    const r = cliProcess("run", "examples/05-vxlan/scenario.yaml", "--out", dir, "--trace");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^vxlan: 3 steps, 3 passed$/m);
    const file = join(dir, "vxlan.pcapng");
    expect(existsSync(join(dir, "vxlan.trace.txt"))).toBe(true);
    expect(readFileSync(file).equals(readFileSync("pcaps/vxlan.pcapng"))).toBe(true);
    expect(tsharkProblems(file, { decodeAs: ["udp.port==8472,vxlan"] })).toEqual([]);
  });

  it("exits 2 on a bad scenario, the error on stderr", () => {
    const r = cliProcess("run", join(dir, "missing.yaml"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("missing.yaml: no such file or folder");
  });
});

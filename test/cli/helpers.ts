// Running the CLI in tests: in-process through main() with captured output, or as a child process
// through tsx (no build needed), as a user would run it.
import { spawnSync } from "node:child_process";
import { main } from "../../src/cli/index.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `kubewire …` in-process through main() (asynchronous: a run's http steps use Node's queues). */
export async function cli(...argv: string[]): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { out: (s) => void (stdout += s), err: (s) => void (stderr += s), tty: false });
  return { code, stdout, stderr };
}

/** `npx tsx src/cli/main.ts …` in a child process. */
export function cliProcess(...argv: string[]): CliResult {
  const r = spawnSync("npx", ["tsx", "src/cli/main.ts", ...argv], { encoding: "utf8", timeout: 120_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

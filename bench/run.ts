// `npm run bench` runs every bench/*.bench.ts in sequence; `npm run bench -- wire` picks the
// files (or the suites inside them) whose name contains one of the arguments.

import { readdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
const filters = process.argv.slice(2).filter((a) => a !== "--");
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts"))
  .sort();

for (const f of files) {
  const name = f.slice(0, -".bench.ts".length);
  const mod = (await import(pathToFileURL(dir + f).href)) as { default?: (filters: string[]) => Promise<void> };
  if (typeof mod.default !== "function") {
    console.warn(`${f}: no default export run(filters); skipped`);
    continue;
  }
  // A file named by a filter runs whole; otherwise the filters choose suites inside it.
  await mod.default(filters.length === 0 || filters.includes(name) ? [] : filters);
}

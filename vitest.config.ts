import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // One worker more than cores: the Linux twin tests spend much of their time waiting on tcpdump,
    // ip and python in their namespaces (on 2 cores, 3 workers took the suite from 280 s to 217 s; 4 were slower).
    maxWorkers: Math.max(3, availableParallelism()),
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file gets its own databases; two workers suit the 2-core machines.
    pool: 'forks',
    maxWorkers: 2,
    // Reuse each worker across files: loading Kysely and the services once per worker,
    // not once per file. Files share no state but their own databases.
    isolate: false,
  },
});

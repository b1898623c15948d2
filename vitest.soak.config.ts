import { defineConfig } from 'vitest/config';

/** `npm run soak`: the history run for longer (SOAK_SECONDS, default 300), before releases. */
export default defineConfig({
  test: {
    include: ['test/history/**/*.soak.ts'],
    testTimeout: 3_600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
    // The run's temp area (TMPDIR): its teardown removes every temp file of the run.
    globalSetup: ['test/support/temp-global-setup.ts'],
  },
});

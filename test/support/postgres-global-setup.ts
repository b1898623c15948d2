import type { TestProject } from 'vitest/node';
import { startLocalPostgres, type LocalPostgres } from './embedded-postgres.js';

declare module 'vitest' {
  interface ProvidedContext {
    /** A PostgreSQL server URL whose user may create databases: DATABASE_URL, or the embedded one. */
    postgresAdminUrl: string;
  }
}

let local: LocalPostgres | null = null;

/**
 * One PostgreSQL for the whole run: DATABASE_URL when set (its user needs CREATEDB), otherwise
 * an embedded-postgres cluster started here and removed at the end. Test files each create a
 * fresh database on it (test/support/postgres.ts).
 */
export async function setup(project: TestProject): Promise<void> {
  const external = process.env.DATABASE_URL;
  if (external) {
    project.provide('postgresAdminUrl', external);
    return;
  }
  local = await startLocalPostgres('stacklock-test-pg');
  project.provide('postgresAdminUrl', local.url);
}

export async function teardown(): Promise<void> {
  await local?.destroy();
  local = null;
}

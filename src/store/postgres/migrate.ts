import type pg from 'pg';
import { withClient } from './pool.js';
import { MIGRATIONS } from './migrations/index.js';

/** Any fixed number: every stacklock replica takes this advisory lock around its migrations. */
const MIGRATION_LOCK = 7_318_420_017;

/**
 * Applies the numbered migrations not yet applied, each in its own transaction, while holding a
 * session advisory lock: replicas starting at once queue here, and each one that gets the lock
 * after the first finds everything applied. Safe to run at every start.
 */
export async function applyMigrations(pool: pg.Pool): Promise<void> {
  // A connection that failed here is dropped: it may still hold the advisory lock or a transaction.
  await withClient(pool, (client) => migrateOn(client), () => true);
}

async function migrateOn(client: pg.PoolClient): Promise<void> {
  // Waiting for another replica's migrations, or building an index on a large table, may take
  // longer than the pool's statement timeout: none here, until this is done.
  await client.query('SET statement_timeout = 0');
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      const applied = new Set(rows.map((r) => r.version));
      // In version order whatever the order of the list: numbers are reserved per issue, gaps are fine.
      for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
        if (applied.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    await client.query('RESET statement_timeout');
  }
}

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import type { BackendHarness } from './lock-store-suite.js';

/** A SQLite file in a temp dir of its own; `reopen` opens the same file again (a restart). */
export function sqliteHarness(prefix: string): BackendHarness {
  const dir = tempDir(prefix);
  const open = async () => {
    const store = new SqliteStore({ path: join(dir, 'stacklock.db') });
    await store.migrate();
    return store;
  };
  return {
    open,
    reopen: open,
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A database of its own on the test PostgreSQL; `reopen` is another replica on the same database. */
export function postgresHarness(): BackendHarness {
  let db: TestDatabase | null = null;
  const open = async () => {
    db ??= await createTestDatabase();
    const store = new PostgresStore({ connectionString: db.url });
    await store.migrate();
    return store;
  };
  return {
    open,
    reopen: open,
    async cleanup() {
      await db?.drop();
    },
  };
}

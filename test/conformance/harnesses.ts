import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import type { Store } from '../../src/core/ports/store.js';
import type { BackendHarness } from './lock-store-suite.js';

/** `create` makes a store on the harness's database; open and reopen both migrate one. */
function harness(create: () => Promise<Store>, cleanup: () => Promise<void>): BackendHarness {
  const open = async () => {
    const store = await create();
    await store.migrate();
    return store;
  };
  return { open, reopen: open, cleanup };
}

/** A SQLite file in a temp dir of its own; `reopen` opens the same file again (a restart). */
export function sqliteHarness(prefix: string): BackendHarness {
  const dir = tempDir(prefix);
  return harness(
    async () => new SqliteStore({ path: join(dir, 'stacklock.db') }),
    async () => rmSync(dir, { recursive: true, force: true }),
  );
}

/** A database of its own on the test PostgreSQL; `reopen` is another replica on the same database. */
export function postgresHarness(): BackendHarness {
  let db: TestDatabase | null = null;
  return harness(
    async () => new PostgresStore({ connectionString: (db ??= await createTestDatabase()).url }),
    async () => {
      await db?.drop();
    },
  );
}

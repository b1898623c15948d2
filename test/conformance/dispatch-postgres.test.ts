import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { dispatchStoreConformance } from './dispatch-store-suite.js';

let db: TestDatabase | null = null;

async function open(): Promise<PostgresStore> {
  db ??= await createTestDatabase();
  const store = new PostgresStore({ connectionString: db.url });
  await store.migrate();
  return store;
}

dispatchStoreConformance('postgres', {
  open,
  reopen: open,
  async cleanup() {
    await db?.drop();
  },
});

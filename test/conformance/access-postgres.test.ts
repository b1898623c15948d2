import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { accessStoreConformance } from './access-store-suite.js';

let db: TestDatabase | null = null;

accessStoreConformance('postgres', {
  async open() {
    db = await createTestDatabase();
    const store = new PostgresStore({ connectionString: db.url });
    await store.migrate();
    return store;
  },
  async cleanup() {
    await db?.drop();
  },
});

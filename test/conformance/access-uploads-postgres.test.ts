import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { accessStoreConformance, type StoreHarness } from './access-store-suite.js';
import { atmosUploadConformance } from './atmos-upload-suite.js';
import { dashboardSessionConformance } from './dashboard-session-suite.js';

let db: TestDatabase | null = null;

const harness: StoreHarness = {
  async open() {
    db = await createTestDatabase();
    const store = new PostgresStore({ connectionString: db.url });
    await store.migrate();
    return store;
  },
  async cleanup() {
    await db?.drop();
  },
};

accessStoreConformance('postgres', harness);
atmosUploadConformance('postgres', harness);
dashboardSessionConformance('postgres', harness);

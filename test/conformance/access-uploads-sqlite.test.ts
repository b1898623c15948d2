import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../support/app.js';
import { accessStoreConformance, type StoreHarness } from './access-store-suite.js';
import { atmosUploadConformance } from './atmos-upload-suite.js';
import { dashboardSessionConformance } from './dashboard-session-suite.js';

const dir = tempDir('stacklock-access-');

const harness: StoreHarness = {
  async open() {
    const store = new SqliteStore({ path: join(dir, 'stacklock.db') });
    await store.migrate();
    return store;
  },
  async cleanup() {
    rmSync(dir, { recursive: true, force: true });
  },
};

accessStoreConformance('sqlite', harness);
atmosUploadConformance('sqlite', harness);
dashboardSessionConformance('sqlite', harness);

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../support/app.js';
import { accessStoreConformance } from './access-store-suite.js';

const dir = tempDir('stacklock-access-');

accessStoreConformance('sqlite', {
  async open() {
    const store = new SqliteStore({ path: join(dir, 'stacklock.db') });
    await store.migrate();
    return store;
  },
  async cleanup() {
    rmSync(dir, { recursive: true, force: true });
  },
});

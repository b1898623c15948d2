import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../support/app.js';
import { leaseStoreConformance } from './lease-store-suite.js';

const dir = tempDir('stacklock-lease-conformance-');
const path = join(dir, 'stacklock.db');

leaseStoreConformance('sqlite', {
  async open() {
    const store = new SqliteStore({ path });
    await store.migrate();
    return store;
  },
  async reopen() {
    const store = new SqliteStore({ path });
    await store.migrate();
    return store;
  },
  async cleanup() {
    rmSync(dir, { recursive: true, force: true });
  },
});

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../support/app.js';
import { lockStoreConformance } from './lock-store-suite.js';

const dir = tempDir('stacklock-conformance-');
const path = join(dir, 'stacklock.db');

const harness = {
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
};

lockStoreConformance('sqlite', harness);

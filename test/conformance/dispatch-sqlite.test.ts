import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../support/app.js';
import { dispatchStoreConformance } from './dispatch-store-suite.js';

const dir = tempDir('stacklock-dispatch-');
const open = async () => {
  const store = new SqliteStore({ path: join(dir, 'stacklock.db') });
  await store.migrate();
  return store;
};

dispatchStoreConformance('sqlite', {
  open,
  reopen: open,
  async cleanup() {
    rmSync(dir, { recursive: true, force: true });
  },
});

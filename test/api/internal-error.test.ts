import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { makeTestApp, tempDir, type TestApp } from '../support/app.js';

describe('an unexpected failure', () => {
  let t: TestApp;
  beforeAll(async () => {
    const real = new SqliteStore({ path: join(tempDir(), 's.db') });
    // A store whose acquire fails the way a full disk would.
    const broken = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === 'acquire') return async () => Promise.reject(new Error('SQLITE_FULL: database or disk is full\n    at secret/path.js:1'));
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    t = await makeTestApp({ store: broken });
  });
  afterAll(async () => t.close());

  it('is a 500 in the envelope with a traceId, and no internals', async () => {
    const r = await t.call({ method: 'POST', url: '/api/v1/locks', payload: { key: 'k', ttlMs: 5000 } });
    expect(r.statusCode).toBe(500);
    const body = r.json();
    expect(body).toMatchObject({ success: false, status: 500, errorTag: 'Internal' });
    expect(body.errorMessage).toContain('traceId');
    expect(r.body).not.toContain('SQLITE_FULL');
    expect(r.body).not.toContain('secret/path');
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../support/app.js';

function value(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : NaN;
}

describe('store commit metrics', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeTestApp();
  });
  afterEach(async () => t.close());

  it('count durable commits and the writes they carried (SQLite group commit)', async () => {
    const before = (await t.call({ method: 'GET', url: '/metrics', token: null })).body;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => t.call({ method: 'POST', url: '/api/v1/locks', payload: { key: `m/${i}`, ttlMs: 60_000 } })),
    );
    expect(results.map((r) => r.statusCode)).toEqual(Array(20).fill(201));
    const after = (await t.call({ method: 'GET', url: '/metrics', token: null })).body;
    const writes = value(after, 'stacklock_store_writes_total') - (value(before, 'stacklock_store_writes_total') || 0);
    const commits = value(after, 'stacklock_store_commits_total') - (value(before, 'stacklock_store_commits_total') || 0);
    expect(writes).toBeGreaterThanOrEqual(20);
    expect(commits).toBeGreaterThanOrEqual(1);
    expect(commits).toBeLessThanOrEqual(writes);
  });
});

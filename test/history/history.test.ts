import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNSAFE_SKIP_ACQUIRE_CONDITION } from '../../src/main.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { expectClean, formatReport, runHistory } from './run-history.js';

/**
 * The short history run of `npm test` (`npm run soak` runs the same for longer), and the proof
 * that the checker has teeth: with the acquire's condition switched off it must find violations.
 */
describe('history checker on 3 replicas and PostgreSQL', () => {
  it('finds no violation in ~20 s of 30 clients with kill -9, a pause longer than the TTL and a PostgreSQL crash and restart', async () => {
    const report = await runHistory({ replicas: 3, clients: 30, keys: 4, durationMs: 20_000, ttlMs: 2_000, database: 'own', faults: true });
    console.log(formatReport('history', report));
    expectClean(report, ['kill -9', 'SIGSTOP', 'PostgreSQL crashing']);
    expect(report.grants).toBeGreaterThan(10);
  }, 120_000);

  it('finds no violation in ~15 s of 30 clients on one SQLite server with kill -9 and a pause longer than the TTL', async () => {
    // The group commit applies many clients' writes in one transaction; a kill -9 between its
    // commit and the answers, or in the middle of it, must lose no acknowledged grant.
    const report = await runHistory({ replicas: 1, clients: 30, keys: 4, durationMs: 15_000, ttlMs: 2_000, database: 'sqlite', faults: true });
    console.log(formatReport('history (SQLite)', report));
    expectClean(report, ['kill -9', 'SIGSTOP']);
    expect(report.grants).toBeGreaterThan(10);
  }, 120_000);

  describe('with the lock deliberately broken', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase();
    });
    afterAll(async () => db.drop());

    it('reports overlapping grants, reused tokens and lost updates', async () => {
      const report = await runHistory({
        replicas: 3, clients: 30, keys: 4, durationMs: 6_000, ttlMs: 2_000, database: db.url, faults: false,
        env: { NODE_ENV: 'test', [UNSAFE_SKIP_ACQUIRE_CONDITION]: '1' },
      });
      console.log(formatReport('history (broken lock)', report));
      const kinds = new Set(report.violations.map((v) => v.check));
      expect(kinds.has('overlap')).toBe(true);
      expect(kinds.has('token-order')).toBe(true);
      expect(kinds.has('lost-update')).toBe(true);
    }, 120_000);
  });
});

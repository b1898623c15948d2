import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPLY_SQL } from '../../src/store/postgres/lock-queries.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

/**
 * stacklock_apply settles new grants and releases of a batch in one statement (migration 19) and
 * passes the rest to migration 18's apply, stacklock_apply_each. Whatever the batch and the state
 * it meets, it must answer and change exactly what stacklock_apply_each does with the whole batch:
 * every operation through stacklock_acquire / stacklock_release, one by one, in key order.
 */
describe('stacklock_apply: a batch settled together', () => {
  let db: TestDatabase;
  let store: PostgresStore;
  let client: pg.Client;
  const ws = ['w-one', 'w-two'] as const;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new PostgresStore({ connectionString: db.url });
    await store.migrate();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    for (const id of ws) await client.query("INSERT INTO workspaces (id, name, created_at) VALUES ($1, $1, now())", [id]);
    // Tokens drawn from here on are above every token the generated states use.
    for (const id of ws) await client.query("SELECT setval(('stacklock_fence_' || md5($1))::regclass, 1000000)", [id]);
  });
  afterAll(async () => {
    await client?.end();
    await store?.close();
    await db?.drop();
  });

  const key = fc.constantFrom('a', 'b', 'c');
  const workspace = fc.constantFrom(...ws);
  const principal = fc.constantFrom('token:p1', 'token:p2');
  const holder = fc.constantFrom('h1', 'h2', null);
  /** A row of locks as the batch finds it: live, expired, or expired within a lock-delay. */
  const row = fc.record({
    ws: workspace, key, principal, holder, token: fc.integer({ min: 1, max: 999 }),
    expiresInS: fc.constantFrom(-600, -20, 600), properties: fc.constantFrom(null, { env: 'prod' }),
  });
  const waiter = fc.record({ ws: workspace, key, id: fc.constantFrom('q1', 'q2'), live: fc.boolean() });
  const acquire = fc.record({
    op: fc.constant('acquire'), workspaceId: workspace, key, principal, holderId: holder, message: fc.constantFrom('deploy', 'plan'),
    ttlMs: fc.constantFrom(30_000, 45_000), properties: fc.constantFrom(null, { run: 7 }), details: fc.constantFrom(null, { via: 'cli' }),
    lockDelayMs: fc.constantFrom(0, 60_000), waiterId: fc.constantFrom(null, null, 'q1', 'q2'), recordDenial: fc.boolean(),
  });
  const release = fc.record({
    op: fc.constant('release'), workspaceId: workspace, key, principal, holderId: holder, force: fc.boolean(),
    reason: fc.constantFrom(null, 'stuck'),
  });
  const state = fc.record({
    rows: fc.uniqueArray(row, { selector: (r) => `${r.ws}/${r.key}`, maxLength: 4 }),
    waiters: fc.uniqueArray(waiter, { selector: (w) => w.id, maxLength: 2 }),
  });
  const batch = fc.array(fc.oneof(acquire, release), { minLength: 1, maxLength: 8 });

  /** Every time a generated state holds, in seconds from the test's base time. */
  const STATE_OFFSETS_S = [-900, -600, -20, 600];

  type State = { rows: Array<Record<string, unknown>>; waiters: Array<{ ws: string; key: string; id: string; live: boolean }> };

  /** Runs `fn` on the state in a transaction rolled back afterwards; answers, rows and new events, comparable. */
  async function run(fn: string, s: State, ops: Array<Record<string, unknown>>, base: number) {
    const at = (offsetS: number) => new Date(base + offsetS * 1000);
    await client.query('BEGIN');
    try {
      for (const r of s.rows) {
        await client.query(
          `INSERT INTO locks (workspace_id, key, id, principal, holder_id, message, token, acquired_at, updated_at, expires_at, properties)
           VALUES ($1, $2, $3, $4, $5, 'held', $6, $7, $7, $8, $9)`,
          [r.ws, r.key, `old-${r.ws}-${r.key}`, r.principal, r.holder, r.token, at(-900), at(r.expiresInS as number), r.properties],
        );
      }
      for (const w of s.waiters) {
        await client.query(
          `INSERT INTO lock_waiters (id, workspace_id, key, principal, holder_id, message, since, lease_expires_at)
           VALUES ($1, $2, $3, 'token:p1', 'h1', 'waiting', $4, $5)`,
          [w.id, w.ws, w.key, at(-900), at(w.live ? 600 : -600)],
        );
      }
      const first = Number((await client.query('SELECT coalesce(max(id), 0) AS id FROM events')).rows[0].id);
      const answers = (await client.query(`SELECT * FROM ${fn}($1::jsonb)`, [JSON.stringify(ops)])).rows;
      const events = (await client.query('SELECT * FROM events WHERE id > $1 ORDER BY id', [first])).rows;
      const locks = (await client.query('SELECT * FROM locks ORDER BY workspace_id, key')).rows;
      const waiters = (await client.query('SELECT id FROM lock_waiters ORDER BY id')).rows;
      // Times of the state stay as they are; those the statement wrote are read relative to its own
      // time, and tokens it drew as "new".
      const now = answers[0]?.now?.getTime() ?? Date.now();
      const norm = (v: unknown): unknown => {
        if (v instanceof Date) return STATE_OFFSETS_S.includes((v.getTime() - base) / 1000) ? v.toISOString() : `now+${v.getTime() - now}`;
        if (Array.isArray(v)) return v.map(norm);
        if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
        return v;
      };
      const token = (t: unknown) => (t === null ? null : Number(t) > 1_000_000 ? 'new' : Number(t));
      const eventOf = new Map(events.map((e) => [Number(e.id), `${e.action} ${e.key}`]));
      const expiresAt = (d: Record<string, unknown> | null) =>
        d && typeof d.expiresAt === 'string' ? { ...d, expiresAt: norm(new Date(d.expiresAt)) } : d;
      return {
        answers: answers
          .map((a) => norm({ ...a, token: token(a.token), now: undefined, event_ids: a.event_ids?.map((id: string) => eventOf.get(Number(id))) ?? null }))
          .sort((x, y) => (x as { i: number }).i - (y as { i: number }).i),
        events: events
          .map((e) => norm({ ...e, id: undefined, at: undefined, token: token(e.token), details: expiresAt(e.details) }))
          .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
        locks: locks.map((l) => norm({ ...l, token: token(l.token) })),
        waiters: waiters.map((w) => w.id),
      };
    } finally {
      await client.query('ROLLBACK');
    }
  }

  it('answers and changes what the operations one by one in key order do, whatever the state', async () => {
    await fc.assert(
      fc.asyncProperty(state, batch, async (s, generated) => {
        const ops = generated.map((op, n) => (op.op === 'acquire' ? { ...op, id: `grant-${n}` } : op));
        const base = (await client.query('SELECT now() AS now')).rows[0].now.getTime();
        const reference = await run('stacklock_apply_each', s, ops, base);
        const batched = await run('stacklock_apply', s, ops, base);
        expect(batched).toEqual(reference);
      }),
      { numRuns: 300 },
    );
  });

  it('settles a batch of new keys and releases in one statement, with their events', async () => {
    const ops = [
      { op: 'acquire', workspaceId: 'w-one', key: 'x', id: 'g-x', principal: 'token:p1', holderId: 'h1', message: 'deploy', ttlMs: 60_000,
        properties: null, details: null, lockDelayMs: 0, waiterId: null, recordDenial: true },
      { op: 'acquire', workspaceId: 'w-one', key: 'y', id: 'g-y', principal: 'token:p1', holderId: 'h1', message: 'deploy', ttlMs: 60_000,
        properties: null, details: null, lockDelayMs: 0, waiterId: null, recordDenial: true },
    ];
    const granted = (await client.query(APPLY_SQL, [JSON.stringify(ops)])).rows;
    expect(granted.map((r) => [r.i, r.held, r.key, r.event_ids.length])).toEqual([[1, false, 'x', 1], [2, false, 'y', 1]]);
    expect(Number(granted[1].token)).toBeGreaterThan(Number(granted[0].token));
    const released = (await client.query(APPLY_SQL, [JSON.stringify(ops.map((o) => ({ op: 'release', workspaceId: o.workspaceId, key: o.key, principal: o.principal, holderId: o.holderId, force: false, reason: null })))])).rows;
    expect(released.map((r) => [r.i, r.own, r.key, Number(r.token)])).toEqual([[1, true, 'x', Number(granted[0].token)], [2, true, 'y', Number(granted[1].token)]]);
    const events = (await client.query("SELECT action, key FROM events WHERE key IN ('x', 'y') ORDER BY id")).rows;
    expect(events.map((e) => `${e.action} ${e.key}`).sort()).toEqual(['lock.created x', 'lock.created y', 'lock.deleted x', 'lock.deleted y']);
  });

  it("lets two batches that need each other's keys wait for one another without a deadlock", async () => {
    const deadlocks = async () => {
      // Counts reach pg_stat_database at transaction end and are read from a snapshot: take a fresh one.
      await client.query('SELECT pg_stat_clear_snapshot()');
      return Number((await client.query('SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()')).rows[0].deadlocks);
    };
    const before = await deadlocks();
    const acquire = (p: string, key: string, id: string) => ({ op: 'acquire', workspaceId: 'w-two', key, id, principal: p, holderId: 'h', message: 'm',
      ttlMs: 60_000, properties: null, details: null, lockDelayMs: 0, waiterId: null, recordDenial: false });
    const forceRelease = (p: string, key: string) => ({ op: 'release', workspaceId: 'w-two', key, principal: p, holderId: 'h', force: true, reason: 'r' });
    const pools = [new pg.Pool({ connectionString: db.url, max: 1 }), new pg.Pool({ connectionString: db.url, max: 1 })];
    try {
      for (let round = 0; round < 40; round++) {
        await client.query("DELETE FROM locks WHERE workspace_id = 'w-two'");
        await client.query(APPLY_SQL, [JSON.stringify([acquire('token:p1', 'k1', `a-${round}`), acquire('token:p2', 'k2', `b-${round}`)])]);
        // Each renews its own lock and force-releases the other's: settled one by one in key
        // order, or the release first and the renewal after, both touch both rows.
        const answers = await Promise.all([
          pools[0]!.query(APPLY_SQL, [JSON.stringify([acquire('token:p1', 'k1', `c-${round}`), forceRelease('token:p1', 'k2')])]),
          pools[1]!.query(APPLY_SQL, [JSON.stringify([acquire('token:p2', 'k2', `d-${round}`), forceRelease('token:p2', 'k1')])]),
        ]);
        // Whichever went first, exactly one of the two locks is left.
        expect(Number((await client.query("SELECT count(*) AS n FROM locks WHERE workspace_id = 'w-two'")).rows[0].n)).toBe(1);
        expect(answers.flatMap((a) => a.rows).length).toBeGreaterThanOrEqual(2);
      }
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
    expect(await deadlocks()).toBe(before);
  });
});

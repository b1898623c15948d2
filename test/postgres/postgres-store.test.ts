import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decided, type LockChange } from '../../src/core/ports/locks.js';
import { MIGRATIONS } from '../../src/store/postgres/migrations/index.js';
import { buildConfig } from '../../src/config.js';
import { createStore, UNSAFE_SKIP_ACQUIRE_CONDITION } from '../../src/main.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { tempDir } from '../support/app.js';
import { freePort } from '../support/embedded-postgres.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

const until = async (check: () => boolean, timeoutMs = 10_000) => {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** What only the PostgreSQL backend has to show: the rules themselves are in test/conformance. */
describe('PostgresStore', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db.drop());

  it('migrates safely when several replicas start at once, and says what it is', async () => {
    const stores = Array.from({ length: 5 }, () => new PostgresStore({ connectionString: db.url }));
    try {
      await Promise.all(stores.map((s) => s.migrate()));
      const { rows } = await stores[0]!.database.query('SELECT version FROM schema_migrations ORDER BY version');
      // Every migration once, whichever replica applied it.
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version).sort((a, b) => a - b));
      expect(stores[0]!.capabilities).toEqual({ backend: 'postgres', clock: 'database', multiReplica: true, groupCommit: true });
      const sync = await stores[0]!.database.query('SHOW synchronous_commit');
      expect(sync.rows[0].synchronous_commit).toBe('on');
      const coll = await stores[0]!.database.query(
        "SELECT collation_name FROM information_schema.columns WHERE table_name = 'locks' AND column_name = 'key'",
      );
      expect(coll.rows[0].collation_name).toBe('C');
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('upgrading to fence sequences (migration 17) continues each workspace above its last token', async () => {
    const old = await createTestDatabase();
    const raw = new pg.Client({ connectionString: old.url });
    await raw.connect();
    try {
      // A database as the releases before migration 17 left it: tokens counted on the workspace row.
      await raw.query('CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
      for (const m of MIGRATIONS.filter((x) => x.version < 17)) {
        await raw.query(m.sql);
        await raw.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      }
      await raw.query("INSERT INTO workspaces (id, name, fence, created_at) VALUES ('w-old', 'old', 41, now())");
    } finally {
      await raw.end();
    }
    const store = new PostgresStore({ connectionString: old.url });
    try {
      await store.migrate();
      const g = decided(await store.acquire({ workspaceId: 'w-old', key: 'k', ttlMs: 60_000, message: '', holder: { principal: 'token:ci', holderId: 'r' } }));
      expect(g.lock.token).toBe(42);
      // A workspace made after the upgrade gets its own sequence from 1.
      const fresh = await store.ensureWorkspace('new-after-upgrade');
      const f = decided(await store.acquire({ workspaceId: fresh.id, key: 'k', ttlMs: 60_000, message: '', holder: { principal: 'token:ci', holderId: 'r' } }));
      expect(f.lock.token).toBe(1);
      // A replica of an earlier version, still running, cannot draw from the old counter any more.
      await expect(store.database.query("SELECT fence FROM workspaces WHERE id = 'w-old' FOR NO KEY UPDATE")).rejects.toMatchObject({ code: '42703' });
    } finally {
      await store.close();
      await old.drop();
    }
  });

  it('tells the dispatcher, with each change, whether the key has queued dispatches, here and on other replicas', async () => {
    const a = new PostgresStore({ connectionString: db.url });
    const b = new PostgresStore({ connectionString: db.url });
    await a.migrate();
    await b.migrate();
    try {
      const ws = (await a.ensureWorkspace(`dispatch-hint-${Date.now()}`)).id;
      const heardHere: LockChange[] = [];
      const heardThere: LockChange[] = [];
      const offA = a.onChange((c) => c.workspaceId === ws && heardHere.push(c));
      const offB = b.onChange((c) => c.workspaceId === ws && heardThere.push(c));
      const holder = { principal: 'token:ci', holderId: 'r' };
      await a.acquire({ workspaceId: ws, key: 'queued', ttlMs: 60_000, message: '', holder });
      await a.acquire({ workspaceId: ws, key: 'alone', ttlMs: 60_000, message: '', holder });
      await a.dispatches.enqueue(
        { workspaceId: ws, key: 'queued', repository: 'acme/infra', workflow: 'deploy.yml', ref: 'main', inputs: {}, source: { kind: 'api' },
          pullRequest: null, headSha: null, createdBy: 'token:ci', maxWaitMs: 60_000 },
        { replicaId: 'a', leaseMs: 60_000, lockDelayMs: 0 },
      );
      await a.release({ workspaceId: ws, key: 'queued', caller: holder, force: false, mayForce: false });
      await a.release({ workspaceId: ws, key: 'alone', caller: holder, force: false, mayForce: false });
      const released = (cs: LockChange[]) => cs.filter((c) => c.kind === 'released').map((c) => [c.key, c.activeDispatches]);
      await until(() => released(heardThere).length === 2);
      offA();
      offB();
      expect(released(heardHere)).toEqual([['queued', true], ['alone', false]]);
      expect(released(heardThere)).toEqual([['queued', true], ['alone', false]]);
      expect(heardHere.filter((c) => c.kind === 'granted').map((c) => c.activeDispatches)).toEqual([false, false]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('remembers API tokens for speed, but a revocation on any replica takes effect on every replica at once', async () => {
    // A cache long enough that only the revocation's NOTIFY can explain the replica forgetting.
    const a = new PostgresStore({ connectionString: db.url, tokenCacheMs: 600_000 });
    const b = new PostgresStore({ connectionString: db.url, tokenCacheMs: 600_000 });
    await a.migrate();
    await b.migrate();
    try {
      const ws = (await a.ensureWorkspace(`token-cache-${Date.now()}`)).id;
      await a.createToken({ workspaceId: ws, name: 'root', tokenHash: `root-${ws}`, scopes: ['admin'], createdBy: 'test' });
      expect(await b.findTokenByHash(`ci-${ws}`)).toBeNull();
      // Made on one replica, known on the other at once: a miss is never remembered.
      await a.createToken({ workspaceId: ws, name: 'ci', tokenHash: `ci-${ws}`, scopes: ['locks:write'], createdBy: 'test' });
      expect((await b.findTokenByHash(`ci-${ws}`))?.revokedAt).toBeNull();
      expect((await a.findTokenByHash(`ci-${ws}`))?.revokedAt).toBeNull();
      await a.revokeToken({ workspaceId: ws, name: 'ci', by: 'token:root', reason: null });
      expect((await a.findTokenByHash(`ci-${ws}`))?.revokedAt).toBeInstanceOf(Date);
      const end = Date.now() + 5_000;
      while (!(await b.findTokenByHash(`ci-${ws}`))?.revokedAt && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect((await b.findTokenByHash(`ci-${ws}`))?.revokedAt).toBeInstanceOf(Date);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('still delivers other replicas’ changes when its LISTEN connection is lost (the sweep)', async () => {
    const a = new PostgresStore({ connectionString: db.url, sweepIntervalMs: 200 });
    const b = new PostgresStore({ connectionString: db.url });
    await a.migrate();
    await b.migrate();
    try {
      const ws = (await b.ensureWorkspace('sweep')).id;
      const heard: LockChange[] = [];
      a.onChange((c) => c.workspaceId === ws && heard.push(c));
      // Cut every LISTEN session: notifications sent now reach nobody.
      await b.database.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()");
      await b.acquire({ workspaceId: ws, key: 'k', ttlMs: 60_000, message: '', holder: { principal: 'token:ci', holderId: 'r' } });
      await b.release({ workspaceId: ws, key: 'k', caller: { principal: 'token:ci', holderId: 'r' }, force: false, mayForce: false });
      const deadline = Date.now() + 10_000;
      while (heard.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(heard.map((c) => c.kind)).toEqual(['granted', 'released']);
      // And once it is back, nothing is delivered twice.
      await new Promise((r) => setTimeout(r, 1_500));
      expect(heard).toHaveLength(2);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('announces many changes in few notifications, delivers its own once, and still hears the older one-change form', async () => {
    const a = new PostgresStore({ connectionString: db.url, sweepIntervalMs: 60_000 });
    const b = new PostgresStore({ connectionString: db.url, sweepIntervalMs: 60_000 });
    await a.migrate();
    await b.migrate();
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    try {
      const ws = (await b.ensureWorkspace(`packed-${Date.now()}`)).id;
      const heardByA: LockChange[] = [];
      const heardByB: LockChange[] = [];
      a.onChange((c) => c.workspaceId === ws && heardByA.push(c));
      b.onChange((c) => c.workspaceId === ws && heardByB.push(c));
      const payloads: string[] = [];
      listener.on('notification', (n) => n.payload?.includes(ws) && payloads.push(n.payload));
      await listener.query('LISTEN stacklock_changes');
      // Long keys (512 characters, some of four UTF-8 bytes) so that the changes need several notifications.
      const keys = Array.from({ length: 200 }, (_, n) => `${String(n).padStart(3, '0')}/${'\u{1F600}'.repeat(100)}${'k'.repeat(408)}`);
      await Promise.all(keys.map((key) => b.acquire({ workspaceId: ws, key, ttlMs: 60_000, message: '', holder: { principal: 'token:ci', holderId: key } })));
      await until(() => heardByA.length === keys.length);
      expect(new Set(heardByA.map((c) => c.key))).toEqual(new Set(keys));
      expect(heardByA.every((c) => c.kind === 'granted' && c.token > 0)).toBe(true);
      // Fewer notifications than changes, each under PostgreSQL's 8000 bytes.
      await until(() => payloads.reduce((n, p) => n + (JSON.parse(p) as { x: unknown[] }).x.length, 0) === keys.length);
      expect(payloads.length).toBeLessThan(keys.length);
      expect(Math.max(...payloads.map((p) => Buffer.byteLength(p)))).toBeLessThan(8000);
      // Its own changes reached B once, when they committed, not again from its notifications.
      await new Promise((r) => setTimeout(r, 300));
      expect(heardByB).toHaveLength(keys.length);
      // A replica of an earlier version announces one change per notification; a malformed one is ignored.
      await listener.query("SELECT pg_notify('stacklock_changes', 'not json')");
      await listener.query("SELECT pg_notify('stacklock_changes', json_build_object('w', $1::text, 'k', 'old', 'c', 'released', 't', 7, 'e', ARRAY[-1])::text)", [ws]);
      await until(() => heardByA.some((c) => c.key === 'old'));
      expect(heardByA.find((c) => c.key === 'old')).toEqual({ workspaceId: ws, key: 'old', kind: 'released', token: 7 });
    } finally {
      await listener.end();
      await a.close();
      await b.close();
    }
  });

  it('answers Unavailable, not an internal error, when the database cannot be reached', async () => {
    const port = await freePort();
    const store = new PostgresStore({ connectionString: `postgres://postgres:x@127.0.0.1:${port}/nothing` });
    try {
      await expect(store.getLock('w', 'k')).rejects.toMatchObject({ tag: 'Unavailable' });
    } finally {
      await store.close();
    }
  });

  it('stores times at millisecond precision and compares keys bytewise', async () => {
    const store = new PostgresStore({ connectionString: db.url });
    await store.migrate();
    try {
      const ws = (await store.ensureWorkspace('precision')).id;
      const r = decided(await store.acquire({ workspaceId: ws, key: 'z\u{1F600}', ttlMs: 1234, message: '', holder: { principal: 'p', holderId: 'h' } }));
      const raw = await store.database.query<{ us: string }>("SELECT extract(microseconds FROM acquired_at)::bigint % 1000 AS us FROM locks WHERE workspace_id = $1", [ws]);
      expect(Number(raw.rows[0]!.us)).toBe(0);
      expect(r.lock.expiresAt.getTime() - r.lock.acquiredAt.getTime()).toBe(1234);
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      const cmp = await c.query("SELECT ('a\u{1F600}' COLLATE \"C\") > ('a\uff5e' COLLATE \"C\") AS bytewise");
      await c.end();
      expect(cmp.rows[0].bytewise).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('ignores the history checker’s unsafe switch unless NODE_ENV=test, and obeys it then', async () => {
    const config = buildConfig({ databaseUrl: db.url, dataDir: tempDir() }, {});
    const holder = (holderId: string) => ({ principal: 'token:ci', holderId });
    for (const [nodeEnv, secondOutcome] of [['production', 'held'], ['test', 'renewed']] as const) {
      const store = await createStore(config, { NODE_ENV: nodeEnv, [UNSAFE_SKIP_ACQUIRE_CONDITION]: '1' });
      try {
        const ws = (await store.ensureWorkspace(`switch-${nodeEnv}`)).id;
        await store.acquire({ workspaceId: ws, key: 'k', ttlMs: 60_000, message: '', holder: holder('a') });
        // Broken, the second holder takes over the live grant (same token): what the checker must catch.
        const second = await store.acquire({ workspaceId: ws, key: 'k', ttlMs: 60_000, message: '', holder: holder('b') });
        expect(second.outcome).toBe(secondOutcome);
      } finally {
        await store.close();
      }
    }
  });

  it('lets lock operations that arrive together share one transaction and its commit, each answered for itself', async () => {
    const store = new PostgresStore({ connectionString: db.url });
    await store.migrate();
    try {
      const ws = (await store.ensureWorkspace('batches')).id;
      const holder = (n: number) => ({ principal: 'token:ci', holderId: `h${n}` });
      const keys = Array.from({ length: 100 }, (_, n) => `batch/${n}`);
      const grants = await Promise.all(keys.map((key, n) => store.acquire({ workspaceId: ws, key, ttlMs: 60_000, message: `m${n}`, holder: holder(n) })));
      expect(grants.map((g) => g.outcome)).toEqual(keys.map(() => 'granted'));
      expect(grants.map((g) => g.lock?.message)).toEqual(keys.map((_, n) => `m${n}`));
      expect(new Set(grants.map((g) => g.lock?.token)).size).toBe(100);
      // Rows written by one transaction share its xmin: far fewer transactions than operations.
      const { rows } = await store.database.query('SELECT count(DISTINCT xmin::text)::int AS n FROM locks WHERE workspace_id = $1', [ws]);
      expect(rows[0].n).toBeLessThan(50);
      // Mixed in one go: the holders release, others try the same keys and are refused or granted.
      const mixed = await Promise.all(
        keys.flatMap((key, n) => [
          store.release({ workspaceId: ws, key, caller: holder(n), force: false, mayForce: false }),
          store.acquire({ workspaceId: ws, key, ttlMs: 60_000, message: 'second', holder: holder(1000 + n) }),
        ]),
      );
      const released = mixed.filter((r) => r.outcome === 'released').length;
      expect(released).toBe(100);
      const second = mixed.filter((r) => r.outcome === 'granted' || r.outcome === 'held');
      expect(second).toHaveLength(100);
      const live = await store.listLocks({ workspaceId: ws, prefix: 'batch/', limit: 200 });
      // Each key ends with the second holder exactly when its acquire was granted.
      expect(live.locks.map((l) => l.holder.holderId).sort()).toEqual(
        second.filter((r) => r.outcome === 'granted').map((r) => r.lock?.holder.holderId).sort(),
      );
    } finally {
      await store.close();
    }
  });

  it('across three replicas, concurrent acquires of one workspace’s keys grant one holder per key with distinct tokens above every earlier one', async () => {
    const stores = Array.from({ length: 3 }, () => new PostgresStore({ connectionString: db.url }));
    await Promise.all(stores.map((s) => s.migrate()));
    try {
      const ws = (await stores[0]!.ensureWorkspace('race')).id;
      const keys = ['k0', 'k1', 'k2', 'k3', 'k4'];
      let highest = 0;
      for (let round = 0; round < 3; round++) {
        const results = await Promise.all(
          Array.from({ length: 90 }, (_, i) =>
            stores[i % 3]!.acquire({ workspaceId: ws, key: keys[i % 5]!, ttlMs: 60_000, message: '', holder: { principal: 'token:ci', holderId: `r${round}-${i}` } }),
          ),
        );
        const grants = results.filter((r) => r.outcome === 'granted');
        expect(grants.map((g) => g.lock.key).sort()).toEqual(keys);
        // Distinct, and above every token of the rounds before (the first round's racing first
        // grants of each key may skip numbers: a loser's insert drew one before meeting the row).
        const tokens = grants.map((g) => g.lock.token);
        expect(new Set(tokens).size).toBe(5);
        expect(Math.min(...tokens)).toBeGreaterThan(highest);
        highest = Math.max(...tokens);
        for (const r of results) {
          expect(['granted', 'held']).toContain(r.outcome);
          const winner = grants.find((g) => g.lock.key === r.lock?.key)!;
          expect(r.lock?.holder).toEqual(winner.lock.holder);
        }
        await Promise.all(grants.map((g, i) => stores[i % 3]!.release({ workspaceId: ws, key: g.lock.key, caller: g.lock.holder, force: false, mayForce: false })));
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});

import fc from 'fast-check';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { decideAcquire, mayRelease } from '../../src/core/lock-rules.js';
import type { Holder, Lock } from '../../src/core/types.js';
import { decided } from '../../src/core/ports/locks.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../support/app.js';

describe('SQLite store with an injected clock', () => {
  let clock: ManualClock;
  let store: SqliteStore;
  let ws: string;
  const a: Holder = { principal: 'token:a', holderId: 'run-a' };
  const b: Holder = { principal: 'token:b', holderId: 'run-b' };

  beforeEach(async () => {
    clock = new ManualClock();
    store = new SqliteStore({ path: join(tempDir(), 's.db'), clock });
    ws = (await store.ensureWorkspace('default')).id;
  });
  afterEach(async () => store.close());

  const acquire = async (holder: Holder, key = 'k', ttlMs = 10_000, lockDelayMs = 0) =>
    decided(await store.acquire({ workspaceId: ws, key, ttlMs, message: `by ${holder.principal}`, holder, lockDelayMs }));

  it('grants, renews keeping the token, refuses others with the current lock', async () => {
    const g = await acquire(a);
    expect(g.outcome).toBe('granted');
    clock.advance(5000);
    const r = await acquire(a, 'k', 20_000);
    expect(r).toMatchObject({ outcome: 'renewed', lock: { token: g.lock.token, id: g.lock.id } });
    expect(r.lock.expiresAt.getTime()).toBe(clock.now().getTime() + 20_000);
    const h = await acquire(b);
    expect(h).toMatchObject({ outcome: 'held', lock: { holder: a, message: 'by token:a' } });
  });

  it('treats an expired lock as free before the reaper runs, and audits the expiry once', async () => {
    const g = await acquire(a);
    clock.advance(10_000);
    expect(await store.getLock(ws, 'k')).toBeNull();
    const g2 = await acquire(b);
    expect(g2.outcome).toBe('granted');
    expect(g2.lock.token).toBeGreaterThan(g.lock.token);
    expect(await store.reapExpired(100, 0)).toEqual([]);
    const events = await store.queryEvents({ workspaceId: ws, key: 'k', limit: 10 });
    expect(events.map((e) => e.action)).toEqual(['lock.created', 'lock.expired', 'lock.created']);
  });

  it('reaps only expired locks, in batches, writing lock.expired and telling listeners after commit', async () => {
    for (let i = 0; i < 25; i++) await acquire(a, `k${i}`, 1000 + (i % 2) * 10_000);
    const heard: string[] = [];
    store.onChange((c) => c.kind === 'expired' && heard.push(c.key));
    clock.advance(1000);
    expect((await store.reapExpired(5, 0)).length).toBe(5);
    expect((await store.reapExpired(100, 0)).length).toBe(8);
    expect(heard).toHaveLength(13);
    expect((await store.queryEvents({ workspaceId: ws, action: 'lock.expired', limit: 100 })).length).toBe(13);
    expect((await store.listLocks({ workspaceId: ws, limit: 100 })).locks).toHaveLength(12);
  });

  it('keeps a key unavailable for the lock-delay after an expiry, not after a release', async () => {
    await acquire(a, 'k', 1000);
    clock.advance(1500);
    expect((await acquire(b, 'k', 1000, 1000)).outcome).toBe('held');
    clock.advance(500);
    expect((await acquire(b, 'k', 1000, 1000)).outcome).toBe('granted');
    await store.release({ workspaceId: ws, key: 'k', caller: { principal: 'token:b', holderId: null }, force: false, mayForce: false });
    expect((await acquire(a, 'k', 1000, 1000)).outcome).toBe('granted');
  });

  it('releases for the holder, forces only when allowed, says not_found for a free key', async () => {
    await acquire(a);
    const other = { principal: 'token:b', holderId: null };
    expect((await store.release({ workspaceId: ws, key: 'k', caller: other, force: true, mayForce: false })).outcome).toBe('not_holder');
    expect((await store.release({ workspaceId: ws, key: 'k', caller: other, force: false, mayForce: true })).outcome).toBe('not_holder');
    expect((await store.release({ workspaceId: ws, key: 'k', caller: other, force: true, mayForce: true, reason: 'stuck' })).outcome).toBe('force_released');
    expect((await store.release({ workspaceId: ws, key: 'k', caller: other, force: true, mayForce: true })).outcome).toBe('not_found');
    const forced = await store.queryEvents({ workspaceId: ws, action: 'lock.force_deleted', limit: 1 });
    expect(forced[0]?.details).toMatchObject({ reason: 'stuck', holder: 'token:a' });
  });

  it('lists by prefix with keyset pagination, excluding expired locks', async () => {
    const keys = ['acme/a', 'acme/b', 'acme/b/c', 'acme/c', 'acmf/x', 'acm', 'zz'];
    for (const k of keys) await acquire(a, k);
    await acquire(a, 'acme/old', 1000);
    clock.advance(1000);
    const p1 = await store.listLocks({ workspaceId: ws, prefix: 'acme/', limit: 2 });
    expect(p1.locks.map((l) => l.key)).toEqual(['acme/a', 'acme/b']);
    const p2 = await store.listLocks({ workspaceId: ws, prefix: 'acme/', limit: 2, after: p1.nextAfter! });
    expect(p2.locks.map((l) => l.key)).toEqual(['acme/b/c', 'acme/c']);
    expect(p2.nextAfter).toBeNull();
  });

  it('follows the pure acquire/release rules for any sequence of operations (model check)', async () => {
    const holders: Holder[] = [a, b, { principal: 'token:a', holderId: 'run-a2' }, { principal: 'token:a', holderId: null }];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('acquire' as const), h: fc.nat(3), key: fc.nat(2), ttl: fc.integer({ min: 1000, max: 5000 }) }),
      fc.record({ kind: fc.constant('release' as const), h: fc.nat(3), key: fc.nat(2), force: fc.boolean() }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 4000 }) }),
      fc.record({ kind: fc.constant('reap' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const c = new ManualClock();
        const s = new SqliteStore({ path: ':memory:', clock: c });
        const w = (await s.ensureWorkspace('m')).id;
        const model = new Map<number, Lock>();
        let lastToken = 0;
        try {
          for (const o of ops) {
            if (o.kind === 'tick') c.advance(o.ms);
            else if (o.kind === 'reap') await s.reapExpired(100, 0);
            else if (o.kind === 'acquire') {
              const holder = holders[o.h]!;
              const existing = model.get(o.key) ?? null;
              const expected = decideAcquire(existing, holder, c.now());
              const r = decided(await s.acquire({ workspaceId: w, key: `k${o.key}`, ttlMs: o.ttl, message: '', holder }));
              expect(r.outcome).toBe({ grant: 'granted', renew: 'renewed', refuse: 'held' }[expected]);
              if (r.outcome === 'granted') {
                expect(r.lock.token).toBeGreaterThan(lastToken);
                lastToken = r.lock.token;
              }
              if (r.outcome === 'renewed') expect(r.lock.token).toBe(existing!.token);
              if (r.outcome !== 'held') model.set(o.key, r.lock);
            } else {
              const holder = holders[o.h]!;
              const existing = model.get(o.key);
              const live = existing && existing.expiresAt > c.now() ? existing : null;
              const r = await s.release({ workspaceId: w, key: `k${o.key}`, caller: holder, force: o.force, mayForce: true });
              if (!live) expect(r.outcome).toBe('not_found');
              else if (mayRelease(live.holder, holder)) expect(r.outcome).toBe('released');
              else expect(r.outcome).toBe(o.force ? 'force_released' : 'not_holder');
              if (r.outcome === 'released' || r.outcome === 'force_released' || r.outcome === 'not_found') model.delete(o.key);
            }
          }
        } finally {
          await s.close();
        }
      }),
      { numRuns: 150 },
    );
  });

  it('stores tokens only as hashes', async () => {
    await store.createToken({ workspaceId: ws, name: 'ci', tokenHash: 'f'.repeat(64), scopes: ['locks:write'], createdBy: 'test' });
    const row = store.database.prepare('SELECT * FROM api_tokens WHERE name = ?').get('ci') as Record<string, unknown>;
    expect(row.token_hash).toBe('f'.repeat(64));
    expect(Object.keys(row)).not.toContain('token');
    await expect(store.createToken({ workspaceId: ws, name: 'ci', tokenHash: 'e'.repeat(64), scopes: [], createdBy: 'test' })).rejects.toThrow(/already exists/);
  });

  it('a write refused in the middle of a group commit leaves the others granted, each audited and announced once', async () => {
    await store.createToken({ workspaceId: ws, name: 'ci', tokenHash: 'f'.repeat(64), scopes: ['locks:write'], createdBy: 'test' });
    const heard: string[] = [];
    store.onChange((c) => heard.push(`${c.kind} ${c.key}`));
    const before = (store.database.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    const commits = store.commitStats().commits;
    // One turn of the event loop: one group, with a duplicate token name between two grants.
    const outcomes = await Promise.allSettled([
      acquire(a, 'k1'),
      store.createToken({ workspaceId: ws, name: 'ci', tokenHash: 'e'.repeat(64), scopes: [], createdBy: 'test' }),
      acquire(b, 'k2'),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const [g1, , g2] = outcomes as [PromiseFulfilledResult<Awaited<ReturnType<typeof acquire>>>, unknown, PromiseFulfilledResult<Awaited<ReturnType<typeof acquire>>>];
    expect([g1.value.outcome, g2.value.outcome]).toEqual(['granted', 'granted']);
    expect(g2.value.lock.token).toBe(g1.value.lock.token + 1);
    const added = store.database.prepare('SELECT action, key FROM events ORDER BY id').all().slice(before);
    expect(added).toEqual([
      { action: 'lock.created', key: 'k1' },
      { action: 'lock.created', key: 'k2' },
    ]);
    expect(heard).toEqual(['granted k1', 'granted k2']);
    expect(store.commitStats().commits).toBe(commits + 1);
  });
});

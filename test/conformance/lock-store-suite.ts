import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Holder, Lock, Scope } from '../../src/core/types.js';
import { type AcquireInput, decided, type LockChange, type LockStore } from '../../src/core/ports/locks.js';
import type { Store } from '../../src/core/ports/store.js';

/**
 * What a backend gives the suite. Every backend runs on its real clock here (SQLite's system clock,
 * PostgreSQL's now()), so time-dependent cases use short real TTLs at the store level: the store
 * takes any ttlMs; the 1 s minimum is the service's rule.
 */
export interface BackendHarness {
  /** A migrated store on a fresh database. */
  open(): Promise<Store>;
  /** Another store on the same database: a restart of the same process, or a second replica. */
  reopen(): Promise<Store>;
  cleanup(): Promise<void>;
}

const LONG = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const h = (principal: string, holderId: string | null = null): Holder => ({ principal, holderId });

/** Waits until the store's own clock has passed `lock`'s expiry. */
export async function waitUntilExpired(store: LockStore, lock: Lock): Promise<void> {
  for (;;) {
    const now = await store.now();
    if (now.getTime() >= lock.expiresAt.getTime()) return;
    await sleep(Math.max(5, lock.expiresAt.getTime() - now.getTime()));
  }
}

/** UTF-8 byte order: how both backends must sort keys. */
const bytewise = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

export function lockStoreConformance(name: string, harness: BackendHarness): void {
  describe(`LockStore conformance: ${name}`, () => {
    let store: Store;
    let ws: string;

    beforeAll(async () => {
      store = await harness.open();
    });
    afterAll(async () => {
      await store.close();
      await harness.cleanup();
    });

    /** Each case gets its own workspace, so tokens start at 1 and nothing leaks between cases. */
    const fresh = async () => {
      ws = (await store.ensureWorkspace(`ws-${randomUUID()}`)).id;
      return ws;
    };
    const acquire = async (key: string, holder: Holder, extra: Partial<AcquireInput> = {}) =>
      decided(await store.acquire({ workspaceId: ws, key, ttlMs: LONG, message: `by ${holder.holderId ?? holder.principal}`, holder, ...extra }));
    const release = (key: string, caller: Holder, force = false, mayForce = false, reason: string | null = null) =>
      store.release({ workspaceId: ws, key, caller, force, mayForce, reason });
    const events = (q: Partial<Parameters<LockStore['queryEvents']>[0]> = {}) => store.queryEvents({ workspaceId: ws, limit: 1000, ...q });

    describe('acquire', () => {
      it('grants a free key with a fencing token, on the store clock, and records lock.created', async () => {
        await fresh();
        const before = await store.now();
        const r = await acquire('acme/infra/prod/vpc', h('token:ci', 'run-1'), { ttlMs: LONG, message: 'deploying VPC', properties: { pr: 7 }, details: { actor: 'alice' } });
        const after = await store.now();
        expect(r.outcome).toBe('granted');
        if (r.outcome !== 'granted') return;
        expect(r.previous).toBeNull();
        expect(r.lock).toMatchObject({ workspaceId: ws, key: 'acme/infra/prod/vpc', holder: { principal: 'token:ci', holderId: 'run-1' }, message: 'deploying VPC', token: 1, properties: { pr: 7 }, details: { actor: 'alice' } });
        expect(r.lock.acquiredAt.getTime()).toBeGreaterThanOrEqual(before.getTime());
        expect(r.lock.acquiredAt.getTime()).toBeLessThanOrEqual(after.getTime());
        expect(r.lock.expiresAt.getTime() - r.lock.acquiredAt.getTime()).toBe(LONG);
        expect(await store.getLock(ws, 'acme/infra/prod/vpc')).toEqual(r.lock);
        const [created] = await events({ action: 'lock.created' });
        expect(created).toMatchObject({ action: 'lock.created', actor: 'token:ci', key: 'acme/infra/prod/vpc', token: 1, details: { holderId: 'run-1', message: 'deploying VPC', actor: 'alice' } });
      });

      it('renews only for the same principal and the same non-empty holderId: same token and grant, later expiry, new message', async () => {
        await fresh();
        const g = await acquire('k', h('token:ci', 'run-1'), { ttlMs: 10_000, message: 'first', properties: { a: 1 } });
        const r = await acquire('k', h('token:ci', 'run-1'), { ttlMs: LONG, message: 'second' });
        expect(r.outcome).toBe('renewed');
        expect(r.lock.token).toBe(g.lock.token);
        expect(r.lock.id).toBe(g.lock.id);
        expect(r.lock.acquiredAt).toEqual(g.lock.acquiredAt);
        expect(r.lock.expiresAt.getTime()).toBeGreaterThan(g.lock.expiresAt.getTime());
        expect(r.lock.message).toBe('second');
        expect(r.lock.properties).toEqual({ a: 1 });
        expect((await events({ action: 'lock.renewed' }))[0]).toMatchObject({ actor: 'token:ci', token: g.lock.token, details: { holderId: 'run-1' } });
        // A renewal takes no token: the next grant in the workspace gets the next one.
        expect((await acquire('other', h('token:ci', 'run-9'))).lock.token).toBe(g.lock.token + 1);
      });

      it('refuses another holder with the current lock, and records lock.denied', async () => {
        await fresh();
        const g = await acquire('k', h('token:ci', 'run-1'), { message: 'deploying' });
        for (const other of [h('token:ci', 'run-2'), h('token:other', 'run-1'), h('token:ci', null), h('token:other', null)]) {
          const r = await acquire('k', other);
          expect(r.outcome).toBe('held');
          expect(r.lock).toEqual(g.lock);
        }
        expect(await store.getLock(ws, 'k')).toEqual(g.lock);
        const denied = await events({ action: 'lock.denied' });
        expect(denied).toHaveLength(4);
        expect(denied[0]).toMatchObject({ actor: 'token:other', key: 'k', token: g.lock.token, details: { heldBy: 'token:ci', heldByHolderId: 'run-1' } });
      });

      it('never renews an acquire without holderId, not even for the same principal', async () => {
        await fresh();
        const g = await acquire('k', h('repo:acme/infra'));
        expect(g.outcome).toBe('granted');
        const again = await acquire('k', h('repo:acme/infra'));
        expect(again.outcome).toBe('held');
        expect(again.lock.token).toBe(g.lock.token);
      });
    });

    describe('release', () => {
      it('releases the holder’s own lock, with or without its holderId, and records lock.deleted', async () => {
        await fresh();
        await acquire('a', h('token:ci', 'run-1'));
        const r = await release('a', h('token:ci', 'run-1'));
        expect(r).toMatchObject({ outcome: 'released', lock: { key: 'a', holder: { holderId: 'run-1' } } });
        expect(await store.getLock(ws, 'a')).toBeNull();
        await acquire('b', h('token:ci', 'run-2'));
        expect((await release('b', h('token:ci', null))).outcome).toBe('released');
        expect((await events({ action: 'lock.deleted' })).map((e) => e.key)).toEqual(['b', 'a']);
      });

      it('answers not_holder with the lock to anyone else, and to a force without permission', async () => {
        await fresh();
        const g = await acquire('k', h('token:ci', 'run-1'));
        for (const [caller, force] of [[h('token:other'), false], [h('token:ci', 'run-2'), false], [h('token:other'), true]] as const) {
          const r = await release('k', caller, force, false);
          expect(r.outcome).toBe('not_holder');
          if (r.outcome === 'not_holder') expect(r.lock).toEqual(g.lock);
        }
        expect(await store.getLock(ws, 'k')).toEqual(g.lock);
      });

      it('force-releases with permission and records lock.force_deleted with the reason', async () => {
        await fresh();
        await acquire('k', h('token:ci', 'run-1'), { message: 'stuck deploy' });
        const r = await release('k', h('token:admin'), true, true, 'runner died');
        expect(r.outcome).toBe('force_released');
        expect(await store.getLock(ws, 'k')).toBeNull();
        expect((await events({ action: 'lock.force_deleted' }))[0]).toMatchObject({
          actor: 'token:admin', key: 'k', details: { holder: 'token:ci', holderId: 'run-1', message: 'stuck deploy', reason: 'runner died' },
        });
        // A holder passing force on its own lock releases it as its own.
        await acquire('k2', h('token:ci', 'run-1'));
        expect((await release('k2', h('token:ci', 'run-1'), true, false)).outcome).toBe('released');
      });

      it('audits a permitted force as one even on the caller\'s own lock, and records a given reason on any release', async () => {
        await fresh();
        // The admin token (or a shared CI token) holds the lock and forces it: a force, with its reason.
        await acquire('own', h('token:admin', 'run-1'), { message: 'stuck' });
        const forced = await store.release({ workspaceId: ws, key: 'own', caller: h('token:admin'), force: true, mayForce: true, recordAsForce: true, reason: 'runner died' });
        expect(forced.outcome).toBe('force_released');
        expect((await events({ action: 'lock.force_deleted' }))[0]).toMatchObject({
          actor: 'token:admin', key: 'own', details: { holder: 'token:admin', holderId: 'run-1', message: 'stuck', reason: 'runner died' },
        });
        // An ordinary release that gives a reason keeps it.
        await acquire('own2', h('token:ci', 'run-2'));
        expect((await release('own2', h('token:ci', 'run-2'), false, false, 'done early')).outcome).toBe('released');
        expect((await events({ action: 'lock.deleted' }))[0]).toMatchObject({ key: 'own2', details: { reason: 'done early' } });
        // Without a reason, none is invented.
        await acquire('own3', h('token:ci', 'run-3'));
        await release('own3', h('token:ci', 'run-3'));
        expect((await events({ action: 'lock.deleted' }))[0]!.details).not.toHaveProperty('reason');
      });

      it('answers not_found for a free key and for an expired lock', async () => {
        await fresh();
        expect((await release('free', h('token:ci'))).outcome).toBe('not_found');
        const g = await acquire('short', h('token:ci', 'run-1'), { ttlMs: 150 });
        await waitUntilExpired(store, g.lock);
        expect((await release('short', h('token:ci', 'run-1'))).outcome).toBe('not_found');
      });
    });

    describe('expiry', () => {
      it('treats an expired lock as free before the reaper ran, recording its expiry once', async () => {
        await fresh();
        const g = await acquire('k', h('token:ci', 'run-1'), { ttlMs: 150 });
        await waitUntilExpired(store, g.lock);
        expect(await store.getLock(ws, 'k')).toBeNull();
        expect((await store.listLocks({ workspaceId: ws, limit: 10 })).locks).toEqual([]);
        // The same holder gets a new grant, not a renewal of an expired one.
        const r = await acquire('k', h('token:other', 'run-2'));
        expect(r.outcome).toBe('granted');
        if (r.outcome !== 'granted') return;
        expect(r.lock.token).toBeGreaterThan(g.lock.token);
        expect(r.previous).toMatchObject({ key: 'k', token: g.lock.token, holder: { principal: 'token:ci', holderId: 'run-1' } });
        const expired = await events({ action: 'lock.expired' });
        expect(expired).toHaveLength(1);
        expect(expired[0]).toMatchObject({ actor: 'system', key: 'k', token: g.lock.token, details: { holder: 'token:ci', holderId: 'run-1' } });
        // The reaper finds nothing more to record for that grant.
        await store.reapExpired(1000, 0);
        expect(await events({ action: 'lock.expired' })).toHaveLength(1);
      });

      it('does not let the holder renew an expired grant', async () => {
        await fresh();
        const g = await acquire('k', h('token:ci', 'run-1'), { ttlMs: 150 });
        await waitUntilExpired(store, g.lock);
        const r = await acquire('k', h('token:ci', 'run-1'));
        expect(r.outcome).toBe('granted');
        expect(r.lock.token).toBe(g.lock.token + 1);
      });

      it('reaps expired locks once, even when reapers run at once, and tells listeners', async () => {
        await fresh();
        const heard: LockChange[] = [];
        const off = store.onChange((c) => c.workspaceId === ws && heard.push(c));
        const a = await acquire('a', h('token:ci', 'run-1'), { ttlMs: 150 });
        const b = await acquire('b', h('token:ci', 'run-2'), { ttlMs: 150 });
        await acquire('live', h('token:ci', 'run-3'));
        // b was granted after a: on a loaded machine, later by more than the pause below.
        await waitUntilExpired(store, a.lock);
        await waitUntilExpired(store, b.lock);
        await sleep(20);
        const batches = await Promise.all([store.reapExpired(1000, 0), store.reapExpired(1000, 0), store.reapExpired(1000, 0)]);
        const mine = batches.flat().filter((l) => l.workspaceId === ws);
        expect(mine.map((l) => l.key).sort()).toEqual(['a', 'b']);
        const expired = await events({ action: 'lock.expired' });
        expect(expired.map((e) => e.key).sort()).toEqual(['a', 'b']);
        expect(await store.getLock(ws, 'live')).not.toBeNull();
        await waitFor(() => heard.filter((c) => c.kind === 'expired').length === 2);
        off();
      });

      it('keeps a key unavailable for the lock-delay after an expiry, but not after a release', async () => {
        await fresh();
        const g = await acquire('k', h('token:ci', 'run-1'), { ttlMs: 150 });
        await waitUntilExpired(store, g.lock);
        const held = await acquire('k', h('token:other', 'run-2'), { lockDelayMs: LONG });
        expect(held.outcome).toBe('held');
        expect(held.lock.token).toBe(g.lock.token);
        expect(await store.getLock(ws, 'k')).toBeNull();
        expect((await store.reapExpired(1000, LONG)).filter((l) => l.workspaceId === ws)).toEqual([]);
        expect((await acquire('k', h('token:other', 'run-2'), { lockDelayMs: 0 })).outcome).toBe('granted');
        // After a release the key is free at once, whatever the delay.
        await release('k', h('token:other', 'run-2'));
        expect((await acquire('k', h('token:third', 'run-3'), { lockDelayMs: LONG })).outcome).toBe('granted');
      });
    });

    describe('fencing tokens', () => {
      it('strictly increase with every grant in a workspace, across keys, releases and a restart', async () => {
        await fresh();
        const tokens: number[] = [];
        for (let i = 0; i < 5; i++) {
          tokens.push((await acquire(`k${i % 2}`, h('token:ci', `run-${i}`))).lock.token);
          await release(`k${i % 2}`, h('token:ci', `run-${i}`));
        }
        expect(tokens).toEqual([1, 2, 3, 4, 5]);
        const reopened = await harness.reopen();
        try {
          const r = decided(await reopened.acquire({ workspaceId: ws, key: 'k0', ttlMs: LONG, message: '', holder: h('token:ci', 'after-restart') }));
          expect(r.lock.token).toBe(6);
        } finally {
          await reopened.close();
        }
        expect((await acquire('k9', h('token:ci', 'x'))).lock.token).toBe(7);
      });

      it('hands exactly one grant to 50 concurrent acquires of one key, and distinct tokens to concurrent grants of 50 keys', async () => {
        await fresh();
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => acquire('hot', h('token:ci', `run-${i}`))));
        const granted = results.filter((r) => r.outcome === 'granted');
        expect(granted).toHaveLength(1);
        const winner = granted[0]!.lock;
        for (const r of results.filter((x) => x.outcome !== 'granted')) {
          expect(r.outcome).toBe('held');
          expect(r.lock.holder).toEqual(winner.holder);
          expect(r.lock.token).toBe(winner.token);
        }
        expect(await events({ key: 'hot', action: 'lock.denied' })).toHaveLength(49);
        const spread = await Promise.all(Array.from({ length: 50 }, (_, i) => acquire(`key-${i}`, h('token:ci', `r-${i}`))));
        expect(spread.every((r) => r.outcome === 'granted')).toBe(true);
        // Distinct and above every earlier grant; PostgreSQL may skip numbers where first grants of a key raced (lock-queries.ts).
        const tokens = spread.map((r) => r.lock.token);
        expect(new Set(tokens).size).toBe(50);
        expect(Math.min(...tokens)).toBeGreaterThan(winner.token);
      });
    });

    describe('listing', () => {
      it('pages live locks under a prefix in bytewise key order with a cursor', async () => {
        await fresh();
        const keys = ['a/b', 'a/b/c', 'a/bz', 'a/b\u00e9', 'a/b\uff5e', 'a/b\u{1F600}', 'a/b%', 'a/b_', 'a/B', 'a/c', 'a/', 'b', 'a/b/c/d'];
        for (const k of keys) await acquire(k, h('token:ci', k));
        const short = await acquire('a/b/expiring', h('token:ci', 'x'), { ttlMs: 150 });
        await waitUntilExpired(store, short.lock);
        const expected = keys.filter((k) => k.startsWith('a/b')).sort(bytewise);
        const seen: string[] = [];
        let after: string | undefined;
        for (let pages = 0; pages < 10; pages++) {
          const page = await store.listLocks({ workspaceId: ws, prefix: 'a/b', limit: 3, ...(after !== undefined ? { after } : {}) });
          seen.push(...page.locks.map((l) => l.key));
          if (page.nextAfter === null) break;
          after = page.nextAfter;
        }
        expect(seen).toEqual(expected);
        const all = await store.listLocks({ workspaceId: ws, limit: 100 });
        expect(all.locks.map((l) => l.key)).toEqual([...keys].sort(bytewise));
        expect(all.nextAfter).toBeNull();
      });
    });

    describe('audit', () => {
      it('filters events by key, actor, action, time range, and pages newest first', async () => {
        await fresh();
        await acquire('x', h('token:ci', 'r1'));
        await sleep(15);
        const mid = await store.now();
        await sleep(15);
        await acquire('x', h('token:other', 'r2'));
        await acquire('y', h('token:other', 'r3'));
        await release('x', h('token:ci', 'r1'));
        await store.appendEvent({ workspaceId: ws, action: 'workflow.queued', actor: 'system', key: 'y', details: { n: 1 } });
        const all = await events();
        expect(all.map((e) => e.action)).toEqual(['workflow.queued', 'lock.deleted', 'lock.created', 'lock.denied', 'lock.created']);
        expect(all.map((e) => e.id)).toEqual([...all.map((e) => e.id)].sort((a, b) => b - a));
        expect((await events({ key: 'x' })).map((e) => e.action)).toEqual(['lock.deleted', 'lock.denied', 'lock.created']);
        expect((await events({ actor: 'token:other' })).map((e) => e.action)).toEqual(['lock.created', 'lock.denied']);
        expect((await events({ action: 'lock.created' })).map((e) => e.key)).toEqual(['y', 'x']);
        expect((await events({ since: mid })).map((e) => e.action)).toEqual(['workflow.queued', 'lock.deleted', 'lock.created', 'lock.denied']);
        expect((await events({ until: mid })).map((e) => e.action)).toEqual(['lock.created']);
        const page1 = await events({ limit: 2 });
        const page2 = await events({ limit: 2, before: page1[1]!.id });
        expect([...page1, ...page2].map((e) => e.id)).toEqual(all.slice(0, 4).map((e) => e.id));
        expect(all[0]).toMatchObject({ workspaceId: ws, actor: 'system', key: 'y', token: null, details: { n: 1 } });
      });
    });

    describe('workspaces and tokens', () => {
      it('isolates workspaces: same key, own tokens, own listings and events', async () => {
        const w1 = await fresh();
        const w2 = (await store.ensureWorkspace(`ws-${randomUUID()}`)).id;
        const a = decided(await store.acquire({ workspaceId: w1, key: 'k', ttlMs: LONG, message: '', holder: h('token:ci', 'r') }));
        const b = decided(await store.acquire({ workspaceId: w2, key: 'k', ttlMs: LONG, message: '', holder: h('token:ci', 'other') }));
        expect([a.outcome, b.outcome]).toEqual(['granted', 'granted']);
        expect([a.lock.token, b.lock.token]).toEqual([1, 1]);
        expect((await store.listLocks({ workspaceId: w2, limit: 10 })).locks.map((l) => l.holder.holderId)).toEqual(['other']);
        expect((await store.release({ workspaceId: w2, key: 'k', caller: h('token:ci', 'r'), force: false, mayForce: false })).outcome).toBe('not_holder');
        expect(await store.queryEvents({ workspaceId: w2, limit: 10 })).toHaveLength(1);
      });

      it('creates workspaces idempotently and finds them by id or name', async () => {
        const name = `team-${randomUUID()}`;
        const w = await store.ensureWorkspace(name);
        expect(await store.ensureWorkspace(name)).toEqual(w);
        expect(await store.getWorkspace(w.id)).toEqual(w);
        expect(await store.getWorkspace(name)).toEqual(w);
        expect(await store.getWorkspace('no-such-workspace')).toBeNull();
      });

      it('stores API tokens by hash, refuses a duplicate name, and counts them', async () => {
        await fresh();
        const t = await store.createToken({ workspaceId: ws, name: 'deployer', tokenHash: `hash-${randomUUID()}`, scopes: ['locks:write'], createdBy: 'token:admin' });
        expect(t).toMatchObject({ workspaceId: ws, name: 'deployer', scopes: ['locks:write'], revokedAt: null });
        expect(await store.findTokenByHash('nope')).toBeNull();
        await expect(store.createToken({ workspaceId: ws, name: 'deployer', tokenHash: `hash-${randomUUID()}`, scopes: [], createdBy: 'x' })).rejects.toMatchObject({ tag: 'Conflict' });
        expect(await store.countTokens(ws)).toBe(1);
        expect((await events({ action: 'token.created' }))[0]).toMatchObject({ actor: 'token:admin', details: { name: 'deployer', scopes: ['locks:write'] } });
      });

      it('lists and revokes tokens by name: idempotent, audited with the reason, never the last live admin token', async () => {
        await fresh();
        const mk = (name: string, scopes: Scope[]) =>
          store.createToken({ workspaceId: ws, name, tokenHash: `hash-${randomUUID()}`, scopes, createdBy: 'token:admin' });
        const root = await mk('root', ['admin']);
        await mk('ci', ['locks:write']);
        const other = (await store.ensureWorkspace(`ws-${randomUUID()}`)).id;
        expect((await store.listTokens(ws)).map((t) => [t.name, t.createdBy, t.revokedAt])).toEqual([['ci', 'token:admin', null], ['root', 'token:admin', null]]);
        expect(await store.listTokens(other)).toEqual([]);

        const revoked = await store.revokeToken({ workspaceId: ws, name: 'ci', by: 'token:root', reason: 'leaked in a log' });
        expect(revoked?.revokedAt).toBeInstanceOf(Date);
        expect(await store.revokeToken({ workspaceId: ws, name: 'ci', by: 'token:root', reason: null })).toEqual(revoked);
        expect(await store.revokeToken({ workspaceId: ws, name: 'nobody', by: 'token:root', reason: null })).toBeNull();
        expect(await store.revokeToken({ workspaceId: other, name: 'ci', by: 'token:root', reason: null })).toBeNull();
        expect((await store.listTokens(ws)).find((t) => t.name === 'ci')?.revokedAt).toEqual(revoked?.revokedAt);
        expect(await events({ action: 'token.revoked' })).toMatchObject([{ actor: 'token:root', details: { name: 'ci', reason: 'leaked in a log' } }]);

        // Revoked twice at once: both succeed, the same revocation, one audit event.
        await mk('twice', ['locks:write']);
        const [x, y] = await Promise.all([
          store.revokeToken({ workspaceId: ws, name: 'twice', by: 'token:root', reason: null }),
          store.revokeToken({ workspaceId: ws, name: 'twice', by: 'token:root', reason: null }),
        ]);
        expect(x?.revokedAt).toBeInstanceOf(Date);
        expect(y?.revokedAt).toEqual(x?.revokedAt);
        expect(await events({ action: 'token.revoked' })).toHaveLength(2);

        // The last live admin token stays; once there is another, either may go, but not both.
        await expect(store.revokeToken({ workspaceId: ws, name: 'root', by: 'token:root', reason: null })).rejects.toMatchObject({ tag: 'Conflict' });
        await mk('root2', ['admin', 'locks:force']);
        const both = await Promise.allSettled([
          store.revokeToken({ workspaceId: ws, name: 'root', by: 'token:root', reason: null }),
          store.revokeToken({ workspaceId: ws, name: 'root2', by: 'token:root', reason: null }),
        ]);
        expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
        expect((await store.listTokens(ws)).filter((t) => t.scopes.includes('admin') && !t.revokedAt)).toHaveLength(1);
        expect(root.revokedAt).toBeNull();
      });
    });

    describe('change notifications', () => {
      it('tells listeners about grants, renewals and releases after they commit', async () => {
        await fresh();
        const heard: LockChange[] = [];
        const off = store.onChange((c) => c.workspaceId === ws && heard.push(c));
        const g = await acquire('k', h('token:ci', 'r'));
        await acquire('k', h('token:ci', 'r'));
        await acquire('k', h('token:other', 'r2'));
        await release('k', h('token:ci', 'r'));
        await acquire('f', h('token:ci', 'r'));
        await release('f', h('token:admin'), true, true);
        await waitFor(() => heard.length >= 5);
        await sleep(50);
        off();
        expect(heard.map((c) => [c.key, c.kind, c.token])).toEqual([
          ['k', 'granted', g.lock.token], ['k', 'renewed', g.lock.token], ['k', 'released', g.lock.token],
          ['f', 'granted', g.lock.token + 1], ['f', 'force_released', g.lock.token + 1],
        ]);
      });

      it('hears changes made through another store on the same database when the backend is shared by replicas', async () => {
        if (!store.capabilities.multiReplica) {
          expect(store.capabilities).toMatchObject({ backend: 'sqlite', multiReplica: false });
          return;
        }
        await fresh();
        const other = await harness.reopen();
        try {
          const heard: LockChange[] = [];
          store.onChange((c) => c.workspaceId === ws && heard.push(c));
          await other.acquire({ workspaceId: ws, key: 'remote', ttlMs: LONG, message: '', holder: h('token:ci', 'r') });
          await other.release({ workspaceId: ws, key: 'remote', caller: h('token:ci', 'r'), force: false, mayForce: false });
          await waitFor(() => heard.length >= 2);
          expect(heard.map((c) => c.kind)).toEqual(['granted', 'released']);
        } finally {
          await other.close();
        }
      });
    });
  });
}

export async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Holder } from '../../src/core/types.js';
import type { Waiter } from '../../src/core/ports/leases.js';
import type { AcquireInput, LockChange } from '../../src/core/ports/locks.js';
import type { Store } from '../../src/core/ports/store.js';
import { type BackendHarness, waitFor, waitUntilExpired } from './lock-store-suite.js';

const LONG = 60_000;
const LEASE = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const h = (principal: string, holderId: string | null = null): Holder => ({ principal, holderId });

/** The LeaseStore rules (fair line of waiters, heartbeats, lock-delay reads), the same on every backend. */
export function leaseStoreConformance(name: string, harness: BackendHarness): void {
  describe(`LeaseStore conformance: ${name}`, () => {
    let store: Store;
    let ws: string;
    beforeAll(async () => {
      store = await harness.open();
    });
    afterAll(async () => {
      await store.close();
      await harness.cleanup();
    });

    const fresh = async () => {
      ws = (await store.ensureWorkspace(`ws-${randomUUID()}`)).id;
    };
    const acquire = (key: string, holder: Holder, extra: Partial<AcquireInput> = {}, s: Store = store) =>
      s.acquire({ workspaceId: ws, key, ttlMs: LONG, message: `by ${holder.holderId}`, holder, ...extra });
    const join = (key: string, holder: Holder, leaseMs = LEASE, s: Store = store) =>
      s.leases.enqueue({ workspaceId: ws, key, holder, message: `${holder.holderId} waits`, leaseMs });
    const release = (key: string, holder: Holder) => store.release({ workspaceId: ws, key, caller: holder, force: false, mayForce: false });
    const line = async (key: string) => (await store.leases.queue(ws, key)).map((w) => w.holder.holderId);

    describe('the line of waiters', () => {
      it('keeps arrival order, with who waits, why and since when', async () => {
        await fresh();
        const before = await store.now();
        const w = [await join('k', h('token:ci', 'w1')), await join('k', h('token:ci', 'w2')), await join('k', h('repo:acme/infra', 'w3'))];
        await join('other', h('token:ci', 'elsewhere'));
        expect(w[0]!.seq).toBeLessThan(w[1]!.seq);
        expect(w[1]!.seq).toBeLessThan(w[2]!.seq);
        const q = await store.leases.queue(ws, 'k');
        expect(q.map((x) => x.id)).toEqual(w.map((x) => x.id));
        expect(q[2]).toMatchObject({ workspaceId: ws, key: 'k', holder: { principal: 'repo:acme/infra', holderId: 'w3' }, message: 'w3 waits' });
        expect(q[0]!.since.getTime()).toBeGreaterThanOrEqual(before.getTime());
        expect(q[0]!.leaseExpiresAt.getTime() - q[0]!.since.getTime()).toBe(LEASE);
      });

      it('counts the live waiters of several keys in one call, for a page of the listing', async () => {
        await fresh();
        await join('a', h('token:ci', 'a1'));
        await join('a', h('token:ci', 'a2'));
        await join('b', h('token:ci', 'b1'));
        const lapsing = await join('b', h('token:ci', 'b2'), 1_000);
        await join('elsewhere', h('token:ci', 'e1'));
        expect(await store.leases.queueLengths(ws, ['a', 'b', 'free'])).toEqual(new Map([['a', 2], ['b', 2]]));
        await waitUntil(store, lapsing.leaseExpiresAt);
        expect(await store.leases.queueLengths(ws, ['a', 'b'])).toEqual(new Map([['a', 2], ['b', 1]]));
        expect(await store.leases.queueLengths(ws, [])).toEqual(new Map());
      });

      it('gives an available key only to the head of its line, and removes the head from the line in the granting transaction', async () => {
        await fresh();
        const a = h('token:ci', 'a');
        await acquire('k', a);
        const w1 = await join('k', h('token:ci', 'w1'));
        const w2 = await join('k', h('token:ci', 'w2'));
        expect((await acquire('k', h('token:ci', 'w1'), { waiterId: w1.id })).outcome).toBe('held');
        await release('k', a);
        expect(await acquire('k', h('token:ci', 'w2'), { waiterId: w2.id })).toEqual({ outcome: 'queued', lock: null, ahead: 1 });
        // A caller that does not wait never jumps the line: every live waiter is ahead of it.
        expect(await acquire('k', h('token:ci', 'x'))).toEqual({ outcome: 'queued', lock: null, ahead: 2 });
        const denied = await store.queryEvents({ workspaceId: ws, action: 'lock.denied', limit: 10 });
        expect(denied[0]).toMatchObject({ actor: 'token:ci', key: 'k', token: null, details: { holderId: 'x', waitersAhead: 2 } });
        const g = await acquire('k', h('token:ci', 'w1'), { waiterId: w1.id });
        expect(g.outcome).toBe('granted');
        expect(await line('k')).toEqual(['w2']);
        await release('k', h('token:ci', 'w1'));
        expect((await acquire('k', h('token:ci', 'w2'), { waiterId: w2.id })).outcome).toBe('granted');
        expect(await line('k')).toEqual([]);
        expect((await acquire('free-for-all', h('token:ci', 'x'))).outcome).toBe('granted');
      });

      it('lets the holder renew while others wait, and writes no lock.denied for a retry that asks not to', async () => {
        await fresh();
        const a = h('token:ci', 'a');
        const g = await acquire('k', a);
        const w1 = await join('k', h('token:ci', 'w1'));
        const r = await acquire('k', a, { ttlMs: 2 * LONG });
        expect(r).toMatchObject({ outcome: 'renewed', lock: { token: g.lock!.token } });
        expect((await store.leases.renew({ workspaceId: ws, key: 'k', token: g.lock!.token, principal: 'token:ci' })).outcome).toBe('renewed');
        expect((await acquire('k', h('token:ci', 'w1'), { waiterId: w1.id, recordDenial: false })).outcome).toBe('held');
        expect(await store.queryEvents({ workspaceId: ws, action: 'lock.denied', limit: 10 })).toEqual([]);
      });

      it('lets a waiter leave at once, so the next one is the head', async () => {
        await fresh();
        const w1 = await join('k', h('token:ci', 'w1'));
        const w2 = await join('k', h('token:ci', 'w2'));
        expect(await store.leases.leave(w1.id)).toBe(true);
        expect(await store.leases.leave(w1.id)).toBe(false);
        expect(await acquire('k', h('token:ci', 'w1'), { waiterId: w1.id })).toEqual({ outcome: 'not_in_line', lock: null });
        expect((await acquire('k', h('token:ci', 'w2'), { waiterId: w2.id })).outcome).toBe('granted');
      });

      it('stops counting a waiter whose lease lapsed (its server died), and purges it', async () => {
        await fresh();
        // Long enough that a loaded machine still reaches the first checks within it.
        const dead = await join('k', h('token:ci', 'dead'), 2_000);
        const alive = await join('k', h('token:ci', 'alive'));
        expect(await store.leases.refresh(alive.id, LEASE)).toBe(true);
        expect((await acquire('k', h('token:ci', 'alive'), { waiterId: alive.id })).outcome).toBe('queued');
        await waitUntil(store, dead.leaseExpiresAt);
        expect(await line('k')).toEqual(['alive']);
        expect(await store.leases.refresh(dead.id, LEASE)).toBe(false);
        expect((await acquire('k', h('token:ci', 'dead'), { waiterId: dead.id })).outcome).toBe('not_in_line');
        expect((await acquire('k', h('token:ci', 'alive'), { waiterId: alive.id })).outcome).toBe('granted');
        expect(await store.leases.purgeLapsed(1000)).toBeGreaterThanOrEqual(1);
        expect(await store.leases.leave(dead.id)).toBe(false);
      });

      it('keeps a refreshed waiter in line past its first lease', async () => {
        await fresh();
        const w = await join('k', h('token:ci', 'w'), 1_500);
        await sleep(300);
        expect(await store.leases.refresh(w.id, 5_000)).toBe(true);
        await waitUntil(store, w.leaseExpiresAt);
        expect(await line('k')).toEqual(['w']);
      });

      it('serves 12 waiters spread over two stores (replicas, where the backend has them) in arrival order, whoever tries first', async () => {
        await fresh();
        const other = await harness.reopen();
        try {
          const holder = h('token:ci', 'first');
          await acquire('k', holder);
          const waiters: Array<{ w: Waiter; s: Store }> = [];
          for (let i = 0; i < 12; i++) {
            const s = i % 2 === 0 ? store : other;
            waiters.push({ w: await join('k', h('token:ci', `w${i}`), LEASE, s), s });
          }
          let current = holder;
          const order: string[] = [];
          while (order.length < waiters.length) {
            await release('k', current);
            // Everyone left tries at once, the later arrivals first: only the head may win.
            const left = waiters.filter((x) => !order.includes(x.w.holder.holderId!)).reverse();
            const results = await Promise.all(left.map((x) => acquire('k', x.w.holder, { waiterId: x.w.id, recordDenial: false }, x.s)));
            const winners = left.filter((_, i) => results[i]!.outcome === 'granted');
            expect(winners).toHaveLength(1);
            order.push(winners[0]!.w.holder.holderId!);
            current = winners[0]!.w.holder;
          }
          expect(order).toEqual(waiters.map((x) => x.w.holder.holderId));
        } finally {
          await other.close();
        }
      });
    });

    describe('heartbeat', () => {
      it('extends the caller’s grant by its last TTL or a given one, keeps the token, records lock.renewed and tells listeners', async () => {
        await fresh();
        const heard: LockChange[] = [];
        const off = store.onChange((c) => c.workspaceId === ws && heard.push(c));
        const g = (await acquire('k', h('token:ci', 'run-1'), { ttlMs: 10_000 })).lock!;
        await sleep(30);
        const r = await store.leases.renew({ workspaceId: ws, key: 'k', token: g.token, principal: 'token:ci' });
        expect(r.outcome).toBe('renewed');
        if (r.outcome !== 'renewed') return;
        expect(r.lock).toMatchObject({ id: g.id, token: g.token, holder: g.holder, acquiredAt: g.acquiredAt, message: g.message });
        expect(r.lock.expiresAt.getTime() - r.lock.updatedAt.getTime()).toBe(10_000);
        expect(r.lock.expiresAt.getTime()).toBeGreaterThan(g.expiresAt.getTime());
        const longer = await store.leases.renew({ workspaceId: ws, key: 'k', token: g.token, principal: 'token:ci', ttlMs: LONG });
        expect(longer.outcome === 'renewed' && longer.lock.expiresAt.getTime() - longer.lock.updatedAt.getTime()).toBe(LONG);
        expect(await store.getLock(ws, 'k')).toEqual(longer.outcome === 'renewed' ? longer.lock : null);
        const renewed = await store.queryEvents({ workspaceId: ws, action: 'lock.renewed', limit: 10 });
        expect(renewed).toHaveLength(2);
        expect(renewed[0]).toMatchObject({ actor: 'token:ci', key: 'k', token: g.token, details: { holderId: 'run-1', heartbeat: true } });
        await waitFor(() => heard.filter((c) => c.kind === 'renewed').length === 2);
        off();
      });

      it('is lost for a wrong token, another principal, an expired grant, and a released one', async () => {
        await fresh();
        const g = (await acquire('k', h('token:ci', 'run-1'))).lock!;
        const renew = (token: number, principal = 'token:ci', key = 'k') => store.leases.renew({ workspaceId: ws, key, token, principal });
        expect(await renew(g.token + 1)).toEqual({ outcome: 'lost', current: g });
        expect(await renew(g.token, 'token:other')).toEqual({ outcome: 'lost', current: g });
        expect(await renew(g.token, 'token:ci', 'never')).toEqual({ outcome: 'lost', current: null });
        await release('k', h('token:ci', 'run-1'));
        expect(await renew(g.token)).toEqual({ outcome: 'lost', current: null });
        const short = (await acquire('short', h('token:ci', 'run-2'), { ttlMs: 150 })).lock!;
        await waitUntilExpired(store, short);
        expect(await renew(short.token, 'token:ci', 'short')).toEqual({ outcome: 'lost', current: null });
        // A later grant on the key is someone else's lease, whatever the caller's token was.
        const next = (await acquire('short', h('token:ci', 'run-3'))).lock!;
        expect(await renew(short.token, 'token:ci', 'short')).toEqual({ outcome: 'lost', current: next });
      });
    });

    describe('lock-delay reads', () => {
      it('shows an expired lock as blocking until its lock-delay ends, and in listings asked to include them', async () => {
        await fresh();
        const g = (await acquire('k', h('token:ci', 'run-1'), { ttlMs: 150 })).lock!;
        await acquire('released', h('token:ci', 'run-2'), { ttlMs: 150 });
        await release('released', h('token:ci', 'run-2'));
        expect(await store.leases.blockingLock(ws, 'k', LONG)).toEqual(g);
        await waitUntilExpired(store, g);
        expect(await store.leases.blockingLock(ws, 'k', LONG)).toEqual(g);
        expect(await store.leases.blockingLock(ws, 'k', 0)).toBeNull();
        expect(await store.leases.blockingLock(ws, 'released', LONG)).toBeNull();
        expect((await store.listLocks({ workspaceId: ws, limit: 10, lockDelayMs: LONG })).locks).toEqual([g]);
        expect((await store.listLocks({ workspaceId: ws, limit: 10 })).locks).toEqual([]);
        expect((await acquire('k', h('token:ci', 'run-3'), { lockDelayMs: LONG })).outcome).toBe('held');
      });
    });
  });
}

async function waitUntil(store: Store, at: Date): Promise<void> {
  for (;;) {
    const now = await store.now();
    if (now.getTime() > at.getTime()) return;
    await sleep(Math.max(5, at.getTime() - now.getTime() + 1));
  }
}

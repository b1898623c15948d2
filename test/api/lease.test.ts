import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { Reaper } from '../../src/core/reaper.js';
import { makeTestApp, type TestApp } from '../support/app.js';

const K = 'acme/infra/prod/eks';
const url = `/api/v1/locks/${encodeURIComponent(K)}`;
const T0 = Date.UTC(2026, 5, 9, 10, 0, 0);
const iso = (ms: number) => new Date(T0 + ms).toISOString();

describe('heartbeats and lock-delay over the API', () => {
  let t: TestApp;
  let clock: ManualClock;
  const start = async (env: Record<string, string> = {}) => {
    clock = new ManualClock(T0);
    t = await makeTestApp({ clock, env });
  };
  afterEach(async () => t.close());

  const acquire = (payload: Record<string, unknown>, token?: string) =>
    t.call({ method: 'POST', url: '/api/v1/locks', payload: { key: K, ttlMs: 120_000, ...payload }, ...(token ? { token } : {}) });
  const renew = (payload: Record<string, unknown>, token?: string) =>
    t.call({ method: 'POST', url: '/api/v1/locks/renew', payload: { key: K, ...payload }, ...(token ? { token } : {}) });

  describe('POST /api/v1/locks/renew', () => {
    it('extends the holder’s lease by its TTL (or a given one), keeping the fencing token', async () => {
      await start();
      const g = (await acquire({ holderId: 'run-1' })).json().data;
      clock.advance(40_000);
      const r = await renew({ token: g.token });
      expect(r.statusCode).toBe(200);
      expect(r.json().data).toMatchObject({ token: g.token, id: g.id, acquiredAt: iso(0), updatedAt: iso(40_000), expiresAt: iso(160_000) });
      const longer = await renew({ token: g.token, ttlMs: 300_000 });
      expect(longer.json().data.expiresAt).toBe(iso(340_000));
      // The next renewal without a TTL keeps the last one asked for.
      clock.advance(10_000);
      expect((await renew({ token: g.token })).json().data.expiresAt).toBe(iso(350_000));
    });

    it('answers LockLost (409) for a wrong token, another principal, an expired lease, and a released one', async () => {
      await start();
      const other = await t.token('other', ['locks:write']);
      const g = (await acquire({ holderId: 'run-1', message: 'applying' })).json().data;
      const wrong = await renew({ token: g.token + 1 });
      expect(wrong.statusCode).toBe(409);
      expect(wrong.json()).toMatchObject({ errorTag: 'LockLost', context: { key: K, token: g.token + 1, lock: { token: g.token } } });
      expect(wrong.json().errorMessage).toContain(`now held by token:admin (run-1) with fencing token ${g.token}`);
      const notMine = await renew({ token: g.token }, other);
      expect(notMine.json().errorTag).toBe('LockLost');
      expect(notMine.json().errorMessage).toContain('is not yours');
      clock.advance(120_000);
      const expired = await renew({ token: g.token });
      expect(expired.json()).toMatchObject({ errorTag: 'LockLost', context: { lock: null } });
      expect(expired.json().errorMessage).toContain('was lost');
      const g2 = (await acquire({ holderId: 'run-2' })).json().data;
      await t.call({ method: 'DELETE', url });
      expect((await renew({ token: g2.token })).json().errorTag).toBe('LockLost');
    });

    it('rejects bad input with a 400 and needs locks:write', async () => {
      await start();
      const reader = await t.token('reader', ['locks:force']);
      for (const body of [{}, { token: 'abc' }, { token: 0 }, { token: 1, ttlMs: 10 }, { token: 1, ttlMs: 8 * 86_400_000 }, { key: '', token: 1 }]) {
        const r = await t.call({ method: 'POST', url: '/api/v1/locks/renew', payload: { key: K, ...body } });
        expect(r.statusCode, JSON.stringify(body)).toBe(400);
        expect(r.json().errorTag).toBe('ValidationError');
      }
      expect((await renew({ token: 1 }, reader)).statusCode).toBe(403);
    });
  });

  describe('lock-delay (STACKLOCK_LOCK_DELAY)', () => {
    it('keeps an expired key unavailable until the delay ends, and says so in refusals, status and listing', async () => {
      await start({ STACKLOCK_LOCK_DELAY: '30s' });
      const reaper = new Reaper(t.store, { intervalMs: 1000, lockDelayMs: t.config.lockDelayMs });
      await acquire({ holderId: 'run-1', ttlMs: 60_000, message: 'applying' });
      clock.advance(61_000);
      const refused = await acquire({ holderId: 'run-2' });
      expect(refused.statusCode).toBe(409);
      expect(refused.json().errorMessage).toBe(
        `'${K}' expired at ${iso(60_000)} and is in its lock-delay until ${iso(90_000)}; it was held by token:admin (run-1): "applying"`,
      );
      const status = await t.call({ method: 'GET', url });
      expect(status.statusCode).toBe(200);
      expect(status.json().data).toMatchObject({ state: 'lock_delay', expiresAt: iso(60_000), availableAt: iso(90_000), holder: { holderId: 'run-1' } });
      const list = (await t.call({ method: 'GET', url: '/api/v1/locks' })).json().data.locks;
      expect(list).toMatchObject([{ key: K, state: 'lock_delay', availableAt: iso(90_000) }]);
      expect(await reaper.reapNow()).toBe(0);
      clock.advance(28_000);
      expect(await reaper.reapNow()).toBe(0);
      expect((await acquire({ holderId: 'run-2' })).statusCode).toBe(409);
      clock.advance(1_000);
      // The reaper frees it at the end of the delay and records the expiry then.
      expect(await reaper.reapNow()).toBe(1);
      const [expired] = (await t.call({ method: 'GET', url: `/api/v1/events?action=lock.expired` })).json().data.events ?? [];
      expect(expired).toMatchObject({ key: K, at: iso(90_000), details: { holderId: 'run-1', expiresAt: iso(60_000) } });
      expect((await t.call({ method: 'GET', url })).statusCode).toBe(404);
      const next = await acquire({ holderId: 'run-2' });
      expect(next.statusCode).toBe(201);
      expect(next.json().data.holder.holderId).toBe('run-2');
    });

    it('frees a key at once after a clean release, delay or not', async () => {
      await start({ STACKLOCK_LOCK_DELAY: '30s' });
      await acquire({ holderId: 'run-1' });
      expect((await t.call({ method: 'DELETE', url })).statusCode).toBe(200);
      expect((await acquire({ holderId: 'run-2' })).statusCode).toBe(201);
      const status = (await t.call({ method: 'GET', url })).json().data;
      // Held: if it expires instead of being released, the delay follows its expiry.
      expect(status).toMatchObject({ state: 'held', expiresAt: iso(120_000), availableAt: iso(150_000), queue: [] });
    });

    it('is 0 by default: an expired key is free at its expiry', async () => {
      await start();
      expect(t.config.lockDelayMs).toBe(0);
      await acquire({ holderId: 'run-1', ttlMs: 60_000 });
      clock.advance(60_000);
      expect((await acquire({ holderId: 'run-2' })).statusCode).toBe(201);
    });
  });
});

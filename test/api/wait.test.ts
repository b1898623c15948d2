import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../support/app.js';

const K = 'acme/infra/prod/vpc';
const url = `/api/v1/locks/${encodeURIComponent(K)}`;

/** Waiting in line on POST /api/v1/locks (real clock: the waits are real). */
describe('waiting for a lock', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeTestApp();
  });
  afterEach(async () => t.close());

  const acquire = (payload: Record<string, unknown>) => t.call({ method: 'POST', url: '/api/v1/locks', payload: { key: K, ttlMs: 60_000, ...payload } });
  const release = (holderId: string) => t.call({ method: 'DELETE', url: `${url}?holderId=${holderId}` });
  const queue = async (): Promise<Array<{ position: number; holder: { holderId: string }; message: string; since: string }>> => {
    const r = await t.call({ method: 'GET', url });
    return r.statusCode === 200 ? r.json().data.queue : (r.json().context?.queue ?? []);
  };
  const until = async (what: () => Promise<boolean>, ms = 10_000) => {
    const end = Date.now() + ms;
    while (!(await what())) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('holds the request until the holder releases, showing the waiter in the key’s line meanwhile', async () => {
    await acquire({ holderId: 'holder', message: 'applying' });
    const started = Date.now();
    const waiting = acquire({ holderId: 'waiter', message: 'next deploy', waitMs: 30_000 });
    await until(async () => (await queue()).length === 1);
    const status = (await t.call({ method: 'GET', url })).json().data;
    expect(status).toMatchObject({ state: 'held', holder: { holderId: 'holder' }, message: 'applying' });
    expect(status.queue).toEqual([{ position: 1, holder: { principal: 'token:admin', holderId: 'waiter' }, message: 'next deploy', since: expect.any(String) }]);
    expect(new Date(status.queue[0].since).getTime()).toBeGreaterThanOrEqual(started - 5);
    await release('holder');
    const granted = await waiting;
    expect(granted.statusCode).toBe(201);
    expect(granted.json().data).toMatchObject({ key: K, holder: { holderId: 'waiter' }, message: 'next deploy' });
    expect(await queue()).toEqual([]);
  });

  it('lists each lock with the length of its line, and reports the lease after the wait', async () => {
    await acquire({ holderId: 'holder' });
    await t.call({ method: 'POST', url: '/api/v1/locks', payload: { key: 'other/key', ttlMs: 60_000, holderId: 'x' } });
    const waits = ['w1', 'w2', 'w3', 'w4'].map((id) => acquire({ holderId: id, waitMs: 30_000 }));
    await until(async () => (await queue()).length === 4);
    const listed = (await t.call({ method: 'GET', url: '/api/v1/locks' })).json().data.locks as Array<{ key: string; queueLength: number }>;
    expect(listed.map((l) => [l.key, l.queueLength])).toEqual([[K, 4], ['other/key', 0]]);
    await release('holder');
    const first = await waits[0]!;
    expect(first.json().data).toMatchObject({ holder: { holderId: 'w1' }, heldMs: expect.any(Number), leaseRemainingMs: expect.any(Number) });
    expect(first.json().data.leaseRemainingMs).toBeLessThanOrEqual(60_000);
    for (const id of ['w1', 'w2', 'w3']) {
      await release(id);
    }
    await Promise.all(waits);
  });

  it('serves waiters first come, first served', async () => {
    await acquire({ holderId: 'holder' });
    const order: string[] = [];
    const waits = [];
    for (const id of ['w1', 'w2', 'w3', 'w4']) {
      waits.push(acquire({ holderId: id, waitMs: 30_000 }).then((r) => {
        expect(r.statusCode).toBe(201);
        order.push(id);
        // Hold it briefly, then pass it on.
        return new Promise((res) => setTimeout(res, 30)).then(() => release(id));
      }));
      await until(async () => (await queue()).some((w) => w.holder.holderId === id));
    }
    expect((await queue()).map((w) => [w.position, w.holder.holderId])).toEqual([[1, 'w1'], [2, 'w2'], [3, 'w3'], [4, 'w4']]);
    await release('holder');
    await Promise.all(waits);
    expect(order).toEqual(['w1', 'w2', 'w3', 'w4']);
  });

  it('gives up after waitMs with LockHeld naming the holder, leaves the line, and records one lock.denied', async () => {
    await acquire({ holderId: 'holder', message: 'long apply' });
    const started = Date.now();
    const r = await acquire({ holderId: 'impatient', waitMs: 1200 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1100);
    expect(r.statusCode).toBe(409);
    expect(r.json()).toMatchObject({ errorTag: 'LockHeld', context: { lock: { holder: { holderId: 'holder' } }, queue: [] } });
    expect(r.json().errorMessage).toContain('"long apply"');
    expect(r.json().errorMessage).toMatch(/gave up after waiting 1s/);
    expect(await queue()).toEqual([]);
    const denied = (await t.call({ method: 'GET', url: `/api/v1/events?action=lock.denied&key=${encodeURIComponent(K)}` })).json().data;
    const events = Array.isArray(denied) ? denied : denied.events;
    expect(events).toHaveLength(1);
    expect(events[0].details).toMatchObject({ holderId: 'impatient', waitedMs: expect.any(Number) });
  });

  it('refuses a caller that does not wait while others wait, even when no lock blocks the key', async () => {
    const ws = (await t.store.getWorkspace('default'))!.id;
    await t.store.leases.enqueue({ workspaceId: ws, key: K, holder: { principal: 'token:ci', holderId: 'first' }, message: 'm', leaseMs: 60_000 });
    const r = await acquire({ holderId: 'jumper' });
    expect(r.statusCode).toBe(409);
    expect(r.json().errorTag).toBe('LockHeld');
    expect(r.json().errorMessage).toContain("'acme/infra/prod/vpc' is not locked, but 1 waiter is in line for it; first in line: token:ci (first)");
    expect(r.json().context.queue).toEqual([{ position: 1, holder: { principal: 'token:ci', holderId: 'first' }, message: 'm', since: expect.any(String) }]);
    const status = await t.call({ method: 'GET', url });
    expect(status.statusCode).toBe(404);
    expect(status.json().errorMessage).toBe("'acme/infra/prod/vpc' is not locked (1 waiting in line to take it)");
  });

  it('renews at once for the holder itself, without waiting', async () => {
    await acquire({ holderId: 'holder' });
    const r = await acquire({ holderId: 'holder', waitMs: 30_000 });
    expect(r.statusCode).toBe(200);
  });

  it('rejects a bad waitMs with a 400', async () => {
    for (const waitMs of [-1, 1.5, '10s', 8 * 86_400_000]) {
      const r = await acquire({ holderId: 'x', waitMs });
      expect(r.statusCode, JSON.stringify(waitMs)).toBe(400);
      expect(r.json().errorTag).toBe('ValidationError');
    }
  });
});

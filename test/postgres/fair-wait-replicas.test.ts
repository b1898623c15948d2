import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/app.js';
import { call, openCall, until } from '../support/http-waiter.js';
import { startServerProcess, type ServerProcess } from '../support/processes.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

/** The line of waiters is the database's: first come, first served across replicas, and a dead replica's waiters drop out. */
describe('waiting across PostgreSQL replicas', () => {
  let db: TestDatabase;
  let replicas: ServerProcess[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
    const dataDir = tempDir('stacklock-wait-replicas-');
    replicas = [];
    for (let i = 0; i < 3; i++) replicas.push(await startServerProcess(dataDir, ['--database-url', db.url]));
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.kill('SIGKILL')));
    await db.drop();
  });

  const api = (r: ServerProcess, method: string, path: string, body?: unknown) => call(r.url, r.adminToken, method, path, body);
  const lineOf = async (r: ServerProcess, key: string): Promise<string[]> => {
    const res = await api(r, 'GET', `/api/v1/locks/${encodeURIComponent(key)}`);
    const q = (res.body.data?.queue ?? (res.body as { context?: { queue?: unknown[] } }).context?.queue ?? []) as Array<{ holder: { holderId: string } }>;
    return q.map((w) => w.holder.holderId);
  };

  it('serves waiters on different replicas in arrival order', async () => {
    const [a, b, c] = replicas as [ServerProcess, ServerProcess, ServerProcess];
    const key = 'acme/infra/prod/vpc';
    expect((await api(a, 'POST', '/api/v1/locks', { key, ttlMs: 60_000, holderId: 'holder' })).status).toBe(201);
    const order: string[] = [];
    const plan: Array<[string, ServerProcess]> = [['w1', b], ['w2', c], ['w3', a], ['w4', b], ['w5', c]];
    const waits = [];
    for (const [id, replica] of plan) {
      const pending = openCall(replica.url, replica.adminToken, 'POST', '/api/v1/locks', { key, ttlMs: 60_000, holderId: id, waitMs: 120_000 });
      waits.push(
        pending.response.then(async (r) => {
          expect(r.status, JSON.stringify(r.body)).toBe(201);
          order.push(id);
          await new Promise((res) => setTimeout(res, 50));
          expect((await api(replica, 'DELETE', `/api/v1/locks/${encodeURIComponent(key)}?holderId=${id}`)).status).toBe(200);
        }),
      );
      await until(async () => (await lineOf(a, key)).includes(id), 20_000, `${id} in line`);
    }
    expect(await lineOf(c, key)).toEqual(['w1', 'w2', 'w3', 'w4', 'w5']);
    await api(c, 'DELETE', `/api/v1/locks/${encodeURIComponent(key)}?holderId=holder`);
    await Promise.all(waits);
    expect(order).toEqual(['w1', 'w2', 'w3', 'w4', 'w5']);
  });

  it('drops the waiters of a replica killed with SIGKILL within their lease, and the next one is served', async () => {
    const [a, b, c] = replicas as [ServerProcess, ServerProcess, ServerProcess];
    const key = 'acme/infra/prod/eks';
    await api(a, 'POST', '/api/v1/locks', { key, ttlMs: 60_000, holderId: 'holder' });
    const doomed = openCall(c.url, c.adminToken, 'POST', '/api/v1/locks', { key, ttlMs: 60_000, holderId: 'on-dead-replica', waitMs: 120_000 });
    doomed.response.catch(() => undefined);
    await until(async () => (await lineOf(a, key)).length === 1, 20_000, 'first waiter in line');
    const survivor = openCall(b.url, b.adminToken, 'POST', '/api/v1/locks', { key, ttlMs: 60_000, holderId: 'survivor', waitMs: 120_000 });
    await until(async () => (await lineOf(a, key)).length === 2, 20_000, 'second waiter in line');
    await c.kill('SIGKILL');
    const killed = Date.now();
    await api(a, 'DELETE', `/api/v1/locks/${encodeURIComponent(key)}?holderId=holder`);
    const r = await survivor.response;
    expect(r.status).toBe(201);
    expect(r.body.data).toMatchObject({ holder: { holderId: 'survivor' } });
    // The dead replica's waiter counted until its lease (15 s) ran out, and not much longer.
    expect(Date.now() - killed).toBeLessThan(25_000);
    expect(await lineOf(a, key)).toEqual([]);
  }, 60_000);
});

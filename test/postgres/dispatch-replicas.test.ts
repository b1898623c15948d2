import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/app.js';
import { eventually, FakeGitHub } from '../support/fake-github.js';
import { startServerProcess, type ServerProcess } from '../support/processes.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

/**
 * Three `stacklock server` replicas on one PostgreSQL share one dispatch queue: every dispatch
 * reaches GitHub exactly once, and each key's queue is sent in arrival order, whichever replica
 * took the request, released the lock, or heard of the release.
 */
describe('dispatches with three replicas on PostgreSQL', () => {
  let db: TestDatabase;
  let gh: FakeGitHub;
  let replicas: ServerProcess[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
    gh = await new FakeGitHub().start();
    // GitHub answers a little slowly, so replicas' sends overlap in time.
    gh.delay('dispatch', 15);
    const dataDir = tempDir('stacklock-dispatch-replicas-');
    replicas = await Promise.all([0, 1, 2].map(() => startServerProcess(dataDir, ['--database-url', db.url], gh.tokenEnv())));
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.kill()));
    await gh?.stop();
    await db?.drop();
  });

  const call = async (r: ServerProcess, method: string, path: string, body?: unknown) => {
    const res = await fetch(r.url + path, {
      method,
      headers: { authorization: `Bearer ${r.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as { data: Record<string, unknown> };
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json.data;
  };

  it('sends each of 100 dispatches exactly once, in arrival order per key', async () => {
    const at = (i: number) => replicas[i % 3] as ServerProcess;
    await call(at(0), 'PUT', '/api/v1/repos/acme/infra', {});
    const keys = Array.from({ length: 10 }, (_, k) => `acme/infra/stack-${k}/app`);
    for (const [k, key] of keys.entries()) await call(at(k), 'POST', '/api/v1/locks', { key, ttlMs: 600_000, message: `deploy ${k}`, holderId: `run-${k}` });
    // 100 dispatches, sent to the three replicas ten at a time.
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 10 }, (_, j) => {
          const n = batch * 10 + j;
          return call(at(n), 'POST', '/api/v1/dispatches', { key: keys[n % 10], repository: 'acme/infra', workflow: 'apply.yml', ref: 'main', inputs: { n: String(n) } });
        }),
      );
    }
    expect(gh.dispatches()).toHaveLength(0);
    // Locks released on different replicas than the ones holding the requests.
    await Promise.all(keys.map((key, k) => call(at(k + 1), 'DELETE', '/api/v1/locks', { key, holderId: `run-${k}` })));

    await eventually(() => gh.dispatches().length >= 100, '100 dispatches at GitHub', 60_000, 50);
    // Sweeps run every second on each replica: give them several chances to send something twice.
    await new Promise((r) => setTimeout(r, 3000));
    const sent = gh.calls.filter((c) => c.route === 'dispatch');
    expect(sent).toHaveLength(100);
    const ns = sent.map((c) => (c.body?.inputs as { n: string }).n);
    expect(new Set(ns).size).toBe(100);

    for (const key of keys) {
      // Arrival order is the queue's order (seq): the list API gives it newest first.
      const queued = ((await call(at(0), 'GET', `/api/v1/dispatches?key=${encodeURIComponent(key)}`)).dispatches as Array<{ inputs: { n: string }; state: string }>).reverse();
      expect(queued.map((d) => d.state)).toEqual(Array(10).fill('dispatched'));
      const order = gh.dispatches().filter((c) => queued.some((d) => d.inputs.n === c.inputs.n)).map((c) => c.inputs.n);
      expect(order).toEqual(queued.map((d) => d.inputs.n));
    }
    const events = (await call(at(2), 'GET', '/api/v1/events?action=workflow.dispatched&limit=1000')).events as unknown[];
    expect(events).toHaveLength(100);
  });
});

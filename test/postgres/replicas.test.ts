import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/app.js';
import { startServerProcess, type ServerProcess } from '../support/processes.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

/** Several real `stacklock server` processes on one PostgreSQL behave as one service. */
describe('replicas on PostgreSQL', () => {
  let db: TestDatabase;
  let replicas: ServerProcess[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
    // Started at once on an empty database with one data dir: migrations and the first-start
    // bootstrap race, and exactly one admin token must come out of it.
    const dataDir = tempDir('stacklock-replicas-');
    replicas = await Promise.all([0, 1, 2].map(() => startServerProcess(dataDir, ['--database-url', db.url])));
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.kill()));
    await db.drop();
  });

  const call = async (r: ServerProcess, method: string, path: string, body?: unknown) => {
    const res = await fetch(r.url + path, {
      method,
      headers: { authorization: `Bearer ${r.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as { data?: Record<string, unknown>; errorTag?: string; errorMessage?: string } };
  };

  it('all start, share one admin token, and report the postgres backend', async () => {
    expect(new Set(replicas.map((r) => r.adminToken)).size).toBe(1);
    for (const r of replicas) {
      const ready = await call(r, 'GET', '/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body.data).toMatchObject({ status: 'ready', backend: 'postgres' });
    }
  });

  it('a lock taken on one replica is refused on another with who holds it, and released on a third', async () => {
    const [a, b, c] = replicas as [ServerProcess, ServerProcess, ServerProcess];
    const grant = await call(a, 'POST', '/api/v1/locks', { key: 'acme/infra/prod/vpc', ttlMs: 60_000, message: 'deploying VPC', holderId: 'run-1' });
    expect(grant.status).toBe(201);
    const held = await call(b, 'POST', '/api/v1/locks', { key: 'acme/infra/prod/vpc', ttlMs: 60_000, holderId: 'run-2' });
    expect(held.status).toBe(409);
    expect(held.body.errorTag).toBe('LockHeld');
    expect(held.body.errorMessage).toContain('deploying VPC');
    const renew = await call(c, 'POST', '/api/v1/locks', { key: 'acme/infra/prod/vpc', ttlMs: 60_000, holderId: 'run-1' });
    expect(renew.status).toBe(200);
    expect(renew.body.data?.token).toBe(grant.body.data?.token);
    const rel = await call(c, 'DELETE', '/api/v1/locks', { key: 'acme/infra/prod/vpc', holderId: 'run-1' });
    expect(rel.status).toBe(200);
    const next = await call(b, 'POST', '/api/v1/locks', { key: 'acme/infra/prod/vpc', ttlMs: 60_000, holderId: 'run-2' });
    expect(next.status).toBe(201);
    expect(next.body.data?.token).toBe((grant.body.data?.token as number) + 1);
  });

  it('a replica’s change stream hears grants and releases made on the other replicas, and expiries', async () => {
    const [a, b, c] = replicas as [ServerProcess, ServerProcess, ServerProcess];
    const abort = new AbortController();
    const res = await fetch(`${c.url}/api/v1/stream`, { headers: { authorization: `Bearer ${c.adminToken}` }, signal: abort.signal });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    // One read in flight at a time, kept across waits, so no chunk is dropped.
    let pending: ReturnType<typeof reader.read> | null = null;
    // The sweep delivers within ~5 s even if a NOTIFY is lost; the margin is for a loaded machine.
    const waitFor = async (pattern: RegExp, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(text)) {
        if (Date.now() > deadline) throw new Error(`stream did not show ${pattern} in time:\n${text}`);
        pending ??= reader.read();
        const chunk = await Promise.race([pending, new Promise<null>((r) => setTimeout(() => r(null), 250))]);
        if (chunk) {
          pending = null;
          if (!chunk.done) text += new TextDecoder().decode(chunk.value);
        }
      }
    };
    try {
      await waitFor(/event: ready/);
      await call(a, 'POST', '/api/v1/locks', { key: 'remote/one', ttlMs: 60_000, holderId: 'r1' });
      await call(b, 'DELETE', '/api/v1/locks', { key: 'remote/one', holderId: 'r1' });
      await waitFor(/"key":"remote\/one","kind":"granted"[\s\S]*"key":"remote\/one","kind":"released"/);
      // Left to expire: whichever replica's reaper frees it, this one hears it.
      await call(a, 'POST', '/api/v1/locks', { key: 'remote/two', ttlMs: 1_000, holderId: 'r2' });
      await waitFor(/"key":"remote\/two","kind":"expired"/);
    } finally {
      abort.abort();
      await reader.cancel().catch(() => undefined);
    }
  });
});

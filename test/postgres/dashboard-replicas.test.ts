import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { generateToken, hashToken } from '../../src/auth/tokens.js';
import { buildConfig } from '../../src/config.js';
import { buildApp } from '../../src/http/app.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { tempDir } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { sseEvents } from '../support/sse.js';

/** The dashboard on PostgreSQL: a session opened on one replica works on another, and the live stream hears every replica. */
describe('dashboard across replicas on PostgreSQL', () => {
  let db: TestDatabase;
  const stores: PostgresStore[] = [];
  const apps: FastifyInstance[] = [];
  const urls: string[] = [];
  const token = generateToken();

  beforeAll(async () => {
    db = await createTestDatabase();
    for (let i = 0; i < 2; i++) {
      const store = new PostgresStore({ connectionString: db.url, sweepIntervalMs: 1_000 });
      await store.migrate();
      const app = await buildApp(buildConfig({ dataDir: tempDir() }, {}), { store, logger: false });
      stores.push(store);
      apps.push(app);
      urls.push(await app.listen({ port: 0, host: '127.0.0.1' }));
    }
    const ws = await stores[0]!.ensureWorkspace('default');
    await stores[0]!.createToken({ workspaceId: ws.id, name: 'oncall', tokenHash: hashToken(token), scopes: ['locks:write', 'locks:force'], createdBy: 'test' });
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const store of stores) await store.close();
    await db.drop();
  });

  it('signs in on replica A, streams there a lock taken on replica B, and releases it from B with the same cookie and CSRF token', async () => {
    const [a, b] = urls as [string, string];
    const signIn = await fetch(`${a}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    expect(signIn.status).toBe(201);
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
    const { data: session } = (await signIn.json()) as { data: { csrfToken: string } };

    const abort = new AbortController();
    const stream = await fetch(`${a}/api/v1/stream`, { headers: { cookie }, signal: abort.signal });
    expect(stream.status).toBe(200);
    const events = sseEvents(stream.body!);
    expect((await events.next()).value).toMatchObject({ event: 'ready' });

    const grant = await fetch(`${b}/api/v1/locks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'acme/infra/prod/vpc', ttlMs: 60_000, holderId: 'run-1', message: 'deploying' }),
    });
    expect(grant.status).toBe(201);
    const started = Date.now();
    expect((await events.next()).value).toEqual({ event: 'change', data: { key: 'acme/infra/prod/vpc', kind: 'granted', token: 1 } });
    expect(Date.now() - started).toBeLessThan(5_000);

    const forced = await fetch(`${b}/api/v1/locks`, {
      method: 'DELETE',
      headers: { cookie, 'x-csrf-token': session.csrfToken, 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'acme/infra/prod/vpc', force: true, reason: 'from the other replica' }),
    });
    expect(forced.status).toBe(200);
    // The dashboard's Force unlock of the caller's own lock is audited (and streamed) as a force.
    expect((await events.next()).value).toMatchObject({ event: 'change', data: { kind: 'force_released' } });
    abort.abort();
  });

  it('ends on replica A, at once, the streams of a token revoked on replica B (its NOTIFY)', async () => {
    const [a] = urls as [string, string];
    const ws = await stores[0]!.ensureWorkspace('default');
    const viewer = generateToken();
    await stores[0]!.createToken({ workspaceId: ws.id, name: 'viewer', tokenHash: hashToken(viewer), scopes: ['locks:write'], createdBy: 'test' });
    const signIn = await fetch(`${a}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: viewer }) });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
    const streams = [
      sseEvents((await fetch(`${a}/api/v1/stream`, { headers: { cookie } })).body!),
      sseEvents((await fetch(`${a}/api/v1/stream`, { headers: { authorization: `Bearer ${viewer}` } })).body!),
    ];
    for (const s of streams) expect((await s.next()).value).toMatchObject({ event: 'ready' });
    const revokedAt = Date.now();
    expect(await stores[1]!.revokeToken({ workspaceId: ws.id, name: 'viewer', by: 'test', reason: null })).not.toBeNull();
    for (const s of streams) {
      expect((await s.next()).value).toMatchObject({ event: 'ended', data: { reason: 'token_revoked' } });
      expect((await s.next()).done).toBe(true);
    }
    expect(Date.now() - revokedAt).toBeLessThan(3_000);
  });
});

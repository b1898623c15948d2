import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { makeTestApp, type TestApp } from '../support/app.js';

describe('lock API', () => {
  let t: TestApp;
  let clock: ManualClock;
  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 5, 9, 10, 0, 0));
    t = await makeTestApp({ clock });
  });
  afterEach(async () => t.close());

  const acquire = (payload: Record<string, unknown>, token?: string) =>
    t.call({ method: 'POST', url: '/api/v1/locks', payload, ...(token ? { token } : {}) });

  it('grants, refuses another holder naming who holds it and why, then releases', async () => {
    const grant = await acquire({ key: 'acme/infra/prod/vpc', ttlMs: 60_000, message: 'deploying VPC', holderId: 'run-1' });
    expect(grant.statusCode).toBe(201);
    const body = grant.json();
    expect(body).toMatchObject({
      success: true,
      status: 201,
      data: { key: 'acme/infra/prod/vpc', message: 'deploying VPC', token: 1, expiresAt: '2026-06-09T10:01:00.000Z', holder: { principal: 'token:admin', holderId: 'run-1' } },
    });
    expect(typeof body.traceId).toBe('string');
    expect(grant.headers['x-trace-id']).toBe(body.traceId);

    const held = await acquire({ key: 'acme/infra/prod/vpc', ttlMs: 60_000, holderId: 'run-2' });
    expect(held.statusCode).toBe(409);
    expect(held.json()).toMatchObject({ success: false, status: 409, errorTag: 'LockHeld' });
    expect(held.json().errorMessage).toContain('deploying VPC');
    expect(held.json().errorMessage).toContain('run-1');
    expect(held.json().errorMessage).toContain('2026-06-09T10:01:00.000Z');
    expect(held.json().context.lock.holder.holderId).toBe('run-1');

    const rel = await t.call({ method: 'DELETE', url: '/api/v1/locks', payload: { key: 'acme/infra/prod/vpc' } });
    expect(rel.statusCode).toBe(200);
    expect(rel.json().data.outcome).toBe('released');
    // SPEC rule 2 on the key's own URL; the key-in-body form is atmos's unlock and is idempotent (docs/atmos.md).
    const again = await t.call({ method: 'DELETE', url: `/api/v1/locks/${encodeURIComponent('acme/infra/prod/vpc')}` });
    expect(again.statusCode).toBe(404);
    expect(again.json()).toMatchObject({ success: false, errorTag: 'LockNotFound' });
    const byBody = await t.call({ method: 'DELETE', url: '/api/v1/locks', payload: { key: 'acme/infra/prod/vpc' } });
    expect(byBody.json()).toMatchObject({ success: true, data: { outcome: 'not_locked' } });
  });

  it('renews for the same holderId (200, same token) and never without one', async () => {
    const g = await acquire({ key: 'k', ttlMs: 10_000, holderId: 'run-1' });
    clock.advance(5000);
    const r = await acquire({ key: 'k', ttlMs: 10_000, holderId: 'run-1', message: 'still going' });
    expect(r.statusCode).toBe(200);
    expect(r.json().data).toMatchObject({ token: g.json().data.token, message: 'still going', expiresAt: '2026-06-09T10:00:15.000Z' });

    await acquire({ key: 'anon', ttlMs: 10_000 });
    const twice = await acquire({ key: 'anon', ttlMs: 10_000 });
    expect(twice.statusCode).toBe(409);
  });

  it('gets a lock by URL-encoded key, and 404s a free key', async () => {
    const key = 'acme/infra/plat-ue1/prod/eks/cluster ✓';
    await acquire({ key, ttlMs: 10_000, message: 'm' });
    const got = await t.call({ method: 'GET', url: `/api/v1/locks/${encodeURIComponent(key)}` });
    expect(got.statusCode).toBe(200);
    expect(got.json().data.key).toBe(key);
    const free = await t.call({ method: 'GET', url: `/api/v1/locks/${encodeURIComponent('nope/x')}` });
    expect(free.statusCode).toBe(404);
    expect(free.json().errorTag).toBe('LockNotFound');
    clock.advance(10_000);
    expect((await t.call({ method: 'GET', url: `/api/v1/locks/${encodeURIComponent(key)}` })).statusCode).toBe(404);
  });

  it('releases by URL with force and reason, needing locks:force', async () => {
    const writer = await t.token('writer', ['locks:write']);
    const forcer = await t.token('oncall', ['locks:write', 'locks:force']);
    await acquire({ key: 'a/b', ttlMs: 60_000, message: 'mine' });
    const url = `/api/v1/locks/${encodeURIComponent('a/b')}`;
    const notHolder = await t.call({ method: 'DELETE', url, token: writer });
    expect(notHolder.statusCode).toBe(403);
    expect(notHolder.json()).toMatchObject({ errorTag: 'NotLockHolder' });
    expect(notHolder.json().errorMessage).toContain('"mine"');
    const noRight = await t.call({ method: 'DELETE', url: `${url}?force=true`, token: writer });
    expect(noRight.statusCode).toBe(403);
    expect(noRight.json().errorMessage).toContain('locks:force');
    const forced = await t.call({ method: 'DELETE', url: `${url}?force=true&reason=${encodeURIComponent('runner died')}`, token: forcer });
    expect(forced.statusCode).toBe(200);
    expect(forced.json().data).toMatchObject({ outcome: 'force_released', holder: { principal: 'token:admin' } });
    const ev = await t.call({ method: 'GET', url: '/api/v1/events?action=lock.force_deleted' });
    expect(ev.json().data.events[0]).toMatchObject({ actor: 'token:oncall', key: 'a/b', details: { reason: 'runner died' } });
  });

  it('audits a force unlock by the holder\'s own principal as a force, with its reason', async () => {
    // The admin token holds it (as the CLI on the server's machine does) and forces it itself.
    await acquire({ key: 'own/force', ttlMs: 60_000, message: 'stuck', holderId: 'vm:1:abc' });
    const forced = await t.call({ method: 'DELETE', url: `/api/v1/locks/${encodeURIComponent('own/force')}?force=true&reason=${encodeURIComponent('runner died')}` });
    expect(forced.statusCode).toBe(200);
    expect(forced.json().data).toMatchObject({ outcome: 'force_released' });
    const ev = await t.call({ method: 'GET', url: `/api/v1/events?key=${encodeURIComponent('own/force')}` });
    expect(ev.json().data.events[0]).toMatchObject({ action: 'lock.force_deleted', actor: 'token:admin', details: { reason: 'runner died', holderId: 'vm:1:abc' } });
  });

  it('records no invented reason when atmos unlocks its own lock by key without locks:force', async () => {
    const writer = await t.token('atmos-ci', ['locks:write']);
    expect((await t.call({ method: 'POST', url: '/api/v1/locks', payload: { key: 'atmos/own', ttlMs: 60_000 }, token: writer })).statusCode).toBe(201);
    const unlocked = await t.call({ method: 'DELETE', url: '/api/v1/locks', payload: { key: 'atmos/own' }, token: writer });
    expect(unlocked.json().data).toMatchObject({ outcome: 'released' });
    const ev = await t.call({ method: 'GET', url: `/api/v1/events?key=${encodeURIComponent('atmos/own')}&action=lock.deleted` });
    expect(ev.json().data.events[0].details).not.toHaveProperty('reason');
  });

  it('lists by prefix with a cursor', async () => {
    for (const k of ['s/a', 's/b', 's/c', 't/a']) await acquire({ key: k, ttlMs: 60_000 });
    const p1 = await t.call({ method: 'GET', url: '/api/v1/locks?prefix=s/&limit=2' });
    expect(p1.json().data.locks.map((l: { key: string }) => l.key)).toEqual(['s/a', 's/b']);
    const cursor = p1.json().data.nextCursor;
    const p2 = await t.call({ method: 'GET', url: `/api/v1/locks?prefix=s/&limit=2&cursor=${cursor}` });
    expect(p2.json().data).toMatchObject({ locks: [{ key: 's/c' }], nextCursor: null });
    const bad = await t.call({ method: 'GET', url: '/api/v1/locks?cursor=***' });
    expect(bad.statusCode).toBe(400);
  });

  it('answers 50 concurrent acquires of one key from 50 holders with exactly one grant', async () => {
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => acquire({ key: 'contended', ttlMs: 60_000, holderId: `h${i}`, message: `m${i}` })),
    );
    const codes = replies.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 201)).toHaveLength(1);
    expect(codes.filter((c) => c === 409)).toHaveLength(49);
    const winner = replies.find((r) => r.statusCode === 201)!.json().data.holder.holderId;
    for (const r of replies.filter((r) => r.statusCode === 409)) expect(r.json().context.lock.holder.holderId).toBe(winner);
  });

  it('records the audit trail, queryable by key, actor, action and time', async () => {
    const writer = await t.token('writer', ['locks:write']);
    await acquire({ key: 'x', ttlMs: 60_000, holderId: 'r1' });
    await acquire({ key: 'x', ttlMs: 60_000, holderId: 'r1' });
    await acquire({ key: 'x', ttlMs: 60_000 }, writer);
    clock.advance(1000);
    await t.call({ method: 'DELETE', url: '/api/v1/locks', payload: { key: 'x' } });
    await acquire({ key: 'y', ttlMs: 1000 });
    clock.advance(1000);
    await t.store.reapExpired(100, 0);
    const all = (await t.call({ method: 'GET', url: '/api/v1/events?limit=100' })).json().data.events;
    expect(all.map((e: { action: string }) => e.action)).toEqual([
      'lock.expired', 'lock.created', 'lock.deleted', 'lock.denied', 'lock.renewed', 'lock.created', 'token.created', 'token.created',
    ]);
    const byKey = (await t.call({ method: 'GET', url: '/api/v1/events?key=x&action=lock.denied' })).json().data.events;
    expect(byKey).toHaveLength(1);
    expect(byKey[0]).toMatchObject({ actor: 'token:writer', key: 'x', token: 1 });
    const byActor = (await t.call({ method: 'GET', url: '/api/v1/events?actor=system&action=lock.expired' })).json().data.events;
    expect(byActor.map((e: { key: string }) => e.key)).toEqual(['y']);
    const since = (await t.call({ method: 'GET', url: `/api/v1/events?since=${encodeURIComponent('2026-06-09T10:00:01Z')}` })).json().data.events;
    expect(since.map((e: { action: string }) => e.action)).toEqual(['lock.expired', 'lock.created', 'lock.deleted']);
    const page1 = (await t.call({ method: 'GET', url: '/api/v1/events?limit=3' })).json().data;
    const page2 = (await t.call({ method: 'GET', url: `/api/v1/events?limit=3&cursor=${page1.nextCursor}` })).json().data;
    expect(page2.events[0].id).toBeLessThan(page1.events[2].id);
  });

  it('creates tokens only for admins, returns them once, and they work', async () => {
    const created = await t.call({ method: 'POST', url: '/api/v1/tokens', payload: { name: 'deployer', scopes: ['locks:write'] } });
    expect(created.statusCode).toBe(201);
    const token = created.json().data.token as string;
    expect(token).toMatch(/^slk_/);
    const use = await acquire({ key: 'by-deployer', ttlMs: 5000 }, token);
    expect(use.json().data.holder.principal).toBe('token:deployer');
    const denied = await t.call({ method: 'POST', url: '/api/v1/tokens', payload: { name: 'x' }, token });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().errorTag).toBe('Forbidden');
    const dup = await t.call({ method: 'POST', url: '/api/v1/tokens', payload: { name: 'deployer' } });
    expect(dup.statusCode).toBe(409);
  });

  it('lists tokens without their secrets and revokes one by name: it stops working at once, its lock stays, the reason is audited', async () => {
    const token = await t.token('deployer', ['locks:write']);
    expect((await acquire({ key: 'held-by-deployer', ttlMs: 60_000, message: 'applying', holderId: 'run-1' }, token)).statusCode).toBe(201);
    const listed = await t.call({ method: 'GET', url: '/api/v1/tokens' });
    expect(listed.json().data.tokens).toMatchObject([
      { name: 'admin', scopes: ['admin'], createdBy: 'system', revokedAt: null },
      { name: 'deployer', scopes: ['locks:write'], createdBy: 'token:admin', revokedAt: null },
    ]);
    expect(listed.body).not.toContain(token);
    expect(listed.body).not.toMatch(/hash/i);
    expect((await t.call({ method: 'GET', url: '/api/v1/tokens', token })).statusCode).toBe(403);
    expect((await t.call({ method: 'DELETE', url: '/api/v1/tokens/admin', token })).statusCode).toBe(403);

    clock.advance(1000);
    const revoked = await t.call({ method: 'DELETE', url: '/api/v1/tokens/deployer?reason=leaked%20in%20a%20log' });
    expect(revoked.json()).toMatchObject({ success: true, data: { name: 'deployer', revokedAt: '2026-06-09T10:00:01.000Z' } });
    const refused = await acquire({ key: 'other', ttlMs: 5000 }, token);
    expect(refused.json()).toMatchObject({ status: 401, errorTag: 'Unauthorized' });
    // What it holds stays held (releasing it is a force unlock): revoking is not unlocking.
    expect((await t.call({ method: 'GET', url: `/api/v1/locks/held-by-deployer` })).json().data.holder.principal).toBe('token:deployer');
    const again = await t.call({ method: 'DELETE', url: '/api/v1/tokens/deployer' });
    expect(again.json().data.revokedAt).toBe('2026-06-09T10:00:01.000Z');
    const events = (await t.call({ method: 'GET', url: '/api/v1/events?action=token.revoked' })).json().data.events;
    expect(events).toMatchObject([{ actor: 'token:admin', details: { name: 'deployer', reason: 'leaked in a log' } }]);

    expect((await t.call({ method: 'DELETE', url: '/api/v1/tokens/nobody' })).json()).toMatchObject({ status: 404, errorTag: 'NotFound' });
    const last = await t.call({ method: 'DELETE', url: '/api/v1/tokens/admin' });
    expect(last.json()).toMatchObject({ status: 409, errorTag: 'Conflict' });
    expect(last.json().errorMessage).toContain('last admin token');
    const long = await t.call({ method: 'DELETE', url: `/api/v1/tokens/${'x'.repeat(101)}` });
    expect(long.json()).toMatchObject({ status: 400, errorTag: 'ValidationError' });
  });

  it('serves health, readiness, metrics and the OpenAPI document without a token', async () => {
    expect((await t.call({ method: 'GET', url: '/healthz', token: null })).json()).toMatchObject({ success: true, data: { status: 'ok' } });
    expect((await t.call({ method: 'GET', url: '/readyz', token: null })).json()).toMatchObject({ data: { status: 'ready', backend: 'sqlite' } });
    const metrics = await t.call({ method: 'GET', url: '/metrics', token: null });
    expect(metrics.body).toContain('stacklock_http_request_duration_seconds');
    const doc = (await t.call({ method: 'GET', url: '/openapi.json', token: null })).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/locks', '/api/v1/events', '/api/v1/tokens']));
  });
});

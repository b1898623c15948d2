import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/auth/tokens.js';
import { makeTestApp, type TestApp } from '../support/app.js';
import { sseEvents } from '../support/sse.js';

describe('GET /api/v1/stream', () => {
  let t: TestApp;
  let url: string;
  beforeEach(async () => {
    t = await makeTestApp();
    url = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterEach(async () => t.close());

  it("streams each committed change of the caller's workspace, and nothing of another's", async () => {
    const other = await t.store.ensureWorkspace('other');
    await t.store.createToken({ workspaceId: other.id, name: 'o', tokenHash: hashToken('slk_other'), scopes: ['admin'], createdBy: 'test' });

    const abort = new AbortController();
    const res = await fetch(`${url}/api/v1/stream`, { headers: { authorization: `Bearer ${t.adminToken}` }, signal: abort.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = sseEvents(res.body!);
    expect((await events.next()).value).toMatchObject({ event: 'ready' });

    const post = (token: string, key: string) =>
      fetch(`${url}/api/v1/locks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ key, ttlMs: 60_000, holderId: 'h' }),
      });
    expect((await post('slk_other', 'theirs')).status).toBe(201);
    const started = Date.now();
    expect((await post(t.adminToken, 'ours')).status).toBe(201);
    const next = await events.next();
    expect(next.value).toEqual({ event: 'change', data: { key: 'ours', kind: 'granted', token: 1 } });
    expect(Date.now() - started).toBeLessThan(5_000);
    abort.abort();
  });

  it('does not hold up closing the server', async () => {
    const res = await fetch(`${url}/api/v1/stream`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    const events = sseEvents(res.body!);
    expect((await events.next()).value).toMatchObject({ event: 'ready' });
    const started = Date.now();
    await t.app.close();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect((await events.next()).done).toBe(true);
  });

  it('ends a dashboard session\'s stream when that session signs out', async () => {
    const signIn = await fetch(`${url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: t.adminToken }) });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
    const { data } = (await signIn.json()) as { data: { csrfToken: string } };
    const res = await fetch(`${url}/api/v1/stream`, { headers: { cookie } });
    const events = sseEvents(res.body!);
    expect((await events.next()).value).toMatchObject({ event: 'ready' });
    const out = await fetch(`${url}/api/v1/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': data.csrfToken } });
    expect(out.status).toBe(200);
    expect((await events.next()).done).toBe(true);
    expect((await fetch(`${url}/api/v1/stream`, { headers: { cookie } })).status).toBe(401);
  });

  it('ends at once, saying why, every stream of a token that is revoked: a bearer\'s and a dashboard session\'s', async () => {
    const created = await fetch(`${url}/api/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'viewer', scopes: ['locks:write'] }),
    });
    const { token } = ((await created.json()) as { data: { token: string } }).data;
    const bearer = sseEvents((await fetch(`${url}/api/v1/stream`, { headers: { authorization: `Bearer ${token}` } })).body!);
    const signIn = await fetch(`${url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
    const dashboard = sseEvents((await fetch(`${url}/api/v1/stream`, { headers: { cookie } })).body!);
    // The admin's own stream stays open.
    const admin = sseEvents((await fetch(`${url}/api/v1/stream`, { headers: { authorization: `Bearer ${t.adminToken}` } })).body!);
    for (const s of [bearer, dashboard, admin]) expect((await s.next()).value).toMatchObject({ event: 'ready' });

    const revokedAt = Date.now();
    const revoked = await fetch(`${url}/api/v1/tokens/viewer`, { method: 'DELETE', headers: { authorization: `Bearer ${t.adminToken}` } });
    expect(revoked.status).toBe(200);
    for (const s of [bearer, dashboard]) {
      expect((await s.next()).value).toEqual({ event: 'ended', data: { reason: 'token_revoked', message: 'the token this stream was opened with was revoked' } });
      expect((await s.next()).done).toBe(true);
    }
    expect(Date.now() - revokedAt).toBeLessThan(2_000);
    await t.call({ method: 'POST', url: '/api/v1/locks', payload: { key: 'still/live', ttlMs: 60_000, holderId: 'h' } });
    expect((await admin.next()).value).toMatchObject({ event: 'change', data: { key: 'still/live' } });
  });

  it('needs authentication', async () => {
    const res = await fetch(`${url}/api/v1/stream`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { errorTag: string }).errorTag).toBe('Unauthorized');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { makeTestApp, type TestApp } from '../support/app.js';
import { goRequest, sendRaw, type RawResponse } from '../support/raw-http.js';
import { goDecode, LOCK_STACK_RESPONSE, UNLOCK_STACK_RESPONSE, ATMOS_API_RESPONSE } from './go-decode.js';

/**
 * Replays, byte for byte, what `atmos pro lock` / `atmos pro unlock` (v1.226.1) write on the
 * wire, and decodes every answer the way the atmos binary does (ATMOS-WIRE.md).
 */
const UA = 'atmos/v1.226.1 (linux; amd64)';
const KEY = 'acme/infra/plat-ue2-prod/vpc';

describe('atmos pro lock / unlock on the wire', () => {
  let t: TestApp;
  let url: string;
  let host: string;
  const clock = new ManualClock(Date.UTC(2026, 5, 9, 10, 0, 0));

  beforeAll(async () => {
    t = await makeTestApp({ clock });
    url = await t.app.listen({ port: 0, host: '127.0.0.1' });
    host = new URL(url).host;
  });
  afterAll(async () => t.close());

  const atmos = (method: string, path: string, body: string | undefined, token: string | null = t.adminToken): Promise<RawResponse> => {
    const headers: Record<string, string> = { 'User-Agent': UA, 'Content-Type': 'application/json' };
    if (token !== null) headers.Authorization = `Bearer ${token}`;
    return sendRaw(url, goRequest(method, host, path, headers, body));
  };

  it('locks: 200, and every field decodes into LockStackResponse', async () => {
    const r = await atmos('POST', '/api/v1/locks', `{"key":"${KEY}","ttl":30,"lockMessage":"Locked by Atmos"}`);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const body = goDecode(r.body, LOCK_STACK_RESPONSE) as Record<string, any>;
    const ws = await t.store.getWorkspace('default');
    expect(body).toMatchObject({
      success: true,
      status: 200,
      data: {
        workspaceId: ws!.id,
        key: KEY, // the CLI prints "Stack '<data.key>' successfully locked"
        lockMessage: 'Locked by Atmos',
        createdAt: '2026-06-09T10:00:00.000Z',
        updatedAt: '2026-06-09T10:00:00.000Z',
        expiresAt: '2026-06-09T10:00:30.000Z', // ttl is seconds
        deletedAt: null,
      },
    });
    expect(typeof body.data.id).toBe('string');
    expect(body.data.id.length).toBeGreaterThan(0);
  });

  it('refuses a second atmos lock of a held key: 409, success false, who holds it, why, until when', async () => {
    clock.advance(5000);
    const r = await atmos('POST', '/api/v1/locks', `{"key":"${KEY}","ttl":60,"lockMessage":"Second run"}`);
    expect(r.statusCode).toBe(409);
    const body = goDecode(r.body, LOCK_STACK_RESPONSE) as Record<string, any>;
    expect(body).toMatchObject({ success: false, status: 409, errorTag: 'LockHeld' });
    expect(body.errorMessage).toContain('"Locked by Atmos"');
    expect(body.errorMessage).toContain('2026-06-09T10:00:30.000Z');
    expect(body.errorMessage).toContain('token:admin');
    expect(typeof body.traceId).toBe('string');
    expect(body.context.lock.key).toBe(KEY);
  });

  it('unlocks with a DELETE carrying a JSON body: success true, data decodes as struct{}', async () => {
    const r = await atmos('DELETE', '/api/v1/locks', `{"key":"${KEY}"}`);
    expect(r.statusCode).toBe(200);
    const body = goDecode(r.body, UNLOCK_STACK_RESPONSE) as Record<string, any>;
    expect(body).toMatchObject({ success: true, data: { key: KEY, outcome: 'released' } });
    const events = (await t.call({ method: 'GET', url: `/api/v1/events?key=${encodeURIComponent(KEY)}&action=lock.deleted` })).json();
    expect(events.data.events).toHaveLength(1);
  });

  it('an unlock of a free key succeeds (outcome not_locked): atmos reads only success', async () => {
    const r = await atmos('DELETE', '/api/v1/locks', `{"key":"${KEY}"}`);
    expect(r.statusCode).toBe(200);
    const body = goDecode(r.body, UNLOCK_STACK_RESPONSE) as Record<string, any>;
    expect(body).toMatchObject({ success: true, status: 200, data: { key: KEY, outcome: 'not_locked' } });
  });

  it('an unlock of a lock held by someone else: NotLockHolder without locks:force; a forced release with it', async () => {
    const writer = await t.token('ci-writer', ['locks:write']);
    const oncall = await t.token('oncall', ['locks:write', 'locks:force']);
    const key = 'acme/infra/prod/eks/cluster';
    expect((await atmos('POST', '/api/v1/locks', `{"key":"${key}","ttl":300,"lockMessage":"upgrading EKS"}`)).statusCode).toBe(200);
    const refused = await atmos('DELETE', '/api/v1/locks', `{"key":"${key}"}`, writer);
    expect(refused.statusCode).toBe(403);
    const rb = goDecode(refused.body, UNLOCK_STACK_RESPONSE) as Record<string, any>;
    expect(rb).toMatchObject({ success: false, errorTag: 'NotLockHolder' });
    expect(rb.errorMessage).toContain('"upgrading EKS"');
    const forced = await atmos('DELETE', '/api/v1/locks', `{"key":"${key}"}`, oncall);
    expect(forced.statusCode).toBe(200);
    expect(goDecode(forced.body, UNLOCK_STACK_RESPONSE)).toMatchObject({ success: true, data: { outcome: 'force_released' } });
    const ev = (await t.call({ method: 'GET', url: '/api/v1/events?action=lock.force_deleted' })).json().data.events[0];
    expect(ev).toMatchObject({ actor: 'token:oncall', key, details: { holder: 'token:admin' } });
    expect(ev.details.reason).toMatch(/atmos pro unlock/);
  });

  it('an explicit "force": false is never widened', async () => {
    const oncall2 = await t.token('oncall2', ['locks:write', 'locks:force']);
    await atmos('POST', '/api/v1/locks', '{"key":"k/explicit","ttl":300}');
    const r = await atmos('DELETE', '/api/v1/locks', '{"key":"k/explicit","force":false}', oncall2);
    expect(r.statusCode).toBe(403);
    await atmos('DELETE', '/api/v1/locks', '{"key":"k/explicit"}');
  });

  it('a bad token is a 401 in the JSON envelope, never HTML', async () => {
    for (const token of ['slk_not-a-real-token', null]) {
      const r = await atmos('POST', '/api/v1/locks', `{"key":"${KEY}","ttl":30,"lockMessage":"Locked by Atmos"}`, token);
      expect(r.statusCode).toBe(401);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(goDecode(r.body, LOCK_STACK_RESPONSE)).toMatchObject({ success: false, status: 401, errorTag: 'Unauthorized' });
    }
  });

  it('an unknown path answers the JSON envelope too', async () => {
    const r = await atmos('POST', '/api/v1/lockz', '{}');
    expect(r.statusCode).toBe(404);
    expect(goDecode(r.body, ATMOS_API_RESPONSE)).toMatchObject({ success: false, errorTag: 'NotFound' });
  });

  it('serves atmos before v1.180.0 under /api/', async () => {
    const r = await atmos('POST', '/api/locks', '{"key":"legacy/repo/dev/vpc","ttl":30,"lockMessage":"old atmos"}');
    expect(r.statusCode).toBe(200);
    expect(goDecode(r.body, LOCK_STACK_RESPONSE)).toMatchObject({ success: true, data: { key: 'legacy/repo/dev/vpc', lockMessage: 'old atmos' } });
    const u = await atmos('DELETE', '/api/locks', '{"key":"legacy/repo/dev/vpc"}');
    expect(goDecode(u.body, UNLOCK_STACK_RESPONSE)).toMatchObject({ success: true, data: { outcome: 'released' } });
    const doc = (await t.call({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/api/') && !p.startsWith('/api/v1/'))).toEqual([]);
  });
});

describe('the atmos lock body next to stacklock\'s own', () => {
  let t: TestApp;
  const clock = new ManualClock(Date.UTC(2026, 5, 9, 10, 0, 0));
  beforeAll(async () => {
    t = await makeTestApp({ clock });
  });
  afterAll(async () => t.close());
  const post = (payload: object) => t.call({ method: 'POST', url: '/api/v1/locks', payload });

  it('ttlMs wins over ttl, message over lockMessage; stacklock\'s form still answers 201', async () => {
    const r = await post({ key: 'both', ttlMs: 2000, ttl: 600, message: 'native', lockMessage: 'atmos' });
    expect(r.statusCode).toBe(201);
    expect(r.json().data).toMatchObject({ expiresAt: '2026-06-09T10:00:02.000Z', message: 'native', lockMessage: 'native' });
  });

  it('stores properties, as an object or as Atmos Pro\'s list of {key, value}', async () => {
    const a = await post({ key: 'p/obj', ttl: 60, properties: { environment: 'production', n: 2 } });
    expect(a.json().data.properties).toEqual({ environment: 'production', n: 2 });
    const b = await post({ key: 'p/list', ttl: 60, properties: [{ key: 'environment', value: 'production' }, { key: '__proto__', value: 1 }] });
    expect(b.statusCode).toBe(200);
    const got = (await t.call({ method: 'GET', url: `/api/v1/locks/${encodeURIComponent('p/list')}` })).json().data;
    expect(got.properties).toEqual(JSON.parse('{"environment":"production","__proto__":1}'));
    expect(({} as Record<string, unknown>).environment).toBeUndefined();
  });

  it.each([
    ['ttl in seconds below 1s', { key: 'k', ttl: 0 }, /at least 1s/],
    ['fractional ttl', { key: 'k', ttl: 1.5 }, /ttl must be integer/],
    ['ttl as a string', { key: 'k', ttl: '30' }, /ttl must be integer/],
    ['ttl above the maximum', { key: 'k', ttl: 8 * 86_400 }, /above the maximum of 7d/],
    ['no ttl at all', { key: 'k', lockMessage: 'x' }, /ttl must be a whole number/],
    ['lockMessage not a string', { key: 'k', ttl: 30, lockMessage: 5 }, /lockMessage must be string/],
    ['properties a string', { key: 'k', ttl: 30, properties: 'x' }, /properties must be object,array/],
    ['properties list without keys', { key: 'k', ttl: 30, properties: [{ value: 1 }] }, /key is required/],
    // PostgreSQL cannot store U+0000: refused on every backend alike, never a 500.
    ['a NUL in lockMessage', { key: 'k', ttl: 30, lockMessage: 'a\u0000b' }, /NUL/],
    ['a NUL in a property', { key: 'k', ttl: 30, properties: { a: 'x\u0000' } }, /NUL/],
    ['a NUL in holderId', { key: 'k', ttl: 30, holderId: '\u0000' }, /NUL/],
  ])('%s → 400', async (_name, payload, text) => {
    const r = await post(payload);
    expect(r.statusCode, r.body).toBe(400);
    expect(r.json()).toMatchObject({ success: false, errorTag: 'ValidationError' });
    expect(r.json().errorMessage).toMatch(text);
  });
});

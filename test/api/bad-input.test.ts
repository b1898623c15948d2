import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../support/app.js';

/** Every answer is the envelope: success false, a 4xx status equal to the HTTP one, a tag, a message, a traceId. */
function expectClientError(r: { statusCode: number; body: string; headers: Record<string, unknown> }, status: number, tag?: string, text?: RegExp) {
  expect(r.statusCode, r.body).toBe(status);
  expect(String(r.headers['content-type'])).toMatch(/^application\/json/);
  const body = JSON.parse(r.body);
  expect(body).toMatchObject({ success: false, status });
  expect(typeof body.errorTag).toBe('string');
  expect(typeof body.errorMessage).toBe('string');
  expect(body.errorMessage).not.toMatch(/\n\s+at /); // no stack trace
  expect(typeof body.traceId).toBe('string');
  if (tag) expect(body.errorTag).toBe(tag);
  if (text) expect(body.errorMessage).toMatch(text);
}

describe('bad input gets a clear 4xx envelope', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });
  afterAll(async () => t.close());

  const post = (payload: unknown) => t.call({ method: 'POST', url: '/api/v1/locks', payload: payload as object });

  it('body is a JSON string → 400', async () => {
    const r = await t.call({ method: 'POST', url: '/api/v1/locks', headers: { 'content-type': 'application/json' }, payload: '"key"' });
    expectClientError(r, 400, 'ValidationError', /body must be object/);
  });

  it.each([
    ['empty key', { key: '', ttlMs: 5000 }, /key is required/],
    ['missing key', { ttlMs: 5000 }, /key is required/],
    ['key of 513 characters', { key: 'k'.repeat(513), ttlMs: 5000 }, /too long/],
    ['newline in key', { key: 'a\nb', ttlMs: 5000 }, /control characters/],
    ['NUL in key', { key: 'a\u0000b', ttlMs: 5000 }, /control characters/],
    ['key not a string', { key: 42, ttlMs: 5000 }, /key must be string/],
    ['TTL 0', { key: 'k', ttlMs: 0 }, /at least 1s/],
    ['negative TTL', { key: 'k', ttlMs: -5 }, /at least 1s/],
    ['fractional TTL', { key: 'k', ttlMs: 1500.5 }, /ttlMs must be integer/],
    ['non-numeric TTL', { key: 'k', ttlMs: 'soon' }, /ttlMs must be integer/],
    ['numeric-string TTL', { key: 'k', ttlMs: '5000' }, /ttlMs must be integer/],
    ['missing TTL', { key: 'k' }, /ttl must be a whole number/],
    ['TTL above the maximum', { key: 'k', ttlMs: 8 * 86_400_000 }, /above the maximum of 7d/],
    ['message too long', { key: 'k', ttlMs: 5000, message: 'm'.repeat(1025) }, /message/],
    ['message not a string', { key: 'k', ttlMs: 5000, message: { a: 1 } }, /message must be string/],
    ['body is an array', [1, 2], /body must be object/],
  ])('%s → 400', async (_name, payload, text) => {
    expectClientError(await post(payload), 400, 'ValidationError', text);
  });

  it('malformed JSON → 400', async () => {
    const r = await t.call({ method: 'POST', url: '/api/v1/locks', headers: { 'content-type': 'application/json' }, payload: '{"key": "k", ttlMs: }' });
    expectClientError(r, 400, 'ValidationError', /malformed JSON/);
  });

  it('prototype pollution attempt → 400', async () => {
    const r = await t.call({ method: 'POST', url: '/api/v1/locks', headers: { 'content-type': 'application/json' }, payload: '{"key":"k","ttlMs":5000,"__proto__":{"admin":true}}' });
    expectClientError(r, 400, 'ValidationError');
  });

  it('wrong content type → 415', async () => {
    const r = await t.call({ method: 'POST', url: '/api/v1/locks', headers: { 'content-type': 'text/plain' }, payload: 'key=k' });
    expectClientError(r, 415, 'UnsupportedMediaType', /application\/json/);
    const form = await t.call({ method: 'POST', url: '/api/v1/locks', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'key=k' });
    expectClientError(form, 415, 'UnsupportedMediaType');
  });

  it('a 2 MB body → 413', async () => {
    const r = await post({ key: 'k', ttlMs: 5000, message: 'x'.repeat(2 * 1024 * 1024) });
    expectClientError(r, 413, 'PayloadTooLarge');
  });

  it('missing, malformed and invalid tokens → 401', async () => {
    expectClientError(await t.call({ method: 'POST', url: '/api/v1/locks', payload: { key: 'k', ttlMs: 5000 }, token: null }), 401, 'Unauthorized', /missing bearer token/);
    expectClientError(await t.call({ method: 'GET', url: '/api/v1/locks', token: null, headers: { authorization: 'Basic YTpi' } }), 401, 'Unauthorized', /Bearer/);
    expectClientError(await t.call({ method: 'GET', url: '/api/v1/locks', token: 'slk_nope' }), 401, 'Unauthorized', /invalid/);
  });

  it('unknown routes and bad query parameters → 4xx envelopes', async () => {
    expectClientError(await t.call({ method: 'GET', url: '/api/v1/nothing-here' }), 404, 'NotFound');
    expectClientError(await t.call({ method: 'PUT', url: '/api/v1/locks' }), 404, 'NotFound');
    expectClientError(await t.call({ method: 'GET', url: '/api/v1/locks?limit=0' }), 400, 'ValidationError');
    expectClientError(await t.call({ method: 'GET', url: '/api/v1/locks?limit=abc' }), 400, 'ValidationError');
    expectClientError(await t.call({ method: 'GET', url: '/api/v1/events?action=lock.exploded' }), 400, 'ValidationError');
    expectClientError(await t.call({ method: 'GET', url: '/api/v1/events?since=yesterday' }), 400, 'ValidationError', /RFC 3339/);
    expectClientError(await t.call({ method: 'GET', url: `/api/v1/locks/${encodeURIComponent('a\u0001b')}` }), 400, 'ValidationError');
    expectClientError(await t.call({ method: 'GET', url: '/api/v1/locks/%E0%A4%A' }), 400);
    expectClientError(await t.call({ method: 'DELETE', url: '/api/v1/locks', headers: { 'content-type': 'application/json' }, payload: '' }), 400, 'ValidationError', /empty/);
  });

  it('serves the longest key, multibyte and URL-encoded, through the path', async () => {
    const key = '✓/'.repeat(256);
    expect((await post({ key, ttlMs: 5000 })).statusCode).toBe(201);
    const r = await t.call({ method: 'GET', url: `/api/v1/locks/${encodeURIComponent(key)}` });
    expect(r.statusCode).toBe(200);
    expect(r.json().data.key).toBe(key);
  });

  it('fuzz: no request body makes the lock routes answer 5xx or leave the envelope', async () => {
    const anyField = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.jsonValue(), fc.string({ unit: 'binary' }));
    const body = fc.oneof(
      fc.record({ key: anyField, ttlMs: anyField, message: anyField, holderId: anyField, properties: anyField, force: anyField, reason: anyField, waitMs: anyField }, { requiredKeys: [] }),
      fc.record({ key: fc.string({ unit: 'binary', maxLength: 600 }), ttlMs: fc.integer(), message: fc.string({ unit: 'binary' }) }),
      fc.jsonValue(),
    );
    const raw = fc.oneof(body.map((b) => JSON.stringify(b) ?? 'null'), fc.string({ unit: 'binary' }), fc.uint8Array().map((u) => Buffer.from(u).toString('latin1')));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('POST', 'DELETE'), raw, fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/octet-stream'), async (method, payload, type) => {
        const r = await t.call({ method, url: '/api/v1/locks', headers: { 'content-type': type }, payload });
        expect(r.statusCode, `${method} ${type} ${payload} → ${r.body}`).toBeLessThan(500);
        const env = JSON.parse(r.body);
        expect(typeof env.success).toBe('boolean');
        expect(env.status).toBe(r.statusCode);
        if (!env.success) expect(typeof env.errorMessage).toBe('string');
      }),
      { numRuns: 400 },
    );
  });

  it('fuzz: no path or query makes the API answer 5xx', async () => {
    const seg = fc.string({ unit: 'binary', maxLength: 40 }).map(encodeURIComponent);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'DELETE'), fc.constantFrom('/api/v1/locks/', '/api/v1/locks?prefix=', '/api/v1/locks?cursor=', '/api/v1/events?key=', '/api/v1/events?since=', '/api/v1/events?cursor=', '/api/v1/locks?limit='), seg, async (method, base, s) => {
        const r = await t.call({ method, url: base + s });
        expect(r.statusCode, `${method} ${base}${s} → ${r.body}`).toBeLessThan(500);
        expect(JSON.parse(r.body).status).toBe(r.statusCode);
      }),
      { numRuns: 300 },
    );
  });
});

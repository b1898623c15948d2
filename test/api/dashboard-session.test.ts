import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/auth/tokens.js';
import { ManualClock } from '../../src/core/clock.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { makeTestApp, tempDir, type TestApp } from '../support/app.js';

/** A session cookie and its CSRF token, as the dashboard holds them after signing in. */
interface Signed {
  cookie: string;
  csrf: string;
}

describe('dashboard sessions: cookie sign-in, CSRF, and bearer clients unaffected', () => {
  let t: TestApp;
  const clock = new ManualClock(Date.UTC(2026, 5, 9, 10, 0, 0));
  const webDir = tempDir('stacklock-web-');
  mkdirSync(join(webDir, 'assets'), { recursive: true });
  writeFileSync(join(webDir, 'index.html'), '<!doctype html><title>stacklock</title><script type="module" src="/assets/app.js"></script>');
  writeFileSync(join(webDir, 'assets', 'app.js'), 'export {};');

  beforeEach(async () => {
    t = await makeTestApp({ clock, webDir });
  });
  afterEach(async () => t.close());

  const signIn = async (token: string): Promise<Signed> => {
    const r = await t.call({ method: 'POST', url: '/api/v1/session', token: null, payload: { token } });
    expect(r.statusCode).toBe(201);
    const cookie = r.cookies.find((c) => c.name === 'stacklock_session');
    expect(cookie).toBeDefined();
    return { cookie: `stacklock_session=${cookie!.value}`, csrf: r.json().data.csrfToken };
  };
  const withCookie = (s: Signed, extra: Record<string, string> = {}) => ({ cookie: s.cookie, ...extra });

  it('signs in with an API token into an HttpOnly, SameSite=Strict cookie that stores only a hash', async () => {
    const bad = await t.call({ method: 'POST', url: '/api/v1/session', token: null, payload: { token: 'slk_nope' } });
    expect(bad.statusCode).toBe(401);
    expect(bad.json()).toMatchObject({ success: false, errorTag: 'Unauthorized' });

    const r = await t.call({ method: 'POST', url: '/api/v1/session', token: null, payload: { token: t.adminToken } });
    expect(r.statusCode).toBe(201);
    const setCookie = String(r.headers['set-cookie']);
    expect(setCookie).toMatch(/^stacklock_session=sld_[A-Za-z0-9_-]{43};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/');
    expect(setCookie).not.toContain(t.adminToken);
    expect(r.json().data).toMatchObject({ principal: 'token:admin', canForce: true, workspace: { name: 'default' } });
    expect(r.json().data.expiresAt).toBe('2026-06-09T22:00:00.000Z');

    const secret = r.cookies[0]!.value;
    const rows = (t.store as SqliteStore).database.prepare('SELECT * FROM dashboard_sessions').all() as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id_hash).toBe(hashToken(secret));
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect(JSON.stringify(rows)).not.toContain(t.adminToken);
  });

  it('reads with the cookie, and refuses a cookie change without the CSRF token', async () => {
    const s = await signIn(t.adminToken);
    const me = await t.call({ method: 'GET', url: '/api/v1/session', token: null, headers: withCookie(s) });
    expect(me.json().data).toMatchObject({ principal: 'token:admin', csrfToken: s.csrf });
    const list = await t.call({ method: 'GET', url: '/api/v1/locks', token: null, headers: withCookie(s) });
    expect(list.statusCode).toBe(200);

    const lock = { key: 'acme/infra/prod/vpc', ttlMs: 60_000, message: 'm', holderId: 'h' };
    const noCsrf = await t.call({ method: 'POST', url: '/api/v1/locks', token: null, headers: withCookie(s), payload: lock });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json()).toMatchObject({ errorTag: 'Forbidden' });
    expect(noCsrf.json().errorMessage).toContain('CSRF');
    const wrong = await t.call({ method: 'POST', url: '/api/v1/locks', token: null, headers: withCookie(s, { 'x-csrf-token': s.csrf.slice(1) + 'x' }), payload: lock });
    expect(wrong.statusCode).toBe(403);
    const crossSite = await t.call({ method: 'POST', url: '/api/v1/locks', token: null,
      headers: withCookie(s, { 'x-csrf-token': s.csrf, 'sec-fetch-site': 'same-site' }), payload: lock });
    expect(crossSite.statusCode).toBe(403);
    const otherOrigin = await t.call({ method: 'POST', url: '/api/v1/locks', token: null,
      headers: withCookie(s, { 'x-csrf-token': s.csrf, origin: 'http://evil.example' }), payload: lock });
    expect(otherOrigin.statusCode).toBe(403);
    expect(otherOrigin.json().errorMessage).toContain('cross-origin');
    expect(await t.store.getLock((await t.store.getWorkspace('default'))!.id, lock.key)).toBeNull();

    const ok = await t.call({ method: 'POST', url: '/api/v1/locks', token: null,
      headers: withCookie(s, { 'x-csrf-token': s.csrf, 'sec-fetch-site': 'same-origin' }), payload: lock });
    expect(ok.statusCode).toBe(201);
    expect(ok.json().data.holder.principal).toBe('token:admin');
  });

  it('leaves bearer-token clients as they were: no CSRF, and the header wins over any cookie', async () => {
    const lock = { key: 'k1', ttlMs: 60_000, holderId: 'h' };
    const r = await t.call({ method: 'POST', url: '/api/v1/locks', payload: lock });
    expect(r.statusCode).toBe(201);
    const s = await signIn(await t.token('reader', [])); // a cookie for a principal that may not write
    const both = await t.call({ method: 'DELETE', url: '/api/v1/locks', headers: withCookie(s), payload: { key: 'k1' } });
    expect(both.statusCode).toBe(200);
    const none = await t.call({ method: 'GET', url: '/api/v1/locks', token: null });
    expect(none.statusCode).toBe(401);
    expect(none.json().errorMessage).toContain('missing bearer token');
  });

  it('refuses a cross-site sign-in (login CSRF)', async () => {
    const r = await t.call({ method: 'POST', url: '/api/v1/session', token: null, headers: { 'sec-fetch-site': 'cross-site' }, payload: { token: t.adminToken } });
    expect(r.statusCode).toBe(403);
    expect(r.headers['set-cookie']).toBeUndefined();
  });

  it('ends on sign-out (which itself needs the CSRF token), when its token is revoked, and on expiry', async () => {
    const s = await signIn(t.adminToken);
    const noCsrf = await t.call({ method: 'DELETE', url: '/api/v1/session', token: null, headers: withCookie(s) });
    expect(noCsrf.statusCode).toBe(403);
    const out = await t.call({ method: 'DELETE', url: '/api/v1/session', token: null, headers: withCookie(s, { 'x-csrf-token': s.csrf }) });
    expect(out.statusCode).toBe(200);
    expect(String(out.headers['set-cookie'])).toMatch(/stacklock_session=;/);
    const after = await t.call({ method: 'GET', url: '/api/v1/locks', token: null, headers: withCookie(s) });
    expect(after.statusCode).toBe(401);
    expect(after.json().errorMessage).toContain('sign in again');

    const writer = await t.token('leaver', ['locks:write']);
    const s3 = await signIn(writer);
    expect((await t.call({ method: 'DELETE', url: '/api/v1/tokens/leaver' })).statusCode).toBe(200);
    const revoked = await t.call({ method: 'GET', url: '/api/v1/session', token: null, headers: withCookie(s3) });
    expect(revoked.statusCode).toBe(401);

    const s2 = await signIn(t.adminToken);
    clock.advance(12 * 60 * 60 * 1000);
    const expired = await t.call({ method: 'GET', url: '/api/v1/session', token: null, headers: withCookie(s2) });
    expect(expired.statusCode).toBe(401);
  });

  it('a principal without locks:force cannot force with the cookie; one with it can, and the reason is audited', async () => {
    await t.call({ method: 'POST', url: '/api/v1/locks', payload: { key: 'acme/prod/db', ttlMs: 60_000, message: 'migrating', holderId: 'run-9' } });
    const writer = await signIn(await t.token('writer', ['locks:write']));
    const me = await t.call({ method: 'GET', url: '/api/v1/session', token: null, headers: withCookie(writer) });
    expect(me.json().data).toMatchObject({ canForce: false, scopes: ['locks:write'] });
    const refused = await t.call({ method: 'DELETE', url: '/api/v1/locks', token: null, headers: withCookie(writer, { 'x-csrf-token': writer.csrf }),
      payload: { key: 'acme/prod/db', force: true, reason: 'stuck' } });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().errorTag).toBe('NotLockHolder');

    const oncall = await signIn(await t.token('oncall', ['locks:write', 'locks:force']));
    const forced = await t.call({ method: 'DELETE', url: '/api/v1/locks', token: null, headers: withCookie(oncall, { 'x-csrf-token': oncall.csrf }),
      payload: { key: 'acme/prod/db', force: true, reason: 'runner died' } });
    expect(forced.statusCode).toBe(200);
    expect(forced.json().data.outcome).toBe('force_released');
    const events = await t.call({ method: 'GET', url: '/api/v1/events?action=lock.force_deleted' });
    expect(events.json().data.events[0]).toMatchObject({ actor: 'token:oncall', key: 'acme/prod/db', details: { reason: 'runner died', holder: 'token:admin' } });
  });

  it('serves the dashboard without auth, with a CSP that allows no inline script', async () => {
    const page = await t.call({ method: 'GET', url: '/', token: null });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('upgrade-insecure-requests');
    const asset = await t.call({ method: 'GET', url: '/assets/app.js', token: null });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
    const missing = await t.call({ method: 'GET', url: '/nope', token: null });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().errorTag).toBe('NotFound');
    const spec = (await t.call({ method: 'GET', url: '/openapi.json', token: null })).json();
    expect(Object.keys(spec.paths)).toContain('/api/v1/session');
    expect(Object.keys(spec.paths)).not.toContain('/assets/app.js');
  });

  it('sends the same security headers with every kind of answer', async () => {
    const answers = [
      await t.call({ method: 'GET', url: '/', token: null }),
      await t.call({ method: 'GET', url: '/assets/app.js', token: null }),
      await t.call({ method: 'GET', url: '/api/v1/whoami' }),
      await t.call({ method: 'GET', url: '/api/v1/whoami', token: null }),
      await t.call({ method: 'POST', url: '/api/v1/locks', payload: { key: 'headers/k', ttlMs: 60_000, message: 'm' } }),
      await t.call({ method: 'GET', url: '/nope', token: null }),
    ];
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 401, 201, 404]);
    const first = answers[0]!.headers;
    for (const a of answers) {
      expect(a.headers['content-security-policy']).toBe(first['content-security-policy']);
      expect(a.headers['x-content-type-options']).toBe('nosniff');
      expect(a.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(a.headers['cross-origin-opener-policy']).toBe('same-origin');
      expect(a.headers['strict-transport-security']).toBeUndefined();
      expect(a.headers['x-powered-by']).toBeUndefined();
    }
  });
});

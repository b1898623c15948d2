import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { makeTestApp, type TestApp } from '../support/app.js';
import { actionsClaims, startLocalIssuer, type LocalIssuer } from '../support/oidc-issuer.js';
import { goRequest, sendRaw, type RawResponse } from '../support/raw-http.js';
import { EXCHANGE_OIDC_RESPONSE, goDecode, LOCK_STACK_RESPONSE, UNLOCK_STACK_RESPONSE } from './go-decode.js';

const START = Date.UTC(2026, 5, 9, 10, 0, 0);
const UA = 'atmos/v1.226.1 (linux; amd64)';

describe('GitHub Actions OIDC: the atmos login', () => {
  let t: TestApp;
  let issuer: LocalIssuer;
  let url: string;
  let host: string;
  let wsId: string;
  const clock = new ManualClock(START);
  const now = () => Math.floor(clock.now().getTime() / 1000);

  beforeAll(async () => {
    issuer = await startLocalIssuer();
    // The real GitHub issuer and audience (the defaults); only the key set is served locally.
    t = await makeTestApp({ clock, env: { STACKLOCK_OIDC_JWKS_URL: issuer.jwksUrl } });
    url = await t.app.listen({ port: 0, host: '127.0.0.1' });
    host = new URL(url).host;
    wsId = (await t.store.getWorkspace('default'))!.id;
    const allow = await t.call({ method: 'PUT', url: '/api/v1/repos/acme/infra', payload: {} });
    expect(allow.statusCode, allow.body).toBe(200);
    expect(allow.json().data).toMatchObject({ repository: 'acme/infra', keys: ['acme/infra/**'], force: false });
  });
  afterAll(async () => {
    await t.close();
    await issuer.close();
  });

  /** What atmos sends: no Authorization header, compact JSON. */
  const exchange = (jwt: string, workspaceId = wsId, path = '/api/v1/auth/github-oidc'): Promise<RawResponse> =>
    sendRaw(url, goRequest('POST', host, path, { 'Content-Type': 'application/json' }, JSON.stringify({ token: jwt, workspaceId })));
  const atmos = (method: string, body: string, bearer: string) =>
    sendRaw(url, goRequest(method, host, '/api/v1/locks', { 'User-Agent': UA, 'Content-Type': 'application/json', Authorization: `Bearer ${bearer}` }, body));
  const sessionFor = async (repository: string, extra = {}) => {
    const r = await exchange(await issuer.sign(actionsClaims(repository, extra), { now: now() }));
    expect(r.statusCode, r.body).toBe(200);
    return (goDecode(r.body, EXCHANGE_OIDC_RESPONSE) as { data: { token: string } }).data.token;
  };
  const failures = async () =>
    (await t.call({ method: 'GET', url: '/api/v1/events?action=auth.oidc_token_exchange_failure&limit=1000' })).json().data.events as Array<{
      actor: string;
      details: { reason: string; repository: string | null; verified: boolean };
    }>;

  it('exchanges a valid token for a session (HTTP 200, data.token), audited, stored only as a hash', async () => {
    const r = await exchange(await issuer.sign(actionsClaims('acme/infra'), { now: now() }));
    expect(r.statusCode).toBe(200); // atmos accepts nothing else
    const body = goDecode(r.body, EXCHANGE_OIDC_RESPONSE) as { success: boolean; data: { token: string; expiresAt: string; principal: string } };
    expect(body.success).toBe(true);
    expect(body.data.token).toMatch(/^sls_[A-Za-z0-9_-]{43}$/);
    expect(body.data).toMatchObject({ principal: 'repo:acme/infra', expiresAt: '2026-06-09T11:00:00.000Z' });
    const ev = (await t.call({ method: 'GET', url: '/api/v1/events?action=auth.oidc_token_exchange_success' })).json().data.events[0];
    expect(ev).toMatchObject({ actor: 'repo:acme/infra', details: { repository: 'acme/infra', run_id: '9876543210', workflow_ref: expect.stringContaining('deploy.yaml'), actor: 'octocat' } });
    const db = (t.store as unknown as { database: import('better-sqlite3').Database }).database;
    const dump = JSON.stringify(db.prepare('SELECT * FROM oidc_sessions').all()) + JSON.stringify(db.prepare('SELECT * FROM events').all());
    expect(dump).not.toContain(body.data.token);
    expect(dump).not.toContain(body.data.token.slice(4));
  });

  it('locks as the repository, with the run shown to others; a later job of the repository unlocks it', async () => {
    const job1 = await sessionFor('acme/infra');
    const lock = await atmos('POST', '{"key":"acme/infra/plat-ue2-prod/vpc","ttl":600,"lockMessage":"Locked by Atmos"}', job1);
    expect(lock.statusCode, lock.body).toBe(200);
    expect(goDecode(lock.body, LOCK_STACK_RESPONSE)).toMatchObject({ success: true, data: { key: 'acme/infra/plat-ue2-prod/vpc' } });
    const seen = (await t.call({ method: 'GET', url: `/api/v1/locks/${encodeURIComponent('acme/infra/plat-ue2-prod/vpc')}` })).json().data;
    expect(seen.holder).toMatchObject({ principal: 'repo:acme/infra', holderId: null, details: { run_id: '9876543210', actor: 'octocat' } });

    const job2 = await sessionFor('acme/infra', { run_id: '1111', actor: 'hubot' });
    const again = await atmos('POST', '{"key":"acme/infra/plat-ue2-prod/vpc","ttl":600,"lockMessage":"second job"}', job2);
    expect(again.statusCode).toBe(409); // atmos sends no holderId: never a renewal
    expect((goDecode(again.body, LOCK_STACK_RESPONSE) as { errorMessage: string }).errorMessage).toContain('"Locked by Atmos"');
    const unlock = await atmos('DELETE', '{"key":"acme/infra/plat-ue2-prod/vpc"}', job2);
    expect(goDecode(unlock.body, UNLOCK_STACK_RESPONSE)).toMatchObject({ success: true, data: { outcome: 'released' } });
  });

  it('refuses keys outside the repository\'s globs', async () => {
    const s = await sessionFor('acme/infra');
    for (const key of ['acme/other/prod/vpc', 'acme/infra-evil/prod/vpc', 'acme/infra', 'globex/infra/prod/vpc']) {
      const r = await atmos('POST', JSON.stringify({ key, ttl: 60, lockMessage: 'x' }), s);
      expect(r.statusCode, key).toBe(403);
      const body = goDecode(r.body, LOCK_STACK_RESPONSE) as { success: boolean; errorTag: string; errorMessage: string };
      expect(body).toMatchObject({ success: false, errorTag: 'Forbidden' });
      expect(body.errorMessage).toContain('acme/infra/**');
    }
    // GitHub names are case-insensitive; atmos builds the key from the remote as typed.
    expect((await atmos('POST', '{"key":"ACME/Infra/dev/vpc","ttl":60}', s)).statusCode).toBe(200);
  });

  it('force-unlocks another holder\'s lock only when allowed, and only on its keys', async () => {
    await t.call({ method: 'POST', url: '/api/v1/locks', payload: { key: 'acme/infra/prod/db', ttlMs: 600_000, message: 'by hand', holderId: 'me' } });
    const plain = await sessionFor('acme/infra');
    const refused = await atmos('DELETE', '{"key":"acme/infra/prod/db"}', plain);
    expect(refused.statusCode).toBe(403);
    expect(goDecode(refused.body, UNLOCK_STACK_RESPONSE)).toMatchObject({ success: false, errorTag: 'NotLockHolder' });

    await t.call({ method: 'PUT', url: '/api/v1/repos/acme/infra', payload: { force: true } });
    // The permission is read at each request: the session minted before the change has it now.
    const forced = await atmos('DELETE', '{"key":"acme/infra/prod/db"}', plain);
    expect(goDecode(forced.body, UNLOCK_STACK_RESPONSE)).toMatchObject({ success: true, data: { outcome: 'force_released' } });

    await t.call({ method: 'POST', url: '/api/v1/locks', payload: { key: 'outside/repo/x', ttlMs: 600_000, holderId: 'me' } });
    const outside = await atmos('DELETE', '{"key":"outside/repo/x"}', plain);
    expect(outside.statusCode).toBe(403);
    expect(JSON.parse(outside.body).success).toBe(false);
    await t.call({ method: 'PUT', url: '/api/v1/repos/acme/infra', payload: {} });
  });

  it('custom key globs replace the default', async () => {
    await t.call({ method: 'PUT', url: '/api/v1/repos/acme/platform', payload: { keys: ['shared/*/network', 'acme/platform/dev-*/**'] } });
    const s = await sessionFor('acme/platform');
    expect((await atmos('POST', '{"key":"shared/eu/network","ttl":60}', s)).statusCode).toBe(200);
    expect((await atmos('POST', '{"key":"acme/platform/dev-1/eks/a/b","ttl":60}', s)).statusCode).toBe(200);
    expect((await atmos('POST', '{"key":"shared/eu/west/network","ttl":60}', s)).statusCode).toBe(403);
    expect((await atmos('POST', '{"key":"acme/platform/prod/eks","ttl":60}', s)).statusCode).toBe(403);
  });

  it('a revoked repository\'s session stops working at once; a session expires after its TTL', async () => {
    await t.call({ method: 'PUT', url: '/api/v1/repos/acme/temp', payload: {} });
    const s = await sessionFor('acme/temp');
    expect((await atmos('POST', '{"key":"acme/temp/a","ttl":60}', s)).statusCode).toBe(200);
    expect((await t.call({ method: 'DELETE', url: '/api/v1/repos/acme/temp' })).statusCode).toBe(200);
    const r = await atmos('POST', '{"key":"acme/temp/b","ttl":60}', s);
    expect(r.statusCode).toBe(401);
    expect(goDecode(r.body, LOCK_STACK_RESPONSE)).toMatchObject({ success: false, errorTag: 'Unauthorized' });

    const s2 = await sessionFor('acme/infra');
    clock.advance(3_600_000 - 1000);
    expect((await atmos('POST', '{"key":"acme/infra/c","ttl":60}', s2)).statusCode).toBe(200);
    clock.advance(1000);
    expect((await atmos('POST', '{"key":"acme/infra/d","ttl":60}', s2)).statusCode).toBe(401);
  });

  it.each([
    ['an expired token', async () => issuer.sign(actionsClaims('acme/infra'), { now: now() - 600, expiresIn: 300 }), /expired/],
    ['a token not valid yet', async () => issuer.sign(actionsClaims('acme/infra'), { now: now(), notBefore: now() + 300 }), /not valid yet/],
    ['the wrong audience', async () => issuer.sign(actionsClaims('acme/infra'), { now: now(), audience: 'sts.amazonaws.com' }), /audience/],
    ['the wrong issuer', async () => issuer.sign(actionsClaims('acme/infra'), { now: now(), issuer: 'https://evil.example.com' }), /issuer/],
    ['a forged signature', async () => issuer.forge(actionsClaims('acme/infra'), now()), /signature/],
    ['alg none', async () => issuer.unsigned(actionsClaims('acme/infra'), now()), /RS256/],
    ['HS256 keyed with the public key', async () => issuer.hmacWithPublicKey(actionsClaims('acme/infra'), now()), /RS256/],
    ['no repository claim', async () => issuer.sign({ sub: 'repo:x' }, { now: now() }), /repository/],
    ['not a JWT', async () => 'not-a-jwt', /well-formed/],
  ])('refuses %s: 401 in the envelope, audited in the workspace', async (_name, mint, text) => {
    const before = (await failures()).length;
    const r = await exchange(await mint());
    expect(r.statusCode, r.body).toBe(401);
    const body = goDecode(r.body, EXCHANGE_OIDC_RESPONSE) as { success: boolean; errorTag: string; errorMessage: string };
    expect(body).toMatchObject({ success: false, errorTag: 'Unauthorized' });
    expect(body.errorMessage).toMatch(text);
    const all = await failures();
    expect(all.length).toBe(before + 1);
    expect(all[0]!.details).toMatchObject({ verified: false });
    expect(all[0]!.details.reason).toMatch(text);
  });

  it('refuses a repository not allowed in the workspace (403), audited with the verified repository', async () => {
    const r = await exchange(await issuer.sign(actionsClaims('globex/infra'), { now: now() }));
    expect(r.statusCode).toBe(403);
    const body = goDecode(r.body, EXCHANGE_OIDC_RESPONSE) as { success: boolean; errorMessage: string };
    expect(body.success).toBe(false);
    expect(body.errorMessage).toContain('stacklock repo allow globex/infra --workspace default');
    expect((await failures())[0]).toMatchObject({ actor: 'repo:globex/infra', details: { repository: 'globex/infra', verified: true } });
  });

  it('a repository allowed in another workspace is refused in this one', async () => {
    const other = await t.call({ method: 'POST', url: '/api/v1/workspaces', payload: { name: 'team-b' } });
    expect(other.statusCode).toBe(201);
    await t.call({ method: 'PUT', url: '/api/v1/repos/globex/infra?workspace=team-b', payload: {} });
    const jwt = await issuer.sign(actionsClaims('globex/infra'), { now: now() });
    expect((await exchange(jwt)).statusCode).toBe(403);
    const ok = await exchange(jwt, other.json().data.id);
    expect(ok.statusCode).toBe(200);
    // Its session works in team-b only: the lock is not in the default workspace.
    const s = (JSON.parse(ok.body) as { data: { token: string } }).data.token;
    expect((await atmos('POST', '{"key":"globex/infra/prod/vpc","ttl":60}', s)).statusCode).toBe(200);
    expect((await t.call({ method: 'GET', url: `/api/v1/locks/${encodeURIComponent('globex/infra/prod/vpc')}` })).statusCode).toBe(404);
  });

  it('an unknown workspace is a 404; missing fields a 400; the old /api/ path works; a name works as the id', async () => {
    const jwt = await issuer.sign(actionsClaims('acme/infra'), { now: now() });
    const unknown = await exchange(jwt, 'no-such-workspace');
    expect(unknown.statusCode).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ success: false, errorTag: 'NotFound' });
    const missing = await sendRaw(url, goRequest('POST', host, '/api/v1/auth/github-oidc', { 'Content-Type': 'application/json' }, '{"token":"x"}'));
    expect(missing.statusCode).toBe(400);
    expect(JSON.parse(missing.body)).toMatchObject({ success: false, errorTag: 'ValidationError' });
    expect((await exchange(jwt, wsId, '/api/auth/github-oidc')).statusCode).toBe(200);
    expect((await exchange(jwt, 'default')).statusCode).toBe(200);
  });
});

describe('OIDC when the key set cannot be fetched', () => {
  it('answers 503 Unavailable, not 401 or 500', async () => {
    const issuer = await startLocalIssuer();
    const jwksUrl = issuer.jwksUrl;
    const jwt = await issuer.sign(actionsClaims('acme/infra'));
    await issuer.close(); // nothing listens there any more
    const t = await makeTestApp({ env: { STACKLOCK_OIDC_JWKS_URL: jwksUrl } });
    try {
      await t.call({ method: 'PUT', url: '/api/v1/repos/acme/infra', payload: {} });
      const r = await t.call({ method: 'POST', url: '/api/v1/auth/github-oidc', token: null, payload: { token: jwt, workspaceId: 'default' } });
      expect(r.statusCode).toBe(503);
      expect(r.json()).toMatchObject({ success: false, errorTag: 'Unavailable' });
      expect(r.json().errorMessage).toContain(jwksUrl);
    } finally {
      await t.close();
    }
  });
});

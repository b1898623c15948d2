import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../support/app.js';
import { sseEvents } from '../support/sse.js';
import { affected, proSettings, pullRequestEvent, upload, WEBHOOK_SECRET } from '../support/atmos-flow.js';
import { FakeGitHub } from '../support/fake-github.js';
import { actionsClaims, startLocalIssuer, type LocalIssuer } from '../support/oidc-issuer.js';

/**
 * Nothing of one workspace is visible to, or changeable from, another. Workspace A is
 * `default` with a lock, a repository and events; B is a second workspace whose admin (full
 * scopes there) tries every route of the API document against A's things. A route added to
 * the API without a case here fails this test, so each new route must prove its isolation.
 */
type Case = (t: TestApp, env: Env) => Promise<void>;
interface Env {
  readonly adminB: string;
  readonly issuer: LocalIssuer;
  readonly github: FakeGitHub;
  /** A's dispatch, waiting behind A's lock. */
  readonly dispatchA: string;
}

const KEY = 'acme/infra/prod/vpc';
const enc = encodeURIComponent(KEY);

/** A's state, checked unchanged after every case. */
async function expectAUnchanged(t: TestApp): Promise<void> {
  const lock = await t.call({ method: 'GET', url: `/api/v1/locks/${enc}` });
  expect(lock.statusCode).toBe(200);
  expect(lock.json().data).toMatchObject({ message: 'A deploys', holder: { principal: 'token:admin' }, token: 1 });
  const repos = (await t.call({ method: 'GET', url: '/api/v1/repos' })).json().data.repositories;
  expect(repos).toMatchObject([{ repository: 'acme/infra', keys: ['acme/infra/**'], force: false }]);
  const a = (await t.store.getWorkspace('default'))!.id;
  expect((await t.store.atmos.getAffectedStacks(a, 'acme/infra', SHA))!.stacks).toEqual([{ component: 'vpc', stack: 'prod' }]);
  expect(await t.store.atmos.getInstanceStatus(a, 'acme/infra', 'prod', 'vpc')).toMatchObject({ command: 'plan', exitCode: 0 });
  const dispatches = (await t.call({ method: 'GET', url: '/api/v1/dispatches' })).json().data.dispatches;
  expect(dispatches).toMatchObject([{ key: KEY, state: 'waiting_for_lock', createdBy: 'token:admin' }]);
}

const SHA = 'abc123';
const UPLOAD = { head_sha: SHA, base_sha: 'b', repo_url: '', repo_name: 'infra', repo_owner: 'acme', repo_host: 'github.com' };

const CASES: Record<string, Case> = {
  // Public, and about no workspace: process health, store health, aggregate metrics.
  'GET /healthz': async () => undefined,
  'GET /readyz': async () => undefined,
  'GET /metrics': async (t) => {
    expect((await t.call({ method: 'GET', url: '/metrics', token: null })).body).not.toContain(KEY);
  },

  'POST /api/v1/locks': async (t, { adminB }) => {
    const r = await t.call({ method: 'POST', url: '/api/v1/locks', token: adminB, payload: { key: KEY, ttlMs: 60_000, message: 'B deploys' } });
    expect(r.statusCode).toBe(201); // the same key in B is another lock
    expect(r.json().data).toMatchObject({ token: 1, message: 'B deploys' }); // B's own fencing sequence
    await t.call({ method: 'DELETE', url: `/api/v1/locks/${enc}`, token: adminB });
  },
  'GET /api/v1/locks': async (t, { adminB }) => {
    expect((await t.call({ method: 'GET', url: '/api/v1/locks', token: adminB })).json().data.locks).toEqual([]);
  },
  'GET /api/v1/locks/{*}': async (t, { adminB }) => {
    expect((await t.call({ method: 'GET', url: `/api/v1/locks/${enc}`, token: adminB })).statusCode).toBe(404);
  },
  'POST /api/v1/locks/renew': async (t, { adminB }) => {
    // A's fencing token names A's grant only in A: in B it renews nothing.
    const r = await t.call({ method: 'POST', url: '/api/v1/locks/renew', token: adminB, payload: { key: KEY, token: 1, ttlMs: 60_000 } });
    expect(r.json()).toMatchObject({ errorTag: 'LockLost', context: { lock: null } });
  },
  'DELETE /api/v1/locks': async (t, { adminB }) => {
    // B's admin may force in B: A's lock is still out of its reach.
    const r = await t.call({ method: 'DELETE', url: '/api/v1/locks', token: adminB, payload: { key: KEY, force: true } });
    expect(r.json().data).toMatchObject({ outcome: 'not_locked' });
    const legacy = await t.call({ method: 'DELETE', url: '/api/locks', token: adminB, payload: { key: KEY } });
    expect(legacy.json().data).toMatchObject({ outcome: 'not_locked' });
  },
  'DELETE /api/v1/locks/{*}': async (t, { adminB }) => {
    expect((await t.call({ method: 'DELETE', url: `/api/v1/locks/${enc}?force=true`, token: adminB })).statusCode).toBe(404);
  },
  'GET /api/v1/events': async (t, { adminB }) => {
    const events = (await t.call({ method: 'GET', url: '/api/v1/events?limit=1000', token: adminB })).json().data.events;
    expect(JSON.stringify(events)).not.toContain('A deploys');
    // Only B's own doings (its admin, its own lock on the same key name), never A's.
    expect(new Set(events.map((e: { actor: string }) => e.actor))).toEqual(new Set(['token:admin', 'token:b-admin']));
    expect(events.filter((e: { actor: string; action: string }) => e.actor === 'token:admin').map((e: { action: string }) => e.action)).toEqual(['token.created', 'workspace.created']);
    const aEvents = (await t.call({ method: 'GET', url: '/api/v1/events?actor=token:admin&action=lock.created', token: adminB })).json().data.events;
    expect(aEvents).toEqual([]);
  },
  'POST /api/v1/tokens': async (t, { adminB }) => {
    const r = await t.call({ method: 'POST', url: '/api/v1/tokens', token: adminB, payload: { name: 'intruder', scopes: ['admin'], workspace: 'default' } });
    expect(r.statusCode).toBe(403);
  },
  'GET /api/v1/tokens': async (t, { adminB }) => {
    const names = (await t.call({ method: 'GET', url: '/api/v1/tokens', token: adminB })).json().data.tokens.map((x: { name: string }) => x.name);
    expect(names).toEqual(['b-admin']);
    expect((await t.call({ method: 'GET', url: '/api/v1/tokens?workspace=default', token: adminB })).statusCode).toBe(403);
  },
  'DELETE /api/v1/tokens/{name}': async (t, { adminB }) => {
    // A's admin token is named admin: B has none of that name, and may not reach into A.
    expect((await t.call({ method: 'DELETE', url: '/api/v1/tokens/admin', token: adminB })).json()).toMatchObject({ status: 404, errorTag: 'NotFound' });
    expect((await t.call({ method: 'DELETE', url: '/api/v1/tokens/admin?workspace=default', token: adminB })).statusCode).toBe(403);
    expect((await t.call({ method: 'GET', url: '/api/v1/whoami' })).statusCode).toBe(200);
  },
  'POST /api/v1/workspaces': async (t, { adminB }) => {
    expect((await t.call({ method: 'POST', url: '/api/v1/workspaces', token: adminB, payload: { name: 'c' } })).statusCode).toBe(403);
  },
  'GET /api/v1/whoami': async (t, { adminB }) => {
    const b = (await t.call({ method: 'GET', url: '/api/v1/whoami', token: adminB })).json().data;
    expect(b.workspaceId).toBe((await t.store.getWorkspace('team-b'))!.id);
  },
  'GET /api/v1/workspaces': async (t, { adminB }) => {
    const names = (await t.call({ method: 'GET', url: '/api/v1/workspaces', token: adminB })).json().data.workspaces.map((w: { name: string }) => w.name);
    expect(names).toEqual(['team-b']);
  },
  'GET /api/v1/repos': async (t, { adminB }) => {
    expect((await t.call({ method: 'GET', url: '/api/v1/repos', token: adminB })).json().data.repositories).toEqual([]);
    expect((await t.call({ method: 'GET', url: '/api/v1/repos?workspace=default', token: adminB })).statusCode).toBe(403);
  },
  'PUT /api/v1/repos/{owner}/{repo}': async (t, { adminB }) => {
    const r = await t.call({ method: 'PUT', url: '/api/v1/repos/acme/infra?workspace=default', token: adminB, payload: { keys: ['**'], force: true } });
    expect(r.statusCode).toBe(403);
  },
  'DELETE /api/v1/repos/{owner}/{repo}': async (t, { adminB }) => {
    expect((await t.call({ method: 'DELETE', url: '/api/v1/repos/acme/infra?workspace=default', token: adminB })).statusCode).toBe(403);
    expect((await t.call({ method: 'DELETE', url: '/api/v1/repos/acme/infra', token: adminB })).statusCode).toBe(404);
  },
  'POST /api/v1/affected-stacks': async (t, { adminB }) => {
    // The same repository and commit uploaded in B, batch id included, is B's own upload.
    const body = { ...UPLOAD, stacks: [{ component: 'eks', stack: 'dev' }], batch_id: 'a-batch', batch_index: 0, batch_total: 1 };
    const r = await t.call({ method: 'POST', url: '/api/v1/affected-stacks', token: adminB, payload: body });
    expect(r.json().data).toMatchObject({ complete: true });
    const b = (await t.store.getWorkspace('team-b'))!.id;
    expect((await t.store.atmos.getAffectedStacks(b, 'acme/infra', SHA))!.stacks).toEqual([{ component: 'eks', stack: 'dev' }]);
  },
  'PATCH /api/v1/repos/{owner}/{repo}/instances': async (t, { adminB }) => {
    const r = await t.call({ method: 'PATCH', url: '/api/v1/repos/acme/infra/instances?stack=prod&component=vpc', token: adminB, payload: { command: 'apply', exit_code: 1 } });
    expect(r.statusCode).toBe(200);
  },
  'POST /api/v1/dispatches': async (t, { adminB }) => {
    // A's repository is not B's to run workflows in.
    const payload = { key: KEY, repository: 'acme/infra', workflow: 'deploy.yml', ref: 'main' };
    const refused = await t.call({ method: 'POST', url: '/api/v1/dispatches', token: adminB, payload });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().errorMessage).toContain("repository 'acme/infra' is not allowed in this workspace");
    // The same key in B is B's own queue: B's key is free, so its dispatch goes at once, and A's stays waiting.
    await t.call({ method: 'PUT', url: '/api/v1/repos/acme/app', token: adminB, payload: {} });
    const r = await t.call({ method: 'POST', url: '/api/v1/dispatches', token: adminB, payload: { ...payload, repository: 'acme/app' } });
    expect(r.statusCode).toBe(201);
    expect(r.json().data.state).toBe('dispatching');
    await t.app.dispatcher!.idle();
  },
  'GET /api/v1/dispatches': async (t, { adminB, dispatchA }) => {
    const list = (await t.call({ method: 'GET', url: `/api/v1/dispatches?key=${enc}`, token: adminB })).json().data.dispatches;
    expect(list.map((d: { id: string }) => d.id)).not.toContain(dispatchA);
    expect(JSON.stringify(list)).not.toContain('token:admin');
  },
  'GET /api/v1/dispatches/{id}': async (t, { adminB, dispatchA }) => {
    expect((await t.call({ method: 'GET', url: `/api/v1/dispatches/${dispatchA}`, token: adminB })).statusCode).toBe(404);
  },
  'POST /api/v1/dispatches/{id}/cancel': async (t, { adminB, dispatchA }) => {
    expect((await t.call({ method: 'POST', url: `/api/v1/dispatches/${dispatchA}/cancel`, token: adminB })).statusCode).toBe(404);
  },
  'POST /webhooks/github': async (t, { adminB }) => {
    // B uploads for A's repository, which B does not allow: the webhook for that commit plans
    // nothing in B, and nothing in A (A uploaded nothing for it).
    const sha = 'f'.repeat(40);
    const stacks = [affected('vpc', 'prod', proSettings({ opened: ['plan.yaml'] }))];
    expect((await t.call({ method: 'POST', url: '/api/v1/affected-stacks', token: adminB, payload: upload(sha, stacks) })).statusCode).toBe(200);
    const e = pullRequestEvent('opened', sha);
    const r = await t.call({ method: 'POST', url: '/webhooks/github', token: null, headers: e.headers, payload: e.body });
    expect(r.statusCode).toBe(202);
    expect(r.json().data.planned).toBe(0);
    await t.app.atmosFlow.idle();
    const inB = (await t.call({ method: 'GET', url: '/api/v1/dispatches', token: adminB })).json().data.dispatches;
    expect(inB.map((d: { repository: string }) => d.repository)).not.toContain('acme/infra');
  },
  'POST /api/v1/auth/github-oidc': async (t, { issuer }) => {
    const b = (await t.store.getWorkspace('team-b'))!;
    const jwt = await issuer.sign(actionsClaims('acme/infra'));
    // Allowed in A, so not in B.
    const r = await t.call({ method: 'POST', url: '/api/v1/auth/github-oidc', token: null, payload: { token: jwt, workspaceId: b.id } });
    expect(r.statusCode).toBe(403);
    // A session for A acts in A only (its lock attempt on A's held key is refused as A's).
    const ok = await t.call({ method: 'POST', url: '/api/v1/auth/github-oidc', token: null, payload: { token: jwt, workspaceId: 'default' } });
    const held = await t.call({ method: 'POST', url: '/api/v1/locks', token: ok.json().data.token, payload: { key: KEY, ttl: 30 } });
    expect(held.json().errorTag).toBe('LockHeld');
  },

  // The dashboard: a session signed in with B's token is B's, whatever it asks for.
  'POST /api/v1/session': async (t, { adminB }) => {
    const b = await dashboardSession(t, adminB);
    expect((await t.call({ method: 'GET', url: '/api/v1/locks', token: null, headers: { cookie: b.cookie } })).json().data.locks).toEqual([]);
    const forced = await t.call({ method: 'DELETE', url: '/api/v1/locks', token: null, headers: { cookie: b.cookie, 'x-csrf-token': b.csrf },
      payload: { key: KEY, force: true, reason: 'from B' } });
    expect(forced.json().data).toMatchObject({ outcome: 'not_locked' });
  },
  'GET /api/v1/session': async (t, { adminB }) => {
    const b = await dashboardSession(t, adminB);
    const me = (await t.call({ method: 'GET', url: '/api/v1/session', token: null, headers: { cookie: b.cookie } })).json().data;
    expect(me).toMatchObject({ principal: 'token:b-admin', workspace: { name: 'team-b' } });
  },
  'DELETE /api/v1/session': async (t, { adminB }) => {
    const a = await dashboardSession(t, t.adminToken);
    const b = await dashboardSession(t, adminB);
    await t.call({ method: 'DELETE', url: '/api/v1/session', token: null, headers: { cookie: b.cookie, 'x-csrf-token': b.csrf } });
    // B's sign-out, even with A's cookie alongside, ends only B's session.
    expect((await t.call({ method: 'GET', url: '/api/v1/session', token: null, headers: { cookie: a.cookie } })).statusCode).toBe(200);
  },
  'GET /api/v1/stream': async (t, { adminB }) => {
    const url = t.app.server.listening ? `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}` : await t.app.listen({ port: 0, host: '127.0.0.1' });
    const abort = new AbortController();
    const res = await fetch(`${url}/api/v1/stream`, { headers: { authorization: `Bearer ${adminB}` }, signal: abort.signal });
    const events = sseEvents(res.body!);
    expect((await events.next()).value).toMatchObject({ event: 'ready' });
    // A changes something, then B does: the first change B hears is its own.
    await t.call({ method: 'POST', url: '/api/v1/locks', payload: { key: 'a/other', ttlMs: 60_000, holderId: 'a' } });
    await t.call({ method: 'DELETE', url: '/api/v1/locks', payload: { key: 'a/other' } });
    await t.call({ method: 'POST', url: '/api/v1/locks', token: adminB, payload: { key: 'b/own', ttlMs: 60_000, holderId: 'b' } });
    expect((await events.next()).value).toMatchObject({ event: 'change', data: { key: 'b/own', kind: 'granted' } });
    abort.abort();
    await t.call({ method: 'DELETE', url: '/api/v1/locks', token: adminB, payload: { key: 'b/own' } });
  },
};

/** Signs in to the dashboard with `token`: the session cookie and its CSRF token. */
async function dashboardSession(t: TestApp, token: string): Promise<{ cookie: string; csrf: string }> {
  const r = await t.call({ method: 'POST', url: '/api/v1/session', token: null, payload: { token } });
  expect(r.statusCode).toBe(201);
  return { cookie: `stacklock_session=${r.cookies[0]!.value}`, csrf: r.json().data.csrfToken };
}

describe('workspace isolation, route by route', () => {
  let t: TestApp;
  let env: Env;

  beforeAll(async () => {
    const issuer = await startLocalIssuer();
    const github = await new FakeGitHub().start();
    t = await makeTestApp({ env: { STACKLOCK_OIDC_JWKS_URL: issuer.jwksUrl, ...github.tokenEnv(), STACKLOCK_GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET } });
    await t.call({ method: 'POST', url: '/api/v1/workspaces', payload: { name: 'team-b' } });
    const adminB = (await t.call({ method: 'POST', url: '/api/v1/tokens', payload: { name: 'b-admin', scopes: ['admin'], workspace: 'team-b' } })).json().data.token;
    await t.call({ method: 'POST', url: '/api/v1/locks', payload: { key: KEY, ttlMs: 3_600_000, message: 'A deploys', holderId: 'a-run' } });
    await t.call({ method: 'PUT', url: '/api/v1/repos/acme/infra', payload: {} });
    await t.call({ method: 'POST', url: '/api/v1/affected-stacks', payload: { ...UPLOAD, stacks: [{ component: 'vpc', stack: 'prod' }], batch_id: 'a-batch', batch_index: 0, batch_total: 1 } });
    await t.call({ method: 'PATCH', url: '/api/v1/repos/acme/infra/instances?stack=prod&component=vpc', payload: { command: 'plan', exit_code: 0 } });
    const dispatchA = (
      await t.call({ method: 'POST', url: '/api/v1/dispatches', payload: { key: KEY, repository: 'acme/infra', workflow: 'deploy.yml', ref: 'main' } })
    ).json().data.id;
    env = { adminB, issuer, github, dispatchA };
  });
  afterAll(async () => {
    await t.close();
    await env.issuer.close();
    await env.github.stop();
  });

  it('has a case for every route of the API document', async () => {
    const doc = (await t.call({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    const missing = routes.filter((r) => !(r in CASES));
    expect(missing, `add an isolation case in test/api/workspace-isolation.test.ts for: ${missing.join(', ')}`).toEqual([]);
  });

  for (const [route, run] of Object.entries(CASES)) {
    it(route, async () => {
      await run(t, env);
      await expectAUnchanged(t);
    });
  }
});

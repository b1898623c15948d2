import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { makeTestApp, type TestApp } from '../support/app.js';
import { eventually, FakeGitHub, secondaryRateLimit } from '../support/fake-github.js';

const SHA = 'a'.repeat(40);
const allow = async (t: TestApp) => {
  const r = await t.call({ method: 'PUT', url: '/api/v1/repos/acme/infra', payload: {} });
  if (r.statusCode >= 300) throw new Error(r.body);
};
const KEY = 'acme/infra/plat-ue1-prod/vpc';

describe('dispatch API against a local fake GitHub', () => {
  let gh: FakeGitHub;
  let t: TestApp;
  let clock: ManualClock;

  beforeAll(async () => {
    gh = await new FakeGitHub().start();
  });
  afterAll(async () => gh.stop());
  beforeEach(async () => {
    gh.calls.length = 0;
    clock = new ManualClock(Date.now());
    t = await makeTestApp({ clock, env: gh.tokenEnv() });
    await allow(t);
  });
  afterEach(async () => t.close());

  const lock = (key = KEY, message = 'applying VPC change #412', ttlMs = 60_000) =>
    t.call({ method: 'POST', url: '/api/v1/locks', payload: { key, ttlMs, message, holderId: 'run-1' } });
  const unlock = (key = KEY) => t.call({ method: 'DELETE', url: '/api/v1/locks', payload: { key } });
  const create = (extra: Record<string, unknown> = {}) =>
    t.call({
      method: 'POST',
      url: '/api/v1/dispatches',
      payload: { key: KEY, repository: 'acme/infra', workflow: 'deploy.yml', ref: 'main', inputs: { stack: 'plat-ue1-prod' }, ...extra },
    });
  const get = async (id: string) => (await t.call({ method: 'GET', url: `/api/v1/dispatches/${id}` })).json().data;
  const settle = () => t.app.dispatcher!.idle();

  it('sends at once when the key is free, with the inputs, and audits queued then dispatched', async () => {
    const r = await create();
    expect(r.statusCode).toBe(201);
    const d = r.json().data;
    expect(d).toMatchObject({ key: KEY, repository: 'acme/infra', workflow: 'deploy.yml', state: 'dispatching', blockedBy: null, createdBy: 'token:admin' });
    await settle();
    expect(gh.dispatches()).toEqual([expect.objectContaining({ repository: 'acme/infra', workflow: 'deploy.yml', ref: 'main', inputs: { stack: 'plat-ue1-prod' } })]);
    expect(gh.calls[0]!.authorization).toBe(`token ${gh.token}`);
    expect(await get(d.id)).toMatchObject({ state: 'dispatched', attempts: 1, links: { workflowRuns: `${gh.url}/acme/infra/actions/workflows/deploy.yml` } });
    const events = (await t.call({ method: 'GET', url: `/api/v1/events?key=${encodeURIComponent(KEY)}` })).json().data.events;
    expect(events.map((e: { action: string }) => e.action)).toEqual(['workflow.dispatched', 'workflow.queued']);
    expect(events[0].details).toMatchObject({ dispatchId: d.id, repository: 'acme/infra', workflow: 'deploy.yml' });
  });

  it('holds a dispatch while the key is locked, with a pending status naming the lock, and sends it on release', async () => {
    await lock();
    const d = (await create({ headSha: SHA, pullRequest: 7 })).json().data;
    expect(d.state).toBe('waiting_for_lock');
    expect(d.blockedBy).toMatchObject({ holder: 'token:admin', holderId: 'run-1', message: 'applying VPC change #412', token: 1 });
    await settle();
    expect(gh.dispatches()).toEqual([]);
    expect(gh.latestStatus(SHA, `stacklock/${KEY}`)).toMatchObject({
      state: 'pending',
      description: 'Waiting for lock held by token:admin: "applying VPC change #412"',
    });
    expect((await t.call({ method: 'GET', url: `/api/v1/dispatches?state=waiting_for_lock` })).json().data.dispatches).toHaveLength(1);

    expect((await unlock()).statusCode).toBe(200);
    await eventually(() => gh.dispatches().length === 1, 'the dispatch after release', 2000);
    await settle();
    expect(await get(d.id)).toMatchObject({ state: 'dispatched', blockedBy: null });
    expect(gh.latestStatus(SHA, `stacklock/${KEY}`)).toMatchObject({ state: 'success', description: 'Dispatched deploy.yml' });
  });

  it('sends on expiry (the reaper frees the lock) and respects lock-delay', async () => {
    await t.close();
    t = await makeTestApp({ clock, env: { ...gh.tokenEnv(), STACKLOCK_LOCK_DELAY: '5s' } });
    await allow(t);
    await lock(KEY, 'short', 2000);
    const d = (await create()).json().data;
    clock.advance(2000);
    // Expired but inside its lock-delay: still blocks.
    await t.app.dispatcher!.sweepNow();
    await settle();
    expect(gh.dispatches()).toEqual([]);
    clock.advance(5000);
    expect(await t.store.reapExpired(100, 5000)).toHaveLength(1);
    await eventually(async () => (await get(d.id)).state === 'dispatched', 'dispatched after expiry', 2000);
    expect(gh.dispatches()).toHaveLength(1);
  });

  it('sends five waiting dispatches in arrival order, one at a time', async () => {
    await lock();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await create({ inputs: { n: i } })).json().data.id);
    gh.delay('dispatch', 30);
    await unlock();
    await eventually(() => gh.dispatches().length === 5, 'five dispatches', 5000);
    expect(gh.dispatches().map((c) => c.inputs.n)).toEqual([0, 1, 2, 3, 4]);
    await settle();
    for (const id of ids) expect((await get(id)).state).toBe('dispatched');
    gh.delay('dispatch', 0);
  });

  it('a newer dispatch for the same key, workflow and pull request supersedes a waiting one', async () => {
    await lock();
    const old = (await create({ pullRequest: 7, headSha: SHA, inputs: { v: 'old' } })).json().data;
    const other = (await create({ pullRequest: 8, inputs: { v: 'other pr' } })).json().data;
    const newer = (await create({ pullRequest: 7, headSha: 'b'.repeat(40), inputs: { v: 'new' } })).json().data;
    expect(await get(old.id)).toMatchObject({ state: 'superseded', supersededBy: newer.id });
    await settle();
    expect(gh.latestStatus(SHA, `stacklock/${KEY}`)).toMatchObject({ state: 'error' });
    await unlock();
    await eventually(() => gh.dispatches().length === 2, 'two dispatches', 3000);
    expect(gh.dispatches().map((c) => c.inputs.v)).toEqual(['other pr', 'new']);
    expect((await get(other.id)).state).toBe('dispatched');
    const sup = (await t.call({ method: 'GET', url: '/api/v1/events?action=workflow.superseded' })).json().data.events;
    expect(sup).toHaveLength(1);
    expect(sup[0].details).toMatchObject({ dispatchId: old.id, supersededBy: newer.id });
  });

  it('times out a dispatch that waited longer than the maximum wait', async () => {
    await lock(KEY, 'long apply', 7 * 86_400_000);
    const d = (await create({ headSha: SHA })).json().data;
    expect(new Date(d.waitDeadline).getTime() - new Date(d.createdAt).getTime()).toBe(24 * 3600_000);
    clock.advance(24 * 3600_000);
    await t.app.dispatcher!.sweepNow();
    await settle();
    expect(await get(d.id)).toMatchObject({ state: 'timed_out' });
    expect(gh.latestStatus(SHA, `stacklock/${KEY}`)).toMatchObject({ state: 'failure', description: 'Timed out after waiting 1d for the lock' });
    expect((await t.call({ method: 'GET', url: '/api/v1/events?action=workflow.timed_out' })).json().data.events).toHaveLength(1);
  });

  it('cancels a waiting dispatch; cancelling it again is a 409, an unknown one a 404', async () => {
    await lock();
    const d = (await create({ headSha: SHA })).json().data;
    const c = await t.call({ method: 'POST', url: `/api/v1/dispatches/${d.id}/cancel`, payload: { reason: 'not needed' } });
    expect(c.statusCode).toBe(200);
    expect(c.json().data).toMatchObject({ state: 'cancelled', reason: 'cancelled by token:admin: not needed' });
    const again = await t.call({ method: 'POST', url: `/api/v1/dispatches/${d.id}/cancel` });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ errorTag: 'Conflict', context: { state: 'cancelled' } });
    expect((await t.call({ method: 'POST', url: '/api/v1/dispatches/nope/cancel' })).statusCode).toBe(404);
    await unlock();
    await settle();
    expect(gh.dispatches()).toEqual([]);
    expect(gh.latestStatus(SHA, `stacklock/${KEY}`)).toMatchObject({ state: 'error', description: 'cancelled by token:admin: not needed' });
  });

  it("records GitHub's 422 as failed with its message, and turns the status to failure", async () => {
    gh.answerNext('dispatch', { status: 422, body: { message: 'Unexpected inputs provided: ["stack"]', documentation_url: 'https://docs.github.com/rest' } });
    const d = (await create({ headSha: SHA })).json().data;
    await settle();
    expect(await get(d.id)).toMatchObject({ state: 'failed', reason: 'GitHub answered HTTP 422: Unexpected inputs provided: ["stack"]', attempts: 1 });
    expect(gh.calls.filter((c) => c.route === 'dispatch')).toHaveLength(1);
    expect(gh.latestStatus(SHA, `stacklock/${KEY}`)).toMatchObject({ state: 'failure' });
    expect(gh.latestStatus(SHA, `stacklock/${KEY}`)!.description).toContain('Unexpected inputs provided');
  });

  it('retries 5xx with backoff, and waits out a secondary rate limit as retry-after says', async () => {
    gh.answerNext('dispatch', { status: 502, body: { message: 'Server Error' } }, { status: 503, body: { message: 'unavailable' } });
    const a = (await create()).json().data;
    await settle();
    expect((await get(a.id)).state).toBe('dispatched');
    expect(gh.calls.filter((c) => c.route === 'dispatch').map((c) => c.answered)).toEqual([502, 503, 204]);

    gh.calls.length = 0;
    gh.answerNext('dispatch', secondaryRateLimit(1));
    const b = (await create({ key: 'other' })).json().data;
    await settle();
    expect((await get(b.id)).state).toBe('dispatched');
    const [limited, ok] = gh.calls.filter((c) => c.route === 'dispatch');
    expect(limited!.answered).toBe(403);
    expect(ok!.at - limited!.at).toBeGreaterThanOrEqual(950);
  });

  it('puts a dispatch back in line when GitHub asks for a long wait, and sends it when due', async () => {
    // Longer than the throttling plugin waits inline: no retry within this attempt.
    gh.answerNext('dispatch', secondaryRateLimit(120));
    const d = (await create({ headSha: SHA })).json().data;
    await settle();
    const back = await get(d.id);
    expect(back).toMatchObject({ state: 'waiting_for_lock', attempts: 1 });
    expect(back.reason).toContain('GitHub rate limit (HTTP 403)');
    expect(new Date(back.notBefore).getTime() - clock.now().getTime()).toBeGreaterThan(100_000);
    expect(gh.latestStatus(SHA, `stacklock/${KEY}`)!.state).toBe('pending');
    clock.advance(121_000);
    await t.app.dispatcher!.sweepNow();
    await settle();
    expect(await get(d.id)).toMatchObject({ state: 'dispatched', attempts: 2 });
    expect(gh.calls.filter((c) => c.route === 'dispatch').map((c) => c.answered)).toEqual([403, 204]);
  });

  it('refuses bad input with a clear 400, missing scope with 403', async () => {
    const bad = async (payload: Record<string, unknown>, fragment: string) => {
      const r = await t.call({ method: 'POST', url: '/api/v1/dispatches', payload });
      expect(r.statusCode, JSON.stringify(payload)).toBe(400);
      expect(r.json().errorMessage).toContain(fragment);
    };
    const ok = { key: KEY, repository: 'acme/infra', workflow: 'deploy.yml', ref: 'main' };
    await bad({ ...ok, repository: 'acme' }, "repository must be 'owner/name'");
    await bad({ ...ok, workflow: '.github/workflows/deploy.yml' }, 'workflow must be');
    await bad({ ...ok, ref: 'a b' }, 'ref must be');
    await bad({ ...ok, headSha: 'xyz' }, 'headSha must be a full commit SHA');
    await bad({ ...ok, inputs: { a: { nested: true } } }, 'inputs');
    await bad({ ...ok, key: '' }, 'key');
    await bad({ repository: 'acme/infra' }, 'key is required');
    expect((await t.call({ method: 'GET', url: '/api/v1/dispatches?state=nope' })).statusCode).toBe(400);
    const other = await t.call({ method: 'POST', url: '/api/v1/dispatches', payload: { ...ok, repository: 'acme/elsewhere' } });
    expect(other.statusCode).toBe(403);
    expect(other.json().errorMessage).toContain("repository 'acme/elsewhere' is not allowed in this workspace");
    const writer = await t.token('writer', ['locks:write']);
    const r = await t.call({ method: 'POST', url: '/api/v1/dispatches', payload: ok, token: writer });
    expect(r.statusCode).toBe(403);
    expect(r.json().errorMessage).toContain('dispatches:write');
    expect((await t.call({ method: 'GET', url: '/api/v1/dispatches', token: writer })).statusCode).toBe(200);
  });
});

describe('dispatch API without GitHub credentials', () => {
  it('refuses to queue with 503 saying what to configure', async () => {
    const t = await makeTestApp();
    try {
      const r = await t.call({ method: 'POST', url: '/api/v1/dispatches', payload: { key: 'k', repository: 'a/b', workflow: 'w.yml', ref: 'main' } });
      expect(r.statusCode).toBe(503);
      expect(r.json().errorMessage).toContain('STACKLOCK_GITHUB_TOKEN');
    } finally {
      await t.close();
    }
  });
});

describe('dispatching as a GitHub App installation', () => {
  it("looks up the repository's installation with the app JWT, exchanges it for a token, and dispatches with that token", async () => {
    const gh = await new FakeGitHub().start();
    const t = await makeTestApp({ env: gh.appEnv() });
    try {
      await allow(t);
      const first = (await t.call({ method: 'POST', url: '/api/v1/dispatches', payload: { key: KEY, repository: 'acme/infra', workflow: 'deploy.yml', ref: 'main', headSha: SHA } })).json().data;
      await t.app.dispatcher!.idle();
      expect(gh.calls.map((c) => [c.route, c.answered])).toEqual([
        ['installation', 200],
        ['access_token', 201],
        ['dispatch', 204],
        ['status', 201],
      ]);
      expect(gh.calls[3]!.authorization).toBe(gh.calls[2]!.authorization);
      expect(gh.calls[0]!.authorization).toMatch(/^bearer [\w-]+\.[\w-]+\.[\w-]+$/);
      expect(gh.calls[1]!.path).toBe(`/app/installations/${gh.installationId}/access_tokens`);
      expect(gh.calls[2]!.authorization).toMatch(/^token ghs_/);
      expect((await t.call({ method: 'GET', url: `/api/v1/dispatches/${first.id}` })).json().data.state).toBe('dispatched');
      // The installation and its token are cached: the next dispatch goes straight out.
      await t.call({ method: 'POST', url: '/api/v1/dispatches', payload: { key: 'other', repository: 'acme/infra', workflow: 'deploy.yml', ref: 'main' } });
      await t.app.dispatcher!.idle();
      expect(gh.calls.slice(4).map((c) => c.route)).toEqual(['dispatch']);
    } finally {
      await t.close();
      await gh.stop();
    }
  });

  it('records a dispatch into a repository the App is not installed on as failed, with GitHub’s answer', async () => {
    const gh = await new FakeGitHub().start();
    const t = await makeTestApp({ env: gh.appEnv() });
    try {
      await allow(t);
      gh.answerNext('installation', { status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' } });
      const d = (await t.call({ method: 'POST', url: '/api/v1/dispatches', payload: { key: KEY, repository: 'acme/infra', workflow: 'deploy.yml', ref: 'main' } })).json().data;
      await t.app.dispatcher!.idle();
      expect((await t.call({ method: 'GET', url: `/api/v1/dispatches/${d.id}` })).json().data).toMatchObject({ state: 'failed', reason: 'GitHub answered HTTP 404: Not Found' });
    } finally {
      await t.close();
      await gh.stop();
    }
  });
});

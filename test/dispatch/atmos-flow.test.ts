import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../support/app.js';
import { affected, proSettings, pullRequestEvent, upload, WEBHOOK_SECRET, type PullRequestEvent } from '../support/atmos-flow.js';
import { eventually, FakeGitHub } from '../support/fake-github.js';

const HEAD = 'd'.repeat(40);
const VPC = 'acme/infra/plat-ue1-prod/vpc';
const EKS = 'acme/infra/plat-ue1-prod/eks';

type DispatchJson = { id: string; key: string; state: string; reason: string | null; inputs: Record<string, unknown>; ref: string; source: Record<string, unknown>; heldFor: unknown };

describe('the Atmos flow: pull_request webhook + affected-stacks upload', () => {
  let gh: FakeGitHub;
  let t: TestApp;
  let logs: string[];

  beforeAll(async () => {
    gh = await new FakeGitHub().start();
  });
  afterAll(async () => gh.stop());
  beforeEach(async () => {
    gh.calls.length = 0;
    logs = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (logs.push(String(chunk)), done()) });
    t = await makeTestApp({ env: { ...gh.tokenEnv(), STACKLOCK_GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET }, logger: pino({ level: 'info' }, sink) });
    await t.call({ method: 'PUT', url: '/api/v1/repos/acme/infra', payload: {} });
  });
  afterEach(async () => t.close());

  const hook = (e: PullRequestEvent) => t.call({ method: 'POST', url: '/webhooks/github', token: null, headers: e.headers, payload: e.body });
  const send = (body: Record<string, unknown>) => t.call({ method: 'POST', url: '/api/v1/affected-stacks', payload: body });
  const settle = async () => {
    await t.app.atmosFlow.idle();
    await t.app.dispatcher.idle();
  };
  const list = async (): Promise<DispatchJson[]> => (await t.call({ method: 'GET', url: '/api/v1/dispatches' })).json().data.dispatches;
  const byKey = async (key: string) => (await list()).filter((d) => d.key === key);
  const twoStacks = (action = 'opened') =>
    upload(HEAD, [affected('vpc', 'plat-ue1-prod', proSettings({ [action]: ['atmos-terraform-plan.yaml'] })), affected('eks', 'plat-ue1-prod', proSettings({ [action]: ['atmos-terraform-plan.yaml'] }))]);

  it('dispatches the free stack at once and holds the locked one with a pending status naming the lock; unlock sends it', async () => {
    await t.call({ method: 'POST', url: '/api/v1/locks', payload: { key: VPC, ttlMs: 600_000, message: 'applying VPC change #412', holderId: 'run-1' } });
    expect((await send(twoStacks())).json().data.complete).toBe(true);
    const e = pullRequestEvent('opened', HEAD);
    const r = await hook(e);
    expect(r.statusCode).toBe(202);
    expect(r.json().data).toMatchObject({ event: 'pull_request', delivery: e.delivery, planned: 2, redelivered: false });
    await settle();
    expect(gh.dispatches()).toEqual([
      expect.objectContaining({
        repository: 'acme/infra',
        workflow: 'atmos-terraform-plan.yaml',
        ref: 'feature/vpc',
        inputs: { component: 'eks', stack: 'plat-ue1-prod', sha: HEAD, atmos_pro_run_id: e.delivery },
      }),
    ]);
    const [vpc] = await byKey(VPC);
    expect(vpc).toMatchObject({ state: 'waiting_for_lock', source: { kind: 'atmos', stack: 'plat-ue1-prod', component: 'vpc', action: 'opened', atmosRunId: e.delivery } });
    expect(gh.latestStatus(HEAD, `stacklock/${VPC}`)).toMatchObject({ state: 'pending', description: 'Waiting for lock held by token:admin: "applying VPC change #412"' });
    expect(gh.latestStatus(HEAD, `stacklock/${EKS}`)).toMatchObject({ state: 'success' });

    await t.call({ method: 'DELETE', url: '/api/v1/locks', payload: { key: VPC } });
    await eventually(() => gh.dispatches().length === 2, 'the held stack after unlock', 2000);
    await settle();
    expect(gh.dispatches()[1]!.inputs).toMatchObject({ component: 'vpc', stack: 'plat-ue1-prod' });
    expect(gh.latestStatus(HEAD, `stacklock/${VPC}`)).toMatchObject({ state: 'success' });
  });

  it('pairs them whichever arrives first, and plans nothing twice (redelivery, upload sent again)', async () => {
    const e = pullRequestEvent('synchronize', HEAD);
    expect((await hook(e)).json().data).toMatchObject({ planned: 0 });
    expect(await list()).toEqual([]);
    await send(twoStacks('synchronize'));
    await settle();
    expect((await list()).map((d) => d.key).sort()).toEqual([EKS, VPC]);
    expect((await hook(e)).json().data).toMatchObject({ planned: 0, redelivered: true });
    await send(twoStacks('synchronize'));
    await settle();
    expect(await list()).toHaveLength(2);
    expect(gh.dispatches()).toHaveLength(2);
  });

  it('waits for every batch of a batched upload', async () => {
    await hook(pullRequestEvent('opened', HEAD));
    const [one, two] = twoStacks().stacks as object[];
    const batch = (i: number, stacks: object[]) => upload(HEAD, stacks, { batch_id: 'batch-1', batch_index: i, batch_total: 2 });
    expect((await send(batch(1, [two!]))).json().data.complete).toBe(false);
    await settle();
    expect(await list()).toEqual([]);
    expect((await send(batch(0, [one!]))).json().data.complete).toBe(true);
    await settle();
    expect(await list()).toHaveLength(2);
  });

  it('skips stacks with settings.pro.enabled false or no workflows for the action; merged uses the merged workflows at the base branch', async () => {
    const stacks = [
      affected('vpc', 'prod', proSettings({ opened: ['plan.yaml'], merged: ['apply.yaml'] })),
      affected('dns', 'prod', proSettings({ merged: ['apply.yaml'] }, { enabled: false })),
      affected('eks', 'prod', proSettings({ opened: ['plan.yaml'] })),
      affected('iam', 'prod', null),
    ];
    await send(upload(HEAD, stacks));
    expect((await hook(pullRequestEvent('closed', HEAD, { merged: false }))).json().data.planned).toBe(0);
    const merged = pullRequestEvent('closed', HEAD, { merged: true, mergeCommitSha: 'e'.repeat(40) });
    expect((await hook(merged)).json().data.planned).toBe(1);
    await settle();
    expect(gh.dispatches()).toEqual([
      expect.objectContaining({ workflow: 'apply.yaml', ref: 'main', inputs: { component: 'vpc', stack: 'prod', sha: 'e'.repeat(40), atmos_pro_run_id: merged.delivery } }),
    ]);
    expect((await list())[0]).toMatchObject({ source: { action: 'merged' } });
  });

  it('sends dependents after the stacks they depend on report that they finished, and cancels them when one failed', async () => {
    const settings = proSettings({ opened: ['plan.yaml'] });
    const stacks = [
      affected('vpc', 'prod', settings, [affected('eks', 'prod', settings, [affected('app', 'prod', settings)])]),
      affected('dns', 'prod', settings, [affected('cdn', 'prod', settings)]),
    ];
    await send(upload(HEAD, stacks));
    const e = pullRequestEvent('opened', HEAD);
    expect((await hook(e)).json().data.planned).toBe(5);
    await settle();
    expect(gh.dispatches().map((c) => c.inputs.component).sort()).toEqual(['dns', 'vpc']);
    const eks = (await byKey('acme/infra/prod/eks'))[0]!;
    expect(eks).toMatchObject({ state: 'waiting_for_lock', reason: 'waiting for prod/vpc to finish', heldFor: [{ stack: 'prod', component: 'vpc' }] });
    expect(gh.latestStatus(HEAD, 'stacklock/acme/infra/prod/eks')).toMatchObject({ state: 'pending', description: 'Queued: waiting for prod/vpc to finish' });

    const report = (stack: string, component: string, exit: number) =>
      t.call({ method: 'PATCH', url: `/api/v1/repos/acme/infra/instances?stack=${stack}&component=${component}`, payload: { command: 'plan', exit_code: exit, atmos_pro_run_id: e.delivery } });
    expect((await report('prod', 'vpc', 2)).statusCode).toBe(200); // drifted: a finished plan
    await settle();
    expect(gh.dispatches().map((c) => c.inputs.component)).toContain('eks');
    expect((await byKey('acme/infra/prod/app'))[0]!.state).toBe('waiting_for_lock');
    await report('prod', 'eks', 0);
    await settle();
    expect(gh.dispatches().map((c) => c.inputs.component)).toContain('app');

    await report('prod', 'dns', 1);
    await settle();
    expect((await byKey('acme/infra/prod/cdn'))[0]).toMatchObject({ state: 'cancelled', reason: 'not dispatched: prod/dns failed (plan exit code 1)' });
    expect(gh.dispatches()).toHaveLength(4);
    expect(gh.latestStatus(HEAD, 'stacklock/acme/infra/prod/cdn')).toMatchObject({ state: 'error' });
  });

  it('refuses a bad or missing signature with 401 and logs it; refuses all webhooks when no secret is configured', async () => {
    const forged = pullRequestEvent('opened', HEAD, { secret: 'not-the-secret' });
    const r = await hook(forged);
    expect(r.statusCode).toBe(401);
    expect(r.json()).toMatchObject({ success: false, errorTag: 'Unauthorized' });
    const { 'x-hub-signature-256': _omit, ...unsigned } = pullRequestEvent('opened', HEAD).headers;
    expect((await t.call({ method: 'POST', url: '/webhooks/github', token: null, headers: unsigned, payload: forged.body })).statusCode).toBe(401);
    const tampered = pullRequestEvent('opened', HEAD);
    expect((await t.call({ method: 'POST', url: '/webhooks/github', token: null, headers: tampered.headers, payload: tampered.body.replace('opened', 'closed') })).statusCode).toBe(401);
    expect(logs.filter((l) => l.includes('GitHub webhook refused')).length).toBe(3);
    expect(logs.join('')).toContain(forged.delivery);
    expect(logs.join('')).not.toContain(WEBHOOK_SECRET);
    expect(await list()).toEqual([]);

    const bare = await makeTestApp({ env: gh.tokenEnv() });
    try {
      const e = pullRequestEvent('opened', HEAD);
      const off = await bare.call({ method: 'POST', url: '/webhooks/github', token: null, headers: e.headers, payload: e.body });
      expect(off.statusCode).toBe(503);
      expect(off.json().errorMessage).toContain('STACKLOCK_GITHUB_WEBHOOK_SECRET');
    } finally {
      await bare.close();
    }
  });

  it('answers ping, ignores other events, and refuses a malformed payload with 400', async () => {
    const signed = (event: string, body: string) => {
      const e = pullRequestEvent('opened', HEAD);
      return { ...e.headers, 'x-github-event': event, 'x-hub-signature-256': 'sha256=' + createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex') };
    };
    const ping = await t.call({ method: 'POST', url: '/webhooks/github', token: null, headers: signed('ping', '{"zen":"Keep it logically awesome."}'), payload: '{"zen":"Keep it logically awesome."}' });
    expect(ping.statusCode).toBe(200);
    const push = await t.call({ method: 'POST', url: '/webhooks/github', token: null, headers: signed('push', '{}'), payload: '{}' });
    expect(push.statusCode).toBe(202);
    expect(push.json().data).toMatchObject({ ignored: true });
    const bad = await t.call({ method: 'POST', url: '/webhooks/github', token: null, headers: signed('pull_request', '{"action":"opened"}'), payload: '{"action":"opened"}' });
    expect(bad.statusCode).toBe(400);
    const notJson = await t.call({ method: 'POST', url: '/webhooks/github', token: null, headers: signed('pull_request', 'nope'), payload: 'nope' });
    expect(notJson.statusCode).toBe(400);
  });
});

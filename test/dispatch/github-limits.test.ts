import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clipForGitHub, commitStatusFor, statusContext, validateInputs } from '../../src/core/dispatch-rules.js';
import type { Dispatch } from '../../src/core/dispatch.js';
import { makeTestApp, type TestApp } from '../support/app.js';
import { pullRequestEvent, upload, WEBHOOK_SECRET } from '../support/atmos-flow.js';
import { FakeGitHub, GITHUB_LIMITS, hasLoneSurrogate } from '../support/fake-github.js';

const SHA = 'c'.repeat(40);
const codePoints = (s: string) => Array.from(s).length;
const hash12 = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 12);

describe('the fake GitHub refuses what GitHub refuses', () => {
  let gh: FakeGitHub;
  beforeAll(async () => {
    gh = await new FakeGitHub().start();
  });
  afterAll(async () => gh.stop());

  const post = (path: string, body: unknown) =>
    fetch(`${gh.url}${path}`, { method: 'POST', headers: { authorization: `token ${gh.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const status = (body: Record<string, unknown>) => post(`/repos/acme/infra/statuses/${SHA}`, { state: 'pending', ...body });
  const inputs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`i${i}`, 'v']));

  it('a context over 255 characters, a description over 140, or a lone surrogate is a 422', async () => {
    expect((await status({ context: 'c'.repeat(255), description: 'd'.repeat(140) })).status).toBe(201);
    expect((await status({ context: '😀'.repeat(255), description: '😀'.repeat(140) })).status).toBe(201);
    expect((await status({ context: 'c'.repeat(256), description: 'd' })).status).toBe(422);
    const long = await status({ context: 'c', description: 'd'.repeat(141) });
    expect(long.status).toBe(422);
    expect(((await long.json()) as { errors: Array<{ message: string }> }).errors[0]!.message).toContain('maximum is 140');
    expect((await status({ context: 'c', description: 'half an emoji \ud83d' })).status).toBe(422);
    expect((await status({ context: 'c\ude00', description: 'd' })).status).toBe(422);
  });

  it('a workflow dispatch with more than 25 inputs is a 422', async () => {
    const dispatch = (n: number) => post('/repos/acme/infra/actions/workflows/deploy.yml/dispatches', { ref: 'main', inputs: inputs(n) });
    expect((await dispatch(25)).status).toBe(204);
    expect((await dispatch(26)).status).toBe(422);
  });

  it('tells contexts apart case-insensitively, as GitHub does', async () => {
    gh.calls.length = 0;
    await status({ context: 'stacklock/Acme/x', description: 'first' });
    await status({ context: 'stacklock/acme/x', description: 'second' });
    expect(gh.contexts(SHA)).toEqual(['stacklock/Acme/x']);
    expect(gh.latestStatus(SHA, 'stacklock/ACME/X')?.description).toBe('second');
  });
});

describe('commit status contexts', () => {
  it('keeps stacklock/<key> for a short key without upper-case letters', () => {
    expect(statusContext('acme/infra/plat-ue1-prod/vpc')).toBe('stacklock/acme/infra/plat-ue1-prod/vpc');
    expect(statusContext('k')).toBe('stacklock/k');
    expect(statusContext('a'.repeat(245))).toBe(`stacklock/${'a'.repeat(245)}`);
  });

  it('gives keys that differ only in case contexts that differ case-insensitively, readable and with a hash of the exact key', () => {
    const upper = statusContext('Acme/Infra/prod/vpc');
    expect(upper).toBe(`stacklock/Acme/Infra/prod/vpc #${hash12('Acme/Infra/prod/vpc')}`);
    // The example in docs/dispatch.md, its hash computed with sha256sum.
    expect(statusContext('Acme/infra/plat-ue1-prod/vpc')).toBe('stacklock/Acme/infra/plat-ue1-prod/vpc #430454bfdabb');
    const keys = ['acme/infra/prod/vpc', 'Acme/Infra/prod/vpc', 'ACME/infra/prod/vpc', 'acme/infra/prod/VPC'];
    expect(new Set(keys.map((k) => statusContext(k).toLowerCase())).size).toBe(keys.length);
  });

  it('fits a 512-character key into 255 characters, distinct from a key that shares its first 300', () => {
    const a = 'a'.repeat(300) + 'x'.repeat(212);
    const b = 'a'.repeat(300) + 'y'.repeat(212);
    for (const k of [a, b, 'a'.repeat(246), '😀'.repeat(512), 'é'.repeat(400)]) {
      const c = statusContext(k);
      expect(codePoints(c), k).toBeLessThanOrEqual(GITHUB_LIMITS.contextMax);
      expect(hasLoneSurrogate(c)).toBe(false);
      expect(c).toMatch(new RegExp(`^stacklock/.+… #${hash12(k)}$`, 'u'));
    }
    expect(statusContext(a)).not.toBe(statusContext(b));
  });

  it('hashes any key a plain context could be mistaken for (spaces, non-ASCII)', () => {
    // A plain key can never contain a space, so it can never look like a hashed context.
    expect(statusContext('acme/x #0123456789ab')).toBe(`stacklock/acme/x #0123456789ab #${hash12('acme/x #0123456789ab')}`);
    expect(statusContext('café/vpc')).toBe(`stacklock/café/vpc #${hash12('café/vpc')}`);
  });
});

describe('commit status descriptions', () => {
  const waiting = (message: string): Dispatch =>
    ({
      key: 'k',
      workflow: 'deploy.yml',
      state: 'waiting_for_lock',
      reason: null,
      blockedBy: { token: 1, holder: 'token:admin', holderId: null, message, expiresAt: new Date().toISOString() },
    }) as unknown as Dispatch;
  const prefix = 'Waiting for lock held by token:admin: "';

  it('cuts at a character boundary, never in half an emoji, with an ellipsis', () => {
    // The 140th UTF-16 unit falls in the middle of an emoji.
    const message = 'x'.repeat(139 - prefix.length - 1) + '😀'.repeat(20);
    const d = commitStatusFor(waiting(message)).description;
    expect(hasLoneSurrogate(d)).toBe(false);
    expect(codePoints(d)).toBeLessThanOrEqual(GITHUB_LIMITS.descriptionMax);
    expect(d.endsWith('😀…')).toBe(true);
  });

  it('keeps a grapheme (a flag, a family) whole, and leaves a short text alone', () => {
    const flag = '🇺🇦';
    const family = '👨‍👩‍👧';
    for (const g of [flag, family]) {
      const cut = clipForGitHub('y'.repeat(138) + g + 'z', 140);
      expect(cut).toBe('y'.repeat(138) + '…');
    }
    expect(clipForGitHub('y'.repeat(136) + flag + 'z', 140)).toBe('y'.repeat(136) + flag + 'z');
    expect(clipForGitHub('short', 140)).toBe('short');
    expect(clipForGitHub('😀'.repeat(140), 140)).toBe('😀'.repeat(140));
    expect(clipForGitHub('😀'.repeat(141), 140)).toBe('😀'.repeat(139) + '…');
  });

  it('cuts inside a grapheme only when that one grapheme is longer than the limit', () => {
    const cut = clipForGitHub('e' + '\u0301'.repeat(200), 140);
    expect(codePoints(cut)).toBe(140);
    expect(cut.endsWith('…')).toBe(true);
  });

  it('replaces a lone surrogate with U+FFFD', () => {
    expect(clipForGitHub('half \ud83d', 140)).toBe('half \ufffd');
  });
});

describe('workflow inputs', () => {
  const inputs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`i${i}`, i]));
  it('takes up to 25 and refuses more, naming the limit', () => {
    expect(Object.keys(validateInputs(inputs(25)))).toHaveLength(25);
    expect(() => validateInputs(inputs(26))).toThrow(/at most 25 inputs/);
  });
});

describe('what stacklock sends a (fake) GitHub fits its limits', () => {
  let gh: FakeGitHub;
  let t: TestApp;

  beforeAll(async () => {
    gh = await new FakeGitHub().start();
  });
  afterAll(async () => gh.stop());
  beforeEach(async () => {
    gh.calls.length = 0;
    t = await makeTestApp({ env: { ...gh.tokenEnv(), STACKLOCK_GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET } });
    await t.call({ method: 'PUT', url: '/api/v1/repos/acme/infra', payload: {} });
  });
  afterEach(async () => t.close());

  const lock = (key: string, message: string) => t.call({ method: 'POST', url: '/api/v1/locks', payload: { key, ttlMs: 600_000, message, holderId: 'run-1' } });
  const create = (key: string, extra: Record<string, unknown> = {}) =>
    t.call({ method: 'POST', url: '/api/v1/dispatches', payload: { key, repository: 'acme/infra', workflow: 'deploy.yml', ref: 'main', headSha: SHA, ...extra } });
  const settle = async () => {
    await t.app.atmosFlow.idle();
    await t.app.dispatcher.idle();
  };
  const refusedByGitHub = () => gh.calls.filter((c) => c.answered === 422);

  it('posts the pending status of a 512-character key, and its success after release', async () => {
    const key = 'acme/infra/' + 'k'.repeat(501);
    expect((await lock(key, 'long key')).statusCode).toBe(201);
    expect((await create(key)).statusCode).toBe(201);
    await settle();
    expect(refusedByGitHub()).toEqual([]);
    expect(gh.latestStatus(SHA, statusContext(key))).toMatchObject({ state: 'pending', description: 'Waiting for lock held by token:admin: "long key"' });
    await t.call({ method: 'DELETE', url: '/api/v1/locks', payload: { key } });
    await settle();
    expect(gh.latestStatus(SHA, statusContext(key))).toMatchObject({ state: 'success' });
    expect(refusedByGitHub()).toEqual([]);
  });

  it('posts a status whose lock message would be cut in half an emoji', async () => {
    const message = 'x'.repeat(139 - 'Waiting for lock held by token:admin: "'.length - 1) + '😀'.repeat(20);
    await lock('acme/infra/vpc', message);
    await create('acme/infra/vpc');
    await settle();
    expect(refusedByGitHub()).toEqual([]);
    const s = gh.latestStatus(SHA, 'stacklock/acme/infra/vpc');
    expect(s?.state).toBe('pending');
    expect(s!.description.endsWith('😀…')).toBe(true);
  });

  it('gives two keys that differ only in case two statuses on the same commit', async () => {
    await lock('acme/infra/vpc', 'lower');
    await lock('Acme/Infra/vpc', 'upper');
    await create('acme/infra/vpc');
    await create('Acme/Infra/vpc');
    await settle();
    expect(gh.contexts(SHA).sort()).toEqual([statusContext('Acme/Infra/vpc'), 'stacklock/acme/infra/vpc'].sort());
    expect(gh.latestStatus(SHA, 'stacklock/acme/infra/vpc')?.description).toContain('"lower"');
    expect(gh.latestStatus(SHA, statusContext('Acme/Infra/vpc'))?.description).toContain('"upper"');
  });

  it('refuses more than 25 inputs up front with a 400 in the envelope, and queues nothing', async () => {
    const inputs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`input_${i}`, String(i)]));
    const r = await create('acme/infra/vpc', { inputs: inputs(26) });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({
      success: false,
      status: 400,
      errorTag: 'ValidationError',
      context: { reason: 'too_many_inputs', inputs: 26, maxInputs: 25 },
    });
    expect(r.json().errorMessage).toContain('at most 25 inputs');
    expect((await t.call({ method: 'GET', url: '/api/v1/dispatches' })).json().data.dispatches).toEqual([]);
    expect((await create('acme/infra/vpc', { inputs: inputs(25) })).statusCode).toBe(201);
    await settle();
    expect(gh.dispatches()).toHaveLength(1);
    expect(refusedByGitHub()).toEqual([]);
  });

  it('in the Atmos flow, a workflow with more than 25 inputs is not queued, says why on the pull request, and the others go', async () => {
    // 24 from the settings, plus the sha and atmos_pro_run_id stacklock adds: 26.
    const many = Object.fromEntries(Array.from({ length: 24 }, (_, i) => [`input_${i}`, '{{ .atmos_stack }}']));
    const settings = (inputs: Record<string, string>) => ({ pro: { enabled: true, pull_request: { opened: { workflows: { 'plan.yaml': { inputs } } } } } });
    const stacks = [
      { component: 'vpc', stack: 'prod', included_in_dependents: false, dependents: [], settings: settings(many) },
      { component: 'eks', stack: 'prod', included_in_dependents: false, dependents: [], settings: settings({ stack: '{{ .atmos_stack }}' }) },
    ];
    expect((await t.call({ method: 'POST', url: '/api/v1/affected-stacks', payload: upload(SHA, stacks) })).json().data.complete).toBe(true);
    const e = pullRequestEvent('opened', SHA);
    const r = await t.call({ method: 'POST', url: '/webhooks/github', token: null, headers: e.headers, payload: e.body });
    expect(r.statusCode).toBe(202);
    expect(r.json().data.planned).toBe(1);
    await settle();
    const dispatches = (await t.call({ method: 'GET', url: '/api/v1/dispatches' })).json().data.dispatches;
    expect(dispatches.map((d: { key: string }) => d.key)).toEqual(['acme/infra/prod/eks']);
    expect(gh.dispatches()).toHaveLength(1);
    expect(refusedByGitHub()).toEqual([]);
    const refused = gh.latestStatus(SHA, 'stacklock/acme/infra/prod/vpc');
    expect(refused?.state).toBe('failure');
    expect(refused!.description).toBe('Not dispatched: plan.yaml: too many inputs (26): GitHub takes at most 25 inputs for a workflow dispatch');
    expect(codePoints(refused!.description)).toBeLessThanOrEqual(140);
  });

  it('in the Atmos flow, a workflow the settings name with a path is not queued either, and the webhook is still accepted', async () => {
    const stacks = [
      { component: 'vpc', stack: 'prod', included_in_dependents: false, dependents: [], settings: { pro: { enabled: true, pull_request: { opened: { workflows: ['.github/workflows/plan.yaml'] } } } } },
      { component: 'eks', stack: 'prod', included_in_dependents: false, dependents: [], settings: { pro: { enabled: true, pull_request: { opened: { workflows: ['plan.yaml'] } } } } },
    ];
    await t.call({ method: 'POST', url: '/api/v1/affected-stacks', payload: upload(SHA, stacks) });
    const e = pullRequestEvent('opened', SHA);
    const r = await t.call({ method: 'POST', url: '/webhooks/github', token: null, headers: e.headers, payload: e.body });
    expect(r.statusCode).toBe(202);
    await settle();
    expect(gh.dispatches().map((d) => d.workflow)).toEqual(['plan.yaml']);
    expect(gh.latestStatus(SHA, 'stacklock/acme/infra/prod/vpc')).toMatchObject({ state: 'failure' });
    expect(gh.latestStatus(SHA, 'stacklock/acme/infra/prod/vpc')!.description).toContain('Not dispatched: .github/workflows/plan.yaml: workflow must be');
  });
});

describe('text GitHub cannot store', () => {
  it('refuses a lone surrogate in inputs, a workflow name or a ref with a clear 400', async () => {
    const gh = await new FakeGitHub().start();
    const t = await makeTestApp({ env: gh.tokenEnv() });
    try {
      await t.call({ method: 'PUT', url: '/api/v1/repos/acme/infra', payload: {} });
      const ok = { key: 'acme/infra/vpc', repository: 'acme/infra', workflow: 'deploy.yml', ref: 'main' };
      // Escaped by hand: JSON.stringify would escape a lone surrogate the same way.
      const send = (payload: string) => t.call({ method: 'POST', url: '/api/v1/dispatches', headers: { 'content-type': 'application/json' }, payload });
      const body = (extra: string) => JSON.stringify(ok).slice(0, -1) + ',' + extra + '}';
      for (const [extra, fragment] of [
        ['"inputs":{"stack":"half \\ud83d"}', "input 'stack' must be valid Unicode"],
        ['"inputs":{"st\\ude00ck":"v"}', 'input name'],
        ['"workflow":"deploy\\ud83d.yml"', 'workflow must be'],
        ['"ref":"feature/\\ud83d"', 'ref must be'],
      ] as const) {
        const r = await send(body(extra));
        expect(r.statusCode, extra).toBe(400);
        expect(r.json(), extra).toMatchObject({ success: false, errorTag: 'ValidationError' });
        expect(r.json().errorMessage, extra).toContain(fragment);
      }
      expect(gh.calls).toEqual([]);
    } finally {
      await t.close();
      await gh.stop();
    }
  });
});

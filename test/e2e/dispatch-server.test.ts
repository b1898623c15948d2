import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { INTERRUPTED_REASON } from '../../src/core/dispatch.js';
import { tempDir } from '../support/app.js';
import { affected, proSettings, pullRequestEvent, upload, WEBHOOK_SECRET } from '../support/atmos-flow.js';
import { eventually, FakeGitHub } from '../support/fake-github.js';
import { runCli, startServerProcess, type ServerProcess } from '../support/processes.js';

const SHA = 'c'.repeat(40);
const VPC = 'acme/infra/plat-ue1-prod/vpc';
const EKS = 'acme/infra/plat-ue1-prod/eks';

interface Api {
  (method: string, path: string, body?: unknown): Promise<{ status: number; data: Record<string, unknown> & { id: string; state: string } }>;
}

function apiOf(server: ServerProcess): Api {
  return async (method, path, body) => {
    const r = await fetch(server.url + path, {
      method,
      headers: { authorization: `Bearer ${server.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, data: ((await r.json()) as { data: never }).data };
  };
}

/** `stacklock server` processes dispatching to a local fake GitHub, as a user would run them. */
describe('dispatch gating with real server processes', () => {
  let gh: FakeGitHub;
  let server: ServerProcess | null = null;
  beforeAll(async () => {
    gh = await new FakeGitHub().start();
  });
  afterAll(async () => gh.stop());
  afterEach(async () => {
    await server?.kill('SIGKILL');
    server = null;
    gh.calls.length = 0;
    gh.received.length = 0;
    gh.delay('dispatch', 0);
  });

  const start = async (dir = tempDir()) => {
    server = await startServerProcess(dir, [], { ...gh.tokenEnv(), STACKLOCK_GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET });
    const api = apiOf(server);
    await api('PUT', '/api/v1/repos/acme/infra', {});
    return api;
  };
  const dispatch = (api: Api, key: string, extra: Record<string, unknown> = {}) =>
    api('POST', '/api/v1/dispatches', {
      key, repository: 'acme/infra', workflow: 'atmos-terraform-apply.yaml', ref: 'main', headSha: SHA, pullRequest: 12,
      inputs: { stack: 'plat-ue1-prod', component: key.split('/').pop() }, ...extra,
    });
  const stateOf = async (api: Api, id: string) => (await api('GET', `/api/v1/dispatches/${id}`)).data.state;

  it('Atmos flow: a webhook and an upload for a PR touching two stacks send the free one at once and hold the locked one, sent within a second of unlock', async () => {
    const api = await start();
    const env = { STACKLOCK_URL: server!.url, STACKLOCK_TOKEN: server!.adminToken };
    expect((await runCli(['lock', VPC, '--ttl', '10m', '--message', 'applying VPC change #412'], env)).code).toBe(0);
    const settings = proSettings({ opened: ['atmos-terraform-plan.yaml'] });
    const up = await api('POST', '/api/v1/affected-stacks', upload(SHA, [affected('vpc', 'plat-ue1-prod', settings), affected('eks', 'plat-ue1-prod', settings)]));
    expect(up.status).toBe(200);
    const e = pullRequestEvent('opened', SHA, { number: 12 });
    const hook = await fetch(`${server!.url}/webhooks/github`, { method: 'POST', headers: e.headers, body: e.body });
    expect(hook.status).toBe(202);
    await eventually(() => gh.dispatches().length === 1, 'the free stack dispatched');
    expect(gh.dispatches()[0]!.inputs).toEqual({ component: 'eks', stack: 'plat-ue1-prod', sha: SHA, atmos_pro_run_id: e.delivery });
    await eventually(() => gh.latestStatus(SHA, `stacklock/${VPC}`), 'a pending status on the locked stack');
    expect(gh.latestStatus(SHA, `stacklock/${VPC}`)).toMatchObject({ state: 'pending', description: 'Waiting for lock held by token:admin: "applying VPC change #412"' });
    await eventually(() => gh.latestStatus(SHA, `stacklock/${EKS}`)?.state === 'success', 'success on the free stack');

    const listed = await runCli(['dispatches', '--key', VPC], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('waiting_for_lock');
    expect(listed.stdout).toContain('lock held by token:admin: "applying VPC change #412"');
    const vpc = JSON.parse((await runCli(['dispatches', '--key', VPC, '--json'], env)).stdout)[0];

    const released = await api('DELETE', '/api/v1/locks', { key: VPC });
    const unlockedAt = Date.now();
    expect(released.status).toBe(200);
    await eventually(() => gh.dispatches().length === 2, 'the held stack dispatched', 5000, 5);
    expect(gh.dispatches()[1]!.at - unlockedAt).toBeLessThan(1000);
    expect(gh.dispatches()[1]!.inputs).toMatchObject({ component: 'vpc', stack: 'plat-ue1-prod' });
    await eventually(() => gh.latestStatus(SHA, `stacklock/${VPC}`)?.state === 'success', 'the status turned success');
    expect(await stateOf(api, vpc.id)).toBe('dispatched');
    const queued = (await api('GET', '/api/v1/events?action=workflow.queued')).data.events as Array<{ actor: string }>;
    expect(queued).toHaveLength(2);
  });

  it('sends a held dispatch within a second of the lock expiring', async () => {
    const api = await start();
    const lock = await api('POST', '/api/v1/locks', { key: VPC, ttlMs: 2000, message: 'short apply', holderId: 'run-1' });
    const d = (await dispatch(api, VPC)).data;
    expect(d.state).toBe('waiting_for_lock');
    await eventually(() => gh.dispatches().length === 1, 'dispatched after expiry', 10_000, 5);
    const late = gh.dispatches()[0]!.at - new Date(lock.data.expiresAt as string).getTime();
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(1000);
    await eventually(async () => (await stateOf(api, d.id)) === 'dispatched', 'recorded as dispatched');
  });

  it('sends five waiting dispatches in arrival order', async () => {
    const api = await start();
    await api('POST', '/api/v1/locks', { key: VPC, ttlMs: 600_000, message: 'm', holderId: 'run-1' });
    for (let i = 0; i < 5; i++) await dispatch(api, VPC, { pullRequest: 100 + i, inputs: { n: String(i) } });
    await api('DELETE', '/api/v1/locks', { key: VPC });
    await eventually(() => gh.dispatches().length === 5, 'five dispatches');
    expect(gh.dispatches().map((c) => c.inputs.n)).toEqual(['0', '1', '2', '3', '4']);
  });

  it('resumes its queue after kill -9, and never re-sends a dispatch that was in flight', async () => {
    const dir = tempDir();
    let api = await start(dir);
    await api('POST', '/api/v1/locks', { key: VPC, ttlMs: 600_000, message: 'long apply', holderId: 'run-1' });
    const waiting = [];
    for (let i = 0; i < 3; i++) waiting.push((await dispatch(api, VPC, { pullRequest: 200 + i, inputs: { n: String(i) } })).data.id);
    // One on a free key, caught in flight: GitHub is slow to answer and the server dies meanwhile.
    gh.delay('dispatch', 1500);
    const inFlight = (await dispatch(api, EKS, { inputs: { n: 'in flight' } })).data;
    await eventually(() => gh.received.includes('dispatch'), 'the request to reach GitHub');
    expect(await server!.kill('SIGKILL')).not.toBe(0);
    gh.delay('dispatch', 0);

    server = await startServerProcess(dir, [], gh.tokenEnv());
    api = apiOf(server);
    const recovered = (await api('GET', `/api/v1/dispatches/${inFlight.id}`)).data;
    expect(recovered).toMatchObject({ state: 'failed', reason: INTERRUPTED_REASON });
    for (const id of waiting) expect(await stateOf(api, id)).toBe('waiting_for_lock');
    expect(server.log()).toContain('marked failed, not resent');

    await api('DELETE', '/api/v1/locks', { key: VPC });
    await eventually(() => gh.dispatches().filter((c) => c.inputs.n !== 'in flight').length === 3, 'the queue resumed');
    expect(gh.dispatches().filter((c) => c.inputs.n !== 'in flight').map((c) => c.inputs.n)).toEqual(['0', '1', '2']);
    // The in-flight request reached GitHub once and was never sent again.
    await new Promise((r) => setTimeout(r, 1500));
    expect(gh.calls.filter((c) => c.route === 'dispatch' && (c.body?.inputs as { n?: string })?.n === 'in flight')).toHaveLength(1);
  });

  it('cancels a waiting dispatch from the CLI', async () => {
    const api = await start();
    const env = { STACKLOCK_URL: server!.url, STACKLOCK_TOKEN: server!.adminToken };
    await api('POST', '/api/v1/locks', { key: VPC, ttlMs: 600_000, message: 'm', holderId: 'run-1' });
    const d = (await dispatch(api, VPC)).data;
    // The short id the listing shows is enough.
    const listed = await runCli(['dispatches', '--key', VPC], env);
    const short = listed.stdout.split('\n')[1]!.split(/\s+/)[0]!;
    expect(short).toBe(d.id.slice(0, 8));
    expect((await runCli(['dispatch', 'cancel', 'zz'], env)).stderr).toContain("'zz' is not a dispatch id");
    const c = await runCli(['dispatch', 'cancel', short, '--reason', 'superseded by hand'], env);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toBe(`Cancelled dispatch ${d.id} (acme/infra atmos-terraform-apply.yaml for '${VPC}')\n`);
    const again = await runCli(['dispatch', 'cancel', d.id], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('is cancelled: only a waiting dispatch can be cancelled');
    const json = JSON.parse((await runCli(['dispatches', '--state', 'cancelled', '--json'], env)).stdout);
    expect(json).toMatchObject([{ id: d.id, state: 'cancelled', reason: 'cancelled by token:admin: superseded by hand' }]);
  });
});

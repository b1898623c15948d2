import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../support/app.js';
import { actionsClaims, startLocalIssuer, type LocalIssuer } from '../support/oidc-issuer.js';
import { goRequest, sendRaw } from '../support/raw-http.js';
import { ATMOS_API_RESPONSE, goDecode } from './go-decode.js';

const UA = 'atmos/v1.226.1 (linux; amd64)';

/** A stack as `atmos describe affected` serialises it (field order as Go marshals the struct). */
const affected = (component: string, stack: string, settings: unknown = null) => ({
  component,
  component_type: 'terraform',
  component_path: `components/terraform/${component}`,
  stack,
  stack_slug: `${stack}-${component}`,
  affected: 'stack.vars',
  affected_all: ['stack.vars'],
  included_in_dependents: false,
  dependents: [],
  settings,
});

const PRO_SETTINGS = {
  pro: {
    enabled: true,
    pull_request: {
      opened: { workflows: { 'atmos-terraform-plan.yaml': { inputs: { component: '{{ .atmos_component }}', stack: '{{ .atmos_stack }}' } } } },
      merged: { workflows: { 'atmos-terraform-apply.yaml': { inputs: { component: '{{ .atmos_component }}', stack: '{{ .atmos_stack }}' } } } },
    },
  },
};

describe('atmos describe affected --upload and --upload-status on the wire', () => {
  let t: TestApp;
  let issuer: LocalIssuer;
  let url: string;
  let host: string;
  let wsId: string;

  beforeAll(async () => {
    issuer = await startLocalIssuer();
    t = await makeTestApp({ env: { STACKLOCK_OIDC_JWKS_URL: issuer.jwksUrl } });
    url = await t.app.listen({ port: 0, host: '127.0.0.1' });
    host = new URL(url).host;
    wsId = (await t.store.getWorkspace('default'))!.id;
    await t.call({ method: 'PUT', url: '/api/v1/repos/acme/infra', payload: {} });
  });
  afterAll(async () => {
    await t.close();
    await issuer.close();
  });

  const send = (method: string, path: string, body: string, token = t.adminToken) =>
    sendRaw(url, goRequest(method, host, path, { 'User-Agent': UA, 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body));
  const upload = (body: object, token?: string) => send('POST', '/api/v1/affected-stacks', JSON.stringify(body), token);
  const head = { head_sha: 'abc123def456', base_sha: '111222333444', repo_url: 'https://github.com/acme/infra', repo_name: 'infra', repo_owner: 'acme', repo_host: 'github.com' };

  it('stores an upload in one piece (the pact body): 200, success true', async () => {
    const r = await upload({ ...head, stacks: [affected('vpc', 'plat-ue2-dev', PRO_SETTINGS)] });
    expect(r.statusCode, r.body).toBe(200);
    expect(goDecode(r.body, ATMOS_API_RESPONSE)).toMatchObject({ success: true, data: { received: 1, total: 1, complete: true } });
    const stored = await t.store.atmos.getAffectedStacks(wsId, 'acme/infra', 'abc123def456');
    expect(stored).toMatchObject({ repository: 'acme/infra', baseSha: '111222333444', uploadedBy: 'token:admin' });
    expect(stored!.stacks).toEqual([affected('vpc', 'plat-ue2-dev', PRO_SETTINGS)]);
  });

  it('stores batches; complete only when all arrived; a repeated batch is harmless, a changed one 409', async () => {
    const sha = 'feedfacecafe';
    const batch = (i: number, stacks: object[]) => ({ ...head, head_sha: sha, stacks, batch_id: 'b3b1c2d3-e4f5', batch_index: i, batch_total: 3 });
    const b0 = batch(0, [affected('vpc', 'dev')]);
    const b1 = batch(1, [affected('eks', 'dev', PRO_SETTINGS)]);
    const b2 = batch(2, [affected('rds', 'prod'), affected('s3', 'prod')]);
    expect(JSON.parse((await upload(b0)).body).data).toMatchObject({ received: 1, complete: false });
    expect(JSON.parse((await upload(b2)).body).data).toMatchObject({ received: 2, complete: false });
    expect(JSON.parse((await upload(b2)).body).data).toMatchObject({ received: 2, complete: false }); // atmos retried
    expect(await t.store.atmos.getAffectedStacks(wsId, 'acme/infra', sha)).toBeNull();
    const changed = await upload({ ...b2, stacks: [affected('other', 'prod')] });
    expect(changed.statusCode).toBe(409);
    expect(goDecode(changed.body, ATMOS_API_RESPONSE)).toMatchObject({ success: false, errorTag: 'Conflict' });
    expect(JSON.parse((await upload(b1)).body).data).toMatchObject({ received: 3, total: 3, complete: true });
    const stored = await t.store.atmos.getAffectedStacks(wsId, 'acme/infra', sha);
    expect(stored!.stacks.map((s) => s.component)).toEqual(['vpc', 'eks', 'rds', 's3']);
  });

  it('takes a body far above the 1 MiB default (a big monorepo), and refuses one above 32 MiB with 413 JSON', async () => {
    const many = Array.from({ length: 6000 }, (_, i) => affected(`component-${i}`, `plat-ue2-${i % 40}`, PRO_SETTINGS));
    const body = JSON.stringify({ ...head, head_sha: 'big0', stacks: many });
    expect(body.length).toBeGreaterThan(3 * 1024 * 1024);
    const r = await send('POST', '/api/v1/affected-stacks', body);
    expect(r.statusCode, r.body.slice(0, 300)).toBe(200);
    expect((await t.store.atmos.getAffectedStacks(wsId, 'acme/infra', 'big0'))!.stacks).toHaveLength(6000);
    const huge = await t.call({ method: 'POST', url: '/api/v1/affected-stacks', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ ...head, stacks: [], pad: 'x'.repeat(33 * 1024 * 1024) }) });
    expect(huge.statusCode).toBe(413);
    expect(huge.json()).toMatchObject({ success: false, errorTag: 'PayloadTooLarge' });
    // Other routes keep the 1 MiB limit.
    const lock = await t.call({ method: 'POST', url: '/api/v1/locks', payload: { key: 'k', ttl: 30, lockMessage: 'x'.repeat(2 * 1024 * 1024) } });
    expect(lock.statusCode).toBe(413);
  });

  it('a bad token is a 401 in the envelope (atmos then exchanges its OIDC token again)', async () => {
    const r = await upload({ ...head, stacks: [] }, 'sls_expired-or-unknown');
    expect(r.statusCode).toBe(401);
    expect(goDecode(r.body, ATMOS_API_RESPONSE)).toMatchObject({ success: false, errorTag: 'Unauthorized' });
  });

  it('a repository session uploads and reports only for its own repository', async () => {
    const ex = await t.call({ method: 'POST', url: '/api/v1/auth/github-oidc', token: null, payload: { token: await issuer.sign(actionsClaims('acme/infra')), workspaceId: wsId } });
    const session = ex.json().data.token as string;
    expect((await upload({ ...head, head_sha: 'oidc1', stacks: [affected('vpc', 'dev')] }, session)).statusCode).toBe(200);
    expect((await t.store.atmos.getAffectedStacks(wsId, 'acme/infra', 'oidc1'))!.uploadedBy).toBe('repo:acme/infra');
    const other = await upload({ ...head, repo_owner: 'globex', head_sha: 'oidc2', stacks: [affected('vpc', 'dev')] }, session);
    expect(other.statusCode).toBe(403);
    expect(JSON.parse(other.body)).toMatchObject({ success: false, errorTag: 'Forbidden' });
    const status = await send('PATCH', '/api/v1/repos/globex/infra/instances?component=vpc&stack=dev', '{"command":"plan","exit_code":0}', session);
    expect(status.statusCode).toBe(403);
    const own = await send('PATCH', '/api/v1/repos/acme/infra/instances?component=vpc&stack=dev', '{"command":"plan","exit_code":2}', session);
    expect(JSON.parse(own.body)).toMatchObject({ success: true, data: { outcome: 'drifted' } });
  });

  it.each([
    ['no head_sha', { ...head, head_sha: undefined, stacks: [] }, /head_sha is required/],
    ['stacks not a list', { ...head, stacks: {} }, /stacks must be array/],
    ['a stack without component', { ...head, stacks: [{ stack: 'dev' }] }, /component is required/],
    ['batch_index without batch_id', { ...head, stacks: [], batch_index: 0, batch_total: 2 }, /come together/],
    ['batch_index past the total', { ...head, stacks: [], batch_id: 'x', batch_index: 2, batch_total: 2 }, /not below batch_total/],
    ['a bad repository', { ...head, repo_owner: 'a b', stacks: [] }, /owner\/repo/],
    ['a NUL inside a stack', { ...head, stacks: [affected('v\u0000pc', 'dev')] }, /NUL/],
    ['a NUL in head_sha', { ...head, head_sha: 'abc\u0000', stacks: [] }, /NUL/],
    ['a NUL in batch_id', { ...head, stacks: [], batch_id: 'b\u0000', batch_index: 0, batch_total: 1 }, /NUL/],
    ['settings nested 200 levels deep', { ...head, stacks: [affected('vpc', 'dev', JSON.parse('['.repeat(200) + ']'.repeat(200)))] }, /nested more than 64 levels/],
  ])('refuses %s with a 400', async (_name, body, text) => {
    const r = await upload(body);
    expect(r.statusCode, r.body).toBe(400);
    expect(JSON.parse(r.body).errorMessage).toMatch(text);
  });

  it('records instance status (the pact request, and the newer atmos body), plan 0 in sync, 2 drifted', async () => {
    const pact = await send('PATCH', '/api/v1/repos/acme/infra/instances?component=vpc&stack=dev-us-east-1', '{"command":"plan","exit_code":0}');
    expect(pact.statusCode, pact.body).toBe(200);
    expect(goDecode(pact.body, ATMOS_API_RESPONSE)).toMatchObject({ success: true, data: { stack: 'dev-us-east-1', component: 'vpc', outcome: 'in_sync' } });
    const newer = JSON.stringify({ atmos_pro_run_id: 'run-7', atmos_version: '1.226.1', atmos_os: 'linux', atmos_arch: 'amd64', git_sha: 'abc123def456', repo_url: 'https://github.com/acme/infra', repo_name: 'infra', repo_owner: 'acme', repo_host: 'github.com', component: 'vpc', stack: 'dev-us-east-1', command: 'apply', exit_code: 1, last_run: '2026-06-09T10:00:00Z' });
    const r = await send('PATCH', '/api/v1/repos/acme/infra/instances?stack=dev-us-east-1&component=vpc', newer);
    expect(JSON.parse(r.body)).toMatchObject({ success: true, data: { command: 'apply', exitCode: 1, outcome: 'failed' } });
    const stored = await t.store.atmos.getInstanceStatus(wsId, 'acme/infra', 'dev-us-east-1', 'vpc');
    expect(stored).toMatchObject({ command: 'apply', exitCode: 1, report: { atmos_pro_run_id: 'run-7', git_sha: 'abc123def456' } });
    for (const [query, body] of [
      ['component=vpc', '{"command":"plan","exit_code":0}'],
      ['component=vpc&stack=dev', '{"command":"plan"}'],
      ['component=vpc&stack=dev', '{"command":"plan","exit_code":"0"}'],
      ['component=vpc&stack=dev', '{"command":"plan","exit_code":0,"last_run":"yesterday"}'],
      ['component=vpc&stack=d%00ev', '{"command":"plan","exit_code":0}'],
    ] as const) {
      const bad = await send('PATCH', `/api/v1/repos/acme/infra/instances?${query}`, body);
      expect(bad.statusCode, `${query} ${body}`).toBe(400);
      expect(JSON.parse(bad.body).success).toBe(false);
    }
  });

  it('serves atmos before v1.180.0 under /api/', async () => {
    const r = await send('POST', '/api/affected-stacks', JSON.stringify({ ...head, head_sha: 'legacy1', stacks: [affected('vpc', 'dev')] }));
    expect(JSON.parse(r.body)).toMatchObject({ success: true });
    const s = await send('PATCH', '/api/repos/acme/infra/instances?component=vpc&stack=dev', '{"command":"plan","exit_code":0}');
    expect(JSON.parse(s.body)).toMatchObject({ success: true });
  });
});

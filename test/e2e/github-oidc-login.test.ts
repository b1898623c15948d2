import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/app.js';
import { startOidcJob, type ActionsTokenEndpoint, type OidcJob } from '../support/actions-token-endpoint.js';
import { call } from '../support/http-waiter.js';
import { runCli, type ServerProcess } from '../support/processes.js';

/** The CLI logs in as the repository of a GitHub Actions run, as the Action does. */
describe('GitHub Actions OIDC login from the CLI', () => {
  let fixture: OidcJob;
  let server: ServerProcess;
  let actions: ActionsTokenEndpoint;
  let job: Record<string, string>;
  beforeAll(async () => {
    fixture = await startOidcJob('acme/infra', '77');
    ({ server, actions } = fixture);
    // What a job with `permissions: id-token: write` has, and no stacklock token at all.
    job = {
      ...fixture.env,
      STACKLOCK_URL: server.url,
      STACKLOCK_TOKEN: '',
      STACKLOCK_DATA_DIR: tempDir('stacklock-no-token-'),
      STACKLOCK_GITHUB_OIDC: 'true',
      GITHUB_ACTIONS: 'true',
    };
  });
  afterAll(async () => fixture.close());

  it('runs a command under a lock held by the repository, with a fresh holder id naming the job', async () => {
    const r = await runCli(['run', 'acme/infra/prod/vpc', '--ttl', '30s', '--message', 'apply #42', '--', 'sh', '-c', 'test -n "$STACKLOCK_FENCING_TOKEN"'], job);
    expect(r.code, r.stderr).toBe(0);
    expect(actions.audiences.at(-1)).toBe('atmos-pro.com');
    const events = (await call(server.url, server.adminToken, 'GET', `/api/v1/events?key=${encodeURIComponent('acme/infra/prod/vpc')}`)).body.data as {
      events: Array<{ action: string; actor: string; details: { holderId?: string } }>;
    };
    const created = events.events.find((e) => e.action === 'lock.created')!;
    expect(created.actor).toBe('repo:acme/infra');
    expect(created.details.holderId).toMatch(/^acme\/infra\/actions\/runs\/77\/attempts\/1\/apply\/run-[0-9a-f]{8}$/);
    expect(events.events.map((e) => e.action)).toContain('lock.deleted');
  });

  it('asks GitHub for the configured audience, and says why when the server refuses the token', async () => {
    const r = await runCli(['lock', 'acme/infra/prod/eks', '--ttl', '1m'], { ...job, STACKLOCK_OIDC_AUDIENCE: 'stacklock.example' });
    expect(actions.audiences.at(-1)).toBe('stacklock.example');
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/aud|audience/i);
  });

  it('exits 4 with what to do outside a job that may request OIDC tokens', async () => {
    const r = await runCli(['lock', 'acme/infra/prod/eks', '--ttl', '1m'], { ...job, ACTIONS_ID_TOKEN_REQUEST_URL: '', ACTIONS_ID_TOKEN_REQUEST_TOKEN: '' });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('permissions: id-token: write');
  });
});

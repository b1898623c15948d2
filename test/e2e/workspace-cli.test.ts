import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/app.js';
import { runCli, startServerProcess, type ServerProcess } from '../support/processes.js';

describe('stacklock workspace / repo / token --workspace, as subprocesses', () => {
  let server: ServerProcess;
  let env: Record<string, string>;
  beforeAll(async () => {
    server = await startServerProcess(tempDir());
    env = { STACKLOCK_URL: server.url, STACKLOCK_DATA_DIR: server.dataDir, STACKLOCK_TOKEN: '' };
  });
  afterAll(async () => {
    await server.kill('SIGTERM');
  });

  it('the server admin creates a workspace, an admin token in it, and allows a repository there', async () => {
    const created = await runCli(['workspace', 'create', 'team-b'], env);
    expect(created.code, created.stderr).toBe(0);
    const id = created.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const list = await runCli(['workspace', 'list'], env);
    expect(list.stdout.trim().split('\n').map((l) => l.split(/\s+/).slice(0, 2))).toEqual([['NAME', 'ID'], ['default', expect.any(String)], ['team-b', id]]);

    const token = await runCli(['token', 'create', '--name', 'b-admin', '--scopes', 'admin', '--workspace', 'team-b'], env);
    expect(token.code, token.stderr).toBe(0);
    const bEnv = { ...env, STACKLOCK_TOKEN: token.stdout.trim() };

    const allow = await runCli(['repo', 'allow', 'acme/infra', '--workspace', 'team-b', '--keys', 'acme/infra/**', '--keys', 'shared/*', '--force'], env);
    expect(allow.code, allow.stderr).toBe(0);
    expect(allow.stdout).toBe('Allowed acme/infra: may lock acme/infra/**, shared/*, and may force-release them\n');
    const byB = await runCli(['repo', 'allow', 'acme/app'], bEnv); // its own workspace by default
    expect(byB.stdout).toBe('Allowed acme/app: may lock acme/app/**\n');
    const repos = JSON.parse((await runCli(['repo', 'list', '--json'], bEnv)).stdout);
    expect(repos.map((r: { repository: string }) => r.repository)).toEqual(['acme/app', 'acme/infra']);
    expect((await runCli(['repo', 'list'], env)).stdout).toBe('no repositories allowed\n');

    const denied = await runCli(['workspace', 'create', 'team-c'], bEnv);
    expect(denied.code).toBe(4);
    expect(denied.stderr).toContain("admin in the 'default' workspace");
    const elsewhere = await runCli(['repo', 'allow', 'acme/x', '--workspace', 'default'], bEnv);
    expect(elsewhere.code).toBe(4);

    const lock = await runCli(['lock', 'acme/infra/prod/vpc', '--ttl', '60s', '--message', 'team b'], bEnv);
    expect(lock.code, lock.stderr).toBe(0);
    expect((await runCli(['list'], env)).stdout).toBe('no locks\n');

    const revoke = await runCli(['repo', 'revoke', 'acme/infra', '--workspace', 'team-b'], env);
    expect(revoke.stdout).toBe('Revoked acme/infra\n');
    const again = await runCli(['repo', 'revoke', 'acme/infra', '--workspace', 'team-b'], env);
    expect(again.code).toBe(2);
    expect((await runCli(['repo', 'allow', 'not-a-repo'], env)).code).toBe(2);
  }, 120_000); // about fifteen CLI processes on a shared 2-core machine
});

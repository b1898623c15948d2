import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, runCli, startServerProcess, type ServerProcess } from '../support/processes.js';
import { tempDir } from '../support/app.js';

describe('the stacklock CLI against a real server on loopback', () => {
  let server: ServerProcess;
  let env: Record<string, string>;
  beforeAll(async () => {
    server = await startServerProcess(tempDir());
    // No STACKLOCK_TOKEN: the CLI finds the local server's admin token in the data dir.
    env = { STACKLOCK_URL: server.url, STACKLOCK_DATA_DIR: server.dataDir, STACKLOCK_TOKEN: '' };
  });
  afterAll(async () => {
    await server.kill('SIGTERM');
  });

  it('locks with the seed form (bare TTL in milliseconds), shows status and list, unlocks', async () => {
    const lock = await runCli(['lock', 'acme/infra/prod/vpc', '--ttl', '900000', '--message', 'applying VPC change'], env);
    expect(lock.code, lock.stderr).toBe(0);
    expect(lock.stdout).toMatch(/^Locked 'acme\/infra\/prod\/vpc' until \S+ \(in 15m\), fencing token 1, holder token:admin/);

    const status = await runCli(['status', 'acme/infra/prod/vpc'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('applying VPC change');
    expect(status.stdout).toContain('token:admin');

    await runCli(['lock', 'acme/infra/dev/vpc', '--ttl', '90s'], env);
    const list = await runCli(['list', '--prefix', 'acme/infra/'], env);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^KEY\s+HOLDER\s+TOKEN\s+EXPIRES\s+MESSAGE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['acme/infra/dev/vpc', 'acme/infra/prod/vpc']);
    const json = JSON.parse((await runCli(['list', '--json'], env)).stdout);
    expect(json.map((l: { key: string }) => l.key)).toEqual(['acme/infra/dev/vpc', 'acme/infra/prod/vpc']);

    const unlock = await runCli(['unlock', 'acme/infra/prod/vpc'], env);
    expect(unlock.code).toBe(0);
    expect(unlock.stdout).toContain("Unlocked 'acme/infra/prod/vpc'");
    const free = await runCli(['status', 'acme/infra/prod/vpc'], env);
    expect(free.stdout).toContain('is not locked');
  });

  it('exits 3 when someone else holds the lock, saying who, why and until when', async () => {
    await runCli(['lock', 'shared/stack', '--ttl', '10m', '--message', 'release 42 in progress', '--holder-id', 'alice'], env);
    const r = await runCli(['lock', 'shared/stack', '--ttl', '10m', '--holder-id', 'bob'], env);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('token:admin (alice)');
    expect(r.stderr).toContain('"release 42 in progress"');
    expect(r.stderr).toMatch(/expires at \d{4}-\d\d-\d\dT/);
    // The same holder id renews.
    const renew = await runCli(['lock', 'shared/stack', '--ttl', '20m', '--holder-id', 'alice', '--json'], env);
    expect(renew.code).toBe(0);
    expect(JSON.parse(renew.stdout)).toMatchObject({ key: 'shared/stack', holder: { holderId: 'alice' } });
  });

  it('warns and exits 0 when unlocking a key that is not locked', async () => {
    const r = await runCli(['unlock', 'never/locked'], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("warning: 'never/locked' is not locked");
  });

  it('exits 2 on bad usage or input', async () => {
    expect((await runCli(['lock', 'k', '--ttl', 'soon'], env)).code).toBe(2);
    expect((await runCli(['lock', 'k'], env)).code).toBe(2);
    expect((await runCli(['lock', 'k', '--ttl', '0'], env)).code).toBe(2);
    const tooLong = await runCli(['lock', 'k', '--ttl', '30d'], env);
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toContain('above the maximum of 7d');
    expect((await runCli(['frobnicate'], env)).code).toBe(2);
  });

  it('creates tokens (printing only the token) and exits 4 when not permitted', async () => {
    const created = await runCli(['token', 'create', '--name', 'ci-deployer', '--scopes', 'locks:write'], env);
    expect(created.code).toBe(0);
    expect(created.stdout.trim()).toMatch(/^slk_[A-Za-z0-9_-]{43}$/);
    const token = created.stdout.trim();
    const asCi = { ...env, STACKLOCK_TOKEN: token };
    await runCli(['lock', 'owned/by/admin', '--ttl', '1m'], env);
    const notHolder = await runCli(['unlock', 'owned/by/admin'], asCi);
    expect(notHolder.code).toBe(4);
    expect(notHolder.stderr).toContain('only its holder can release it');
    const noForce = await runCli(['unlock', 'owned/by/admin', '--force'], asCi);
    expect(noForce.code).toBe(4);
    expect(noForce.stderr).toContain('locks:force');
    const forced = await runCli(['unlock', 'owned/by/admin', '--force', '--reason', 'runner died'], env);
    expect(forced.code).toBe(0);
    expect((await runCli(['token', 'create', '--name', 'x'], asCi)).code).toBe(4);
    expect((await runCli(['list'], { ...env, STACKLOCK_TOKEN: 'slk_wrong' })).code).toBe(4);
    expect((await runCli(['token', 'create', '--name', 'y', '--scopes', 'locks:everything'], env)).code).toBe(2);

    // Listed (never the secret), revoked with a reason, then refused.
    const listed = await runCli(['token', 'list'], env);
    expect(listed.stdout).toMatch(/^NAME\s+SCOPES\s+CREATED BY\s+CREATED\s+STATE\n/);
    expect(listed.stdout).toMatch(/ci-deployer\s+locks:write\s+token:admin\s+\S+\s+live/);
    expect(listed.stdout).not.toContain(token);
    const revoked = await runCli(['token', 'revoke', 'ci-deployer', '--reason', 'rotated'], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stderr).toContain("token 'ci-deployer' revoked at");
    expect((await runCli(['list'], asCi)).code).toBe(4);
    const json = JSON.parse((await runCli(['token', 'list', '--json'], env)).stdout) as Array<{ name: string; revokedAt: string | null }>;
    expect(json.find((x) => x.name === 'ci-deployer')?.revokedAt).toMatch(/^\d{4}-/);
    expect((await runCli(['token', 'revoke', 'no-such-token'], env)).code).toBe(2);
    const lastAdmin = await runCli(['token', 'revoke', 'admin'], env);
    expect(lastAdmin.code).toBe(2);
    expect(lastAdmin.stderr).toContain('last admin token');
  });

  it('exits 5 when the server is unreachable', async () => {
    const r = await runCli(['list'], { ...env, STACKLOCK_URL: 'http://127.0.0.1:9' });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('cannot reach stacklock');
  });

  it('documents the exit codes in --help', async () => {
    const r = await runCli(['--help'], env);
    expect(r.code).toBe(0);
    for (const code of ['0  done', '2  bad usage', '3  the lock is held', '4  not permitted', '5  server unreachable']) expect(r.stdout).toContain(code);
  });

  it('says in help that --ttl is required and --grace defaults to 10s', async () => {
    for (const command of ['lock', 'run']) {
      const help = (await runCli([command, '--help'], env)).stdout;
      expect(help, command).toMatch(/--ttl <ttl>\s+\(required\)/);
    }
    const run = (await runCli(['run', '--help'], env)).stdout.replace(/\s+/g, ' ');
    expect(run).toContain('SIGTERM and SIGKILL (default: 10s)');
    expect(run).not.toContain('10000');
  });

  it('lists a 512-character key and a CI holder id in a readable table, the job name kept', async () => {
    const long = `acme/infra/${'very-long-stack-name/'.repeat(23)}component`;
    expect(long.length).toBeGreaterThan(480);
    const holderId = 'acme/infrastructure-live/actions/runs/12345678901/attempts/2/terraform-apply-production';
    expect((await runCli(['lock', long, '--ttl', '1m', '--holder-id', holderId], env)).code).toBe(0);
    const list = await runCli(['list', '--prefix', 'acme/infra/very-long'], env);
    const [header, row] = list.stdout.trimEnd().split('\n') as [string, string];
    expect(header.indexOf('HOLDER')).toBeLessThanOrEqual(62);
    // The key's start and its last segment (the component), cut in the middle to the 60-character column.
    expect(row.startsWith(`${long.slice(0, 59 - 'component'.length - 1)}…/component `)).toBe(true);
    expect(row).toMatch(/token:admin \(acme\/infras.*….*\/terraform-apply-production\)/);
    expect((await runCli(['unlock', long, '--holder-id', holderId], env)).code).toBe(0);
  });
  it('runs the README\'s CLI tour as printed, every lock it lists made by one of its commands', async () => {
    const fresh = await startServerProcess(tempDir());
    try {
      const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
      const tour = /## A tour of the CLI\n\n```console\n([\s\S]*?)```/.exec(readme)![1]!;
      // Times, durations left and holder ids differ from run to run; the rest must match.
      const shape = (text: string) =>
        text
          .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'TIME')
          .replace(/\(in [\dhms]+\)|in [\dhms]+/g, 'in D')
          .replace(/\([^()\s]+:\d+:[0-9a-f]+\)/g, '(HOLDER)')
          .replace(/[ \t]+/g, ' ')
          .trim();
      const steps = tour.split(/^\$ /m).filter(Boolean).map((step) => {
        const [command, ...output] = step.split('\n');
        return { command: command!, output: output.join('\n') };
      });
      expect(steps.length).toBeGreaterThanOrEqual(5);
      for (const { command, output } of steps) {
        // As a terminal shows it: stdout and stderr in the order written.
        const r = spawnSync('bash', ['-c', 'exec 2>&1; ' + command.replaceAll('npx stacklock', `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)}`)], {
          env: { ...process.env, STACKLOCK_URL: fresh.url, STACKLOCK_TOKEN: fresh.adminToken, GITHUB_ACTIONS: '' },
          encoding: 'utf8',
        });
        expect(shape(r.stdout), command).toBe(shape(output));
      }
    } finally {
      await fresh.kill();
    }
  });
});

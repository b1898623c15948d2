import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startOidcJob, type OidcJob } from '../support/actions-token-endpoint.js';
import { tempDir } from '../support/app.js';
import { call, until } from '../support/http-waiter.js';
import { BIN, ROOT, type ServerProcess } from '../support/processes.js';

interface Step {
  id?: string;
  name: string;
  shell: string;
  run: string;
  env?: Record<string, string>;
  'working-directory'?: string;
}
interface ActionYml {
  runs: { using: string; steps: Step[] };
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
}

const action = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as ActionYml;

/** The run's GitHub context, as a runner would fill it in. */
const GITHUB = {
  workflow: 'deploy',
  run_number: '42',
  run_id: '9876543210',
  actor: 'octocat',
  server_url: 'https://github.com',
  repository: 'acme/infra',
  action_path: ROOT,
};

/** `${{ … }}` in action.yml, for the contexts it uses (inputs, github, steps.cli.outputs). */
function evaluate(template: string, inputs: Record<string, string>, outputs: Record<string, string>): string {
  return template.replace(/\$\{\{\s*([\w.-]+)\s*\}\}/g, (_, path: string) => {
    const [scope, ...rest] = path.split('.');
    const name = rest.join('.');
    if (scope === 'inputs') return inputs[name] ?? '';
    if (scope === 'github') return (GITHUB as Record<string, string>)[name] ?? '';
    if (scope === 'steps' && name === 'cli.outputs.bin') return outputs.bin ?? '';
    throw new Error(`action.yml uses an expression this test does not know: ${path}`);
  });
}

/**
 * Runs the action's "run under the lock" step the way the runner does: inputs with their
 * defaults, the step's env evaluated, its `run` by bash in its working directory. The set-up step
 * (npm ci of the action's own checkout) is replaced by this checkout's build.
 */
function runActionStep(given: Record<string, string>, jobEnv: Record<string, string>, watch?: { stderr: string }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const inputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.inputs)) inputs[name] = given[name] ?? evaluate(spec.default ?? '', {}, {});
  const step = action.runs.steps[1]!;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(step.env ?? {})) env[k] = evaluate(String(v), inputs, { bin: BIN });
  return new Promise((resolve) => {
    const child = spawn('bash', ['-e', '-c', step.run], {
      cwd: evaluate(step['working-directory'] ?? '.', inputs, {}),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, GITHUB_ACTIONS: 'true', GITHUB_ACTION_PATH: ROOT, ...jobEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (watch) watch.stderr = stderr;
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the GitHub Action (action.yml)', () => {
  let fixture: OidcJob;
  let server: ServerProcess;
  let job: Record<string, string>;
  beforeAll(async () => {
    fixture = await startOidcJob('acme/infra', GITHUB.run_id);
    ({ server, env: job } = fixture);
  });
  afterAll(async () => fixture.close());

  it('is a composite action with the documented inputs, each one passed to its script', () => {
    expect(action.runs.using).toBe('composite');
    for (const name of ['key', 'ttl', 'message', 'wait', 'command', 'url', 'token', 'workspace', 'oidc-audience']) {
      expect(action.inputs[name], name).toBeDefined();
    }
    expect(Object.entries(action.inputs).filter(([, s]) => s.required).map(([n]) => n).sort()).toEqual(['command', 'key', 'url']);
    const script = readFileSync(join(ROOT, 'action/run.sh'), 'utf8');
    const passed = Object.keys(action.runs.steps[1]!.env ?? {});
    for (const used of new Set(script.match(/\bINPUT_[A-Z_]+/g))) expect(passed, `${used} is not set by action.yml`).toContain(used);
    // No input is pasted into a script: every `run:` only names a script file.
    for (const step of action.runs.steps) expect(step.run).not.toContain('${{');
  });

  it('runs the CLI from its own checkout, never a package fetched by name from a registry', async () => {
    // Whoever claims a name on the registry would run code in every workflow installing it.
    expect(action.inputs.version).toBeUndefined();
    const setup = action.runs.steps[0]!;
    // The set-up step with a stand-in npm that notes how it was called.
    const fakeBin = tempDir('stacklock-fake-npm-');
    const calls = join(fakeBin, 'calls');
    writeFileSync(join(fakeBin, 'npm'), `#!/bin/sh\necho "$(pwd) $*" >> ${calls}\n`, { mode: 0o755 });
    const output = join(fakeBin, 'github-output');
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(setup.env ?? {})) env[k] = evaluate(String(v), {}, {});
    const r = spawnSync('bash', ['-e', '-c', setup.run], {
      env: { PATH: `${fakeBin}:${process.env.PATH}`, HOME: process.env.HOME, GITHUB_OUTPUT: output, ...env },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(calls, 'utf8')).toBe(`${ROOT} ci --no-audit --no-fund\n`);
    expect(readFileSync(output, 'utf8')).toBe(`bin=${join(ROOT, 'bin/stacklock.js')}\n`);
    // Nor do the docs tell anyone to install it by name.
    for (const doc of ['README.md', 'docs/github-actions.md', 'docs/atmos.md', 'docs/dispatch.md']) {
      expect(readFileSync(join(ROOT, doc), 'utf8'), doc).not.toMatch(/npm (install|i)\b[^\n]*\bstacklock@/);
    }
  });

  it('logs in with the job’s OIDC token, runs the command under the repository’s lock, and releases it', async () => {
    const r = await runActionStep({ key: 'acme/infra/prod/vpc', url: server.url, command: 'echo "applying with fencing token $STACKLOCK_FENCING_TOKEN"' }, job);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^applying with fencing token \d+\n$/);
    const events = (await call(server.url, server.adminToken, 'GET', `/api/v1/events?key=${encodeURIComponent('acme/infra/prod/vpc')}`)).body.data as {
      events: Array<{ action: string; actor: string; details: { message?: string } }>;
    };
    const created = events.events.find((e) => e.action === 'lock.created')!;
    expect(created.actor).toBe('repo:acme/infra');
    expect(created.details.message).toBe('deploy run 42 by octocat (https://github.com/acme/infra/actions/runs/9876543210)');
    expect(events.events[0]!.action).toBe('lock.deleted');
  });

  it('fails the step with the command’s exit code, and with a token input needs no OIDC', async () => {
    const token = (await call(server.url, server.adminToken, 'POST', '/api/v1/tokens', { name: 'ci', scopes: ['locks:write'] })).body.data!.token as string;
    const r = await runActionStep({ key: 'acme/infra/prod/eks', url: server.url, token, command: 'echo partial; exit 5' }, {});
    expect(r.code, r.stderr).toBe(5);
    // The runner consumes workflow commands: the token input is masked in the log from here on.
    expect(r.stdout).toBe(`::add-mask::${token}\npartial\n`);
    // bash -e -o pipefail, as a workflow's own run steps: a failing pipeline stage fails the step.
    const piped = await runActionStep({ key: 'acme/infra/prod/eks', url: server.url, token, command: 'false | true; echo not reached' }, {});
    expect(piped.code).toBe(1);
    expect(piped.stdout).toBe(`::add-mask::${token}\n`);
  });

  it('waits in line when asked, and runs once the holder releases', async () => {
    const key = 'acme/infra/prod/dns';
    await call(server.url, server.adminToken, 'POST', '/api/v1/locks', { key, ttlMs: 60_000, holderId: 'other-run', message: 'someone else applies' });
    const watch = { stderr: '' };
    const step = runActionStep({ key, url: server.url, wait: '1m', ttl: '30s', command: 'echo ran' }, job, watch);
    await until(async () => /you are 1st in line/.test(watch.stderr), 30_000, 'the action in line');
    await call(server.url, server.adminToken, 'DELETE', `/api/v1/locks/${encodeURIComponent(key)}?holderId=other-run`);
    const r = await step;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('ran\n');
    expect(r.stderr).toMatch(/waiting for 'acme\/infra\/prod\/dns': held by token:admin \(other-run\): "someone else applies"/);
  });

  it('keeps the lease after a wait several times its TTL and runs the command to the end', async () => {
    const key = 'acme/infra/prod/long-wait';
    // Expires on its own after 10 s: over three times the step's 3 s TTL.
    await call(server.url, server.adminToken, 'POST', '/api/v1/locks', { key, ttlMs: 10_000, holderId: 'other-run', message: 'a slow apply' });
    const r = await runActionStep({ key, url: server.url, wait: '1m', ttl: '3s', command: 'sleep 4; echo finished' }, job);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('finished\n');
    expect(r.stderr).not.toContain('LOST');
  });

  it('says what to add when the job may not request an OIDC token and no token is given', async () => {
    const r = await runActionStep({ key: 'acme/infra/prod/vpc', url: server.url, command: 'true' }, {});
    expect(r.code).toBe(4);
    expect(r.stdout).toContain("::error title=stacklock::No token input, and this job cannot request an OIDC token: add 'permissions: id-token: write'");
  });
});

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/app.js';
import { runCli, startServerProcess, type ServerProcess } from '../support/processes.js';

/** The CLI away from the server's clone: `stacklock login`, and what it says when it has no token. */
describe('stacklock login', () => {
  let server: ServerProcess;
  let elsewhere: string;
  // A user with nothing set: another directory, their own (empty) config directory.
  const user = (config: string) => ({ XDG_CONFIG_HOME: config, STACKLOCK_URL: '', STACKLOCK_TOKEN: '', STACKLOCK_DATA_DIR: '' });
  beforeAll(async () => {
    server = await startServerProcess(tempDir());
    elsewhere = tempDir('stacklock-elsewhere-');
  });
  afterAll(async () => {
    await server.kill();
  });

  it('without a token, names every way to give one, the data dir included', async () => {
    const r = await runCli(['list', '--url', server.url], user(tempDir('stacklock-config-')), { cwd: elsewhere });
    expect(r.code).toBe(4);
    for (const way of ['--token', 'STACKLOCK_TOKEN', 'stacklock login', '--data-dir', 'STACKLOCK_DATA_DIR', 'admin-token']) expect(r.stderr).toContain(way);
  });

  it('saves the URL and the data dir\'s admin token (0600, XDG), used from any directory afterwards', async () => {
    const config = tempDir('stacklock-config-');
    const login = await runCli(['login', '--url', server.url, '--data-dir', server.dataDir], user(config), { cwd: elsewhere });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toBe(`Logged in to ${server.url} as token:admin; saved in ${join(config, 'stacklock/config.json')}\n`);
    const file = join(config, 'stacklock/config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(config, 'stacklock')).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ url: server.url, tokens: { [server.url]: server.adminToken } });

    // No --url, no token, another directory: the saved server and token.
    const lock = await runCli(['lock', 'elsewhere/key', '--ttl', '1m'], user(config), { cwd: elsewhere });
    expect(lock.code, lock.stderr).toBe(0);
    expect((await runCli(['list'], user(config), { cwd: elsewhere })).stdout).toContain('elsewhere/key');

    expect((await runCli(['logout'], user(config), { cwd: elsewhere })).stdout).toBe(`Logged out of ${server.url}\n`);
    expect((await runCli(['list'], user(config), { cwd: elsewhere })).code).toBe(4);
  });

  it('takes the token on standard input, and saves nothing the server refuses', async () => {
    const config = tempDir('stacklock-config-');
    const token = (await runCli(['token', 'create', '--name', 'laptop', '--scopes', 'locks:write'], { STACKLOCK_URL: server.url, STACKLOCK_TOKEN: server.adminToken })).stdout.trim();
    const ok = await runCli(['login', '--url', server.url], user(config), { cwd: elsewhere, stdin: `${token}\n` });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('as token:laptop');
    const other = tempDir('stacklock-config-');
    const refused = await runCli(['login', '--url', server.url, '--token', 'sl_wrong'], user(other), { cwd: elsewhere });
    expect(refused.code).toBe(4);
    expect(() => statSync(join(other, 'stacklock/config.json'))).toThrow();
  });
});

import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../support/app.js';
import { startCli } from '../support/cli-process.js';
import { freePort } from '../support/embedded-postgres.js';
import { call, until } from '../support/http-waiter.js';
import { BIN, runCli, startServerProcess, type ServerProcess } from '../support/processes.js';

/** Starting and stopping the server as an operator does: what it says, how fast, and what waiters see. */
describe('the server starting and stopping', () => {
  const servers: ServerProcess[] = [];
  const start = async (dataDir: string, port?: number) => {
    const s = await startServerProcess(dataDir, [], {}, port ? { port } : {});
    servers.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.kill('SIGKILL');
  });

  it('refuses a port in use in one line naming it, with exit 2', async () => {
    const port = await freePort();
    await start(tempDir(), port);
    const r = await runCli(['server', '--data-dir', tempDir(), '--port', String(port)], { STACKLOCK_LOG_LEVEL: 'warn' });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `stacklock: port ${port} on 127.0.0.1 is already in use (another stacklock server, or another program): stop it, or start with --port <port> (env PORT)\n`,
    );
  });

  it('refuses a second server on the same SQLite data dir, and takes it once the first is gone, even killed', async () => {
    const first = await start(tempDir());
    const r = await runCli(['server', '--data-dir', first.dataDir, '--port', '0'], { STACKLOCK_LOG_LEVEL: 'warn' });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `stacklock: another stacklock server (pid ${first.child.pid}) is running on the data dir ${first.dataDir}: stop it first, or give this one another --data-dir ` +
        '(two servers on one SQLite file would race; for several servers use PostgreSQL, --database-url)\n',
    );
    // The first one is untouched.
    expect((await call(first.url, first.adminToken, 'GET', '/api/v1/whoami')).status).toBe(200);
    await first.kill('SIGKILL');
    const next = await start(first.dataDir);
    expect((await call(next.url, next.adminToken, 'GET', '/api/v1/whoami')).status).toBe(200);
  });

  it('on Ctrl-C lets waiters go at once with a retryable 503; the CLI explains, waits for the restart and gets the lock', async () => {
    const port = await freePort();
    const server = await start(tempDir(), port);
    const key = 'acme/infra/prod/vpc';
    await call(server.url, server.adminToken, 'POST', '/api/v1/locks', { key, ttlMs: 120_000, holderId: 'alice', message: 'applying' });
    const env = { STACKLOCK_URL: server.url, STACKLOCK_TOKEN: server.adminToken };
    const waiter = startCli(['lock', key, '--ttl', '1m', '--wait', '2m', '--holder-id', 'bob'], env);
    await waiter.stderrMatches(/you are 1st in line/);

    const stoppedAt = Date.now();
    expect(await server.kill('SIGINT')).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    await waiter.stderrMatches(/the server is shutting down and let everyone in line go; joining the line again in 1s/);
    expect(waiter.stderr()).not.toContain('UND_ERR');

    // Back on the same port and data: alice's lock survived; when she releases, bob gets it.
    const again = await start(server.dataDir, port);
    await until(async () => {
      const r = await call(again.url, again.adminToken, 'GET', `/api/v1/locks/${encodeURIComponent(key)}`);
      return ((r.body.data as { queue?: unknown[] } | undefined)?.queue ?? []).length === 1;
    }, 30_000, 'bob back in line');
    await call(again.url, again.adminToken, 'DELETE', `/api/v1/locks/${encodeURIComponent(key)}?holderId=alice`);
    expect(await waiter.exited, waiter.stderr()).toBe(0);
    expect(waiter.stdout()).toMatch(/^Locked 'acme\/infra\/prod\/vpc'.*holder token:admin \(bob\)/);
  });
  it('logs one line per request at info: JSON when not on a terminal, pino-pretty on one', async () => {
    const server = await start(tempDir());
    expect((await call(server.url, server.adminToken, 'GET', '/api/v1/whoami?probe=1')).status).toBe(200);
    await until(async () => server.log().includes('/api/v1/whoami'), 5_000, 'the request logged');
    const lines = server.log().split('\n').filter((l) => l.includes('/api/v1/whoami'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, msg: 'GET /api/v1/whoami 200', method: 'GET', path: '/api/v1/whoami', status: 200, principal: 'token:admin' });
    expect(server.log()).not.toContain(server.adminToken);

    // On a terminal (script(1) gives it one): readable lines, not JSON.
    const port = await freePort();
    const dir = tempDir();
    const tty = spawn('script', ['-qec', `${process.execPath} ${BIN} server --data-dir ${dir} --port ${port}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    tty.stdout.on('data', (d) => (out += d));
    try {
      await until(async () => out.includes('stacklock listening on'), 20_000, 'the server on a terminal');
      await fetch(`http://127.0.0.1:${port}/healthz`);
      await until(async () => out.includes('GET /healthz 200'), 5_000, 'the request logged');
      expect(out).toMatch(/INFO.*GET \/healthz 200/);
      expect(out).not.toContain('"level"');
    } finally {
      tty.kill('SIGTERM');
      await new Promise((resolve) => tty.once('exit', resolve));
    }
  });
});

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/app.js';
import { alive, startCli } from '../support/cli-process.js';
import { call, until } from '../support/http-waiter.js';
import { runCli, startServerProcess, type ServerProcess } from '../support/processes.js';

/** `stacklock run` as CI uses it: real server, real CLI processes, real commands. */
describe('stacklock run', () => {
  let server: ServerProcess;
  let env: Record<string, string>;
  let dir: string;
  beforeAll(async () => {
    server = await startServerProcess(tempDir());
    env = { STACKLOCK_URL: server.url, STACKLOCK_TOKEN: server.adminToken };
    dir = tempDir('stacklock-run-');
  });
  afterAll(async () => {
    await server.kill();
  });

  const api = (method: string, path: string, body?: unknown) => call(server.url, server.adminToken, method, path, body);
  const status = (key: string) => api('GET', `/api/v1/locks/${encodeURIComponent(key)}`);
  const queueMessages = async (key: string): Promise<string[]> => {
    const r = await status(key);
    const q = (r.body.data?.queue ?? (r.body as { context?: { queue?: unknown[] } }).context?.queue ?? []) as Array<{ message: string }>;
    return q.map((w) => w.message);
  };
  /** A Node script to run as the command (no shell quoting to get wrong). */
  const script = (name: string, body: string) => {
    const path = join(dir, `${name}.cjs`);
    writeFileSync(path, body);
    return path;
  };

  it('serves five runners that wait on one key one at a time, in the order they arrived, passing each its fencing token', async () => {
    const key = 'acme/infra/prod/five';
    const log = join(dir, 'five.log');
    writeFileSync(log, '');
    const work = script(
      'append',
      `const fs = require('fs');
       const line = (what) => fs.appendFileSync(${JSON.stringify(log)}, what + ' ' + process.env.RUNNER + ' ' + Date.now() + ' ' + process.env.STACKLOCK_FENCING_TOKEN + '\\n');
       line('start');
       setTimeout(() => line('end'), 300);`,
    );
    // Held while the five arrive, so that each arrival is seen joining the line before the next starts.
    expect((await api('POST', '/api/v1/locks', { key, ttlMs: 120_000, holderId: 'blocker' })).status).toBe(201);
    const runners = [];
    for (let i = 0; i < 5; i++) {
      runners.push(startCli(['run', key, '--ttl', '10s', '--wait', '2m', '--message', `runner-${i}`, '--', process.execPath, work], { ...env, RUNNER: String(i) }));
      await until(async () => (await queueMessages(key)).length === i + 1, 60_000, `runner ${i} in line`);
    }
    expect(await queueMessages(key)).toEqual(['runner-0', 'runner-1', 'runner-2', 'runner-3', 'runner-4']);
    await runners[4]!.stderrMatches(/you are 5th in line \(4 ahead\)/);
    await api('DELETE', `/api/v1/locks/${encodeURIComponent(key)}?holderId=blocker`);
    const codes = await Promise.all(runners.map((r) => r.exited));
    expect(codes, runners.map((r) => r.stderr()).join('\n---\n')).toEqual([0, 0, 0, 0, 0]);

    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' '));
    expect(lines.map(([what, who]) => `${what} ${who}`)).toEqual(
      ['0', '1', '2', '3', '4'].flatMap((i) => [`start ${i}`, `end ${i}`]),
    );
    // No overlap: each start comes after the previous end, and each run had a larger fencing token.
    for (let i = 2; i < lines.length; i += 2) expect(Number(lines[i]![2])).toBeGreaterThanOrEqual(Number(lines[i - 1]![2]));
    const tokens = lines.filter(([what]) => what === 'start').map((l) => Number(l[3]));
    expect(tokens).toEqual([...tokens].sort((a, b) => a - b));
    expect(new Set(tokens).size).toBe(5);
    expect((await status(key)).status).toBe(404);
  });

  it('counts the lease from the grant, not from the request: a wait 3–5× the TTL keeps the command running', async () => {
    const key = 'repro/key';
    // The holder's lock expires on its own after 10 s, over three times the runner's 3 s TTL.
    expect((await api('POST', '/api/v1/locks', { key, ttlMs: 10_000, holderId: 'holder', message: 'holder' })).status).toBe(201);
    const r = await runCli(['run', key, '--ttl', '3s', '--wait', '1m', '--', 'sh', '-c', 'sleep 5; echo finished'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('finished\n');
    expect(r.stderr).not.toContain('LOST');
    expect((await status(key)).status).toBe(404);
  });

  it('passes through the command’s exit code, 128+n for a signal, 127 for a command not found, and releases the lock each time', async () => {
    const key = 'acme/infra/prod/codes';
    for (const [command, expected] of [
      [['sh', '-c', 'exit 0'], 0],
      [['sh', '-c', 'exit 1'], 1],
      [['sh', '-c', 'exit 42'], 42],
      [['sh', '-c', 'kill -TERM $$'], 143],
      [['/nonexistent/terraform', 'apply'], 127],
    ] as const) {
      const r = await runCli(['run', key, '--ttl', '30s', '--', ...command], env);
      expect(r.code, `${command.join(' ')}: ${r.stderr}`).toBe(expected);
      expect((await status(key)).status, command.join(' ')).toBe(404);
    }
  });

  it('frees the key within its TTL when the runner is killed with SIGKILL', async () => {
    const key = 'acme/infra/prod/killed';
    const pidFile = join(dir, 'killed.pid');
    const sleeper = script('sleeper', `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setTimeout(() => {}, 120000);`);
    const runner = startCli(['run', key, '--ttl', '4s', '--', process.execPath, sleeper], env);
    await runner.stderrMatches(/locked 'acme\/infra\/prod\/killed'/);
    await until(async () => { try { return readFileSync(pidFile, 'utf8').length > 0; } catch { return false; } }, 20_000, 'command started');
    const held = (await status(key)).body.data as { expiresAt: string };
    runner.child.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await runner.exited).toBe(137);
    let freedAt = 0;
    await until(async () => {
      const r = await api('POST', '/api/v1/locks', { key, ttlMs: 10_000, holderId: 'next' });
      freedAt = Date.now();
      return r.status === 201;
    }, 30_000, 'key freed');
    // Renewed every ~1.3 s until the kill: free no later than one TTL (4 s) after it, with slack for the reaper and a loaded machine.
    expect(freedAt - killedAt).toBeLessThan(4_000 + 5_000);
    expect(new Date(held.expiresAt).getTime() - killedAt).toBeLessThanOrEqual(4_000);
    // The orphaned command keeps running (nothing can stop it once its runner is gone): the test does.
    const pid = Number(readFileSync(pidFile, 'utf8'));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  });

  it('stops a command that outlives a lost lease: SIGTERM, then SIGKILL after the grace period, and exits 3', async () => {
    const key = 'acme/infra/prod/lost';
    const pidFile = join(dir, 'stubborn.pid');
    const marks = join(dir, 'stubborn.log');
    // Ignores SIGTERM (noting it), so only the SIGKILL after the grace period ends it.
    const stubborn = script(
      'stubborn',
      `const fs = require('fs');
       fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
       process.on('SIGTERM', () => fs.appendFileSync(${JSON.stringify(marks)}, 'SIGTERM\\n'));
       setInterval(() => {}, 1000);`,
    );
    const runner = startCli(['run', key, '--ttl', '3s', '--grace', '2s', '--', process.execPath, stubborn], env);
    await runner.stderrMatches(/locked 'acme\/infra\/prod\/lost'/);
    await until(async () => { try { return readFileSync(pidFile, 'utf8').length > 0; } catch { return false; } }, 20_000, 'command started');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    // Someone with the right forces the lock away: the next renewal is refused.
    expect((await api('DELETE', `/api/v1/locks/${encodeURIComponent(key)}?force=true&reason=test`)).status).toBe(200);
    const code = await runner.exited;
    expect(code, runner.stderr()).toBe(3);
    expect(runner.stderr()).toMatch(/LOST the lock on 'acme\/infra\/prod\/lost': the lease on 'acme\/infra\/prod\/lost' with fencing token \d+ was lost/);
    expect(runner.stderr()).toContain('SIGKILL in 2s');
    expect(readFileSync(marks, 'utf8')).toBe('SIGTERM\n');
    expect(alive(pid)).toBe(false);
  });

  it('stops the command and exits 3 when no renewal gets through before the lease runs out (server gone)', async () => {
    const other = await startServerProcess(tempDir());
    const key = 'acme/infra/prod/unreachable';
    const graceful = script('graceful', `process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000);`);
    const runner = startCli(['run', key, '--ttl', '3s', '--', process.execPath, graceful], { STACKLOCK_URL: other.url, STACKLOCK_TOKEN: other.adminToken });
    await runner.stderrMatches(/locked 'acme\/infra\/prod\/unreachable'/);
    await other.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await runner.exited).toBe(3);
    expect(Date.now() - killedAt).toBeLessThan(3_000 + 5_000);
    expect(runner.stderr()).toContain('no renewal succeeded before the lease ran out');
  });

  it('forwards SIGTERM to the command, releases the lock, and exits with the command’s code', async () => {
    const key = 'acme/infra/prod/forward';
    const marks = join(dir, 'forward.log');
    const polite = script(
      'polite',
      `const fs = require('fs');
       process.on('SIGTERM', () => { fs.appendFileSync(${JSON.stringify(marks)}, 'cleaned up\\n'); process.exit(9); });
       fs.appendFileSync(${JSON.stringify(marks)}, 'started\\n');
       setInterval(() => {}, 1000);`,
    );
    const runner = startCli(['run', key, '--ttl', '30s', '--', process.execPath, polite], env);
    await until(async () => { try { return readFileSync(marks, 'utf8').includes('started'); } catch { return false; } }, 20_000, 'command started');
    runner.child.kill('SIGTERM');
    expect(await runner.exited).toBe(9);
    expect(readFileSync(marks, 'utf8')).toBe('started\ncleaned up\n');
    expect((await status(key)).status).toBe(404);
  });

  it('leaves the line when interrupted while waiting, without running the command', async () => {
    const key = 'acme/infra/prod/interrupted';
    await api('POST', '/api/v1/locks', { key, ttlMs: 60_000, holderId: 'blocker' });
    const marker = join(dir, 'never.log');
    const runner = startCli(['run', key, '--ttl', '30s', '--wait', '5m', '--message', 'impatient', '--', 'sh', '-c', `echo ran > ${marker}`], env);
    await until(async () => (await queueMessages(key)).includes('impatient'), 30_000, 'in line');
    runner.child.kill('SIGINT');
    expect(await runner.exited).toBe(130);
    expect(runner.stderr()).toContain("interrupted (SIGINT) while waiting for 'acme/infra/prod/interrupted'");
    await until(async () => (await queueMessages(key)).length === 0, 5_000, 'left the line');
    expect(() => readFileSync(marker)).toThrow();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/app.js';
import { startCli } from '../support/cli-process.js';
import { call, until } from '../support/http-waiter.js';
import { runCli, startServerProcess, type ServerProcess } from '../support/processes.js';

/** `stacklock lock --wait`, `status` and `list` as a blocked person sees them. */
describe('waiting in line from the CLI', () => {
  let server: ServerProcess;
  let env: Record<string, string>;
  beforeAll(async () => {
    // Long enough for several CLI calls on a loaded machine to see the key still in its lock-delay.
    server = await startServerProcess(tempDir(), ['--lock-delay', '15s']);
    env = { STACKLOCK_URL: server.url, STACKLOCK_TOKEN: server.adminToken };
  });
  afterAll(async () => {
    await server.kill();
  });
  const api = (method: string, path: string, body?: unknown) => call(server.url, server.adminToken, method, path, body);

  it('prints who it waits for and its place in line, then locks when the holder releases', async () => {
    const key = 'acme/infra/prod/vpc';
    await api('POST', '/api/v1/locks', { key, ttlMs: 600_000, message: 'release 42 in progress', holderId: 'alice' });
    const first = startCli(['lock', key, '--ttl', '10m', '--wait', '10m', '--holder-id', 'bob', '--message', 'bob next'], env);
    await first.stderrMatches(/waiting for 'acme\/infra\/prod\/vpc': held by token:admin \(alice\): "release 42 in progress", expires \S+ \(in \d+m\d*s?\); you are 1st in line/);
    const second = startCli(['lock', key, '--ttl', '10m', '--wait', '10m', '--holder-id', 'carol'], env);
    await second.stderrMatches(/you are 2nd in line \(1 ahead\)/);

    const shown = await runCli(['status', key], env);
    expect(shown.stdout).toMatch(/'acme\/infra\/prod\/vpc' is locked\n {2}holder: {4}token:admin \(alice\)/);
    expect(shown.stdout).toMatch(/waiting in line \(2\), first come, first served:\n {4}1\. token:admin \(bob\): "bob next", waiting since \S+\n {4}2\. token:admin \(carol\), waiting since \S+\n$/);

    await api('DELETE', `/api/v1/locks/${encodeURIComponent(key)}?holderId=alice`);
    expect(await first.exited, first.stderr()).toBe(0);
    expect(first.stdout()).toMatch(/^Locked 'acme\/infra\/prod\/vpc' until \S+ \(in 10m\), fencing token \d+, holder token:admin \(bob\)/);
    await second.stderrMatches(/held by token:admin \(bob\): "bob next".*you are 1st in line/s);
    await api('DELETE', `/api/v1/locks/${encodeURIComponent(key)}?holderId=bob`);
    expect(await second.exited).toBe(0);
  });

  it('after a wait several times the TTL, reports the lease the server granted, counted from the grant', async () => {
    const key = 'acme/infra/prod/long-wait';
    await api('POST', '/api/v1/locks', { key, ttlMs: 600_000, message: 'slow apply', holderId: 'alice' });
    const waiting = startCli(['lock', key, '--ttl', '2s', '--wait', '1m', '--holder-id', 'bob', '--json'], env);
    await waiting.stderrMatches(/you are 1st in line/);
    // Alice releases 8 s later: a wait four times bob's 2 s TTL (a release has no lock-delay).
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    await api('DELETE', `/api/v1/locks/${encodeURIComponent(key)}?holderId=alice`);
    expect(await waiting.exited, waiting.stderr()).toBe(0);
    const lock = JSON.parse(waiting.stdout()) as { holder: { holderId: string }; expiresAt: string; leaseRemainingMs: number; heldMs: number };
    expect(lock.holder.holderId).toBe('bob');
    // The server reports how long it held the request and what was left of the lease when it answered.
    expect(lock.heldMs).toBeGreaterThan(6_000);
    expect(lock.leaseRemainingMs).toBeGreaterThan(0);
    expect(lock.leaseRemainingMs).toBeLessThanOrEqual(2_000);
    // The text form counts the same way (renewed, or granted again if a loaded machine let it lapse).
    const text = await runCli(['lock', key, '--ttl', '2s', '--holder-id', 'bob'], env);
    expect(text.stdout).toMatch(/^(Renewed|Locked) '.*' until \S+ \(in [12]s\)/);
  });

  it('gives up after --wait with exit 3, saying who holds it', async () => {
    const key = 'acme/infra/prod/eks';
    await api('POST', '/api/v1/locks', { key, ttlMs: 600_000, message: 'upgrading', holderId: 'alice' });
    const r = await runCli(['lock', key, '--ttl', '1m', '--wait', '2s'], env);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/'acme\/infra\/prod\/eks' is locked by token:admin \(alice\): "upgrading"; expires at \S+ \(in \d+m\d*s?\) \(gave up after waiting 2s\)/);
    expect((await api('GET', `/api/v1/locks/${encodeURIComponent(key)}`)).body.data).toMatchObject({ queue: [] });
  });

  it('shows an expired lock in its lock-delay in status and list, and takes it when the delay ends', async () => {
    const key = 'acme/infra/prod/dns';
    await api('POST', '/api/v1/locks', { key, ttlMs: 1_000, message: 'crashed job', holderId: 'dead-runner' });
    await until(async () => (await api('GET', `/api/v1/locks/${encodeURIComponent(key)}`)).body.data?.state === 'lock_delay', 10_000, 'in lock-delay');
    const shown = await runCli(['status', key], env);
    expect(shown.stdout).toMatch(/^'acme\/infra\/prod\/dns' expired, in lock-delay until \S+ \(in \d+s\): nobody can take it until then\n {2}holder: {4}token:admin \(dead-runner\) \(expired\)/);
    const listed = await runCli(['list', '--prefix', 'acme/infra/prod/dns'], env);
    expect(listed.stdout).toMatch(/acme\/infra\/prod\/dns\s+token:admin \(dead-runner\)\s+\d+\s+lock-delay until \S+\s+crashed job/);
    const refused = await runCli(['lock', key, '--ttl', '1m'], env);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('is in its lock-delay until');
    const waited = await runCli(['lock', key, '--ttl', '1m', '--wait', '1m', '--holder-id', 'next'], env, { timeoutMs: 90_000 });
    expect(waited.code, waited.stderr).toBe(0);
    // It waited out the delay; if it polled meanwhile, it said why it waited.
    expect(waited.stderr).toMatch(/^$|^waiting for 'acme\/infra\/prod\/dns': token:admin \(dead-runner\)'s lock expired; in lock-delay until \S+; (you are 1st in line|joining the line)\n/);
  });
});

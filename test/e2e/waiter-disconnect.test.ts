import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/app.js';
import { call, openCall, until } from '../support/http-waiter.js';
import { startServerProcess, type ServerProcess } from '../support/processes.js';

/** A waiter whose client goes away leaves the line at once and is never granted the lock. */
describe('a waiter that disconnects', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess(tempDir());
  });
  afterAll(async () => {
    await server.kill();
  });

  const api = (method: string, path: string, body?: unknown) => call(server.url, server.adminToken, method, path, body);
  const queueOf = async (key: string): Promise<string[]> => {
    const r = await api('GET', `/api/v1/locks/${encodeURIComponent(key)}`);
    const queue = (r.body.data?.queue ?? (r.body as { context?: { queue?: unknown[] } }).context?.queue ?? []) as Array<{ holder: { holderId: string } }>;
    return queue.map((w) => w.holder.holderId);
  };

  it('leaves the line at once, and the lock goes to the next waiter', async () => {
    const key = 'acme/infra/prod/rds';
    expect((await api('POST', '/api/v1/locks', { key, ttlMs: 60_000, holderId: 'holder' })).status).toBe(201);
    const quitter = openCall(server.url, server.adminToken, 'POST', '/api/v1/locks', { key, ttlMs: 60_000, holderId: 'quitter', waitMs: 120_000 });
    quitter.response.catch(() => undefined);
    await until(async () => (await queueOf(key)).length === 1, 20_000, 'quitter in line');
    const patient = openCall(server.url, server.adminToken, 'POST', '/api/v1/locks', { key, ttlMs: 60_000, holderId: 'patient', waitMs: 120_000 });
    await until(async () => (await queueOf(key)).length === 2, 20_000, 'patient in line');
    expect(await queueOf(key)).toEqual(['quitter', 'patient']);

    const cut = Date.now();
    quitter.disconnect();
    await until(async () => (await queueOf(key)).join() === 'patient', 5_000, 'quitter gone from the line');
    expect(Date.now() - cut).toBeLessThan(5_000);

    expect((await api('DELETE', `/api/v1/locks/${encodeURIComponent(key)}`)).status).toBe(200);
    const granted = await patient.response;
    expect(granted.status).toBe(201);
    expect(granted.body.data).toMatchObject({ holder: { holderId: 'patient' } });
    const events = (await api('GET', `/api/v1/events?key=${encodeURIComponent(key)}&action=lock.created`)).body.data as { events: Array<{ details: { holderId: string } }> };
    expect(events.events.map((e) => e.details.holderId).sort()).toEqual(['holder', 'patient']);
  });

  it('is never granted once it has disconnected, whichever way the lock frees up (release, force, expiry)', async () => {
    for (const how of ['release', 'force', 'expiry'] as const) {
      const key = `gone/${how}`;
      await api('POST', '/api/v1/locks', { key, ttlMs: how === 'expiry' ? 2_000 : 60_000, holderId: 'holder' });
      const quitter = openCall(server.url, server.adminToken, 'POST', '/api/v1/locks', { key, ttlMs: 60_000, holderId: 'quitter', waitMs: 120_000 });
      quitter.response.catch(() => undefined);
      await until(async () => (await queueOf(key)).length === 1, 20_000, 'quitter in line');
      quitter.disconnect();
      await until(async () => (await queueOf(key)).length === 0, 5_000, 'quitter gone from the line');
      if (how === 'release') await api('DELETE', `/api/v1/locks/${encodeURIComponent(key)}`);
      if (how === 'force') await api('DELETE', `/api/v1/locks/${encodeURIComponent(key)}?force=true`);
      await until(async () => (await api('GET', `/api/v1/locks/${encodeURIComponent(key)}`)).status === 404, 10_000, `${how} frees the key`);
      await new Promise((r) => setTimeout(r, 1_500)); // longer than the waiters' re-check
      expect((await api('GET', `/api/v1/locks/${encodeURIComponent(key)}`)).status, how).toBe(404);
      const created = (await api('GET', `/api/v1/events?key=${encodeURIComponent(key)}&action=lock.created`)).body.data as {
        events: Array<{ details: { holderId: string } }>;
      };
      expect(created.events.map((e) => e.details.holderId), how).toEqual(['holder']);
    }
  });
});

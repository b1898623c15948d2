import { afterEach, describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from '../support/processes.js';
import { tempDir } from '../support/app.js';

async function api(server: ServerProcess, method: string, path: string, body?: unknown) {
  const r = await fetch(server.url + path, {
    method,
    headers: { authorization: `Bearer ${server.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, body: (await r.json()) as { data: Record<string, unknown> } };
}

describe('an acknowledged grant survives kill -9', () => {
  let server: ServerProcess | null = null;
  afterEach(async () => {
    await server?.kill('SIGKILL');
  });

  it('keeps the lock and its fencing token across a crash; later grants get larger tokens', async () => {
    const dir = tempDir();
    server = await startServerProcess(dir);
    expect(statSync(join(dir, 'admin-token')).mode & 0o777).toBe(0o600);
    expect(server.log()).toContain(`wrote its admin token to ${join(dir, 'admin-token')}`);
    expect(server.log()).not.toContain(server.adminToken);

    // Many grants acknowledged in quick succession, so some share a group commit.
    const grants = await Promise.all(
      Array.from({ length: 20 }, (_, i) => api(server!, 'POST', '/api/v1/locks', { key: `stack/${i}`, ttlMs: 600_000, message: `deploy ${i}`, holderId: 'h' })),
    );
    for (const g of grants) expect(g.status).toBe(201);
    const tokens = new Map(grants.map((g) => [g.body.data.key as string, g.body.data.token as number]));

    expect(await server.kill('SIGKILL')).not.toBe(0);
    server = await startServerProcess(dir);
    expect(server.log()).not.toContain('first start');

    for (const [key, token] of tokens) {
      const got = await api(server, 'GET', `/api/v1/locks/${encodeURIComponent(key)}`);
      expect(got.status).toBe(200);
      expect(got.body.data).toMatchObject({ key, token, holder: { holderId: 'h' } });
    }
    // Still held: another holder is refused.
    expect((await api(server, 'POST', '/api/v1/locks', { key: 'stack/0', ttlMs: 5000, holderId: 'other' })).status).toBe(409);
    expect((await api(server, 'DELETE', '/api/v1/locks', { key: 'stack/0' })).status).toBe(200);
    const next = await api(server, 'POST', '/api/v1/locks', { key: 'stack/0', ttlMs: 5000, holderId: 'other' });
    expect(next.status).toBe(201);
    expect(next.body.data.token).toBeGreaterThan(Math.max(...tokens.values()));
  });

  it('shuts down cleanly on SIGTERM', async () => {
    server = await startServerProcess(tempDir());
    expect(await server.kill('SIGTERM')).toBe(0);
    expect(server.log()).toContain('shutting down');
  });
});

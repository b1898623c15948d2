import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, resolveClientOptions } from '../../src/cli/client.js';
import { tempDir } from '../support/app.js';

describe('the CLI’s API client', () => {
  let server: Server;
  let url: string;
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization ?? '-'}`);
      const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === '/slow') {
        setTimeout(() => json(200, { success: true, data: { slow: true } }), 1_500);
        return;
      }
      if (req.headers.authorization === 'Bearer fresh') json(200, { success: true, data: { ok: true } });
      else json(401, { success: false, status: 401, errorTag: 'Unauthorized', errorMessage: 'invalid, expired or revoked token' });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('logs in when it has no token, and once more when a session token has expired (401)', async () => {
    const logins: string[] = [];
    let next = 'stale';
    const client = new ApiClient({ url, token: null, login: async () => (logins.push(next), next) });
    const first = client.request('GET', '/a');
    next = 'fresh';
    // The first login gave a token the server refuses: one more login, one retry.
    expect((await first).data).toEqual({ ok: true });
    expect(logins).toEqual(['stale', 'fresh']);
    expect(seen.slice(-2)).toEqual(['/a Bearer stale', '/a Bearer fresh']);
    await client.request('GET', '/b');
    expect(logins).toHaveLength(2);
  });

  it('does not retry a 401 when it cannot log in (a plain token)', async () => {
    const client = new ApiClient({ url, token: 'wrong' });
    await expect(client.request('GET', '/c')).rejects.toMatchObject({ tag: 'Unauthorized', exitCode: 4 });
  });

  it('waits for a slow answer as long as it is told to, and no longer', async () => {
    const client = new ApiClient({ url, token: 'fresh' });
    await expect(client.request('GET', '/slow', undefined, { answerWithinMs: 300 })).rejects.toMatchObject({ exitCode: 5 });
    expect((await client.request('GET', '/slow', undefined, { answerWithinMs: 10_000 })).data).toEqual({ slow: true });
  });
});

describe('where the CLI finds its token', () => {
  const dataDir = () => {
    const dir = tempDir('stacklock-client-');
    writeFileSync(join(dir, 'admin-token'), 'slk_local_admin\n');
    return dir;
  };
  const config = (tokens: Record<string, string>) => {
    const dir = tempDir('stacklock-client-config-');
    mkdirSync(join(dir, 'stacklock'));
    writeFileSync(join(dir, 'stacklock/config.json'), JSON.stringify({ tokens }));
    return dir;
  };

  it('sends the admin token of STACKLOCK_DATA_DIR to a loopback server only, never elsewhere', () => {
    const env = { STACKLOCK_DATA_DIR: dataDir(), XDG_CONFIG_HOME: config({}) };
    expect(resolveClientOptions({ url: 'http://127.0.0.1:8080' }, env).token).toBe('slk_local_admin');
    expect(resolveClientOptions({ url: 'https://staging.example.com' }, env).token).toBeNull();
  });

  it('prefers the token saved for the URL to STACKLOCK_DATA_DIR\'s, and an explicit --data-dir to both', () => {
    const dir = dataDir();
    const env = { STACKLOCK_DATA_DIR: dir, XDG_CONFIG_HOME: config({ 'http://127.0.0.1:8080': 'slk_saved' }) };
    expect(resolveClientOptions({ url: 'http://127.0.0.1:8080' }, env).token).toBe('slk_saved');
    expect(resolveClientOptions({ url: 'http://127.0.0.1:8080', dataDir: dir }, env).token).toBe('slk_local_admin');
    expect(resolveClientOptions({ url: 'http://127.0.0.1:8080', token: 'slk_flag' }, env).token).toBe('slk_flag');
  });
});

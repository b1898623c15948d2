import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../support/app.js';

describe('workspaces and repository permissions (admin API)', () => {
  let t: TestApp;
  let teamB: { id: string; name: string };
  let adminB: string;

  beforeAll(async () => {
    t = await makeTestApp();
    const r = await t.call({ method: 'POST', url: '/api/v1/workspaces', payload: { name: 'team-b' } });
    expect(r.statusCode, r.body).toBe(201);
    teamB = r.json().data;
    const tok = await t.call({ method: 'POST', url: '/api/v1/tokens', payload: { name: 'b-admin', scopes: ['admin'], workspace: 'team-b' } });
    expect(tok.statusCode, tok.body).toBe(201);
    expect(tok.json().data.workspaceId).toBe(teamB.id);
    adminB = tok.json().data.token;
  });
  afterAll(async () => t.close());

  it('the server admin creates and lists workspaces; names are unique and never look like ids', async () => {
    const list = (await t.call({ method: 'GET', url: '/api/v1/workspaces' })).json().data.workspaces;
    expect(list.map((w: { name: string }) => w.name)).toEqual(['default', 'team-b']);
    const dup = await t.call({ method: 'POST', url: '/api/v1/workspaces', payload: { name: 'team-b' } });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ success: false, errorTag: 'Conflict' });
    for (const name of ['', 'has space', '-lead', 'x'.repeat(64), '6f1c2a3b-1d2e-4f5a-8b9c-0d1e2f3a4b5c']) {
      const bad = await t.call({ method: 'POST', url: '/api/v1/workspaces', payload: { name } });
      expect(bad.statusCode, name).toBe(400);
    }
    const ev = (await t.call({ method: 'GET', url: '/api/v1/events?action=workspace.created', token: adminB })).json().data.events;
    expect(ev).toMatchObject([{ actor: 'token:admin', details: { name: 'team-b' } }]);
  });

  it('a workspace admin elsewhere is no server admin', async () => {
    const r = await t.call({ method: 'POST', url: '/api/v1/workspaces', payload: { name: 'sneaky' }, token: adminB });
    expect(r.statusCode).toBe(403);
    expect(r.json().errorMessage).toContain("admin in the 'default' workspace");
    const mine = (await t.call({ method: 'GET', url: '/api/v1/workspaces', token: adminB })).json().data.workspaces;
    expect(mine).toEqual([teamB]);
    const tok = await t.call({ method: 'POST', url: '/api/v1/tokens', payload: { name: 'x', workspace: 'default' }, token: adminB });
    expect(tok.statusCode).toBe(403);
    // ...but administers its own: tokens and repositories.
    const own = await t.call({ method: 'POST', url: '/api/v1/tokens', payload: { name: 'b-ci', workspace: 'team-b' }, token: adminB });
    expect(own.statusCode).toBe(201);
    expect((await t.call({ method: 'PUT', url: '/api/v1/repos/globex/app', payload: {}, token: adminB })).statusCode).toBe(200);
  });

  it('a non-admin token administers nothing', async () => {
    const writer = await t.token('writer', ['locks:write', 'locks:force']);
    for (const req of [
      { method: 'GET' as const, url: '/api/v1/repos' },
      { method: 'PUT' as const, url: '/api/v1/repos/acme/infra', payload: {} },
      { method: 'DELETE' as const, url: '/api/v1/repos/acme/infra' },
      { method: 'POST' as const, url: '/api/v1/tokens', payload: { name: 'y' } },
      { method: 'POST' as const, url: '/api/v1/workspaces', payload: { name: 'y' } },
    ]) {
      const r = await t.call({ ...req, token: writer });
      expect(r.statusCode, `${req.method} ${req.url}`).toBe(403);
      expect(r.json()).toMatchObject({ success: false, errorTag: 'Forbidden' });
    }
  });

  it('allows, lists, updates and revokes repositories, audited', async () => {
    const a = await t.call({ method: 'PUT', url: '/api/v1/repos/Acme/Infra', payload: { keys: ['acme/infra/**', 'shared/*'], force: true } });
    expect(a.json().data).toMatchObject({ repository: 'Acme/Infra', keys: ['acme/infra/**', 'shared/*'], force: true, allowedBy: 'token:admin' });
    // Same repository in another case: one entry, updated.
    const b = await t.call({ method: 'PUT', url: '/api/v1/repos/acme/infra', payload: {} });
    expect(b.json().data).toMatchObject({ repository: 'acme/infra', keys: ['acme/infra/**'], force: false });
    const list = (await t.call({ method: 'GET', url: '/api/v1/repos' })).json().data.repositories;
    expect(list.map((p: { repository: string }) => p.repository)).toEqual(['acme/infra']);
    const other = (await t.call({ method: 'GET', url: '/api/v1/repos?workspace=team-b' })).json().data.repositories;
    expect(other.map((p: { repository: string }) => p.repository)).toEqual(['globex/app']);
    expect((await t.call({ method: 'DELETE', url: '/api/v1/repos/ACME/infra' })).statusCode).toBe(200);
    expect((await t.call({ method: 'DELETE', url: '/api/v1/repos/acme/infra' })).statusCode).toBe(404);
    const ev = (await t.call({ method: 'GET', url: '/api/v1/events?limit=3' })).json().data.events;
    expect(ev.map((e: { action: string }) => e.action)).toEqual(['repository.revoked', 'repository.allowed', 'repository.allowed']);
  });

  it.each([
    ['a bad repository name', '/api/v1/repos/acme/in%20fra', {}, /owner\/repo/],
    ['an empty glob', '/api/v1/repos/acme/infra', { keys: [''] }, /glob/],
    ['a glob with a newline', '/api/v1/repos/acme/infra', { keys: ['a\nb'] }, /control/],
    ['keys not a list', '/api/v1/repos/acme/infra', { keys: 'acme/**' }, /keys must be array/],
    ['force not a boolean', '/api/v1/repos/acme/infra', { force: 'yes' }, /force must be boolean/],
  ])('refuses %s with a 400', async (_name, url, payload, text) => {
    const r = await t.call({ method: 'PUT', url, payload });
    expect(r.statusCode, r.body).toBe(400);
    expect(r.json().errorMessage).toMatch(text);
  });

  it('another workspace that does not exist: 404 for the server admin, 403 for others', async () => {
    expect((await t.call({ method: 'GET', url: '/api/v1/repos?workspace=nope' })).statusCode).toBe(404);
    expect((await t.call({ method: 'GET', url: '/api/v1/repos?workspace=nope', token: adminB })).statusCode).toBe(403);
  });
});

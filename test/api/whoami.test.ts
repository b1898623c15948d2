import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../support/app.js';

describe('GET /api/v1/whoami', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeTestApp();
  });
  afterEach(async () => t.close());

  it("answers the caller's principal, kind, workspace and scopes", async () => {
    const admin = await t.call({ method: 'GET', url: '/api/v1/whoami' });
    expect(admin.statusCode).toBe(200);
    const body = admin.json();
    expect(body).toMatchObject({ success: true, status: 200, data: { principal: 'token:admin', kind: 'token', scopes: ['admin'], details: null, keys: null } });
    expect(typeof body.data.workspaceId).toBe('string');

    const deployer = await t.token('deployer', ['locks:write', 'locks:force']);
    const r = await t.call({ method: 'GET', url: '/api/v1/whoami', token: deployer });
    expect(r.json().data).toMatchObject({ principal: 'token:deployer', scopes: ['locks:force', 'locks:write'], workspaceId: body.data.workspaceId });
  });

  it('refuses a missing or unknown token with the envelope', async () => {
    const missing = await t.call({ method: 'GET', url: '/api/v1/whoami', token: null });
    expect(missing.statusCode).toBe(401);
    expect(missing.json()).toMatchObject({ success: false, status: 401, errorTag: 'Unauthorized' });
    const unknown = await t.call({ method: 'GET', url: '/api/v1/whoami', token: 'slk_nope' });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().errorTag).toBe('Unauthorized');
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { makeTestApp, type TestApp } from '../support/app.js';

describe('lock API', () => {
  let t: TestApp;
  const clock = new ManualClock(Date.UTC(2026, 5, 9, 10, 0, 0));
  beforeEach(async () => {
    t = await makeTestApp({ clock });
  });
  afterEach(async () => t.close());

  it('grants, refuses another holder naming who holds it and why, then releases', async () => {
    const grant = await t.call({ method: 'POST', url: '/api/v1/locks', payload: { key: 'acme/infra/prod/vpc', ttlMs: 60_000, message: 'deploying VPC', holderId: 'run-1' } });
    expect(grant.statusCode).toBe(201);
    const body = grant.json();
    expect(body).toMatchObject({ success: true, status: 201, data: { key: 'acme/infra/prod/vpc', message: 'deploying VPC', token: 1, expiresAt: '2026-06-09T10:01:00.000Z', holder: { principal: 'token:admin', holderId: 'run-1' } } });
    expect(typeof body.traceId).toBe('string');

    const held = await t.call({ method: 'POST', url: '/api/v1/locks', payload: { key: 'acme/infra/prod/vpc', ttlMs: 60_000, holderId: 'run-2' } });
    expect(held.statusCode).toBe(409);
    expect(held.json()).toMatchObject({ success: false, status: 409, errorTag: 'LockHeld' });
    expect(held.json().errorMessage).toContain('deploying VPC');
    expect(held.json().errorMessage).toContain('run-1');
    expect(held.json().errorMessage).toContain('2026-06-09T10:01:00.000Z');
    expect(held.json().context.lock.holder.holderId).toBe('run-1');

    const rel = await t.call({ method: 'DELETE', url: '/api/v1/locks', payload: { key: 'acme/infra/prod/vpc' } });
    expect(rel.statusCode).toBe(200);
    expect(rel.json().data.outcome).toBe('released');
    const again = await t.call({ method: 'DELETE', url: '/api/v1/locks', payload: { key: 'acme/infra/prod/vpc' } });
    expect(again.statusCode).toBe(404);
    expect(again.json().errorTag).toBe('LockNotFound');
  });
});

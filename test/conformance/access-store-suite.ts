import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/core/errors.js';
import type { Store } from '../../src/core/ports/store.js';

/** The access port (workspaces, allowed repositories, OIDC sessions): the same cases on every backend. */
export interface StoreHarness {
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hash = () => randomBytes(32).toString('hex');

/**
 * Opens the backend before the enclosing describe's cases and closes it after; `fresh()` makes
 * a workspace of its own for a case. Call inside `describe`.
 */
export function openForSuite(harness: StoreHarness): { store(): Store; fresh(): Promise<string> } {
  let store: Store;
  beforeAll(async () => {
    store = await harness.open();
  });
  afterAll(async () => {
    await store.close();
    await harness.cleanup();
  });
  return { store: () => store, fresh: async () => (await store.ensureWorkspace(`ws-${randomUUID()}`)).id };
}

export function accessStoreConformance(name: string, harness: StoreHarness): void {
  describe(`AccessStore conformance: ${name}`, () => {
    const suite = openForSuite(harness);
    let store: Store;
    beforeAll(() => {
      store = suite.store();
    });
    const fresh = suite.fresh;
    const actions = async (ws: string) => (await store.queryEvents({ workspaceId: ws, limit: 100 })).map((e) => e.action);

    it('creates workspaces with unique names, lists them, records workspace.created in the new one', async () => {
      const name = `team-${randomUUID()}`;
      const w = await store.access.createWorkspace(name, 'token:admin');
      expect(w).toMatchObject({ name });
      expect(await store.getWorkspace(w.id)).toEqual(w);
      expect(await store.getWorkspace(name)).toEqual(w);
      await expect(store.access.createWorkspace(name, 'token:admin')).rejects.toMatchObject({ tag: 'Conflict' });
      await expect(store.access.createWorkspace(name, 'token:admin')).rejects.toBeInstanceOf(DomainError);
      expect((await store.access.listWorkspaces()).map((x) => x.name)).toContain(name);
      const [ev] = await store.queryEvents({ workspaceId: w.id, limit: 10 });
      expect(ev).toMatchObject({ action: 'workspace.created', actor: 'token:admin', details: { name } });
    });

    it('allows a repository once per workspace, case-insensitively; updates replace; revoke is audited once', async () => {
      const ws = await fresh();
      const a = await store.access.allowRepository({ workspaceId: ws, repository: 'Acme/Infra', keyGlobs: ['acme/infra/**'], mayForce: false, allowedBy: 'token:admin' });
      expect(a).toMatchObject({ workspaceId: ws, repository: 'Acme/Infra', keyGlobs: ['acme/infra/**'], mayForce: false, allowedBy: 'token:admin' });
      const b = await store.access.allowRepository({ workspaceId: ws, repository: 'acme/infra', keyGlobs: ['x/*', 'y/**'], mayForce: true, allowedBy: 'token:other' });
      expect(b).toMatchObject({ repository: 'acme/infra', keyGlobs: ['x/*', 'y/**'], mayForce: true, allowedBy: 'token:other' });
      expect(b.createdAt).toEqual(a.createdAt);
      expect(b.updatedAt.getTime()).toBeGreaterThanOrEqual(a.updatedAt.getTime());
      await store.access.allowRepository({ workspaceId: ws, repository: 'acme/app', keyGlobs: ['acme/app/**'], mayForce: false, allowedBy: 'token:admin' });
      expect((await store.access.listRepositories(ws)).map((p) => p.repository)).toEqual(['acme/app', 'acme/infra']);
      expect(await store.access.getRepository(ws, 'ACME/INFRA')).toEqual(b);
      expect(await store.access.getRepository(await fresh(), 'acme/infra')).toBeNull();

      expect(await store.access.revokeRepository(ws, 'ACME/infra', 'token:admin')).toBe(true);
      expect(await store.access.revokeRepository(ws, 'acme/infra', 'token:admin')).toBe(false);
      expect(await store.access.getRepository(ws, 'acme/infra')).toBeNull();
      expect(await actions(ws)).toEqual(['repository.revoked', 'repository.allowed', 'repository.allowed', 'repository.allowed']);
      const [allowed] = await store.queryEvents({ workspaceId: ws, action: 'repository.allowed', limit: 1 });
      expect(allowed!.details).toEqual({ repository: 'acme/app', keys: ['acme/app/**'], force: false });
    });

    it('finds a live session with its repository\'s current permission, audited at creation', async () => {
      const ws = await fresh();
      await store.access.allowRepository({ workspaceId: ws, repository: 'acme/infra', keyGlobs: ['acme/infra/**'], mayForce: false, allowedBy: 'token:admin' });
      const h = hash();
      const s = await store.access.createSession({ workspaceId: ws, tokenHash: h, repository: 'Acme/Infra', details: { run_id: '42', actor: 'octocat' }, ttlMs: 60_000 });
      expect(s).toMatchObject({ workspaceId: ws, repository: 'Acme/Infra', details: { run_id: '42', actor: 'octocat' } });
      expect(s.expiresAt.getTime() - s.createdAt.getTime()).toBe(60_000);
      const found = await store.access.findSession(h);
      expect(found?.session).toEqual(s);
      expect(found?.permission).toMatchObject({ repository: 'acme/infra', mayForce: false });
      const [ev] = await store.queryEvents({ workspaceId: ws, action: 'auth.oidc_token_exchange_success', limit: 1 });
      expect(ev).toMatchObject({ actor: 'repo:Acme/Infra', details: { run_id: '42', actor: 'octocat', sessionExpiresAt: s.expiresAt.toISOString() } });

      await store.access.allowRepository({ workspaceId: ws, repository: 'acme/infra', keyGlobs: ['**'], mayForce: true, allowedBy: 'token:admin' });
      expect((await store.access.findSession(h))?.permission).toMatchObject({ keyGlobs: ['**'], mayForce: true });
      expect(await store.access.findSession(hash())).toBeNull();
      await store.access.revokeRepository(ws, 'acme/infra', 'token:admin');
      expect(await store.access.findSession(h)).toBeNull();
    });

    it('a session is gone once its TTL has passed on the store clock', async () => {
      const ws = await fresh();
      await store.access.allowRepository({ workspaceId: ws, repository: 'acme/infra', keyGlobs: ['acme/infra/**'], mayForce: false, allowedBy: 'token:admin' });
      const h = hash();
      const s = await store.access.createSession({ workspaceId: ws, tokenHash: h, repository: 'acme/infra', details: {}, ttlMs: 150 });
      expect(await store.access.findSession(h)).not.toBeNull();
      while ((await store.now()).getTime() < s.expiresAt.getTime()) await sleep(20);
      expect(await store.access.findSession(h)).toBeNull();
      // Creating another purges expired ones without disturbing live ones.
      const live = hash();
      await store.access.createSession({ workspaceId: ws, tokenHash: live, repository: 'acme/infra', details: {}, ttlMs: 60_000 });
      expect(await store.access.findSession(live)).not.toBeNull();
    });
  });
}

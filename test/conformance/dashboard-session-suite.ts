import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/auth/tokens.js';
import type { DashboardSessionStore } from '../../src/core/ports/dashboard-sessions.js';
import type { Store } from '../../src/core/ports/store.js';
import { openForSuite, type StoreHarness } from './access-store-suite.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Dashboard sessions (issue 7) behave the same on every backend. */
export function dashboardSessionConformance(name: string, harness: StoreHarness): void {
  describe(`DashboardSessionStore conformance: ${name}`, () => {
    const suite = openForSuite(harness);
    let store: Store;
    let sessions: DashboardSessionStore;
    beforeAll(() => {
      store = suite.store();
      sessions = store.dashboardSessions;
    });

    const token = async (scopes = ['locks:write']) => {
      const ws = await store.ensureWorkspace(`ws-${randomUUID()}`);
      const record = await store.createToken({ workspaceId: ws.id, name: 'dash', tokenHash: hashToken(randomUUID()), scopes: scopes as never, createdBy: 'test' });
      return record;
    };

    it('stores a session under its hash, found with the token behind it, expiring on the store clock', async () => {
      const t = await token(['locks:write', 'locks:force']);
      const before = await store.now();
      const created = await sessions.createSession({ idHash: 'h-' + randomUUID(), workspaceId: t.workspaceId, tokenId: t.id, ttlMs: 3_600_000 });
      expect(created.expiresAt.getTime() - created.createdAt.getTime()).toBe(3_600_000);
      expect(created.createdAt.getTime()).toBeGreaterThanOrEqual(before.getTime());
      const found = await sessions.findSession(created.idHash);
      expect(found?.session).toEqual(created);
      expect(found?.token).toMatchObject({ id: t.id, name: 'dash', workspaceId: t.workspaceId, scopes: ['locks:write', 'locks:force'], revokedAt: null });
      expect(await sessions.findSession('h-unknown')).toBeNull();
    });

    it('forgets a session once it has expired', async () => {
      const t = await token();
      const s = await sessions.createSession({ idHash: 'h-' + randomUUID(), workspaceId: t.workspaceId, tokenId: t.id, ttlMs: 150 });
      expect(await sessions.findSession(s.idHash)).not.toBeNull();
      while ((await store.now()).getTime() < s.expiresAt.getTime()) await sleep(20);
      expect(await sessions.findSession(s.idHash)).toBeNull();
      // A later sign-in prunes it; the live one stays.
      const live = await sessions.createSession({ idHash: 'h-' + randomUUID(), workspaceId: t.workspaceId, tokenId: t.id, ttlMs: 60_000 });
      expect(await sessions.deleteSession(s.idHash)).toBe(false);
      expect(await sessions.findSession(live.idHash)).not.toBeNull();
    });

    it('ends a session on delete, once', async () => {
      const t = await token();
      const s = await sessions.createSession({ idHash: 'h-' + randomUUID(), workspaceId: t.workspaceId, tokenId: t.id, ttlMs: 60_000 });
      expect(await sessions.deleteSession(s.idHash)).toBe(true);
      expect(await sessions.findSession(s.idHash)).toBeNull();
      expect(await sessions.deleteSession(s.idHash)).toBe(false);
    });

    it('refuses a session for a token that does not exist', async () => {
      const t = await token();
      await expect(sessions.createSession({ idHash: 'h-' + randomUUID(), workspaceId: t.workspaceId, tokenId: 'no-such-token', ttlMs: 60_000 })).rejects.toThrow();
    });
  });
}

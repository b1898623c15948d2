import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FairWait } from '../../src/core/fair-wait.js';
import type { Holder } from '../../src/core/types.js';
import type { AcquireInput } from '../../src/core/ports/locks.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../support/app.js';

describe('FairWait', () => {
  let store: SqliteStore;
  let ws: string;
  beforeEach(async () => {
    store = new SqliteStore({ path: join(tempDir(), 's.db') });
    ws = (await store.ensureWorkspace('default')).id;
  });
  afterEach(async () => store.close());

  const holder = (id: string): Holder => ({ principal: 'token:ci', holderId: id });
  const input = (id: string): AcquireInput => ({ workspaceId: ws, key: 'k', ttlMs: 60_000, message: id, holder: holder(id) });

  it('frees at once a grant that raced with its client’s disconnect, whichever came first', async () => {
    for (const when of ['microtask', 'immediate'] as const) {
      await store.acquire(input('holder'));
      const wait = new FairWait(store, { waiterLeaseMs: 15_000, recheckMs: 1_000 });
      const gone = new AbortController();
      const waiting = wait.wait(input('quitter'), 30_000, gone.signal);
      while ((await store.leases.queue(ws, 'k')).length === 0) await new Promise((r) => setTimeout(r, 5));
      await store.release({ workspaceId: ws, key: 'k', caller: holder('holder'), force: false, mayForce: false }).then(() => {
        if (when === 'microtask') gone.abort();
        if (when === 'immediate') setImmediate(() => gone.abort());
      });
      await expect(waiting, when).rejects.toMatchObject({ tag: 'Conflict' });
      expect(await store.getLock(ws, 'k'), when).toBeNull();
      expect(await store.leases.queue(ws, 'k'), when).toEqual([]);
      // Either it never got the grant, or the grant it got was released right away.
      const [last, before] = (await store.queryEvents({ workspaceId: ws, key: 'k', limit: 2 })).map((e) => `${e.action}:${e.details?.holderId}`);
      if (before === 'lock.created:quitter') expect(last, when).toBe('lock.deleted:quitter');
      else expect(last, when).toBe('lock.deleted:holder');
    }
  });

  it('wakes on a release at once rather than at its next re-check', async () => {
    await store.acquire(input('holder'));
    const wait = new FairWait(store, { waiterLeaseMs: 15_000, recheckMs: 60_000 });
    const waiting = wait.wait(input('w'), 30_000);
    while ((await store.leases.queue(ws, 'k')).length === 0) await new Promise((r) => setTimeout(r, 5));
    const released = Date.now();
    await store.release({ workspaceId: ws, key: 'k', caller: holder('holder'), force: false, mayForce: false });
    expect((await waiting).outcome).toBe('granted');
    expect(Date.now() - released).toBeLessThan(5_000);
  });

  it('lets the next waiter of this process try at once when the head gives up', async () => {
    const ghost = await store.leases.enqueue({ workspaceId: ws, key: 'k', holder: holder('ghost'), message: '', leaseMs: 60_000 });
    const wait = new FairWait(store, { waiterLeaseMs: 15_000, recheckMs: 60_000 });
    const head = new AbortController();
    const first = wait.wait(input('first'), 30_000, head.signal);
    while ((await store.leases.queue(ws, 'k')).length < 2) await new Promise((r) => setTimeout(r, 5));
    const second = wait.wait(input('second'), 30_000);
    while ((await store.leases.queue(ws, 'k')).length < 3) await new Promise((r) => setTimeout(r, 5));
    await store.leases.leave(ghost.id); // another server's waiter left: only the re-check would notice...
    head.abort(); // ...but one of ours leaving wakes the others here.
    await expect(first).rejects.toMatchObject({ tag: 'Conflict' });
    const started = Date.now();
    expect((await second).outcome).toBe('granted');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('rejoins at the end of the line when its lease lapsed while it waited (a stalled process)', async () => {
    await store.acquire(input('holder'));
    // A lease far shorter than the refresh can keep up with on purpose: the waiter drops out and rejoins.
    const wait = new FairWait(store, { waiterLeaseMs: 1, recheckMs: 50 });
    const result = wait.wait(input('w'), 1_000);
    await new Promise((r) => setTimeout(r, 300));
    await store.release({ workspaceId: ws, key: 'k', caller: holder('holder'), force: false, mayForce: false });
    const r = await result;
    expect(['granted', 'timed_out']).toContain(r.outcome);
  });
});

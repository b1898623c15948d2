import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERRUPTED_REASON } from '../../src/core/dispatch.js';
import type { Claim, NewDispatch } from '../../src/core/ports/dispatches.js';
import type { Store } from '../../src/core/ports/store.js';
import type { BackendHarness } from './lock-store-suite.js';


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LONG = 60_000;

/** Waits until the store's own clock has reached `at`. */
async function waitUntil(store: Store, at: Date): Promise<void> {
  for (;;) {
    const now = await store.now();
    if (now.getTime() >= at.getTime()) return;
    await sleep(Math.max(5, at.getTime() - now.getTime()));
  }
}

/**
 * The dispatch port (and the kept GitHub events): the same cases on every backend, on each
 * backend's real clock, waiting on it with wide margins where time matters. `reopen` is a
 * second replica on the same database.
 */
export function dispatchStoreConformance(name: string, harness: BackendHarness): void {
  describe(`DispatchStore conformance: ${name}`, () => {
    let store: Store;
    let ws: string;
    const me: Claim = { replicaId: 'replica-a', leaseMs: LONG, lockDelayMs: 0 };
    const other: Claim = { replicaId: 'replica-b', leaseMs: LONG, lockDelayMs: 0 };

    beforeAll(async () => {
      store = await harness.open();
    });
    afterAll(async () => {
      await store.close();
      await harness.cleanup();
    });

    const fresh = async () => {
      ws = (await store.ensureWorkspace(`ws-${randomUUID()}`)).id;
      return ws;
    };
    const input = (extra: Partial<NewDispatch> = {}): NewDispatch => ({
      workspaceId: ws, key: 'acme/infra/prod/vpc', repository: 'acme/infra', workflow: 'deploy.yml', ref: 'main',
      inputs: { stack: 'prod' }, source: { kind: 'api' }, pullRequest: null, headSha: null, createdBy: 'token:ci', maxWaitMs: LONG, ...extra,
    });
    const lock = (key = 'acme/infra/prod/vpc', ttlMs = LONG, principal = 'token:holder') =>
      store.acquire({ workspaceId: ws, key, ttlMs, message: `held by ${principal}`, holder: { principal, holderId: 'h' } });
    const release = (key = 'acme/infra/prod/vpc', principal = 'token:holder') =>
      store.release({ workspaceId: ws, key, caller: { principal, holderId: null }, force: false, mayForce: false });
    const actions = async () => (await store.queryEvents({ workspaceId: ws, limit: 100 })).filter((e) => e.action.startsWith('workflow.')).map((e) => e.action);

    it('claims a dispatch on a free key at once, in the enqueue, and audits it queued', async () => {
      await fresh();
      const r = await store.dispatches.enqueue(input(), me);
      expect(r.claimed?.id).toBe(r.dispatch.id);
      expect(r.dispatch).toMatchObject({ state: 'dispatching', claimedBy: 'replica-a', attempts: 1, blockedBy: null, inputs: { stack: 'prod' }, source: { kind: 'api' } });
      expect(r.dispatch.leaseUntil!.getTime()).toBeGreaterThan(r.dispatch.createdAt.getTime());
      const [queued] = await store.queryEvents({ workspaceId: ws, action: 'workflow.queued', limit: 1 });
      expect(queued).toMatchObject({ actor: 'token:ci', key: 'acme/infra/prod/vpc', details: { dispatchId: r.dispatch.id, repository: 'acme/infra', workflow: 'deploy.yml', waitingFor: null } });
      const done = await store.dispatches.finish(r.dispatch.id, me, { state: 'dispatched' });
      expect(done).toMatchObject({ state: 'dispatched', claimedBy: 'replica-a' });
      expect(done!.dispatchedAt).not.toBeNull();
      expect(await actions()).toEqual(['workflow.dispatched', 'workflow.queued']);
    });

    it('holds a dispatch while its key is locked, names the lock, and claims it once the key is released', async () => {
      await fresh();
      const held = await lock();
      const r = await store.dispatches.enqueue(input({ pullRequest: 3 }), me);
      expect(r.claimed).toBeNull();
      expect(r.dispatch).toMatchObject({ state: 'waiting_for_lock', blockedBy: { token: held.lock!.token, holder: 'token:holder', holderId: 'h', message: 'held by token:holder' } });
      expect(await store.dispatches.hasWaiting(ws, 'acme/infra/prod/vpc')).toBe(true);
      expect(await store.dispatches.hasWaiting(ws, 'other')).toBe(false);
      const blocked = await store.dispatches.claimNext(ws, 'acme/infra/prod/vpc', me);
      expect(blocked).toMatchObject({ claimed: null, lock: { token: held.lock!.token }, reblocked: [] });
      expect((await store.dispatches.readyKeys(100, 0)).filter((k) => k.workspaceId === ws)).toEqual([]);
      await release();
      expect((await store.dispatches.readyKeys(100, 0)).filter((k) => k.workspaceId === ws)).toEqual([{ workspaceId: ws, key: 'acme/infra/prod/vpc' }]);
      const c = await store.dispatches.claimNext(ws, 'acme/infra/prod/vpc', me);
      expect(c.claimed).toMatchObject({ id: r.dispatch.id, state: 'dispatching', blockedBy: null });
      expect(await store.dispatches.claimNext(ws, 'acme/infra/prod/vpc', other)).toMatchObject({ claimed: null, lock: null });
    });

    it('serves a key strictly in arrival order, one at a time', async () => {
      await fresh();
      await lock();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await store.dispatches.enqueue(input({ inputs: { n: i } }), me)).dispatch.id);
      await release();
      const sent: string[] = [];
      for (let i = 0; i < 5; i++) {
        const c = await store.dispatches.claimNext(ws, 'acme/infra/prod/vpc', i % 2 ? me : other);
        expect(c.claimed).not.toBeNull();
        // The next in line waits until this one is finished.
        expect((await store.dispatches.claimNext(ws, 'acme/infra/prod/vpc', me)).claimed).toBeNull();
        sent.push(c.claimed!.id);
        await store.dispatches.finish(c.claimed!.id, i % 2 ? me : other, { state: 'dispatched' });
      }
      expect(sent).toEqual(ids);
    });

    it('claims each head exactly once under concurrent claimers, on one store and across two', async () => {
      await fresh();
      const second = await harness.reopen();
      try {
        await lock();
        for (let i = 0; i < 3; i++) await store.dispatches.enqueue(input({ inputs: { n: i } }), me);
        await release();
        const claimers = Array.from({ length: 8 }, (_, i) => ({ replicaId: `r${i}`, leaseMs: LONG, lockDelayMs: 0 }));
        const results = await Promise.all(
          claimers.map((c, i) => (i % 2 ? second : store).dispatches.claimNext(ws, 'acme/infra/prod/vpc', c)),
        );
        const winners = results.filter((r) => r.claimed);
        expect(winners).toHaveLength(1);
        expect(winners[0]!.claimed!.inputs).toEqual({ n: 0 });
      } finally {
        await second.close();
      }
    });

    it('supersedes an older waiting dispatch for the same key, repository, workflow and pull request only', async () => {
      await fresh();
      await lock();
      const old = (await store.dispatches.enqueue(input({ pullRequest: 7 }), me)).dispatch;
      const otherPr = (await store.dispatches.enqueue(input({ pullRequest: 8 }), me)).dispatch;
      const otherWorkflow = (await store.dispatches.enqueue(input({ pullRequest: 7, workflow: 'plan.yml' }), me)).dispatch;
      const noPr = (await store.dispatches.enqueue(input(), me)).dispatch;
      const r = await store.dispatches.enqueue(input({ pullRequest: 7, inputs: { v: 2 } }), me);
      expect(r.superseded.map((d) => d.id)).toEqual([old.id]);
      expect(await store.dispatches.get(ws, old.id)).toMatchObject({ state: 'superseded', supersededBy: r.dispatch.id });
      for (const d of [otherPr, otherWorkflow, noPr]) expect((await store.dispatches.get(ws, d.id))!.state).toBe('waiting_for_lock');
      const [ev] = await store.queryEvents({ workspaceId: ws, action: 'workflow.superseded', limit: 10 });
      expect(ev).toMatchObject({ actor: 'token:ci', details: { dispatchId: old.id, supersededBy: r.dispatch.id, pullRequest: 7 } });
    });

    it('records a new blocking lock on the waiting rows when the key changes hands', async () => {
      await fresh();
      await lock();
      const d = (await store.dispatches.enqueue(input(), me)).dispatch;
      await release();
      const next = await lock('acme/infra/prod/vpc', LONG, 'token:next');
      const r = await store.dispatches.claimNext(ws, 'acme/infra/prod/vpc', me);
      expect(r.claimed).toBeNull();
      expect(r).toMatchObject({ lock: { token: next.lock!.token }, reblocked: [{ id: d.id, blockedBy: { token: next.lock!.token, holder: 'token:next' } }] });
      expect((await store.dispatches.claimNext(ws, 'acme/infra/prod/vpc', me)) as { reblocked: unknown[] }).toMatchObject({ reblocked: [] });
    });

    it('keeps a key blocked through the lock-delay after an expiry', async () => {
      await fresh();
      const delayed: Claim = { ...me, lockDelayMs: 5000 };
      const held = await lock('k', 100);
      const d = (await store.dispatches.enqueue(input({ key: 'k' }), delayed)).dispatch;
      expect(d.state).toBe('waiting_for_lock');
      await waitUntil(store, held.lock!.expiresAt);
      expect((await store.dispatches.claimNext(ws, 'k', delayed)).claimed).toBeNull();
      expect((await store.dispatches.claimNext(ws, 'k', me)).claimed).toMatchObject({ id: d.id });
    });

    it('lets someone who asked for the lock before the dispatch arrived go first', async () => {
      await fresh();
      await lock();
      const early = await store.leases.enqueue({ workspaceId: ws, key: 'acme/infra/prod/vpc', holder: { principal: 'token:early', holderId: 'w1' }, message: 'waiting', leaseMs: LONG });
      await sleep(5);
      const d = (await store.dispatches.enqueue(input(), me)).dispatch;
      // Arrival is compared on the store's clock (milliseconds on SQLite), and a waiter that joins
      // in the dispatch's own millisecond counts as earlier: "late" must come a tick after.
      await sleep(5);
      await store.leases.enqueue({ workspaceId: ws, key: 'acme/infra/prod/vpc', holder: { principal: 'token:late', holderId: 'w2' }, message: 'waiting', leaseMs: LONG });
      await release();
      // The earlier waiter is still in line (its request would take the lock now): the dispatch waits.
      expect((await store.dispatches.claimNext(ws, 'acme/infra/prod/vpc', me)).claimed).toBeNull();
      expect((await store.dispatches.readyKeys(100, 0)).filter((k) => k.workspaceId === ws)).toEqual([]);
      expect(await store.leases.leave(early.id)).toBe(true);
      // A waiter that came after the dispatch does not hold it back.
      expect((await store.dispatches.claimNext(ws, 'acme/infra/prod/vpc', me)).claimed).toMatchObject({ id: d.id });
    });

    it('holds a dependent until unheld, enqueues a dedupe key once, and lists a run', async () => {
      await fresh();
      const vpc = { stack: 'prod', component: 'vpc' };
      const a = await store.dispatches.enqueue(input({ key: 'acme/infra/prod/vpc', runId: 'run-1', dedupeKey: 'run-1/prod/vpc/apply' }), me);
      expect(a).toMatchObject({ created: true, dispatch: { runId: 'run-1', heldFor: null, state: 'dispatching' } });
      const again = await store.dispatches.enqueue(input({ key: 'acme/infra/prod/vpc', runId: 'run-1', dedupeKey: 'run-1/prod/vpc/apply' }), me);
      expect(again).toEqual({ dispatch: expect.objectContaining({ id: a.dispatch.id }), created: false, superseded: [], claimed: null });
      const b = await store.dispatches.enqueue(
        input({ key: 'acme/infra/prod/eks', runId: 'run-1', dedupeKey: 'run-1/prod/eks/apply', heldFor: [vpc], reason: 'waiting for prod/vpc to finish' }),
        me,
      );
      expect(b).toMatchObject({ created: true, claimed: null, dispatch: { state: 'waiting_for_lock', heldFor: [vpc], reason: 'waiting for prod/vpc to finish' } });
      expect((await store.dispatches.claimNext(ws, 'acme/infra/prod/eks', me)).claimed).toBeNull();
      expect((await store.dispatches.readyKeys(100, 0)).filter((k) => k.workspaceId === ws)).toEqual([]);
      expect((await store.dispatches.heldDispatches(1000)).filter((d) => d.workspaceId === ws).map((d) => d.id)).toEqual([b.dispatch.id]);
      expect((await store.dispatches.runDispatches(ws, 'run-1')).map((d) => d.id)).toEqual([a.dispatch.id, b.dispatch.id]);
      expect(await store.dispatches.runDispatches(ws, 'run-2')).toEqual([]);
      // Only from what it waits for now.
      expect(await store.dispatches.unhold(ws, b.dispatch.id, [{ stack: 'prod', component: 'dns' }], null)).toBeNull();
      const released = await store.dispatches.unhold(ws, b.dispatch.id, [vpc], null);
      expect(released).toMatchObject({ heldFor: null, reason: null });
      expect((await store.dispatches.heldDispatches(1000)).filter((d) => d.workspaceId === ws)).toEqual([]);
      expect((await store.dispatches.claimNext(ws, 'acme/infra/prod/eks', me)).claimed).toMatchObject({ id: b.dispatch.id });
    });

    it('keeps each pull_request delivery once, finds it by commit, and purges old ones', async () => {
      const sha = randomUUID().replace(/-/g, '').padEnd(40, '0');
      const facts = (deliveryId: string, action: string) => ({
        deliveryId, repository: 'Acme/Infra', action, merged: false, number: 7, headSha: sha, headRef: 'feature', baseRef: 'main', mergeCommitSha: null,
      });
      const before = await store.now();
      const d1 = `d-${randomUUID()}`;
      const d2 = `d-${randomUUID()}`;
      expect(await store.githubEvents.recordPullRequest(facts(d1, 'opened'))).toBe(true);
      expect(await store.githubEvents.recordPullRequest(facts(d1, 'opened'))).toBe(false);
      expect(await store.githubEvents.recordPullRequest(facts(d2, 'synchronize'))).toBe(true);
      expect((await store.githubEvents.pullRequestsFor('acme/infra', sha)).map((f) => [f.deliveryId, f.action])).toEqual(
        expect.arrayContaining([[d1, 'opened'], [d2, 'synchronize']]),
      );
      expect(await store.githubEvents.pullRequestsFor('acme/infra', sha)).toHaveLength(2);
      expect((await store.githubEvents.pullRequestsFor('ACME/INFRA', sha))[0]).toMatchObject({ repository: 'Acme/Infra', number: 7, mergeCommitSha: null });
      expect(await store.githubEvents.pullRequestsFor('acme/other', sha)).toEqual([]);
      expect((await store.githubEvents.pullRequestsSince(before, 1000)).map((f) => f.deliveryId)).toEqual(expect.arrayContaining([d1, d2]));
      await sleep(5);
      expect(await store.githubEvents.purgePullRequests(await store.now(), 1000)).toBeGreaterThanOrEqual(2);
      expect(await store.githubEvents.pullRequestsFor('acme/infra', sha)).toEqual([]);
    });

    it('puts a retried dispatch back at the head of its line until it is due', async () => {
      await fresh();
      const first = await store.dispatches.enqueue(input(), me);
      const later = (await store.dispatches.enqueue(input({ inputs: { n: 2 } }), me)).dispatch;
      expect(await store.dispatches.finish(first.dispatch.id, other, { state: 'dispatched' })).toBeNull();
      const back = await store.dispatches.finish(first.dispatch.id, me, { state: 'retry', reason: 'GitHub rate limit', retryInMs: 2000 });
      expect(back).toMatchObject({ state: 'waiting_for_lock', reason: 'GitHub rate limit', claimedBy: null, attempts: 1 });
      expect(back!.notBefore.getTime() - back!.updatedAt.getTime()).toBe(2000);
      // The later one may not overtake it while it waits.
      expect((await store.dispatches.claimNext(ws, 'acme/infra/prod/vpc', me)).claimed).toBeNull();
      await waitUntil(store, back!.notBefore);
      const again = await store.dispatches.claimNext(ws, 'acme/infra/prod/vpc', me);
      expect(again.claimed).toMatchObject({ id: first.dispatch.id, attempts: 2, reason: null });
      expect(later.state).toBe('waiting_for_lock');
      const failed = await store.dispatches.finish(first.dispatch.id, me, { state: 'failed', reason: 'GitHub answered HTTP 422: no' });
      expect(failed).toMatchObject({ state: 'failed', reason: 'GitHub answered HTTP 422: no', dispatchedAt: null });
      expect((await store.dispatches.claimNext(ws, 'acme/infra/prod/vpc', me)).claimed).toMatchObject({ id: later.id });
      expect(await actions()).toEqual(['workflow.failed', 'workflow.queued', 'workflow.queued', 'workflow.queued']);
    });

    it('times out dispatches that waited past their deadline', async () => {
      await fresh();
      await lock();
      const d = (await store.dispatches.enqueue(input({ maxWaitMs: 2000 }), me)).dispatch;
      expect(d.waitDeadline.getTime() - d.createdAt.getTime()).toBe(2000);
      expect((await store.dispatches.expireWaits(100)).filter((x) => x.workspaceId === ws)).toEqual([]);
      await waitUntil(store, d.waitDeadline);
      const expired = (await store.dispatches.expireWaits(100)).filter((x) => x.workspaceId === ws);
      expect(expired.map((x) => [x.id, x.state])).toEqual([[d.id, 'timed_out']]);
      expect(await actions()).toEqual(['workflow.timed_out', 'workflow.queued']);
    });

    it('fails a claim whose replica stopped renewing it, never hands it out again, but lets its sender record the truth', async () => {
      await fresh();
      const short: Claim = { replicaId: 'replica-dead', leaseMs: 2000, lockDelayMs: 0 };
      const d = (await store.dispatches.enqueue(input(), short)).dispatch;
      expect(d.state).toBe('dispatching');
      await store.dispatches.renewLeases(short, [d.id]);
      expect((await store.dispatches.recoverAbandoned({ all: false, limit: 100 })).filter((x) => x.workspaceId === ws)).toEqual([]);
      const renewed = (await store.dispatches.get(ws, d.id))!;
      expect(renewed.leaseUntil!.getTime()).toBeGreaterThanOrEqual(d.leaseUntil!.getTime());
      await waitUntil(store, renewed.leaseUntil!);
      const recovered = (await store.dispatches.recoverAbandoned({ all: false, limit: 100 })).filter((x) => x.workspaceId === ws);
      expect(recovered).toEqual([expect.objectContaining({ id: d.id, state: 'failed', reason: INTERRUPTED_REASON })]);
      expect((await store.dispatches.claimNext(ws, d.key, me)).claimed).toBeNull();
      expect(await store.dispatches.finish(d.id, short, { state: 'dispatched' })).toMatchObject({ state: 'dispatched', reason: null });

      const e = (await store.dispatches.enqueue(input({ key: 'crash' }), me)).dispatch;
      const all = (await store.dispatches.recoverAbandoned({ all: true, limit: 100 })).filter((x) => x.workspaceId === ws);
      expect(all.map((x) => x.id)).toEqual([e.id]);
    });

    it('cancels only a waiting dispatch', async () => {
      await fresh();
      await lock();
      const d = (await store.dispatches.enqueue(input(), me)).dispatch;
      const c = await store.dispatches.cancel(ws, d.id, 'token:ops', 'cancelled by token:ops: no longer needed');
      expect(c).toMatchObject({ outcome: 'cancelled', dispatch: { state: 'cancelled', reason: 'cancelled by token:ops: no longer needed' } });
      expect(await store.dispatches.cancel(ws, d.id, 'token:ops', null)).toMatchObject({ outcome: 'not_waiting', dispatch: { state: 'cancelled' } });
      expect(await store.dispatches.cancel(ws, 'missing', 'token:ops', null)).toEqual({ outcome: 'not_found' });
      const [ev] = await store.queryEvents({ workspaceId: ws, action: 'workflow.cancelled', limit: 1 });
      expect(ev).toMatchObject({ actor: 'token:ops', details: { dispatchId: d.id } });
    });

    it('lists newest first by key and state with paging, and keeps workspaces apart', async () => {
      await fresh();
      await lock('a');
      const made = [];
      for (const key of ['a', 'b', 'a', 'c']) made.push((await store.dispatches.enqueue(input({ key }), me)).dispatch);
      const all = await store.dispatches.list({ workspaceId: ws, limit: 10 });
      expect(all.map((d) => d.id)).toEqual(made.map((d) => d.id).reverse());
      expect((await store.dispatches.list({ workspaceId: ws, key: 'a', limit: 10 })).map((d) => d.id)).toEqual([made[2]!.id, made[0]!.id]);
      expect((await store.dispatches.list({ workspaceId: ws, state: 'waiting_for_lock', limit: 10 })).map((d) => d.key)).toEqual(['a', 'a']);
      const page1 = await store.dispatches.list({ workspaceId: ws, limit: 2 });
      const page2 = await store.dispatches.list({ workspaceId: ws, limit: 2, beforeSeq: page1[1]!.seq });
      expect([...page1, ...page2].map((d) => d.id)).toEqual(all.map((d) => d.id));
      const mine = ws;
      await fresh();
      expect(await store.dispatches.list({ workspaceId: ws, limit: 10 })).toEqual([]);
      expect(await store.dispatches.get(ws, made[0]!.id)).toBeNull();
      expect(await store.dispatches.get(mine, made[0]!.id)).not.toBeNull();
    });
  });
}

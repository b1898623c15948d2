import { randomUUID } from 'node:crypto';
import { INTERRUPTED_REASON, type Dispatch, type StackRef } from '../../core/dispatch.js';
import { dispatchEvent } from '../../core/dispatch-audit.js';
import { blockingLock } from '../../core/dispatch-rules.js';
import type {
  CancelResult,
  Claim,
  ClaimResult,
  DispatchStore,
  EnqueueResult,
  ListDispatchesQuery,
  NewDispatch,
  QueueKey,
  SendOutcome,
} from '../../core/ports/dispatches.js';
import type { SqliteContext } from './access-queries.js';
import { type DispatchRow, heldForJson, toDispatch } from '../dispatch-rows.js';
import { type LockRow, toLock } from './rows.js';

const ACTIVE = `state IN ('waiting_for_lock', 'dispatching')`;
/** A live lock blocks a key, and so does an expired one still within its lock-delay. */
const LOCKED = `EXISTS (SELECT 1 FROM locks l WHERE l.workspace_id = @ws AND l.key = @key AND l.expires_at + @delay > @now)`;
/** Someone who asked for the lock before this dispatch arrived is still in line for it: they go first. */
const EARLIER_WAITER = (ws: string, key: string, createdAt: string) =>
  `EXISTS (SELECT 1 FROM lock_waiters w WHERE w.workspace_id = ${ws} AND w.key = ${key}
           AND w.lease_expires_at > @now AND w.since <= ${createdAt})`;

function prepare(db: SqliteContext['db']) {
  return {
    insert: db.prepare<Record<string, unknown>, DispatchRow>(`
      INSERT INTO dispatches (id, workspace_id, key, repository, workflow, ref, inputs, source, pull_request, head_sha,
                              state, created_by, created_at, updated_at, wait_deadline, not_before, blocked_by,
                              run_id, dedupe_key, held_for, reason)
      VALUES (@id, @ws, @key, @repository, @workflow, @ref, @inputs, @source, @pr, @sha,
              'waiting_for_lock', @createdBy, @now, @now, @deadline, @now, @blockedBy,
              @runId, @dedupeKey, @heldFor, @reason)
      RETURNING *`),
    supersede: db.prepare<Record<string, unknown>, DispatchRow>(`
      UPDATE dispatches SET state = 'superseded', superseded_by = @id, updated_at = @now,
                            reason = 'superseded by a newer dispatch for the same pull request'
      WHERE workspace_id = @ws AND key = @key AND repository = @repository AND workflow = @workflow
        AND pull_request = @pr AND state = 'waiting_for_lock'
      RETURNING *`),
    // The gate, in one statement: the head of the key's queue, if waiting and due, while no lock blocks the key.
    claim: db.prepare<Record<string, unknown>, DispatchRow>(`
      UPDATE dispatches SET state = 'dispatching', claimed_by = @me, lease_until = @now + @lease,
                            attempts = attempts + 1, updated_at = @now, blocked_by = NULL, reason = NULL
      WHERE seq = (SELECT seq FROM dispatches WHERE workspace_id = @ws AND key = @key AND ${ACTIVE} ORDER BY seq LIMIT 1)
        AND state = 'waiting_for_lock' AND held_for IS NULL AND not_before <= @now AND wait_deadline > @now
        AND NOT ${LOCKED} AND NOT ${EARLIER_WAITER('@ws', '@key', 'dispatches.created_at')}
      RETURNING *`),
    blockingLock: db.prepare<Record<string, unknown>, LockRow>(
      `SELECT * FROM locks l WHERE l.workspace_id = @ws AND l.key = @key AND l.expires_at + @delay > @now`,
    ),
    reblock: db.prepare<Record<string, unknown>, DispatchRow>(`
      UPDATE dispatches SET blocked_by = @blockedBy, updated_at = @now
      WHERE workspace_id = @ws AND key = @key AND state = 'waiting_for_lock'
        AND (blocked_by IS NULL OR blocked_by <> @blockedBy)
      RETURNING *`),
    hasWaiting: db.prepare<Record<string, unknown>, { one: number }>(
      `SELECT 1 AS one FROM dispatches WHERE workspace_id = @ws AND key = @key AND ${ACTIVE} LIMIT 1`,
    ),
    readyKeys: db.prepare<Record<string, unknown>, { workspace_id: string; key: string }>(`
      SELECT d.workspace_id, d.key FROM dispatches d
      WHERE d.state = 'waiting_for_lock' AND d.held_for IS NULL AND d.not_before <= @now AND d.wait_deadline > @now
        AND d.seq = (SELECT min(h.seq) FROM dispatches h WHERE h.workspace_id = d.workspace_id AND h.key = d.key
                     AND h.state IN ('waiting_for_lock', 'dispatching'))
        AND NOT EXISTS (SELECT 1 FROM locks l WHERE l.workspace_id = d.workspace_id AND l.key = d.key
                        AND l.expires_at + @delay > @now)
        AND NOT ${EARLIER_WAITER('d.workspace_id', 'd.key', 'd.created_at')}
      LIMIT @limit`),
    renew: db.prepare<Record<string, unknown>>(`
      UPDATE dispatches SET lease_until = @now + @lease
      WHERE id IN (SELECT value FROM json_each(@ids)) AND claimed_by = @me AND state = 'dispatching'`),
    // A replica declared dead that did send after all may still record the truth.
    finish: db.prepare<Record<string, unknown>, DispatchRow>(`
      UPDATE dispatches SET state = @state, reason = @reason, updated_at = @now, lease_until = NULL,
                            dispatched_at = CASE WHEN @state = 'dispatched' THEN @now ELSE NULL END
      WHERE id = @id AND claimed_by = @me
        AND (state = 'dispatching' OR (state = 'failed' AND reason = @interrupted))
      RETURNING *`),
    retry: db.prepare<Record<string, unknown>, DispatchRow>(`
      UPDATE dispatches SET state = 'waiting_for_lock', reason = @reason, not_before = @notBefore, updated_at = @now,
                            claimed_by = NULL, lease_until = NULL
      WHERE id = @id AND claimed_by = @me AND state = 'dispatching'
      RETURNING *`),
    expire: db.prepare<Record<string, unknown>, DispatchRow>(`
      UPDATE dispatches SET state = 'timed_out', updated_at = @now,
                            reason = 'waited longer than the maximum wait for the lock'
      WHERE seq IN (SELECT seq FROM dispatches WHERE state = 'waiting_for_lock' AND wait_deadline <= @now
                    ORDER BY wait_deadline LIMIT @limit)
      RETURNING *`),
    recover: db.prepare<Record<string, unknown>, DispatchRow>(`
      UPDATE dispatches SET state = 'failed', reason = @interrupted, updated_at = @now, lease_until = NULL
      WHERE seq IN (SELECT seq FROM dispatches WHERE state = 'dispatching' AND (@all = 1 OR lease_until <= @now)
                    LIMIT @limit)
      RETURNING *`),
    cancel: db.prepare<Record<string, unknown>, DispatchRow>(`
      UPDATE dispatches SET state = 'cancelled', reason = @reason, updated_at = @now
      WHERE workspace_id = @ws AND id = @id AND state = 'waiting_for_lock'
      RETURNING *`),
    get: db.prepare<[string, string], DispatchRow>('SELECT * FROM dispatches WHERE workspace_id = ? AND id = ?'),
    byDedupe: db.prepare<[string, string], DispatchRow>('SELECT * FROM dispatches WHERE workspace_id = ? AND dedupe_key = ?'),
    run: db.prepare<[string, string], DispatchRow>('SELECT * FROM dispatches WHERE workspace_id = ? AND run_id = ? ORDER BY seq'),
    held: db.prepare<[number], DispatchRow>(
      `SELECT * FROM dispatches WHERE held_for IS NOT NULL AND state = 'waiting_for_lock' ORDER BY seq LIMIT ?`,
    ),
    unhold: db.prepare<Record<string, unknown>, DispatchRow>(`
      UPDATE dispatches SET held_for = @next, updated_at = @now, reason = CASE WHEN @next IS NULL THEN NULL ELSE reason END
      WHERE workspace_id = @ws AND id = @id AND state = 'waiting_for_lock' AND held_for = @expected
      RETURNING *`),
  };
}

export class SqliteDispatchStore implements DispatchStore {
  private readonly stmt: ReturnType<typeof prepare>;

  constructor(private readonly parts: SqliteContext) {
    this.stmt = prepare(parts.db);
  }

  enqueue(input: NewDispatch, claimant: Claim): Promise<EnqueueResult> {
    return this.parts.writes.run(() => {
      if (input.dedupeKey) {
        const existing = this.stmt.byDedupe.get(input.workspaceId, input.dedupeKey);
        if (existing) return { dispatch: toDispatch(existing), created: false, superseded: [], claimed: null };
      }
      const now = this.parts.clock.now().getTime();
      const id = randomUUID();
      const at = { ws: input.workspaceId, key: input.key, now };
      const superseded =
        input.pullRequest === null
          ? []
          : this.stmt.supersede.all({ ...at, id, repository: input.repository, workflow: input.workflow, pr: input.pullRequest }).map(toDispatch);
      const lockRow = this.stmt.blockingLock.get({ ...at, delay: claimant.lockDelayMs });
      const dispatch = toDispatch(
        this.stmt.insert.get({
          ...at,
          id,
          repository: input.repository,
          workflow: input.workflow,
          ref: input.ref,
          inputs: JSON.stringify(input.inputs),
          source: JSON.stringify(input.source),
          pr: input.pullRequest,
          sha: input.headSha,
          createdBy: input.createdBy,
          deadline: now + input.maxWaitMs,
          blockedBy: lockRow ? JSON.stringify(blockingLock(toLock(lockRow))) : null,
          runId: input.runId ?? null,
          dedupeKey: input.dedupeKey ?? null,
          heldFor: heldForJson(input.heldFor),
          reason: input.reason ?? null,
        }) as DispatchRow,
      );
      for (const s of superseded) this.parts.event(now, dispatchEvent('workflow.superseded', s, input.createdBy, { supersededBy: id }));
      this.parts.event(now, dispatchEvent('workflow.queued', dispatch, input.createdBy, { waitingFor: dispatch.blockedBy }));
      const claimedRow = this.stmt.claim.get({ ...at, me: claimant.replicaId, lease: claimant.leaseMs, delay: claimant.lockDelayMs });
      const claimed = claimedRow ? toDispatch(claimedRow) : null;
      return { dispatch: claimed?.id === id ? claimed : dispatch, created: true, superseded, claimed };
    });
  }

  claimNext(workspaceId: string, key: string, claimant: Claim): Promise<ClaimResult> {
    return this.parts.writes.run((): ClaimResult => {
      const at = { ws: workspaceId, key, now: this.parts.clock.now().getTime(), delay: claimant.lockDelayMs };
      const row = this.stmt.claim.get({ ...at, me: claimant.replicaId, lease: claimant.leaseMs });
      if (row) return { claimed: toDispatch(row) };
      const lockRow = this.stmt.blockingLock.get(at);
      if (!lockRow) return { claimed: null, lock: null, reblocked: [] };
      const lock = toLock(lockRow);
      const reblocked = this.stmt.reblock.all({ ...at, blockedBy: JSON.stringify(blockingLock(lock)) }).map(toDispatch);
      return { claimed: null, lock, reblocked };
    });
  }

  async hasWaiting(workspaceId: string, key: string): Promise<boolean> {
    return this.stmt.hasWaiting.get({ ws: workspaceId, key }) !== undefined;
  }

  async readyKeys(limit: number, lockDelayMs: number): Promise<QueueKey[]> {
    return this.stmt.readyKeys
      .all({ now: this.parts.clock.now().getTime(), delay: lockDelayMs, limit })
      .map((r) => ({ workspaceId: r.workspace_id, key: r.key }));
  }

  renewLeases(claimant: Claim, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    return this.parts.writes.run(() => {
      this.stmt.renew.run({ now: this.parts.clock.now().getTime(), lease: claimant.leaseMs, me: claimant.replicaId, ids: JSON.stringify(ids) });
    });
  }

  finish(id: string, claimant: Claim, outcome: SendOutcome): Promise<Dispatch | null> {
    return this.parts.writes.run(() => {
      const now = this.parts.clock.now().getTime();
      if (outcome.state === 'retry') {
        const row = this.stmt.retry.get({ id, me: claimant.replicaId, now, reason: outcome.reason, notBefore: now + outcome.retryInMs });
        if (!row) return null;
        const d = toDispatch(row);
        this.parts.event(now, dispatchEvent('workflow.queued', d, 'system', { retry: true, attempts: d.attempts, notBefore: d.notBefore.toISOString() }));
        return d;
      }
      const reason = outcome.state === 'failed' ? outcome.reason : null;
      const row = this.stmt.finish.get({ id, me: claimant.replicaId, now, state: outcome.state, reason, interrupted: INTERRUPTED_REASON });
      if (!row) return null;
      const d = toDispatch(row);
      this.parts.event(now, dispatchEvent(outcome.state === 'dispatched' ? 'workflow.dispatched' : 'workflow.failed', d, 'system', { attempts: d.attempts }));
      return d;
    });
  }

  expireWaits(limit: number): Promise<Dispatch[]> {
    return this.parts.writes.run(() => {
      const now = this.parts.clock.now().getTime();
      const rows = this.stmt.expire.all({ now, limit }).map(toDispatch);
      for (const d of rows) this.parts.event(now, dispatchEvent('workflow.timed_out', d, 'system'));
      return rows;
    });
  }

  recoverAbandoned(options: { readonly all: boolean; readonly limit: number }): Promise<Dispatch[]> {
    return this.parts.writes.run(() => {
      const now = this.parts.clock.now().getTime();
      const rows = this.stmt.recover.all({ now, all: options.all ? 1 : 0, limit: options.limit, interrupted: INTERRUPTED_REASON }).map(toDispatch);
      for (const d of rows) this.parts.event(now, dispatchEvent('workflow.failed', d, 'system', { interrupted: true, claimedBy: d.claimedBy }));
      return rows;
    });
  }

  cancel(workspaceId: string, id: string, actor: string, reason: string | null): Promise<CancelResult> {
    return this.parts.writes.run((): CancelResult => {
      const now = this.parts.clock.now().getTime();
      const row = this.stmt.cancel.get({ ws: workspaceId, id, now, reason: reason ?? `cancelled by ${actor}` });
      if (row) {
        const d = toDispatch(row);
        this.parts.event(now, dispatchEvent('workflow.cancelled', d, actor));
        return { outcome: 'cancelled', dispatch: d };
      }
      const existing = this.stmt.get.get(workspaceId, id);
      return existing ? { outcome: 'not_waiting', dispatch: toDispatch(existing) } : { outcome: 'not_found' };
    });
  }

  async get(workspaceId: string, id: string): Promise<Dispatch | null> {
    const row = this.stmt.get.get(workspaceId, id);
    return row ? toDispatch(row) : null;
  }

  async runDispatches(workspaceId: string, runId: string): Promise<Dispatch[]> {
    return this.stmt.run.all(workspaceId, runId).map(toDispatch);
  }

  async heldDispatches(limit: number): Promise<Dispatch[]> {
    return this.stmt.held.all(limit).map(toDispatch);
  }

  unhold(workspaceId: string, id: string, expected: readonly StackRef[], next: readonly StackRef[] | null): Promise<Dispatch | null> {
    return this.parts.writes.run(() => {
      const row = this.stmt.unhold.get({
        ws: workspaceId, id, now: this.parts.clock.now().getTime(), expected: heldForJson(expected), next: heldForJson(next),
      });
      return row ? toDispatch(row) : null;
    });
  }

  async list(q: ListDispatchesQuery): Promise<Dispatch[]> {
    const where = ['workspace_id = @ws'];
    if (q.key !== undefined) where.push('key = @key');
    if (q.state !== undefined) where.push('state = @state');
    if (q.beforeSeq !== undefined) where.push('seq < @before');
    return this.parts.db
      .prepare<Record<string, unknown>, DispatchRow>(`SELECT * FROM dispatches WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT @limit`)
      .all({ ws: q.workspaceId, key: q.key, state: q.state, before: q.beforeSeq, limit: q.limit })
      .map(toDispatch);
  }
}

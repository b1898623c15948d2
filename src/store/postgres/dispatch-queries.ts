import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { NewAuditEvent } from '../../core/audit.js';
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
import { type DispatchRow, heldForJson, toDispatch } from '../dispatch-rows.js';
import { eventParams, INSERT_EVENT_SQL, ms, NOW, whereDefined } from './lock-queries.js';
import { guarded, inTransaction } from './pool.js';
import { type LockRow, toLock } from './rows.js';

const ACTIVE = `state IN ('waiting_for_lock', 'dispatching')`;
/** $1 workspace, $2 key, $3 lock-delay ms: a live lock, or an expired one within its lock-delay. */
const BLOCKING_LOCK = `SELECT * FROM locks l WHERE l.workspace_id = $1 AND l.key = $2 AND l.expires_at + ${ms('$3')} > ${NOW}`;
/** Someone who asked for the lock before the dispatch `d` arrived is still in line for it: they go first. */
const EARLIER_WAITER = `EXISTS (SELECT 1 FROM lock_waiters w WHERE w.workspace_id = d.workspace_id AND w.key = d.key
                                 AND w.lease_expires_at > ${NOW} AND w.since <= d.created_at)`;

/**
 * The gate ($1 workspace, $2 key, $3 lock-delay ms, $4 replica, $5 lease ms). The head of the
 * key's queue is chosen without skipping (a locked head must not let the next one overtake it),
 * then locked with SKIP LOCKED: a replica that finds another claiming it goes away at once
 * instead of queueing behind it. FOR UPDATE re-reads the head's latest committed version, so
 * `state = 'waiting_for_lock'` holds on what is really there: a row is claimed at most once.
 */
const CLAIM = `
WITH head AS (
  SELECT seq FROM dispatches WHERE workspace_id = $1 AND key = $2 AND ${ACTIVE} ORDER BY seq LIMIT 1
), target AS (
  SELECT d.seq FROM dispatches d JOIN head USING (seq)
  WHERE d.state = 'waiting_for_lock' AND d.held_for IS NULL AND d.not_before <= ${NOW} AND d.wait_deadline > ${NOW}
    AND NOT EXISTS (${BLOCKING_LOCK}) AND NOT ${EARLIER_WAITER}
  FOR UPDATE OF d SKIP LOCKED
)
UPDATE dispatches d SET state = 'dispatching', claimed_by = $4, lease_until = ${NOW} + ${ms('$5')},
                        attempts = d.attempts + 1, updated_at = ${NOW}, blocked_by = NULL, reason = NULL
FROM target WHERE d.seq = target.seq
RETURNING d.*`;

type Query = <R extends pg.QueryResultRow>(sql: string, params: unknown[]) => Promise<R[]>;

/** The dispatch port on PostgreSQL; each change and its audit events commit in one transaction. */
export class PostgresDispatchStore implements DispatchStore {
  constructor(private readonly pool: pg.Pool) {}

  enqueue(input: NewDispatch, claimant: Claim): Promise<EnqueueResult> {
    return this.tx(async (q): Promise<EnqueueResult> => {
      if (input.dedupeKey) {
        const [existing] = await q<DispatchRow>('SELECT * FROM dispatches WHERE workspace_id = $1 AND dedupe_key = $2', [input.workspaceId, input.dedupeKey]);
        if (existing) return { dispatch: toDispatch(existing), created: false, superseded: [], claimed: null };
      }
      const id = randomUUID();
      const superseded =
        input.pullRequest === null
          ? []
          : (
              await q<DispatchRow>(
                `UPDATE dispatches SET state = 'superseded', superseded_by = $6, updated_at = ${NOW},
                        reason = 'superseded by a newer dispatch for the same pull request'
                 WHERE workspace_id = $1 AND key = $2 AND repository = $3 AND workflow = $4 AND pull_request = $5
                   AND state = 'waiting_for_lock'
                 RETURNING *`,
                [input.workspaceId, input.key, input.repository, input.workflow, input.pullRequest, id],
              )
            ).map(toDispatch);
      const [lockRow] = await q<LockRow>(BLOCKING_LOCK, [input.workspaceId, input.key, claimant.lockDelayMs]);
      const [row] = await q<DispatchRow>(
        `INSERT INTO dispatches (id, workspace_id, key, repository, workflow, ref, inputs, source, pull_request, head_sha,
                                 state, created_by, created_at, updated_at, wait_deadline, not_before, blocked_by,
                                 run_id, dedupe_key, held_for, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, 'waiting_for_lock', $11, ${NOW}, ${NOW},
                 ${NOW} + ${ms('$12')}, ${NOW}, $13::jsonb, $14, $15, $16::jsonb, $17)
         ON CONFLICT (workspace_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
         RETURNING *`,
        [id, input.workspaceId, input.key, input.repository, input.workflow, input.ref, JSON.stringify(input.inputs),
          JSON.stringify(input.source), input.pullRequest, input.headSha, input.createdBy, input.maxWaitMs,
          lockRow ? JSON.stringify(blockingLock(toLock(lockRow))) : null, input.runId ?? null, input.dedupeKey ?? null,
          heldForJson(input.heldFor), input.reason ?? null],
      );
      if (!row) {
        // Another replica planned the same run at the same moment: its dispatch stands.
        const [existing] = await q<DispatchRow>('SELECT * FROM dispatches WHERE workspace_id = $1 AND dedupe_key = $2', [input.workspaceId, input.dedupeKey]);
        return { dispatch: toDispatch(existing as DispatchRow), created: false, superseded: [], claimed: null };
      }
      const dispatch = toDispatch(row);
      const events = superseded.map((s) => dispatchEvent('workflow.superseded', s, input.createdBy, { supersededBy: id }));
      events.push(dispatchEvent('workflow.queued', dispatch, input.createdBy, { waitingFor: dispatch.blockedBy }));
      await this.events(q, events);
      // Inside the transaction the claim sees the new row; other replicas see it only once committed.
      const [claimedRow] = await q<DispatchRow>(CLAIM, [input.workspaceId, input.key, claimant.lockDelayMs, claimant.replicaId, claimant.leaseMs]);
      const claimed = claimedRow ? toDispatch(claimedRow) : null;
      return { dispatch: claimed?.id === id ? claimed : dispatch, created: true, superseded, claimed };
    });
  }

  claimNext(workspaceId: string, key: string, claimant: Claim): Promise<ClaimResult> {
    return this.tx(async (q): Promise<ClaimResult> => {
      const [row] = await q<DispatchRow>(CLAIM, [workspaceId, key, claimant.lockDelayMs, claimant.replicaId, claimant.leaseMs]);
      if (row) return { claimed: toDispatch(row) };
      const [lockRow] = await q<LockRow>(BLOCKING_LOCK, [workspaceId, key, claimant.lockDelayMs]);
      if (!lockRow) return { claimed: null, lock: null, reblocked: [] };
      const lock = toLock(lockRow);
      const reblocked = await q<DispatchRow>(
        `UPDATE dispatches SET blocked_by = $3::jsonb, updated_at = ${NOW}
         WHERE workspace_id = $1 AND key = $2 AND state = 'waiting_for_lock' AND blocked_by IS DISTINCT FROM $3::jsonb
         RETURNING *`,
        [workspaceId, key, JSON.stringify(blockingLock(lock))],
      );
      return { claimed: null, lock, reblocked: reblocked.map(toDispatch) };
    });
  }

  async hasWaiting(workspaceId: string, key: string): Promise<boolean> {
    return (await this.all(`SELECT 1 FROM dispatches WHERE workspace_id = $1 AND key = $2 AND ${ACTIVE} LIMIT 1`, [workspaceId, key])).length > 0;
  }

  async readyKeys(limit: number, lockDelayMs: number): Promise<QueueKey[]> {
    const rows = await this.all<{ workspace_id: string; key: string }>(
      `SELECT d.workspace_id, d.key FROM dispatches d
       WHERE d.state = 'waiting_for_lock' AND d.held_for IS NULL AND d.not_before <= ${NOW} AND d.wait_deadline > ${NOW}
         AND d.seq = (SELECT min(h.seq) FROM dispatches h WHERE h.workspace_id = d.workspace_id AND h.key = d.key AND h.${ACTIVE})
         AND NOT EXISTS (SELECT 1 FROM locks l WHERE l.workspace_id = d.workspace_id AND l.key = d.key
                         AND l.expires_at + ${ms('$1')} > ${NOW})
         AND NOT ${EARLIER_WAITER}
       LIMIT $2`,
      [lockDelayMs, limit],
    );
    return rows.map((r) => ({ workspaceId: r.workspace_id, key: r.key }));
  }

  async renewLeases(claimant: Claim, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.all(
      `UPDATE dispatches SET lease_until = ${NOW} + ${ms('$2')} WHERE id = ANY($3::text[]) AND claimed_by = $1 AND state = 'dispatching'`,
      [claimant.replicaId, claimant.leaseMs, ids],
    );
  }

  finish(id: string, claimant: Claim, outcome: SendOutcome): Promise<Dispatch | null> {
    return this.tx(async (q) => {
      if (outcome.state === 'retry') {
        const [row] = await q<DispatchRow>(
          `UPDATE dispatches SET state = 'waiting_for_lock', reason = $3, not_before = ${NOW} + ${ms('$4')}, updated_at = ${NOW},
                  claimed_by = NULL, lease_until = NULL
           WHERE id = $1 AND claimed_by = $2 AND state = 'dispatching' RETURNING *`,
          [id, claimant.replicaId, outcome.reason, outcome.retryInMs],
        );
        if (!row) return null;
        const d = toDispatch(row);
        await this.events(q, [dispatchEvent('workflow.queued', d, 'system', { retry: true, attempts: d.attempts, notBefore: d.notBefore.toISOString() })]);
        return d;
      }
      // A replica declared dead that did send after all may still record the truth.
      const [row] = await q<DispatchRow>(
        `UPDATE dispatches SET state = $3, reason = $4, updated_at = ${NOW}, lease_until = NULL,
                dispatched_at = CASE WHEN $3 = 'dispatched' THEN ${NOW} ELSE NULL END
         WHERE id = $1 AND claimed_by = $2 AND (state = 'dispatching' OR (state = 'failed' AND reason = $5))
         RETURNING *`,
        [id, claimant.replicaId, outcome.state, outcome.state === 'failed' ? outcome.reason : null, INTERRUPTED_REASON],
      );
      if (!row) return null;
      const d = toDispatch(row);
      await this.events(q, [dispatchEvent(outcome.state === 'dispatched' ? 'workflow.dispatched' : 'workflow.failed', d, 'system', { attempts: d.attempts })]);
      return d;
    });
  }

  expireWaits(limit: number): Promise<Dispatch[]> {
    return this.tx(async (q) => {
      const rows = (
        await q<DispatchRow>(
          `UPDATE dispatches SET state = 'timed_out', updated_at = ${NOW}, reason = 'waited longer than the maximum wait for the lock'
           WHERE seq IN (SELECT seq FROM dispatches WHERE state = 'waiting_for_lock' AND wait_deadline <= ${NOW}
                         ORDER BY wait_deadline LIMIT $1 FOR UPDATE SKIP LOCKED)
             AND state = 'waiting_for_lock'
           RETURNING *`,
          [limit],
        )
      ).map(toDispatch);
      await this.events(q, rows.map((d) => dispatchEvent('workflow.timed_out', d, 'system')));
      return rows;
    });
  }

  recoverAbandoned(options: { readonly all: boolean; readonly limit: number }): Promise<Dispatch[]> {
    return this.tx(async (q) => {
      const rows = (
        await q<DispatchRow>(
          `UPDATE dispatches SET state = 'failed', reason = $3, updated_at = ${NOW}, lease_until = NULL
           WHERE seq IN (SELECT seq FROM dispatches WHERE state = 'dispatching' AND ($1 OR lease_until <= ${NOW})
                         LIMIT $2 FOR UPDATE SKIP LOCKED)
             AND state = 'dispatching' AND ($1 OR lease_until <= ${NOW})
           RETURNING *`,
          [options.all, options.limit, INTERRUPTED_REASON],
        )
      ).map(toDispatch);
      await this.events(q, rows.map((d) => dispatchEvent('workflow.failed', d, 'system', { interrupted: true, claimedBy: d.claimedBy })));
      return rows;
    });
  }

  cancel(workspaceId: string, id: string, actor: string, reason: string | null): Promise<CancelResult> {
    return this.tx(async (q): Promise<CancelResult> => {
      const [row] = await q<DispatchRow>(
        `UPDATE dispatches SET state = 'cancelled', reason = $3, updated_at = ${NOW}
         WHERE workspace_id = $1 AND id = $2 AND state = 'waiting_for_lock' RETURNING *`,
        [workspaceId, id, reason ?? `cancelled by ${actor}`],
      );
      if (row) {
        const d = toDispatch(row);
        await this.events(q, [dispatchEvent('workflow.cancelled', d, actor)]);
        return { outcome: 'cancelled', dispatch: d };
      }
      const [existing] = await q<DispatchRow>('SELECT * FROM dispatches WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
      return existing ? { outcome: 'not_waiting', dispatch: toDispatch(existing) } : { outcome: 'not_found' };
    });
  }

  async get(workspaceId: string, id: string): Promise<Dispatch | null> {
    const [row] = await this.all<DispatchRow>('SELECT * FROM dispatches WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
    return row ? toDispatch(row) : null;
  }

  async runDispatches(workspaceId: string, runId: string): Promise<Dispatch[]> {
    return (await this.all<DispatchRow>('SELECT * FROM dispatches WHERE workspace_id = $1 AND run_id = $2 ORDER BY seq', [workspaceId, runId])).map(toDispatch);
  }

  async heldDispatches(limit: number): Promise<Dispatch[]> {
    const rows = await this.all<DispatchRow>(
      `SELECT * FROM dispatches WHERE held_for IS NOT NULL AND state = 'waiting_for_lock' ORDER BY seq LIMIT $1`,
      [limit],
    );
    return rows.map(toDispatch);
  }

  async unhold(workspaceId: string, id: string, expected: readonly StackRef[], next: readonly StackRef[] | null): Promise<Dispatch | null> {
    const [row] = await this.all<DispatchRow>(
      `UPDATE dispatches SET held_for = $4::jsonb, updated_at = ${NOW}, reason = CASE WHEN $4::jsonb IS NULL THEN NULL ELSE reason END
       WHERE workspace_id = $1 AND id = $2 AND state = 'waiting_for_lock' AND held_for = $3::jsonb
       RETURNING *`,
      [workspaceId, id, heldForJson(expected), heldForJson(next)],
    );
    return row ? toDispatch(row) : null;
  }

  async list(q: ListDispatchesQuery): Promise<Dispatch[]> {
    const { where, params } = whereDefined([
      ['workspace_id = ?', q.workspaceId], ['key = ?', q.key], ['state = ?', q.state], ['seq < ?', q.beforeSeq],
    ]);
    params.push(q.limit);
    const rows = await this.all<DispatchRow>(`SELECT * FROM dispatches WHERE ${where} ORDER BY seq DESC LIMIT $${params.length}`, params);
    return rows.map(toDispatch);
  }

  private async events(q: Query, events: NewAuditEvent[]): Promise<void> {
    for (const e of events) await q(INSERT_EVENT_SQL, eventParams(e));
  }

  private async all<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[]): Promise<R[]> {
    return guarded(async () => (await this.pool.query<R>(sql, params)).rows);
  }

  private tx<T>(work: (q: Query) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, (client) => work(async (sql, params) => (await client.query(sql, params)).rows));
  }
}

import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Lock } from '../../core/types.js';
import { toWaiter, type WaiterRow } from '../lease-rows.js';
import type { LeaseStore, NewWaiter, RenewInput, RenewResult, Waiter } from '../../core/ports/leases.js';
import type { ChangeFeed } from './change-feed.js';
import { iso, ms, NOW } from './lock-queries.js';
import type { Prepared } from './pool.js';
import { type LockRow, toLock } from './rows.js';

/**
 * Heartbeat in one statement: extends the live grant $3 on key $2 of principal $4 by $5 ms (null:
 * by the length of its last grant or renewal, expires_at - updated_at), with its lock.renewed
 * event (the change feed announces it once committed). The fencing token is unchanged.
 */
const RENEW: Prepared = { name: 'stacklock_lease_renew', text: `
WITH up AS (
  UPDATE locks SET expires_at = ${NOW} + coalesce(${ms('$5')}, expires_at - updated_at), updated_at = ${NOW}
  WHERE workspace_id = $1 AND key = $2 AND token = $3 AND principal = $4 AND expires_at > ${NOW}
  RETURNING *
), ev AS (
  INSERT INTO events (workspace_id, at, action, actor, key, token, details)
  SELECT up.workspace_id, up.updated_at, 'lock.renewed', $4, up.key, up.token,
         jsonb_build_object('holderId', up.holder_id, 'expiresAt', ${iso('up.expires_at')}, 'heartbeat', true)
  FROM up
  RETURNING id
)
SELECT up.*, ARRAY(SELECT id FROM ev) AS event_ids FROM up` };

/** What a waiter runs while it waits, prepared as the lock path's statements are (pool.ts). */
const REFRESH: Prepared = {
  name: 'stacklock_waiter_refresh',
  text: `UPDATE lock_waiters SET lease_expires_at = ${NOW} + ${ms('$2')} WHERE id = $1 AND lease_expires_at > ${NOW} RETURNING seq`,
};
const QUEUE: Prepared = {
  name: 'stacklock_waiter_queue',
  text: `SELECT * FROM lock_waiters WHERE workspace_id = $1 AND key = $2 AND lease_expires_at > ${NOW} ORDER BY seq`,
};

/**
 * Joins the line. The workspace row is locked first (joins in a workspace take turns; grants no
 * longer lock it since migration 0017), so seq (taken after the lock) follows commit order: a
 * waiter that joined later never gets a smaller seq.
 */
const ENQUEUE_SQL = `
WITH ws AS (
  SELECT id FROM workspaces WHERE id = $2 FOR NO KEY UPDATE
)
INSERT INTO lock_waiters (id, workspace_id, key, principal, holder_id, message, since, lease_expires_at)
SELECT $1, ws.id, $3, $4, $5, $6, ${NOW}, ${NOW} + ${ms('$7')} FROM ws
RETURNING *`;

/** What the lease statements share with the PostgresStore: its guarded queries and change feed. */
export interface PostgresContext {
  all<R extends pg.QueryResultRow>(sql: string | Prepared, params: unknown[]): Promise<R[]>;
  readonly feed: ChangeFeed;
}

export class PostgresLeases implements LeaseStore {
  constructor(private readonly ctx: PostgresContext) {}

  private async one<R extends pg.QueryResultRow>(sql: string | Prepared, params: unknown[]): Promise<R | null> {
    return (await this.ctx.all<R>(sql, params))[0] ?? null;
  }

  async renew(input: RenewInput): Promise<RenewResult> {
    const row = await this.one<LockRow & { event_ids: number[] | null }>(RENEW, [
      input.workspaceId, input.key, input.token, input.principal, input.ttlMs ?? null,
    ]);
    if (!row) {
      const live = await this.one<LockRow>(`SELECT * FROM locks WHERE workspace_id = $1 AND key = $2 AND expires_at > ${NOW}`, [
        input.workspaceId, input.key,
      ]);
      return { outcome: 'lost', current: live ? toLock(live) : null };
    }
    const lock = toLock(row);
    this.ctx.feed.local(row.event_ids ?? [], { workspaceId: lock.workspaceId, key: lock.key, kind: 'renewed', token: lock.token });
    return { outcome: 'renewed', lock };
  }

  async enqueue(input: NewWaiter): Promise<Waiter> {
    const row = await this.one<WaiterRow>(ENQUEUE_SQL, [
      randomUUID(), input.workspaceId, input.key, input.holder.principal, input.holder.holderId, input.message, input.leaseMs,
    ]);
    if (!row) throw new Error(`no such workspace: ${input.workspaceId}`);
    return toWaiter(row);
  }

  async refresh(waiterId: string, leaseMs: number): Promise<boolean> {
    return (await this.ctx.all(REFRESH, [waiterId, leaseMs])).length > 0;
  }

  async leave(waiterId: string): Promise<boolean> {
    return (await this.ctx.all('DELETE FROM lock_waiters WHERE id = $1 RETURNING seq', [waiterId])).length > 0;
  }

  async queue(workspaceId: string, key: string): Promise<Waiter[]> {
    return (await this.ctx.all<WaiterRow>(QUEUE, [workspaceId, key])).map(toWaiter);
  }

  async queueLengths(workspaceId: string, keys: readonly string[]): Promise<Map<string, number>> {
    if (keys.length === 0) return new Map();
    const rows = await this.ctx.all<{ key: string; n: number }>(
      `SELECT key, count(*)::integer AS n FROM lock_waiters
       WHERE workspace_id = $1 AND key = ANY($2::text[]) AND lease_expires_at > ${NOW} GROUP BY key`,
      [workspaceId, keys],
    );
    return new Map(rows.map((r) => [r.key, r.n]));
  }

  async purgeLapsed(limit: number): Promise<number> {
    const rows = await this.ctx.all(
      `DELETE FROM lock_waiters WHERE seq IN (
         SELECT seq FROM lock_waiters WHERE lease_expires_at <= ${NOW} LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING seq`,
      [limit],
    );
    return rows.length;
  }

  async blockingLock(workspaceId: string, key: string, lockDelayMs: number): Promise<Lock | null> {
    const row = await this.one<LockRow>(
      `SELECT * FROM locks WHERE workspace_id = $1 AND key = $2 AND expires_at + ${ms('$3')} > ${NOW}`,
      [workspaceId, key, lockDelayMs],
    );
    return row ? toLock(row) : null;
  }
}

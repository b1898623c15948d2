import { randomUUID } from 'node:crypto';
import type { Lock } from '../../core/types.js';
import { toWaiter, type WaiterRow } from '../lease-rows.js';
import type { LeaseStore, NewWaiter, RenewInput, RenewResult, Waiter } from '../../core/ports/leases.js';
import type { LockChange } from '../../core/ports/locks.js';
import type { SqliteContext } from './access-queries.js';
import { type LockRow, toLock } from './rows.js';

/**
 * Whether the line of waiters lets this acquire (@ws, @key, @now, @waiterId) take an available key:
 * without a waiter id, only when no live waiter exists; with one, only when that waiter is live
 * and no live waiter is ahead of it. Part of the acquire statement (sqlite-store.ts).
 */
export const QUEUE_ALLOWS = `(CASE WHEN @waiterId IS NULL
    THEN NOT EXISTS (SELECT 1 FROM lock_waiters q
                     WHERE q.workspace_id = @ws AND q.key = @key AND q.lease_expires_at > @now)
    ELSE EXISTS (SELECT 1 FROM lock_waiters me
                 WHERE me.id = @waiterId AND me.workspace_id = @ws AND me.key = @key AND me.lease_expires_at > @now
                   AND NOT EXISTS (SELECT 1 FROM lock_waiters q
                                   WHERE q.workspace_id = @ws AND q.key = @key AND q.lease_expires_at > @now AND q.seq < me.seq))
  END)`;

/** The store's shared context, plus its change notification (leases change locks). */
export interface SqliteLeaseContext extends SqliteContext {
  /** Tells listeners once the current write is durable. */
  readonly notify: (change: LockChange) => void;
}

export class SqliteLeases implements LeaseStore {
  private readonly stmt;

  constructor(private readonly ctx: SqliteLeaseContext) {
    const db = ctx.db;
    this.stmt = {
      // The default TTL is the last grant's or renewal's: each sets expires_at = updated_at + ttl.
      renew: db.prepare<Record<string, unknown>, LockRow>(`
        UPDATE locks SET expires_at = @now + coalesce(@ttl, expires_at - updated_at), updated_at = @now
        WHERE workspace_id = @ws AND key = @key AND token = @token AND principal = @principal AND expires_at > @now
        RETURNING *`),
      live: db.prepare<[string, string, number], LockRow>('SELECT * FROM locks WHERE workspace_id = ? AND key = ? AND expires_at > ?'),
      blocking: db.prepare<[string, string, number, number], LockRow>(
        'SELECT * FROM locks WHERE workspace_id = ? AND key = ? AND expires_at + ? > ?',
      ),
      enqueue: db.prepare<Record<string, unknown>, WaiterRow>(`
        INSERT INTO lock_waiters (id, workspace_id, key, principal, holder_id, message, since, lease_expires_at)
        VALUES (@id, @ws, @key, @principal, @holderId, @message, @now, @now + @lease)
        RETURNING *`),
      refresh: db.prepare<[number, string, number]>('UPDATE lock_waiters SET lease_expires_at = ? WHERE id = ? AND lease_expires_at > ?'),
      leave: db.prepare<[string]>('DELETE FROM lock_waiters WHERE id = ?'),
      queue: db.prepare<[string, string, number], WaiterRow>(
        'SELECT * FROM lock_waiters WHERE workspace_id = ? AND key = ? AND lease_expires_at > ? ORDER BY seq',
      ),
      queueLengths: db.prepare<[string, string, number], { key: string; n: number }>(
        `SELECT key, count(*) AS n FROM lock_waiters
         WHERE workspace_id = ? AND key IN (SELECT value FROM json_each(?)) AND lease_expires_at > ? GROUP BY key`,
      ),
      purge: db.prepare<[number, number]>(
        'DELETE FROM lock_waiters WHERE seq IN (SELECT seq FROM lock_waiters WHERE lease_expires_at <= ? LIMIT ?)',
      ),
    };
  }

  renew(input: RenewInput): Promise<RenewResult> {
    return this.ctx.writes.run((): RenewResult => {
      const now = this.ctx.clock.now().getTime();
      const row = this.stmt.renew.get({
        ws: input.workspaceId,
        key: input.key,
        token: input.token,
        principal: input.principal,
        ttl: input.ttlMs ?? null,
        now,
      });
      if (!row) {
        const live = this.stmt.live.get(input.workspaceId, input.key, now);
        return { outcome: 'lost', current: live ? toLock(live) : null };
      }
      const lock = toLock(row);
      this.ctx.event(now, { workspaceId: lock.workspaceId, action: 'lock.renewed', actor: input.principal, key: lock.key,
        token: lock.token, details: { holderId: lock.holder.holderId, expiresAt: lock.expiresAt.toISOString(), heartbeat: true } });
      this.ctx.notify({ workspaceId: lock.workspaceId, key: lock.key, kind: 'renewed', token: lock.token });
      return { outcome: 'renewed', lock };
    });
  }

  enqueue(input: NewWaiter): Promise<Waiter> {
    return this.ctx.writes.run(() =>
      toWaiter(
        this.stmt.enqueue.get({
          id: randomUUID(),
          ws: input.workspaceId,
          key: input.key,
          principal: input.holder.principal,
          holderId: input.holder.holderId,
          message: input.message,
          now: this.ctx.clock.now().getTime(),
          lease: input.leaseMs,
        }) as WaiterRow,
      ),
    );
  }

  refresh(waiterId: string, leaseMs: number): Promise<boolean> {
    return this.ctx.writes.run(() => {
      const now = this.ctx.clock.now().getTime();
      return this.stmt.refresh.run(now + leaseMs, waiterId, now).changes > 0;
    });
  }

  leave(waiterId: string): Promise<boolean> {
    return this.ctx.writes.run(() => this.stmt.leave.run(waiterId).changes > 0);
  }

  async queue(workspaceId: string, key: string): Promise<Waiter[]> {
    return this.stmt.queue.all(workspaceId, key, this.ctx.clock.now().getTime()).map(toWaiter);
  }

  async queueLengths(workspaceId: string, keys: readonly string[]): Promise<Map<string, number>> {
    if (keys.length === 0) return new Map();
    const rows = this.stmt.queueLengths.all(workspaceId, JSON.stringify(keys), this.ctx.clock.now().getTime());
    return new Map(rows.map((r) => [r.key, r.n]));
  }

  purgeLapsed(limit: number): Promise<number> {
    return this.ctx.writes.run(() => this.stmt.purge.run(this.ctx.clock.now().getTime(), limit).changes);
  }

  async blockingLock(workspaceId: string, key: string, lockDelayMs: number): Promise<Lock | null> {
    const row = this.stmt.blocking.get(workspaceId, key, lockDelayMs, this.ctx.clock.now().getTime());
    return row ? toLock(row) : null;
  }
}

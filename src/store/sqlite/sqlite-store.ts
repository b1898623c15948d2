import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import type { AuditEvent, AuditQuery, NewAuditEvent } from '../../core/audit.js';
import { type Clock, systemClock } from '../../core/clock.js';
import { DomainError } from '../../core/errors.js';
import { mayRelease } from '../../core/lock-rules.js';
import type { Lock } from '../../core/types.js';
import type {
  AcquireInput,
  AcquireResult,
  ApiTokenRecord,
  ListLocksPage,
  ListLocksQuery,
  LockChange,
  NewApiToken,
  ReleaseInput,
  ReleaseResult,
  RevokeApiToken,
  StoreCapabilities,
  Workspace,
} from '../../core/ports/locks.js';
import { lastAdminTokenMessage } from '../../core/ports/locks.js';
import type { Store } from '../../core/ports/store.js';
import { SqliteAccessStore } from './access-queries.js';
import { SqliteAtmosUploadStore } from './atmos-upload-queries.js';
import type { DashboardSessionStore } from '../../core/ports/dashboard-sessions.js';
import type { CommitStats, CommitStatsSource } from '../../core/ports/commit-stats.js';
import { SqliteDispatchStore } from './dispatch-queries.js';
import { SqliteGitHubEvents } from './github-event-queries.js';
import { GroupCommitter } from './group-commit.js';
import { QUEUE_ALLOWS, SqliteLeases } from './lease-queries.js';
import { MIGRATIONS } from './migrations/index.js';
import { SqliteDashboardSessions } from './dashboard-session-queries.js';
import { type EventRow, type LockRow, type TokenRow, type WorkspaceRow, toEvent, toLock, toToken, toWorkspace } from './rows.js';

/** Exclusive upper bound of every key starting with a prefix (keys never contain U+10FFFF). */
const TOP = '\u{10FFFF}';

export interface SqliteStoreOptions {
  /** A file path, or ':memory:' for tests. */
  readonly path: string;
  readonly clock?: Clock;
}

export class SqliteStore implements Store, CommitStatsSource {
  readonly capabilities: StoreCapabilities = {
    backend: 'sqlite',
    clock: 'server',
    multiReplica: false,
    groupCommit: true,
  };

  private readonly db: Database.Database;
  private readonly clock: Clock;
  private readonly writes: GroupCommitter;
  private readonly changes = new EventEmitter();
  private readonly stmt: ReturnType<SqliteStore['prepare']>;
  readonly access: SqliteAccessStore;
  readonly atmos: SqliteAtmosUploadStore;
  /** Dashboard sign-in sessions (a port of its own: see core/ports/dashboard-sessions.ts). */
  readonly dashboardSessions: DashboardSessionStore;
  readonly leases: SqliteLeases;
  /** The dispatch queue in the same database, sharing this store's group commit and clock. */
  readonly dispatches: SqliteDispatchStore;
  readonly githubEvents: SqliteGitHubEvents;

  constructor(options: SqliteStoreOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    // FULL: a commit is on disk when it returns, so an acknowledged grant survives kill -9 and power loss.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    // Savepoint (statement) journals in memory, not in temporary files: they only ever serve a
    // rollback within the open transaction, and on disk each page copied into them was a write().
    this.db.pragma('temp_store = MEMORY');
    this.clock = options.clock ?? systemClock;
    this.applyMigrations();
    this.writes = new GroupCommitter(this.db);
    this.stmt = this.prepare();
    this.dashboardSessions = new SqliteDashboardSessions(this.db, this.clock, this.writes);
    this.changes.setMaxListeners(0);
    const context = { db: this.db, writes: this.writes, clock: this.clock, event: (now: number, e: NewAuditEvent) => this.event(now, e) };
    this.access = new SqliteAccessStore(context);
    this.atmos = new SqliteAtmosUploadStore(context);
    this.leases = new SqliteLeases({ ...context, notify: (change) => this.notify(change) });
    this.dispatches = new SqliteDispatchStore(context);
    this.githubEvents = new SqliteGitHubEvents(context);
  }

  async migrate(): Promise<void> {
    // Migrations run in the constructor: statements cannot be prepared against a missing schema.
  }

  private applyMigrations(): void {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    const applied = new Set(
      (this.db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version),
    );
    // In version order whatever the order of the list: numbers are reserved per issue, gaps are fine.
    for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db
          .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(m.version, m.name, Date.now());
      }).immediate();
    }
  }

  private prepare() {
    const db = this.db;
    return {
      getAny: db.prepare<[string, string], LockRow>('SELECT * FROM locks WHERE workspace_id = ? AND key = ?'),
      getLive: db.prepare<[string, string, number], LockRow>(
        'SELECT * FROM locks WHERE workspace_id = ? AND key = ? AND expires_at > ?',
      ),
      // The acquire rule (SPEC 1) decided in one statement: insert when free; overwrite an
      // expired row (past its lock-delay) with a new grant; extend a live one only for the same
      // principal with the same non-empty holderId. An available key goes only to the head of its
      // line of waiters (QUEUE_ALLOWS); a renewal ignores the line. The SELECT's WHERE lets a row
      // through to ON CONFLICT only when the line allows it or it renews (the same rule as
      // PostgreSQL's, where it matters: see ENTRY in postgres/lock-queries.ts). In SET,
      // `locks.*` is the old row, so `locks.expires_at > @now` there means "this is a renewal".
      acquire: db.prepare<Record<string, unknown>, LockRow>(`
        INSERT INTO locks (workspace_id, key, id, principal, holder_id, message, token,
                           acquired_at, updated_at, expires_at, properties, details)
        SELECT @ws, @key, @id, @principal, @holderId, @message,
               (SELECT fence + 1 FROM workspaces WHERE id = @ws),
               @now, @now, @expiresAt, @properties, @details
        WHERE ${QUEUE_ALLOWS}
           OR EXISTS (SELECT 1 FROM locks x WHERE x.workspace_id = @ws AND x.key = @key AND x.expires_at > @now
                      AND x.principal = @principal AND x.holder_id IS NOT NULL AND x.holder_id = @holderId)
        ON CONFLICT (workspace_id, key) DO UPDATE SET
          id          = CASE WHEN locks.expires_at > @now THEN locks.id ELSE excluded.id END,
          token       = CASE WHEN locks.expires_at > @now THEN locks.token ELSE excluded.token END,
          acquired_at = CASE WHEN locks.expires_at > @now THEN locks.acquired_at ELSE excluded.acquired_at END,
          properties  = CASE WHEN locks.expires_at > @now THEN coalesce(excluded.properties, locks.properties)
                             ELSE excluded.properties END,
          principal   = excluded.principal,
          holder_id   = excluded.holder_id,
          message     = excluded.message,
          updated_at  = excluded.updated_at,
          expires_at  = excluded.expires_at,
          details     = excluded.details
        WHERE (locks.expires_at + @delay <= @now AND ${QUEUE_ALLOWS})
           OR (locks.expires_at > @now AND locks.principal = @principal
               AND locks.holder_id IS NOT NULL AND locks.holder_id = @holderId)
        RETURNING *`),
      waiterAhead: db.prepare<Record<string, unknown>, { me: number | null; ahead: number }>(`
        SELECT (SELECT seq FROM lock_waiters WHERE id = @waiterId AND lease_expires_at > @now) AS me,
               (SELECT count(*) FROM lock_waiters q WHERE q.workspace_id = @ws AND q.key = @key AND q.lease_expires_at > @now
                  AND q.seq < coalesce((SELECT seq FROM lock_waiters WHERE id = @waiterId), 9223372036854775807)) AS ahead`),
      leaveLine: db.prepare<[string]>('DELETE FROM lock_waiters WHERE id = ?'),
      bumpFence: db.prepare<{ token: number; ws: string }>('UPDATE workspaces SET fence = @token WHERE id = @ws AND fence < @token'),
      // Release (SPEC 2) in one statement: the holder's own live lock, or anyone's with a permitted force.
      release: db.prepare<Record<string, unknown>, LockRow>(`
        DELETE FROM locks
        WHERE workspace_id = @ws AND key = @key AND expires_at > @now
          AND ((principal = @principal AND (@holderId IS NULL OR holder_id = @holderId)) OR @forceOk = 1)
        RETURNING *`),
      reap: db.prepare<[number, number], LockRow>(`
        DELETE FROM locks WHERE (workspace_id, key) IN (
          SELECT workspace_id, key FROM locks WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)
        RETURNING *`),
      list: db.prepare<Record<string, unknown>, LockRow>(`
        SELECT * FROM locks
        WHERE workspace_id = @ws AND key >= @from AND key < @to AND key > @after AND expires_at + @delay > @now
        ORDER BY key LIMIT @limit`),
      insertEvent: db.prepare<Record<string, unknown>>(
        'INSERT INTO events (workspace_id, at, action, actor, key, token, details) VALUES (@ws, @at, @action, @actor, @key, @token, @details)',
      ),
      workspaceByName: db.prepare<[string], WorkspaceRow>('SELECT * FROM workspaces WHERE name = ?'),
      workspaceById: db.prepare<[string], WorkspaceRow>('SELECT * FROM workspaces WHERE id = ?'),
      insertWorkspace: db.prepare<[string, string, number]>(
        'INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING',
      ),
      insertToken: db.prepare<Record<string, unknown>>(
        'INSERT INTO api_tokens (id, workspace_id, name, token_hash, scopes, created_by, created_at) VALUES (@id, @ws, @name, @hash, @scopes, @createdBy, @at)',
      ),
      tokenByHash: db.prepare<[string], TokenRow>('SELECT * FROM api_tokens WHERE token_hash = ?'),
      tokenByName: db.prepare<[string, string], TokenRow>('SELECT * FROM api_tokens WHERE workspace_id = ? AND name = ?'),
      countTokens: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM api_tokens WHERE workspace_id = ?'),
      tokensOf: db.prepare<[string], TokenRow>('SELECT * FROM api_tokens WHERE workspace_id = ? ORDER BY name'),
      liveAdminTokens: db.prepare<[string], { n: number }>(
        `SELECT count(*) AS n FROM api_tokens, json_each(api_tokens.scopes)
         WHERE workspace_id = ? AND revoked_at IS NULL AND json_each.value = 'admin'`,
      ),
      revokeToken: db.prepare<[number, string]>('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    };
  }

  async close(): Promise<void> {
    // Let queued writes finish before closing.
    await this.writes.run(() => undefined);
    this.db.close();
  }

  async now(): Promise<Date> {
    return this.clock.now();
  }

  /** The group commit's counters (the CommitStatsSource port). */
  commitStats(): CommitStats {
    return this.writes.stats();
  }

  /** Direct access for tests and tools that inspect the file; not part of the port. */
  get database(): Database.Database {
    return this.db;
  }

  acquire(input: AcquireInput): Promise<AcquireResult> {
    return this.writes.run((): AcquireResult => {
      const now = this.clock.now().getTime();
      const previousRow = this.stmt.getAny.get(input.workspaceId, input.key);
      const id = randomUUID();
      const waiterId = input.waiterId ?? null;
      const delay = input.lockDelayMs ?? 0;
      const row = this.stmt.acquire.get({
        ws: input.workspaceId,
        key: input.key,
        id,
        principal: input.holder.principal,
        holderId: input.holder.holderId,
        message: input.message,
        now,
        expiresAt: now + input.ttlMs,
        properties: input.properties ? JSON.stringify(input.properties) : null,
        details: input.details ? JSON.stringify(input.details) : null,
        delay,
        waiterId,
      });
      const previous = previousRow ? toLock(previousRow) : null;
      if (!row) return this.refused(input, previous, now, delay);
      if (waiterId) this.stmt.leaveLine.run(waiterId);
      const lock = toLock(row);
      if (row.id !== id) {
        this.event(now, { workspaceId: input.workspaceId, action: 'lock.renewed', actor: input.holder.principal, key: input.key,
          token: lock.token, details: { holderId: lock.holder.holderId, expiresAt: lock.expiresAt.toISOString() } });
        this.notify({ workspaceId: input.workspaceId, key: input.key, kind: 'renewed', token: lock.token });
        return { outcome: 'renewed', lock } as const;
      }
      this.stmt.bumpFence.run({ token: lock.token, ws: input.workspaceId });
      if (previous) {
        this.event(now, { workspaceId: input.workspaceId, action: 'lock.expired', actor: 'system', key: input.key,
          token: previous.token, details: { holder: previous.holder.principal, holderId: previous.holder.holderId,
            expiresAt: previous.expiresAt.toISOString() } });
      }
      this.event(now, { workspaceId: input.workspaceId, action: 'lock.created', actor: input.holder.principal, key: input.key,
        token: lock.token, details: { holderId: lock.holder.holderId, message: lock.message, expiresAt: lock.expiresAt.toISOString(),
          ...(lock.details ?? {}) } });
      this.notify({ workspaceId: input.workspaceId, key: input.key, kind: 'granted', token: lock.token });
      return { outcome: 'granted', lock, previous } as const;
    });
  }

  /** Why an acquire was refused: a lock blocks the key (held, or in its lock-delay), or the line does. */
  private refused(input: AcquireInput, previous: Lock | null, now: number, delay: number): AcquireResult {
    const blocking = previous && previous.expiresAt.getTime() + delay > now ? previous : null;
    let result: AcquireResult;
    if (blocking) {
      result = { outcome: 'held', lock: blocking, at: new Date(now) };
    } else {
      const line = this.stmt.waiterAhead.get({ ws: input.workspaceId, key: input.key, now, waiterId: input.waiterId ?? null }) as {
        me: number | null;
        ahead: number;
      };
      result = input.waiterId && line.me === null ? { outcome: 'not_in_line', lock: null } : { outcome: 'queued', lock: null, ahead: line.ahead };
    }
    if (input.recordDenial !== false) {
      this.event(now, { workspaceId: input.workspaceId, action: 'lock.denied', actor: input.holder.principal, key: input.key,
        token: blocking?.token ?? null,
        details: blocking
          ? { holderId: input.holder.holderId, heldBy: blocking.holder.principal, heldByHolderId: blocking.holder.holderId }
          : { holderId: input.holder.holderId, waitersAhead: result.outcome === 'queued' ? result.ahead : null } });
    }
    return result;
  }

  release(input: ReleaseInput): Promise<ReleaseResult> {
    return this.writes.run((): ReleaseResult => {
      const now = this.clock.now().getTime();
      const row = this.stmt.release.get({
        ws: input.workspaceId,
        key: input.key,
        now,
        principal: input.caller.principal,
        holderId: input.caller.holderId,
        forceOk: input.force && input.mayForce ? 1 : 0,
      });
      if (!row) {
        const live = this.stmt.getLive.get(input.workspaceId, input.key, now);
        return live ? { outcome: 'not_holder', lock: toLock(live) } : { outcome: 'not_found' };
      }
      const lock = toLock(row);
      const own = mayRelease(lock.holder, input.caller) && !(input.recordAsForce && input.mayForce);
      this.event(now, {
        workspaceId: input.workspaceId,
        action: own ? 'lock.deleted' : 'lock.force_deleted',
        actor: input.caller.principal,
        key: input.key,
        token: lock.token,
        details: {
          holder: lock.holder.principal,
          holderId: lock.holder.holderId,
          message: lock.message,
          ...(own && input.reason == null ? {} : { reason: input.reason ?? null }),
        },
      });
      const kind = own ? 'released' : 'force_released';
      this.notify({ workspaceId: input.workspaceId, key: input.key, kind, token: lock.token });
      return { outcome: kind, lock, at: new Date(now) };
    });
  }

  async getLock(workspaceId: string, key: string): Promise<Lock | null> {
    const row = this.stmt.getLive.get(workspaceId, key, this.clock.now().getTime());
    return row ? toLock(row) : null;
  }

  async listLocks(q: ListLocksQuery): Promise<ListLocksPage> {
    const prefix = q.prefix ?? '';
    const rows = this.stmt.list.all({
      ws: q.workspaceId,
      from: prefix,
      to: prefix + TOP,
      after: q.after ?? '',
      now: this.clock.now().getTime(),
      delay: q.lockDelayMs ?? 0,
      limit: q.limit + 1,
    });
    const more = rows.length > q.limit;
    const locks = rows.slice(0, q.limit).map(toLock);
    return { locks, nextAfter: more ? (locks[locks.length - 1]?.key ?? null) : null };
  }

  reapExpired(limit: number, lockDelayMs: number): Promise<Lock[]> {
    return this.writes.run(() => {
      const now = this.clock.now().getTime();
      const rows = this.stmt.reap.all(now - lockDelayMs, limit);
      const locks = rows.map(toLock);
      for (const lock of locks) {
        this.event(now, { workspaceId: lock.workspaceId, action: 'lock.expired', actor: 'system', key: lock.key, token: lock.token,
          details: { holder: lock.holder.principal, holderId: lock.holder.holderId, message: lock.message,
            expiresAt: lock.expiresAt.toISOString() } });
        this.notify({ workspaceId: lock.workspaceId, key: lock.key, kind: 'expired', token: lock.token });
      }
      return locks;
    });
  }

  appendEvent(event: NewAuditEvent): Promise<void> {
    return this.writes.run(() => this.event(this.clock.now().getTime(), event));
  }

  async queryEvents(q: AuditQuery): Promise<AuditEvent[]> {
    const where = ['workspace_id = @ws'];
    if (q.key !== undefined) where.push('key = @key');
    if (q.actor !== undefined) where.push('actor = @actor');
    if (q.action !== undefined) where.push('action = @action');
    if (q.since !== undefined) where.push('at >= @since');
    if (q.until !== undefined) where.push('at < @until');
    if (q.before !== undefined) where.push('id < @before');
    const rows = this.db
      .prepare<Record<string, unknown>, EventRow>(`SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT @limit`)
      .all({
        ws: q.workspaceId,
        key: q.key,
        actor: q.actor,
        action: q.action,
        since: q.since?.getTime(),
        until: q.until?.getTime(),
        before: q.before,
        limit: q.limit,
      });
    return rows.map(toEvent);
  }

  ensureWorkspace(name: string): Promise<Workspace> {
    return this.writes.run(() => {
      this.stmt.insertWorkspace.run(randomUUID(), name, this.clock.now().getTime());
      return toWorkspace(this.stmt.workspaceByName.get(name) as WorkspaceRow);
    });
  }

  async getWorkspace(idOrName: string): Promise<Workspace | null> {
    const row = this.stmt.workspaceById.get(idOrName) ?? this.stmt.workspaceByName.get(idOrName);
    return row ? toWorkspace(row) : null;
  }

  createToken(input: NewApiToken): Promise<ApiTokenRecord> {
    return this.writes.run(() => {
      if (this.stmt.tokenByName.get(input.workspaceId, input.name)) {
        throw new DomainError('Conflict', `a token named '${input.name}' already exists in this workspace`);
      }
      const now = this.clock.now().getTime();
      this.stmt.insertToken.run({
        id: randomUUID(),
        ws: input.workspaceId,
        name: input.name,
        hash: input.tokenHash,
        scopes: JSON.stringify(input.scopes),
        createdBy: input.createdBy,
        at: now,
      });
      this.event(now, { workspaceId: input.workspaceId, action: 'token.created', actor: input.createdBy,
        details: { name: input.name, scopes: input.scopes } });
      return toToken(this.stmt.tokenByName.get(input.workspaceId, input.name) as TokenRow);
    });
  }

  async findTokenByHash(tokenHash: string): Promise<ApiTokenRecord | null> {
    const row = this.stmt.tokenByHash.get(tokenHash);
    return row ? toToken(row) : null;
  }

  async countTokens(workspaceId: string): Promise<number> {
    return (this.stmt.countTokens.get(workspaceId) as { n: number }).n;
  }

  async listTokens(workspaceId: string): Promise<ApiTokenRecord[]> {
    return this.stmt.tokensOf.all(workspaceId).map(toToken);
  }

  revokeToken(input: RevokeApiToken): Promise<ApiTokenRecord | null> {
    return this.writes.run(() => {
      const row = this.stmt.tokenByName.get(input.workspaceId, input.name);
      if (!row) return null;
      if (row.revoked_at !== null) return toToken(row);
      const scopes = JSON.parse(row.scopes) as string[];
      if (scopes.includes('admin') && (this.stmt.liveAdminTokens.get(input.workspaceId) as { n: number }).n <= 1) {
        throw new DomainError('Conflict', lastAdminTokenMessage(input.name));
      }
      const now = this.clock.now().getTime();
      this.stmt.revokeToken.run(now, row.id);
      this.event(now, { workspaceId: input.workspaceId, action: 'token.revoked', actor: input.by,
        details: { name: row.name, ...(input.reason ? { reason: input.reason } : {}) } });
      this.writes.onCommit(() => this.changes.emit('token-revoked', row.id));
      return toToken(this.stmt.tokenByName.get(input.workspaceId, input.name) as TokenRow);
    });
  }

  onChange(listener: (change: LockChange) => void): () => void {
    this.changes.on('change', listener);
    return () => this.changes.off('change', listener);
  }

  onTokenRevoked(listener: (tokenId: string | null) => void): () => void {
    this.changes.on('token-revoked', listener);
    return () => this.changes.off('token-revoked', listener);
  }

  /** Written inside the caller's transaction. */
  private event(now: number, e: NewAuditEvent): void {
    this.stmt.insertEvent.run({
      ws: e.workspaceId,
      at: now,
      action: e.action,
      actor: e.actor,
      key: e.key ?? null,
      token: e.token ?? null,
      details: e.details ? JSON.stringify(e.details) : null,
    });
  }

  /** Listeners hear a change only once its transaction is durable. */
  private notify(change: LockChange): void {
    this.writes.onCommit(() => this.changes.emit('change', change));
  }
}

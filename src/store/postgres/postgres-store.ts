import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { AuditEvent, AuditQuery, NewAuditEvent } from '../../core/audit.js';
import { DomainError } from '../../core/errors.js';
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
import { PostgresAccessStore } from './access-queries.js';
import { PostgresAtmosUploadStore } from './atmos-upload-queries.js';
import type { DashboardSessionStore } from '../../core/ports/dashboard-sessions.js';
import { ChangeFeed } from './change-feed.js';
import { PostgresDispatchStore } from './dispatch-queries.js';
import { PostgresGitHubEvents } from './github-event-queries.js';
import {
  APPLY_SQL, CHANNEL, DENIED_SQL, eventParams, INSERT_EVENT_SQL, LIST_SQL, LIVE_LOCK_SQL, NOW, REAP_SQL, UNSAFE_RULE_SQL,
  UNSAFE_SEARCH_PATH_SQL, whereDefined,
} from './lock-queries.js';
import { PostgresLeases } from './lease-queries.js';
import { applyMigrations } from './migrate.js';
import { LockBatcher } from './lock-batcher.js';
import { createPool, guarded, inTransaction, isUnavailable, queryPrepared, type Prepared } from './pool.js';
import { PostgresDashboardSessions } from './dashboard-session-queries.js';
import { type EventRow, type LockRow, type TokenRow, type WorkspaceRow, toEvent, toLock, toReplacedLock, toToken, toWorkspace } from './rows.js';

/** The statements of the lock path and of every request's authentication, prepared (pool.ts). */
const APPLY: Prepared = { name: 'stacklock_apply', text: APPLY_SQL };
const DENIED: Prepared = { name: 'stacklock_denied', text: DENIED_SQL };
const LIVE_LOCK: Prepared = { name: 'stacklock_live_lock', text: LIVE_LOCK_SQL };
const LIST: Prepared = { name: 'stacklock_list', text: LIST_SQL };
const REAP: Prepared = { name: 'stacklock_reap', text: REAP_SQL };
const TOKEN_BY_HASH: Prepared = { name: 'stacklock_token_by_hash', text: 'SELECT * FROM api_tokens WHERE token_hash = $1' };

/** Exclusive upper bound of every key starting with a prefix (keys never contain U+10FFFF). */
const TOP = '\u{10FFFF}';

export interface PostgresStoreOptions {
  readonly connectionString: string;
  readonly poolSize?: number;
  /** How often the change feed re-reads recent events in case a NOTIFY was missed. */
  readonly sweepIntervalMs?: number;
  readonly log?: (level: 'warn' | 'error', message: string, error?: unknown) => void;
  /**
   * FAULT INJECTION FOR TESTS ONLY: acquire grants without its condition (even over a live lock
   * of another holder). The history checker's own test sets it to prove the checker finds the
   * broken mutual exclusion. Never set it anywhere else; main.ts honours it only under NODE_ENV=test.
   */
  readonly unsafeSkipAcquireCondition?: boolean;
  /**
   * How long an API token looked up by its hash is remembered (default 1000 ms; 0: never). A
   * revocation on any replica drops it at once (NOTIFY); this bounds how long a missed one is not.
   */
  readonly tokenCacheMs?: number;
}

/** Tokens remembered at most (a server has a few; past this the cache starts over). */
const TOKEN_CACHE_MAX = 10_000;

type Returned = LockRow & { event_ids: number[] | null; active_dispatches?: boolean | null };
/** A row of stacklock_apply: an acquire's (`held`) or a release's (`own`), numbered by its op. */
type Applied = Returned & { i: number; held: boolean | null; own: boolean | null; now: Date };

/** The statement's answer to whether the key has queued dispatches (LockChange.activeDispatches). */
const dispatchesOf = (row: Returned) => (typeof row.active_dispatches === 'boolean' ? { activeDispatches: row.active_dispatches } : {});

export class PostgresStore implements Store {
  readonly capabilities: StoreCapabilities = {
    backend: 'postgres',
    clock: 'database',
    multiReplica: true,
    groupCommit: true,
  };

  private readonly pool: pg.Pool;
  private readonly feed: ChangeFeed;
  /** Lock operations arriving together share one statement and one commit (lock-batcher.ts). */
  private readonly batcher: LockBatcher<Applied>;
  readonly access: PostgresAccessStore;
  readonly atmos: PostgresAtmosUploadStore;
  /** Dashboard sign-in sessions (a port of its own: see core/ports/dashboard-sessions.ts). */
  readonly dashboardSessions: DashboardSessionStore;
  readonly leases: PostgresLeases;
  readonly dispatches: PostgresDispatchStore;
  readonly githubEvents: PostgresGitHubEvents;

  constructor(private readonly options: PostgresStoreOptions) {
    const log = options.log ?? (() => undefined);
    this.pool = createPool(options.connectionString, (error) => log('warn', 'idle database connection failed', error), options.poolSize);
    // A batch costs the database a fixed ~400 µs of CPU besides ~60 µs per operation (migration
    // 0020; one client, batches of 10, 30, 100; docs/performance.md): while one runs, a second starts
    // beside it only once ten operations wait, so batches stay large and the database and this
    // process still work at the same time. Measured side by side before migration 0020 (docs/
    // performance.md): 5,758-6,645 ops/s this way, 4,514-5,692 with one batch at a time,
    // 4,653-5,272 with two at any size; after it, waiting for 5, 20, 25, 30 or 35 operations, or
    // three batches at a time, all measured within the machine's noise of this. A batch is one
    // statement; it waits only for other statements on its keys, never for a client.
    this.batcher = new LockBatcher<Applied>(
      (ops) => queryPrepared<Applied>(this.pool, APPLY, [JSON.stringify(ops)]),
      (error) => !isUnavailable(error),
      2,
      100,
      10,
    );
    this.feed = new ChangeFeed(this.pool, options.connectionString, { sweepIntervalMs: options.sweepIntervalMs ?? 5_000, log });
    this.access = new PostgresAccessStore(this.pool);
    this.atmos = new PostgresAtmosUploadStore(this.pool);
    this.dashboardSessions = new PostgresDashboardSessions(this.pool);
    this.leases = new PostgresLeases({ all: (sql, params) => this.all(sql, params), feed: this.feed });
    this.dispatches = new PostgresDispatchStore(this.pool);
    this.githubEvents = new PostgresGitHubEvents(this.pool);
    this.tokenCacheMs = options.tokenCacheMs ?? 1000;
    this.feed.onTokenRevoked((id) => this.forgetToken(id));
  }

  private readonly tokenCacheMs: number;
  /** Found tokens by hash, with when to look again: every request authenticates, mostly with the same few tokens. */
  private readonly tokenCache = new Map<string, { record: ApiTokenRecord; until: number }>();

  /** Counts revocations heard: a lookup that began before one is not remembered (its row may predate it). */
  private tokenRevocations = 0;

  /** Drops a revoked token (by id) from the cache, or every token (null). */
  private forgetToken(id: string | null): void {
    this.tokenRevocations++;
    if (id === null) return this.tokenCache.clear();
    for (const [hash, entry] of this.tokenCache) if (entry.record.id === id) this.tokenCache.delete(hash);
  }

  async migrate(): Promise<void> {
    await guarded(() => applyMigrations(this.pool));
    if (this.options.unsafeSkipAcquireCondition) await guarded(() => this.pool.query(UNSAFE_RULE_SQL));
    await this.feed.start();
  }

  async close(): Promise<void> {
    await this.feed.stop();
    await this.pool.end();
  }

  now(): Promise<Date> {
    return this.one<{ now: Date }>(`SELECT ${NOW} AS now`, []).then((r) => (r as { now: Date }).now);
  }

  async acquire(input: AcquireInput): Promise<AcquireResult> {
    const id = randomUUID();
    const h = input.holder;
    // A refusal the statement did not explain (the line of waiters held the caller back, or the
    // key changed hands during it) is read back in a second statement; if nothing blocks by
    // then, the key may be free: decide again.
    for (let attempt = 0; attempt < 5; attempt++) {
      const row = await this.decide({
        op: 'acquire', workspaceId: input.workspaceId, key: input.key, id, principal: h.principal, holderId: h.holderId,
        message: input.message, ttlMs: input.ttlMs, properties: input.properties ?? null, details: input.details ?? null,
        lockDelayMs: input.lockDelayMs ?? 0, waiterId: input.waiterId ?? null, recordDenial: input.recordDenial !== false,
      });
      if (row?.held) return { outcome: 'held', lock: toLock(row), at: row.now };
      if (row) {
        const lock = toLock(row);
        const kind = row.id === id ? 'granted' : 'renewed';
        this.feed.local(row.event_ids ?? [], { workspaceId: lock.workspaceId, key: lock.key, kind, token: lock.token, ...dispatchesOf(row) });
        if (kind === 'renewed') return { outcome: 'renewed', lock };
        return { outcome: 'granted', lock, previous: row.replaced ? toReplacedLock(row.replaced) : null };
      }
      const why = await this.one<{ lock: Record<string, unknown> | null; me: number | null; ahead: number; now: Date }>(DENIED, [
        input.workspaceId, input.key, h.principal, h.holderId, input.lockDelayMs ?? 0, input.waiterId ?? null, input.recordDenial !== false,
      ]);
      if (why?.lock) return { outcome: 'held', lock: toReplacedLock(why.lock), at: why.now };
      if (why && input.waiterId && why.me === null) return { outcome: 'not_in_line', lock: null };
      if (why && why.ahead > 0) return { outcome: 'queued', lock: null, ahead: why.ahead };
      if (!(await this.getWorkspace(input.workspaceId))) throw new DomainError('NotFound', 'no such workspace');
    }
    throw new DomainError('Unavailable', `'${input.key}' changed hands too often to decide; retry`);
  }

  async release(input: ReleaseInput): Promise<ReleaseResult> {
    const row = await guarded(() =>
      this.batcher.run({
        op: 'release', workspaceId: input.workspaceId, key: input.key, principal: input.caller.principal,
        holderId: input.caller.holderId, force: input.force && input.mayForce, reason: input.reason ?? null,
        auditForce: Boolean(input.recordAsForce && input.mayForce),
      }),
    );
    if (!row) {
      const live = await this.getLock(input.workspaceId, input.key);
      return live ? { outcome: 'not_holder', lock: live } : { outcome: 'not_found' };
    }
    const lock = toLock(row);
    const kind = row.own ? 'released' : 'force_released';
    this.feed.local(row.event_ids ?? [], { workspaceId: lock.workspaceId, key: lock.key, kind, token: lock.token, ...dispatchesOf(row) });
    return { outcome: kind, lock, at: row.now };
  }

  async getLock(workspaceId: string, key: string): Promise<Lock | null> {
    const row = await this.one<LockRow>(LIVE_LOCK, [workspaceId, key]);
    return row ? toLock(row) : null;
  }

  async listLocks(q: ListLocksQuery): Promise<ListLocksPage> {
    const prefix = q.prefix ?? '';
    const rows = await this.all<LockRow>(LIST, [q.workspaceId, prefix, prefix + TOP, q.after ?? '', q.limit + 1, q.lockDelayMs ?? 0]);
    const more = rows.length > q.limit;
    const locks = rows.slice(0, q.limit).map(toLock);
    return { locks, nextAfter: more ? (locks[locks.length - 1]?.key ?? null) : null };
  }

  async reapExpired(limit: number, lockDelayMs: number): Promise<Lock[]> {
    const rows = await this.all<Returned>(REAP, [lockDelayMs, limit]);
    return rows.map((row) => {
      const lock = toLock(row);
      this.feed.local(row.event_ids ?? [], { workspaceId: lock.workspaceId, key: lock.key, kind: 'expired', token: lock.token, ...dispatchesOf(row) });
      return lock;
    });
  }

  async appendEvent(e: NewAuditEvent): Promise<void> {
    await this.all(INSERT_EVENT_SQL, eventParams(e));
  }

  async queryEvents(q: AuditQuery): Promise<AuditEvent[]> {
    const { where, params } = whereDefined([
      ['workspace_id = ?', q.workspaceId], ['key = ?', q.key], ['actor = ?', q.actor], ['action = ?', q.action],
      ['at >= ?', q.since], ['at < ?', q.until], ['id < ?', q.before],
    ]);
    params.push(q.limit);
    const rows = await this.all<EventRow>(`SELECT * FROM events WHERE ${where} ORDER BY id DESC LIMIT $${params.length}`, params);
    return rows.map(toEvent);
  }

  async ensureWorkspace(name: string): Promise<Workspace> {
    await this.all(`INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, ${NOW}) ON CONFLICT (name) DO NOTHING`, [randomUUID(), name]);
    return toWorkspace((await this.one<WorkspaceRow>('SELECT * FROM workspaces WHERE name = $1', [name])) as WorkspaceRow);
  }

  async getWorkspace(idOrName: string): Promise<Workspace | null> {
    const row = await this.one<WorkspaceRow>('SELECT * FROM workspaces WHERE id = $1 OR name = $1 ORDER BY (id = $1) DESC LIMIT 1', [idOrName]);
    return row ? toWorkspace(row) : null;
  }

  async createToken(input: NewApiToken): Promise<ApiTokenRecord> {
    const row = await this.one<TokenRow>(
      `WITH t AS (
         INSERT INTO api_tokens (id, workspace_id, name, token_hash, scopes, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6, ${NOW}) ON CONFLICT (workspace_id, name) DO NOTHING RETURNING *
       ), ev AS (
         INSERT INTO events (workspace_id, at, action, actor, details)
         SELECT t.workspace_id, t.created_at, 'token.created', $6, jsonb_build_object('name', t.name, 'scopes', t.scopes) FROM t
       )
       SELECT * FROM t`,
      [randomUUID(), input.workspaceId, input.name, input.tokenHash, JSON.stringify(input.scopes), input.createdBy],
    );
    if (!row) throw new DomainError('Conflict', `a token named '${input.name}' already exists in this workspace`);
    return toToken(row);
  }

  /** Remembered for tokenCacheMs when found (never when not found: a token just made on another replica works at once). */
  async findTokenByHash(tokenHash: string): Promise<ApiTokenRecord | null> {
    const hit = this.tokenCache.get(tokenHash);
    if (hit && hit.until > performance.now()) return hit.record;
    const revocationsBefore = this.tokenRevocations;
    const row = await this.one<TokenRow>(TOKEN_BY_HASH, [tokenHash]);
    if (!row) return null;
    const record = toToken(row);
    if (this.tokenCacheMs > 0 && this.tokenRevocations === revocationsBefore) {
      if (this.tokenCache.size >= TOKEN_CACHE_MAX) this.tokenCache.clear();
      this.tokenCache.set(tokenHash, { record, until: performance.now() + this.tokenCacheMs });
    }
    return record;
  }

  async countTokens(workspaceId: string): Promise<number> {
    const row = await this.one<{ n: number }>('SELECT count(*) AS n FROM api_tokens WHERE workspace_id = $1', [workspaceId]);
    return Number(row?.n ?? 0);
  }

  async listTokens(workspaceId: string): Promise<ApiTokenRecord[]> {
    return (await this.all<TokenRow>('SELECT * FROM api_tokens WHERE workspace_id = $1 ORDER BY name COLLATE "C"', [workspaceId])).map(toToken);
  }

  /**
   * One statement: the workspace's live admin tokens are locked (FOR UPDATE) so that two
   * concurrent revocations cannot both see another admin token left and revoke the last two.
   */
  async revokeToken(input: RevokeApiToken): Promise<ApiTokenRecord | null> {
    const row = await this.one<TokenRow & { outcome: 'revoked' | 'already' | 'last_admin' }>(
      `WITH target AS (
         SELECT * FROM api_tokens WHERE workspace_id = $1 AND name = $2
       ), admins AS (
         SELECT id FROM api_tokens WHERE workspace_id = $1 AND revoked_at IS NULL AND scopes ? 'admin' FOR UPDATE
       ), allowed AS (
         SELECT t.* FROM target t
         WHERE t.revoked_at IS NULL AND (NOT t.scopes ? 'admin' OR (SELECT count(*) FROM admins) > 1)
       ), revoked AS (
         UPDATE api_tokens a SET revoked_at = ${NOW} FROM allowed WHERE a.id = allowed.id AND a.revoked_at IS NULL RETURNING a.*
       ), told AS (
         -- Every replica forgets the token at once (delivered at commit; see onTokenRevoked).
         SELECT pg_notify('${CHANNEL}', json_build_object('rt', r.id)::text) FROM revoked r
       ), ev AS (
         INSERT INTO events (workspace_id, at, action, actor, details)
         SELECT r.workspace_id, r.revoked_at, 'token.revoked', $3,
                jsonb_build_object('name', r.name) || CASE WHEN $4::text IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('reason', $4::text) END
         FROM revoked r
       )
       SELECT r.*, 'revoked' AS outcome FROM revoked r WHERE (SELECT count(*) FROM told) >= 0
       UNION ALL
       SELECT t.*, CASE WHEN t.revoked_at IS NULL AND t.scopes ? 'admin' AND (SELECT count(*) FROM admins) <= 1 THEN 'last_admin'
                        ELSE 'already' END
       FROM target t WHERE NOT EXISTS (SELECT 1 FROM revoked)`,
      [input.workspaceId, input.name, input.by, input.reason],
    );
    if (!row) return null;
    if (row.outcome === 'last_admin') throw new DomainError('Conflict', lastAdminTokenMessage(input.name));
    this.forgetToken(row.id);
    if (row.outcome === 'already' && row.revoked_at === null) {
      // Revoked by a concurrent call after this statement's snapshot: read what it wrote.
      const now = await this.one<TokenRow>('SELECT * FROM api_tokens WHERE id = $1', [row.id]);
      return now ? toToken(now) : toToken(row);
    }
    return toToken(row);
  }

  onChange(listener: (change: LockChange) => void): () => void {
    return this.feed.subscribe(listener);
  }

  /** Heard after this store has forgotten the token (it subscribed first, in the constructor). */
  onTokenRevoked(listener: (tokenId: string | null) => void): () => void {
    return this.feed.onTokenRevoked(listener);
  }

  /** Direct access for tests and tools; not part of the port. */
  get database(): pg.Pool {
    return this.pool;
  }

  /**
   * Runs an acquire (its parameters by name) in the next batch; under the history checker's unsafe
   * switch, alone, in a transaction whose search path puts the broken rule first.
   */
  private async decide(op: Record<string, unknown>): Promise<Applied | null> {
    if (!this.options.unsafeSkipAcquireCondition) return guarded(() => this.batcher.run(op));
    return inTransaction(this.pool, async (client) => {
      await client.query(UNSAFE_SEARCH_PATH_SQL);
      return (await client.query<Applied>(APPLY_SQL, [JSON.stringify([op])])).rows[0] ?? null;
    });
  }

  /** `sql` as a Prepared for the statements of the lock path: planned once per connection. */
  private async all<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string | Prepared, params: unknown[]): Promise<R[]> {
    if (typeof sql !== 'string') return guarded(() => queryPrepared<R>(this.pool, sql, params));
    return guarded(async () => (await this.pool.query<R>(sql, params)).rows);
  }

  private async one<R extends pg.QueryResultRow>(sql: string | Prepared, params: unknown[]): Promise<R | null> {
    return (await this.all<R>(sql, params))[0] ?? null;
  }
}

import type { AuditEvent, AuditQuery } from '../audit.js';
import type { Holder, JsonObject, Lock, Scope } from '../types.js';

/**
 * The storage port. SQLite and PostgreSQL implement it; both pass test/conformance.
 * Every write is atomic and durable when its promise resolves; every decision about who
 * holds a key is taken by the database in one conditional statement, never by reading
 * first and writing after in application code. The audit event of a change is written in
 * the same transaction as the change.
 */
export interface LockStore {
  readonly capabilities: StoreCapabilities;

  /** Applies the numbered migrations not yet applied. Safe to call at every start. */
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** The store's clock: the server's (SQLite) or the database's now() (PostgreSQL). */
  now(): Promise<Date>;

  acquire(input: AcquireInput): Promise<AcquireResult>;
  release(input: ReleaseInput): Promise<ReleaseResult>;
  /** The live lock on a key, or null when free. An expired lock is free even before the reaper ran. */
  getLock(workspaceId: string, key: string): Promise<Lock | null>;
  listLocks(query: ListLocksQuery): Promise<ListLocksPage>;
  /**
   * Frees up to `limit` locks whose expiry (plus lock-delay) has passed, writing `lock.expired`
   * for each. Costs O(expired) through the index on expires_at.
   */
  reapExpired(limit: number, lockDelayMs: number): Promise<Lock[]>;

  appendEvent(event: import('../audit.js').NewAuditEvent): Promise<void>;
  queryEvents(query: AuditQuery): Promise<AuditEvent[]>;

  ensureWorkspace(name: string): Promise<Workspace>;
  getWorkspace(idOrName: string): Promise<Workspace | null>;
  createToken(input: NewApiToken): Promise<ApiTokenRecord>;
  findTokenByHash(tokenHash: string): Promise<ApiTokenRecord | null>;
  countTokens(workspaceId: string): Promise<number>;
  /** The workspace's API tokens (revoked ones included), by name; never their hashes. */
  listTokens(workspaceId: string): Promise<ApiTokenRecord[]>;
  /**
   * Revokes the named token and writes `token.revoked`, in one transaction; revoking a revoked
   * token changes nothing and writes nothing. Null when the workspace has no token of that name.
   * Refuses (`Conflict`) to revoke the workspace's last live admin token, which would leave
   * nobody able to manage it.
   */
  revokeToken(input: RevokeApiToken): Promise<ApiTokenRecord | null>;

  /** Called after a change has committed (on any replica, where the backend can hear them). */
  onChange(listener: (change: LockChange) => void): () => void;
  /**
   * Called with a token's id once its revocation has committed (on any replica, where the backend
   * can hear them), so that what it opened (a live stream) ends at once; null when some may have
   * been missed (a feed that reconnected): whoever cares checks again.
   */
  onTokenRevoked(listener: (tokenId: string | null) => void): () => void;
}

export interface StoreCapabilities {
  readonly backend: 'sqlite' | 'postgres';
  /** Whose clock decides expiry. */
  readonly clock: 'server' | 'database';
  /** Several server processes may share this store. */
  readonly multiReplica: boolean;
  /** Concurrent writes share one durable commit. */
  readonly groupCommit: boolean;
}

export interface AcquireInput {
  readonly workspaceId: string;
  readonly key: string;
  readonly ttlMs: number;
  readonly message: string;
  readonly holder: Holder;
  readonly properties?: JsonObject | null;
  readonly details?: JsonObject | null;
  /** After an expiry (not a release) the key stays unavailable this long. */
  readonly lockDelayMs?: number;
  /**
   * The caller's place in the key's line (LeaseStore.enqueue) when it waits. An available key goes
   * only to the head of its line: to a caller without a waiter id only when no live waiter exists.
   * A grant to a waiter removes it from the line in the same transaction.
   */
  readonly waiterId?: string | null;
  /** Write lock.denied when refused (default true). A waiter's retries are not denials. */
  readonly recordDenial?: boolean;
}

export type AcquireResult =
  | { readonly outcome: 'granted'; readonly lock: Lock; readonly previous: Lock | null }
  | { readonly outcome: 'renewed'; readonly lock: Lock }
  | { readonly outcome: 'held'; readonly lock: Lock; readonly at?: Date }
  /** No lock blocks the key, but `ahead` live waiters come first (LeaseStore). */
  | { readonly outcome: 'queued'; readonly lock: null; readonly ahead: number }
  /** `waiterId` was given but is no longer in line (it left, or its lease lapsed). */
  | { readonly outcome: 'not_in_line'; readonly lock: null };

/** An acquire that a lock decided (granted, renewed, or held), rather than the line of waiters. */
export type DecidedAcquire = Exclude<AcquireResult, { readonly lock: null }>;

/** Narrows a result the caller knows no line of waiters was involved in (tests, tools). */
export function decided(r: AcquireResult): DecidedAcquire {
  if (r.lock === null) throw new Error(`acquire was refused by the line of waiters (${r.outcome}), not by a lock`);
  return r;
}

export interface ReleaseInput {
  readonly workspaceId: string;
  readonly key: string;
  readonly caller: Holder;
  /** The caller asks to release someone else's lock... */
  readonly force: boolean;
  /** ...and is allowed to (locks:force). */
  readonly mayForce: boolean;
  /**
   * The caller asked for a force unlock and may force: audited as lock.force_deleted even when
   * the lock is its own (an admin or a shared CI token forcing a lock it holds itself).
   */
  readonly recordAsForce?: boolean;
  /** Recorded in the release's audit event whenever given. */
  readonly reason?: string | null;
}

/**
 * `at` (on a refusal and a release): the store's clock at the decision, so the caller needs no
 * second round trip to say how long a lock has left or when it was released. Absent: ask now().
 */
export type ReleaseResult =
  | { readonly outcome: 'released' | 'force_released'; readonly lock: Lock; readonly at?: Date }
  | { readonly outcome: 'not_found' }
  | { readonly outcome: 'not_holder'; readonly lock: Lock };

export interface ListLocksQuery {
  readonly workspaceId: string;
  readonly prefix?: string;
  /** Keys strictly after this one (keyset pagination). */
  readonly after?: string;
  readonly limit: number;
  /** Also list locks that expired less than this ago: they still block their key (lock-delay). */
  readonly lockDelayMs?: number;
}

export interface ListLocksPage {
  readonly locks: Lock[];
  /** The last key of this page when more may follow. */
  readonly nextAfter: string | null;
}

export interface Workspace {
  readonly id: string;
  readonly name: string;
  readonly createdAt: Date;
}

export interface NewApiToken {
  readonly workspaceId: string;
  readonly name: string;
  readonly tokenHash: string;
  readonly scopes: readonly Scope[];
  readonly createdBy: string;
}

export interface ApiTokenRecord {
  readonly id: string;
  readonly workspaceId: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

/** Why a workspace's last live admin token is not revoked (the same words on both backends). */
export function lastAdminTokenMessage(name: string): string {
  return `'${name}' is the workspace's last admin token: create another admin token first, then revoke this one`;
}

export interface RevokeApiToken {
  readonly workspaceId: string;
  readonly name: string;
  /** Who revokes it (the audit event's actor). */
  readonly by: string;
  /** Why, when given: kept in the audit event. */
  readonly reason: string | null;
}

export interface LockChange {
  readonly workspaceId: string;
  readonly key: string;
  readonly kind: 'granted' | 'renewed' | 'released' | 'force_released' | 'expired';
  readonly token: number;
  /**
   * Whether the key had queued dispatches, read by the change's own statement, so the dispatcher
   * need not ask again (a dispatch queued meanwhile is found by its sweep). Absent: not known.
   */
  readonly activeDispatches?: boolean;
}

import type { Holder, Lock } from '../types.js';

/**
 * The storage port for what makes a lock fit CI: heartbeats on a held lease and the fair line of
 * waiters per key. Implemented by every backend next to its LockStore, sharing its transactions
 * and clock; both pass test/conformance/lease-store-suite.ts.
 *
 * Invariants every backend keeps, decided by the database:
 * - A waiter's place is its `seq`, assigned when it joins, in commit order per workspace: the line
 *   is served strictly in that order, on every replica alike.
 * - The acquire statement of the LockStore grants a free key only to the head of its line, that
 *   is, to a caller with no live waiter ahead of it (a caller that is not waiting has every live
 *   waiter ahead of it). A grant to a waiter deletes its row in the same transaction.
 * - A waiter is live while its lease lasts; the server refreshes it while the request is open, so
 *   the waiters of a crashed replica stop counting within one lease without anyone deleting them.
 */
export interface LeaseStore {
  /**
   * Heartbeat: extends the live lock on `key` granted with fencing token `token` to the caller's
   * principal by `ttlMs` (default: the length of its last grant or renewal), writing lock.renewed.
   */
  renew(input: RenewInput): Promise<RenewResult>;

  /** Joins the key's line at its end. */
  enqueue(input: NewWaiter): Promise<Waiter>;
  /** Extends a waiter's lease; false when it is no longer in line (left, granted, or lapsed). */
  refresh(waiterId: string, leaseMs: number): Promise<boolean>;
  /** Leaves the line at once; false when it was not in it. */
  leave(waiterId: string): Promise<boolean>;
  /** The live waiters of a key, first in line first. */
  queue(workspaceId: string, key: string): Promise<Waiter[]>;
  /** How many live waiters each of `keys` has (one query for a page of locks); keys with none are absent. */
  queueLengths(workspaceId: string, keys: readonly string[]): Promise<Map<string, number>>;
  /** Deletes up to `limit` waiters whose lease lapsed (their server died). Housekeeping only. */
  purgeLapsed(limit: number): Promise<number>;
  /**
   * The lock of a key that is held, or that expired less than `lockDelayMs` ago and so still
   * blocks it (SPEC: lock-delay); null when the key is available.
   */
  blockingLock(workspaceId: string, key: string, lockDelayMs: number): Promise<Lock | null>;
}

export interface RenewInput {
  readonly workspaceId: string;
  readonly key: string;
  /** The fencing token of the grant being renewed. */
  readonly token: number;
  readonly principal: string;
  readonly ttlMs?: number;
}

export type RenewResult =
  | { readonly outcome: 'renewed'; readonly lock: Lock }
  /** The grant is gone: expired, released, or replaced. `current` is whatever blocks the key now. */
  | { readonly outcome: 'lost'; readonly current: Lock | null };

export interface NewWaiter {
  readonly workspaceId: string;
  readonly key: string;
  readonly holder: Holder;
  readonly message: string;
  readonly leaseMs: number;
}

export interface Waiter {
  readonly id: string;
  readonly workspaceId: string;
  readonly key: string;
  /** Arrival order: smaller is earlier. */
  readonly seq: number;
  readonly holder: Holder;
  readonly message: string;
  /** When it joined the line (store clock). */
  readonly since: Date;
  readonly leaseExpiresAt: Date;
}

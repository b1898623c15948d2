import type { Dispatch, DispatchState, StackRef } from '../dispatch.js';
import type { Lock } from '../types.js';

/**
 * The dispatch queue's storage port, implemented by each backend next to its LockStore and
 * sharing its transactions and clock.
 *
 * Invariants every backend keeps, each decided by the database in one conditional statement:
 * - A dispatch is claimed for sending (`waiting_for_lock` → `dispatching`) only when it is the
 *   oldest active (waiting or dispatching) dispatch of its key, is due (`notBefore`), and the
 *   key holds no live lock (unexpired, or within its lock-delay). The check and the claim are
 *   one statement, atomic with lock grants: a dispatch is never claimed while its key is locked.
 * - So a key's queue is sent one at a time, in arrival order, and a row is claimed at most
 *   once: a claim is never handed back for resending, except by `reschedule`, which its own
 *   claimant calls after GitHub refused the request without running it.
 * - Every state change writes its audit event in the same transaction.
 */
export interface DispatchStore {
  /**
   * Inserts a dispatch. In the same transaction: supersedes older waiting dispatches for the
   * same key, repository, workflow and pull request, then tries to claim the head of the key's
   * queue for `claimant` (which may be the new dispatch or an older one that was due).
   */
  enqueue(input: NewDispatch, claimant: Claim): Promise<EnqueueResult>;
  /** Claims the head of a key's queue as `claimNext` describes, or says what blocks it. */
  claimNext(workspaceId: string, key: string, claimant: Claim): Promise<ClaimResult>;
  /** Whether anything of this key waits (a cheap read, so lock changes cost no write when nothing waits). */
  hasWaiting(workspaceId: string, key: string): Promise<boolean>;
  /** Keys whose queue head is waiting and due and that no lock blocks: the sweep claims for each. */
  readyKeys(limit: number, lockDelayMs: number): Promise<QueueKey[]>;
  /** Extends the claimant's leases on rows it is still sending. */
  renewLeases(claimant: Claim, ids: readonly string[]): Promise<void>;
  /** Records how a send ended; only the claimant that holds the row can. Null when it no longer does. */
  finish(id: string, claimant: Claim, outcome: SendOutcome): Promise<Dispatch | null>;
  /** Waiting dispatches past their deadline become `timed_out`. */
  expireWaits(limit: number): Promise<Dispatch[]>;
  /**
   * Dispatching rows whose claimant is gone (its lease ran out, or every row when `all`, for a
   * single-process backend at start) become `failed` with INTERRUPTED_REASON: they may have
   * reached GitHub, so they are never sent again.
   */
  recoverAbandoned(options: { readonly all: boolean; readonly limit: number }): Promise<Dispatch[]>;
  cancel(workspaceId: string, id: string, actor: string, reason: string | null): Promise<CancelResult>;
  get(workspaceId: string, id: string): Promise<Dispatch | null>;
  /** Every dispatch of an Atmos run, in arrival order. */
  runDispatches(workspaceId: string, runId: string): Promise<Dispatch[]>;
  /** Waiting dispatches that still wait for stacks of their run to finish (any workspace). */
  heldDispatches(limit: number): Promise<Dispatch[]>;
  /**
   * Replaces what a waiting dispatch waits for, if it still waits for exactly `expected`
   * (null: for nothing more, so it may be claimed). Null when it changed meanwhile.
   */
  unhold(workspaceId: string, id: string, expected: readonly StackRef[], next: readonly StackRef[] | null): Promise<Dispatch | null>;
  /** Newest first; `beforeSeq` pages. */
  list(query: ListDispatchesQuery): Promise<Dispatch[]>;
}

export interface NewDispatch
  extends Pick<Dispatch, 'workspaceId' | 'key' | 'repository' | 'workflow' | 'ref' | 'inputs' | 'source' | 'pullRequest' | 'headSha' | 'createdBy'> {
  readonly maxWaitMs: number;
  readonly runId?: string | null;
  /** Enqueueing again with the same key in the workspace returns the first dispatch, unchanged. */
  readonly dedupeKey?: string | null;
  /** Not claimed until these stacks of its run finish (see `unhold`). */
  readonly heldFor?: readonly StackRef[] | null;
  /** Why it waits, shown until it is claimed (e.g. which stacks it waits for). */
  readonly reason?: string | null;
}

/** Who claims, for how long a claim holds without a heartbeat, and the lock-delay in force. */
export interface Claim {
  readonly replicaId: string;
  readonly leaseMs: number;
  /** A key whose lock expired less than this ago still blocks. */
  readonly lockDelayMs: number;
}

export interface QueueKey {
  readonly workspaceId: string;
  readonly key: string;
}

export interface EnqueueResult {
  readonly dispatch: Dispatch;
  /** False when a dispatch with the same dedupe key existed: nothing changed. */
  readonly created: boolean;
  readonly superseded: Dispatch[];
  /** A row claimed for `claimant` by this call: the caller must send it. */
  readonly claimed: Dispatch | null;
}

export type ClaimResult =
  | { readonly claimed: Dispatch }
  | {
      readonly claimed: null;
      /** The live lock that blocks the key, if that is what blocks it. */
      readonly lock: Lock | null;
      /** Waiting rows whose recorded blocking lock changed (their commit status needs updating). */
      readonly reblocked: Dispatch[];
    };

export type SendOutcome =
  | { readonly state: 'dispatched' }
  | { readonly state: 'failed'; readonly reason: string }
  /** GitHub did not run it (rate limit, 5xx): back in line at the same place, not claimed again for `retryInMs`. */
  | { readonly state: 'retry'; readonly reason: string; readonly retryInMs: number };

export type CancelResult =
  | { readonly outcome: 'cancelled'; readonly dispatch: Dispatch }
  | { readonly outcome: 'not_found' }
  | { readonly outcome: 'not_waiting'; readonly dispatch: Dispatch };

export interface ListDispatchesQuery {
  readonly workspaceId: string;
  readonly key?: string;
  readonly state?: DispatchState;
  readonly beforeSeq?: number;
  readonly limit: number;
}

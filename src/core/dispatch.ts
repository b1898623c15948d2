/**
 * Dispatches (SPEC "Dispatch gating"): "run workflow W of repository R at ref F with inputs I,
 * for key K". A dispatch whose key is locked waits in that key's queue and is sent, in arrival
 * order, once the key is free. Sending one does not take the lock.
 *
 *   waiting_for_lock ──claim──▶ dispatching ──▶ dispatched | failed
 *        │    ▲                     │
 *        │    └──── retry later ────┘   (rate limited or GitHub 5xx: back in line, same place)
 *        └──▶ cancelled | superseded | timed_out
 */
export const DISPATCH_STATES = [
  'waiting_for_lock',
  'dispatching',
  'dispatched',
  'failed',
  'cancelled',
  'superseded',
  'timed_out',
] as const;

export type DispatchState = (typeof DISPATCH_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<DispatchState> = new Set(['dispatched', 'failed', 'cancelled', 'superseded', 'timed_out']);

export function isDispatchState(s: string): s is DispatchState {
  return (DISPATCH_STATES as readonly string[]).includes(s);
}

export type InputValue = string | number | boolean;
export type DispatchInputs = Record<string, InputValue>;

/** Where a dispatch came from: the API, or the Atmos flow (webhook + affected-stacks upload). */
export interface DispatchSource {
  readonly kind: 'api' | 'atmos';
  /** Free facts shown with the dispatch (stack, component, action, atmos run id…). */
  readonly [detail: string]: unknown;
}

/** A component in a stack, as atmos names them. */
export interface StackRef {
  readonly stack: string;
  readonly component: string;
}

/** The lock a waiting dispatch was last seen waiting for, as shown to people. */
export interface BlockingLock {
  readonly token: number;
  readonly holder: string;
  readonly holderId: string | null;
  readonly message: string;
  readonly expiresAt: string;
}

export interface Dispatch {
  readonly id: string;
  /** Arrival order; a key's queue is served in increasing `seq`. */
  readonly seq: number;
  readonly workspaceId: string;
  readonly key: string;
  /** `owner/repo`. */
  readonly repository: string;
  /** Workflow file name (`deploy.yml`) or numeric id. */
  readonly workflow: string;
  readonly ref: string;
  readonly inputs: DispatchInputs;
  readonly source: DispatchSource;
  /** A newer dispatch for the same key, workflow and pull request supersedes a waiting one. */
  readonly pullRequest: number | null;
  /** The commit that gets the `stacklock/<key>` commit status, when known. */
  readonly headSha: string | null;
  readonly state: DispatchState;
  /** Why it failed, was cancelled, superseded or timed out; for a retry, why it is waiting again. */
  readonly reason: string | null;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Still waiting at this time → timed_out. */
  readonly waitDeadline: Date;
  /** Not claimed before this time (backoff after a retryable GitHub error). */
  readonly notBefore: Date;
  /** Send attempts started so far. */
  readonly attempts: number;
  /** The replica sending it, and until when its claim holds without a heartbeat. */
  readonly claimedBy: string | null;
  readonly leaseUntil: Date | null;
  readonly dispatchedAt: Date | null;
  readonly blockedBy: BlockingLock | null;
  readonly supersededBy: string | null;
  /** The Atmos run (one pull_request event paired with its upload) it belongs to. */
  readonly runId: string | null;
  /** Stacks of its run it waits to see finish (their dependents go after them); null when none. */
  readonly heldFor: StackRef[] | null;
}

/** The reason recorded when a replica died while sending (see docs/dispatch.md, "Crashes"). */
export const INTERRUPTED_REASON =
  'interrupted while sending: the server sending it stopped before GitHub answered, so stacklock cannot tell ' +
  'whether the workflow started; it is not sent again (a dispatch is never sent twice). Check the Actions tab and re-run it if needed.';

import type { BlockingLock, Dispatch, DispatchInputs, DispatchSource, DispatchState, StackRef } from '../../core/dispatch.js';

export interface DispatchRow {
  seq: number;
  id: string;
  workspace_id: string;
  key: string;
  repository: string;
  workflow: string;
  ref: string;
  inputs: string;
  source: string;
  pull_request: number | null;
  head_sha: string | null;
  state: string;
  reason: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
  wait_deadline: number;
  not_before: number;
  attempts: number;
  claimed_by: string | null;
  lease_until: number | null;
  dispatched_at: number | null;
  blocked_by: string | null;
  superseded_by: string | null;
  run_id: string | null;
  dedupe_key: string | null;
  held_for: string | null;
}

/** Stored in one canonical form, so that equal lists are equal strings (see `unhold`). */
export function heldForJson(refs: readonly StackRef[] | null | undefined): string | null {
  return refs && refs.length > 0 ? JSON.stringify(refs.map((r) => ({ stack: r.stack, component: r.component }))) : null;
}

const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

export function toDispatch(r: DispatchRow): Dispatch {
  return {
    id: r.id,
    seq: r.seq,
    workspaceId: r.workspace_id,
    key: r.key,
    repository: r.repository,
    workflow: r.workflow,
    ref: r.ref,
    inputs: JSON.parse(r.inputs) as DispatchInputs,
    source: JSON.parse(r.source) as DispatchSource,
    pullRequest: r.pull_request,
    headSha: r.head_sha,
    state: r.state as DispatchState,
    reason: r.reason,
    createdBy: r.created_by,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    waitDeadline: new Date(r.wait_deadline),
    notBefore: new Date(r.not_before),
    attempts: r.attempts,
    claimedBy: r.claimed_by,
    leaseUntil: date(r.lease_until),
    dispatchedAt: date(r.dispatched_at),
    blockedBy: r.blocked_by ? (JSON.parse(r.blocked_by) as BlockingLock) : null,
    supersededBy: r.superseded_by,
    runId: r.run_id,
    heldFor: r.held_for ? (JSON.parse(r.held_for) as StackRef[]) : null,
  };
}

import type { BlockingLock, Dispatch, DispatchInputs, DispatchSource, DispatchState, StackRef } from '../core/dispatch.js';

/**
 * A dispatches row as either backend returns it: times as epoch ms (SQLite) or Dates (pg), JSON
 * columns as text (SQLite) or parsed (pg jsonb).
 */
export interface DispatchRow {
  seq: number | string;
  id: string;
  workspace_id: string;
  key: string;
  repository: string;
  workflow: string;
  ref: string;
  inputs: string | DispatchInputs;
  source: string | DispatchSource;
  pull_request: number | null;
  head_sha: string | null;
  state: string;
  reason: string | null;
  created_by: string;
  created_at: number | Date;
  updated_at: number | Date;
  wait_deadline: number | Date;
  not_before: number | Date;
  attempts: number;
  claimed_by: string | null;
  lease_until: number | Date | null;
  dispatched_at: number | Date | null;
  blocked_by: string | BlockingLock | null;
  superseded_by: string | null;
  run_id: string | null;
  held_for: string | StackRef[] | null;
}

const json = <T>(v: string | T): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);
const maybeDate = (v: number | Date | null): Date | null => (v === null ? null : new Date(v));

export function toDispatch(r: DispatchRow): Dispatch {
  return {
    id: r.id,
    seq: Number(r.seq),
    workspaceId: r.workspace_id,
    key: r.key,
    repository: r.repository,
    workflow: r.workflow,
    ref: r.ref,
    inputs: json(r.inputs),
    source: json(r.source),
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
    leaseUntil: maybeDate(r.lease_until),
    dispatchedAt: maybeDate(r.dispatched_at),
    blockedBy: r.blocked_by === null ? null : json(r.blocked_by),
    supersededBy: r.superseded_by,
    runId: r.run_id,
    heldFor: r.held_for === null ? null : json(r.held_for),
  };
}

/** `heldFor` in one canonical form (key order fixed), so that equal lists are equal strings (see DispatchStore.unhold). */
export function heldForJson(refs: readonly StackRef[] | null | undefined): string | null {
  return refs && refs.length > 0 ? JSON.stringify(refs.map((r) => ({ stack: r.stack, component: r.component }))) : null;
}

import type { BlockingLock, Dispatch, DispatchInputs } from './dispatch.js';
import { formatDuration } from './duration.js';
import { DomainError } from './errors.js';
import type { Lock } from './types.js';

/** GitHub's own limits on names: an owner is 1–39 characters, a repository 1–100. */
const REPOSITORY = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export function validateRepository(value: unknown): string {
  if (typeof value !== 'string' || !REPOSITORY.test(value) || value.endsWith('/.') || value.endsWith('/..')) {
    throw new DomainError('ValidationError', `repository must be 'owner/name' as on GitHub (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** A workflow file name such as `deploy.yml`, or its numeric id. */
export function validateWorkflow(value: unknown): string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return String(value);
  if (typeof value !== 'string' || value.length === 0 || value.length > 255 || /[/\\]/.test(value) || CONTROL.test(value)) {
    throw new DomainError('ValidationError', "workflow must be a workflow file name such as 'deploy.yml' (no path) or its numeric id");
  }
  return value;
}

/** A branch or tag name (`main`, `refs/heads/main`, `v1.2.0`). */
export function validateRef(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 255 || CONTROL.test(value) || /\s/.test(value)) {
    throw new DomainError('ValidationError', "ref must be a branch or tag name such as 'main' (1–255 characters, no spaces)");
  }
  return value;
}

export function validateSha(value: unknown, what = 'headSha'): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || !SHA.test(value)) {
    throw new DomainError('ValidationError', `${what} must be a full commit SHA (40 lowercase hex characters)`);
  }
  return value;
}

export function validatePullRequest(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new DomainError('ValidationError', 'pullRequest must be a positive pull request number');
  }
  return value;
}

/**
 * `workflow_dispatch` inputs: an object of strings, numbers or booleans. How many a workflow
 * accepts and which names it declares is GitHub's to judge (a 422 is recorded as the failure).
 */
export function validateInputs(value: unknown): DispatchInputs {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new DomainError('ValidationError', 'inputs must be an object of input names to values');
  }
  const out: DispatchInputs = {};
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    if (name.length === 0 || name.length > 100 || CONTROL.test(name)) {
      throw new DomainError('ValidationError', `input name ${JSON.stringify(name)} is not valid`);
    }
    if (typeof v !== 'string' && typeof v !== 'boolean' && !(typeof v === 'number' && Number.isFinite(v))) {
      throw new DomainError('ValidationError', `input '${name}' must be a string, number or boolean`);
    }
    out[name] = v;
  }
  if (JSON.stringify(out).length > 65_535) {
    throw new DomainError('ValidationError', 'inputs are too large: at most 65,535 characters of JSON');
  }
  return out;
}

export function blockingLock(lock: Lock): BlockingLock {
  return {
    token: lock.token,
    holder: lock.holder.principal,
    holderId: lock.holder.holderId,
    message: lock.message,
    expiresAt: lock.expiresAt.toISOString(),
  };
}

/** GitHub cuts commit status descriptions at 140 characters. */
const DESCRIPTION_MAX = 140;

function clip(s: string): string {
  return s.length <= DESCRIPTION_MAX ? s : s.slice(0, DESCRIPTION_MAX - 1) + '…';
}

export type CommitStatusState = 'pending' | 'success' | 'failure' | 'error';

export interface CommitStatus {
  readonly state: CommitStatusState;
  readonly context: string;
  readonly description: string;
}

export function statusContext(key: string): string {
  return `stacklock/${key}`;
}

/**
 * The commit status a dispatch should show on its pull request's head commit: pending naming
 * the lock (and its message) while it waits, success once sent, failure when it failed or
 * timed out, error when someone cancelled it or a newer push superseded it.
 */
export function commitStatusFor(d: Dispatch): CommitStatus {
  const context = statusContext(d.key);
  const b = d.blockedBy;
  switch (d.state) {
    case 'waiting_for_lock':
      if (b) {
        const why = b.message ? `"${b.message}"` : 'no message';
        return { state: 'pending', context, description: clip(`Waiting for lock held by ${b.holder}: ${why}`) };
      }
      return { state: 'pending', context, description: clip(d.reason ? `Queued: ${d.reason}` : `Queued behind earlier dispatches for this stack`) };
    case 'dispatching':
      return { state: 'pending', context, description: clip(`Dispatching ${d.workflow}`) };
    case 'dispatched':
      return { state: 'success', context, description: clip(`Dispatched ${d.workflow}`) };
    case 'timed_out':
      return { state: 'failure', context, description: clip(`Timed out after waiting ${formatDuration(d.waitDeadline.getTime() - d.createdAt.getTime())} for the lock`) };
    case 'failed':
      return { state: 'failure', context, description: clip(`Dispatch of ${d.workflow} failed: ${d.reason ?? 'unknown error'}`) };
    case 'cancelled':
      return { state: 'error', context, description: clip(d.reason ?? 'Cancelled') };
    case 'superseded':
      return { state: 'error', context, description: clip('Superseded by a newer dispatch for this pull request') };
  }
}

import { createHash } from 'node:crypto';
import type { BlockingLock, Dispatch, DispatchInputs } from './dispatch.js';
import { formatDuration } from './duration.js';
import { DomainError } from './errors.js';
import type { Lock } from './types.js';

/** GitHub's own limits on names: an owner is 1–39 characters, a repository 1–100. */
const REPOSITORY = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
// GitHub cannot store text that is not valid Unicode: it refuses it with a 422.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function validateRepository(value: unknown): string {
  if (typeof value !== 'string' || !REPOSITORY.test(value) || value.endsWith('/.') || value.endsWith('/..')) {
    throw new DomainError('ValidationError', `repository must be 'owner/name' as on GitHub (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** A workflow file name such as `deploy.yml`, or its numeric id. */
export function validateWorkflow(value: unknown): string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return String(value);
  if (typeof value !== 'string' || value.length === 0 || value.length > 255 || /[/\\]/.test(value) || CONTROL.test(value) || LONE_SURROGATE.test(value)) {
    throw new DomainError('ValidationError', "workflow must be a workflow file name such as 'deploy.yml' (no path) or its numeric id");
  }
  return value;
}

/** A branch or tag name (`main`, `refs/heads/main`, `v1.2.0`). */
export function validateRef(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 255 || CONTROL.test(value) || /\s/.test(value) || LONE_SURROGATE.test(value)) {
    throw new DomainError('ValidationError', "ref must be a branch or tag name such as 'main' (1–255 characters, no spaces, valid Unicode)");
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

/** GitHub refuses a `workflow_dispatch` with more inputs than this (HTTP 422). */
export const MAX_WORKFLOW_INPUTS = 25;

/**
 * `workflow_dispatch` inputs: an object of strings, numbers or booleans, at most 25 of them
 * (GitHub's limit, checked here so a dispatch GitHub would refuse is never queued). Which names
 * a workflow declares is GitHub's to judge (a 422 is recorded as the failure).
 */
export function validateInputs(value: unknown): DispatchInputs {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new DomainError('ValidationError', 'inputs must be an object of input names to values');
  }
  const out: DispatchInputs = {};
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    if (name.length === 0 || name.length > 100 || CONTROL.test(name) || LONE_SURROGATE.test(name)) {
      throw new DomainError('ValidationError', `input name ${JSON.stringify(name)} is not valid`);
    }
    if (typeof v !== 'string' && typeof v !== 'boolean' && !(typeof v === 'number' && Number.isFinite(v))) {
      throw new DomainError('ValidationError', `input '${name}' must be a string, number or boolean`);
    }
    if (typeof v === 'string' && LONE_SURROGATE.test(v)) {
      throw new DomainError('ValidationError', `input '${name}' must be valid Unicode (no lone surrogates)`);
    }
    out[name] = v;
  }
  const count = Object.keys(out).length;
  if (count > MAX_WORKFLOW_INPUTS) {
    throw new DomainError(
      'ValidationError',
      `too many inputs (${count}): GitHub takes at most ${MAX_WORKFLOW_INPUTS} inputs for a workflow dispatch`,
      { reason: 'too_many_inputs', inputs: count, maxInputs: MAX_WORKFLOW_INPUTS },
    );
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

/** GitHub's limits on a commit status, in characters (code points, as GitHub counts them). */
export const STATUS_DESCRIPTION_MAX = 140;
export const STATUS_CONTEXT_MAX = 255;

const ELLIPSIS = '…';
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const codePointLength = (s: string) => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

/**
 * `s` in at most `max` characters (code points), cut at a grapheme boundary with an ellipsis
 * when it is longer, so no emoji, flag or accented letter is split (a UTF-16 cut can leave a
 * lone surrogate, which GitHub refuses). Lone surrogates already in `s` become U+FFFD.
 * Only a single grapheme longer than the whole limit is cut inside, at a code point.
 */
export function clipForGitHub(s: string, max: number): string {
  const text = s.replace(LONE_SURROGATES, '\uFFFD');
  if (codePointLength(text) <= max) return text;
  const room = max - 1;
  let out = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const n = codePointLength(segment);
    if (used + n > room) {
      if (used === 0) out = Array.from(segment).slice(0, room).join('');
      break;
    }
    out += segment;
    used += n;
  }
  return out + ELLIPSIS;
}

const clip = (s: string) => clipForGitHub(s, STATUS_DESCRIPTION_MAX);

export type CommitStatusState = 'pending' | 'success' | 'failure' | 'error';

export interface CommitStatus {
  readonly state: CommitStatusState;
  readonly context: string;
  readonly description: string;
}

const CONTEXT_PREFIX = 'stacklock/';
/** Printable ASCII without upper-case letters or spaces: characters that case-insensitive comparison leaves alone. */
const PLAIN_KEY = /^[\x21-\x40\x5b-\x7e]+$/;
const HASH_HEX = 12;

/**
 * The commit status context of a key. GitHub compares contexts case-insensitively and keeps
 * them to 255 characters, while keys are case-sensitive and up to 512 characters; so
 * `stacklock/<key>` is used only for a key of printable ASCII without upper-case letters or
 * spaces that fits, and any other key gets `stacklock/<key, cut to fit with an ellipsis> #<the
 * first 12 hex digits of the SHA-256 of the exact key>`. The space before `#` can never appear
 * in a plain context, so a hashed context never equals another key's plain one; the hash tells
 * apart keys that differ only in case or share a long prefix (docs/dispatch.md).
 */
export function statusContext(key: string): string {
  const plain = CONTEXT_PREFIX + key;
  if (PLAIN_KEY.test(key) && plain.length <= STATUS_CONTEXT_MAX) return plain;
  const suffix = ` #${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, HASH_HEX)}`;
  return CONTEXT_PREFIX + clipForGitHub(key, STATUS_CONTEXT_MAX - CONTEXT_PREFIX.length - suffix.length) + suffix;
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

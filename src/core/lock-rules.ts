import { KEY_MAX_LENGTH } from './limits.js';
import { formatDuration } from './duration.js';
import { DomainError } from './errors.js';
import type { Holder, JsonObject, Lock } from './types.js';

export { KEY_MAX_LENGTH } from './limits.js';
export const MESSAGE_MAX_LENGTH = 1024;
export const HOLDER_ID_MAX_LENGTH = 512;
export const MIN_TTL_MS = 1000;
export const DEFAULT_MAX_TTL_MS = 7 * 86_400_000;

// C0 and C1 control characters, DEL, and U+10FFFF (the top of the key space: list-by-prefix
// uses `prefix || U+10FFFF` as its exclusive upper bound, so no key may contain it).
// eslint-disable-next-line no-control-regex
const FORBIDDEN_IN_KEY = /[\u0000-\u001f\u007f-\u009f]|\u{10FFFF}/u;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function validateKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new DomainError('ValidationError', 'key is required: a non-empty string of at most 512 characters');
  }
  if ([...key].length > KEY_MAX_LENGTH) {
    throw new DomainError('ValidationError', `key is too long: at most ${KEY_MAX_LENGTH} characters`, {
      length: [...key].length,
    });
  }
  if (FORBIDDEN_IN_KEY.test(key)) {
    throw new DomainError('ValidationError', 'key must not contain control characters');
  }
  if (LONE_SURROGATE.test(key)) {
    throw new DomainError('ValidationError', 'key must be valid Unicode (no lone surrogates)');
  }
  return key;
}

export function validateTtl(ttlMs: unknown, maxTtlMs: number): number {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || !Number.isInteger(ttlMs)) {
    throw new DomainError('ValidationError', 'ttl must be a whole number of milliseconds');
  }
  if (ttlMs < MIN_TTL_MS) {
    throw new DomainError('ValidationError', `ttl must be at least 1s (got ${ttlMs}ms)`, { minTtlMs: MIN_TTL_MS });
  }
  if (ttlMs > maxTtlMs) {
    throw new DomainError(
      'ValidationError',
      `ttl ${formatDuration(ttlMs)} is above the maximum of ${formatDuration(maxTtlMs)}`,
      { maxTtlMs },
    );
  }
  return ttlMs;
}

// PostgreSQL text and jsonb cannot hold U+0000: refused on every backend, so they answer alike.
const NUL = '\u0000';

/** Whether any string in a JSON value (keys included) holds U+0000. */
export function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes(NUL);
  if (Array.isArray(value)) return value.some(containsNul);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).some(([k, v]) => k.includes(NUL) || containsNul(v));
  }
  return false;
}

/** How long an acquire may wait in line: 0 (the default: answer at once) up to the maximum TTL. */
export function validateWait(waitMs: unknown, maxWaitMs: number): number {
  if (waitMs === undefined || waitMs === null) return 0;
  if (typeof waitMs !== 'number' || !Number.isSafeInteger(waitMs) || waitMs < 0) {
    throw new DomainError('ValidationError', 'waitMs must be a whole number of milliseconds, 0 or more');
  }
  if (waitMs > maxWaitMs) {
    throw new DomainError('ValidationError', `waitMs ${formatDuration(waitMs)} is above the maximum of ${formatDuration(maxWaitMs)}`, {
      maxWaitMs,
    });
  }
  return waitMs;
}

export function validateMessage(message: unknown): string {
  if (message === undefined || message === null) return '';
  if (typeof message !== 'string') {
    throw new DomainError('ValidationError', 'message must be a string');
  }
  if (message.includes(NUL)) throw new DomainError('ValidationError', 'message must not contain NUL characters');
  if ([...message].length > MESSAGE_MAX_LENGTH) {
    throw new DomainError('ValidationError', `message is too long: at most ${MESSAGE_MAX_LENGTH} characters`);
  }
  return message;
}

/** An empty holderId is no holderId. */
export function normalizeHolderId(holderId: unknown): string | null {
  if (holderId === undefined || holderId === null || holderId === '') return null;
  if (typeof holderId !== 'string') {
    throw new DomainError('ValidationError', 'holderId must be a string');
  }
  if (holderId.length > HOLDER_ID_MAX_LENGTH) {
    throw new DomainError('ValidationError', `holderId is too long: at most ${HOLDER_ID_MAX_LENGTH} characters`);
  }
  if (holderId.includes(NUL)) throw new DomainError('ValidationError', 'holderId must not contain NUL characters');
  return holderId;
}

/** Properties stored with a lock: a JSON object without NUL characters, or nothing. */
export function validateProperties(properties: unknown): JsonObject | null {
  if (properties === undefined || properties === null) return null;
  if (typeof properties !== 'object' || Array.isArray(properties)) {
    throw new DomainError('ValidationError', 'properties must be an object');
  }
  if (containsNul(properties)) {
    throw new DomainError('ValidationError', 'properties must not contain NUL characters');
  }
  return properties as JsonObject;
}

/** Same holder = same principal and the same non-empty holderId (SPEC rule 1). */
export function isSameHolder(a: Holder, b: Holder): boolean {
  return a.principal === b.principal && a.holderId !== null && a.holderId === b.holderId;
}

/** A release without holderId by the holder's principal releases its lock (SPEC "Words"). */
export function mayRelease(lock: Holder, caller: Holder): boolean {
  return lock.principal === caller.principal && (caller.holderId === null || caller.holderId === lock.holderId);
}

export type AcquireDecision = 'grant' | 'renew' | 'refuse';

/**
 * The acquire rule as a pure function: the executable statement of SPEC rule 1 with
 * lock-delay. Stores implement it as one conditional statement; tests use this as the oracle.
 */
export function decideAcquire(existing: Lock | null, caller: Holder, now: Date, lockDelayMs = 0): AcquireDecision {
  if (existing === null) return 'grant';
  const t = now.getTime();
  if (existing.expiresAt.getTime() > t) {
    return isSameHolder(existing.holder, caller) ? 'renew' : 'refuse';
  }
  return existing.expiresAt.getTime() + lockDelayMs <= t ? 'grant' : 'refuse';
}

export function describeHolder(h: Holder): string {
  return h.holderId ? `${h.principal} (${h.holderId})` : h.principal;
}

/** When a lock stops blocking its key: at its expiry, plus the lock-delay (a clean release frees it at once). */
export function availableAt(lock: Lock, lockDelayMs: number): Date {
  return new Date(lock.expiresAt.getTime() + lockDelayMs);
}

/** What a blocked person reads: who holds the key, why, and until when. */
export function lockHeldMessage(lock: Lock, now: Date, lockDelayMs = 0): string {
  const why = lock.message ? `: "${lock.message}"` : ' (no message given)';
  const expires = lock.expiresAt.toISOString();
  if (lock.expiresAt.getTime() <= now.getTime()) {
    const until = availableAt(lock, lockDelayMs).toISOString();
    return `'${lock.key}' expired at ${expires} and is in its lock-delay until ${until}; it was held by ${describeHolder(lock.holder)}${why}`;
  }
  const left = formatDuration(lock.expiresAt.getTime() - now.getTime());
  return `'${lock.key}' is locked by ${describeHolder(lock.holder)}${why}; expires at ${expires} (in ${left})`;
}

/** 1st, 2nd, 3rd, 4th, 11th, 21st... */
export function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th';
  return `${n}${suffix}`;
}

/** Who waits first, for a refusal that the line of waiters (not a lock) caused. */
export function waitersAheadMessage(key: string, ahead: number, first: { holder: Holder; since: Date } | null): string {
  const who = first ? `; first in line: ${describeHolder(first.holder)}, waiting since ${first.since.toISOString()}` : '';
  return (
    `'${key}' is not locked, but ${ahead} waiter${ahead === 1 ? ' is' : 's are'} in line for it${who}. ` +
    'Waiters are served first come, first served: wait in line with waitMs (CLI: --wait)'
  );
}

/** Why a heartbeat failed: the grant with this fencing token is no longer the caller's. */
export function lockLostMessage(key: string, token: number, current: Lock | null): string {
  const now = current ? `; it is now held by ${describeHolder(current.holder)} with fencing token ${current.token}` : '; it is not locked now';
  if (current && current.token === token) {
    return `the lease on '${key}' with fencing token ${token} is not yours: it is held by ${describeHolder(current.holder)}`;
  }
  return `the lease on '${key}' with fencing token ${token} was lost (it expired, was released, or was force-released)${now}`;
}

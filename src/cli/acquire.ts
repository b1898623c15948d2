import { performance } from 'node:perf_hooks';
import type { LockView } from '../core/lock-view.js';
import { formatDuration } from '../core/duration.js';
import type { ApiClient } from './client.js';
import { CliError } from './errors.js';
import { watchWait } from './wait-progress.js';

export interface AcquireOptions {
  readonly key: string;
  readonly ttlMs: number;
  readonly message: string;
  readonly holderId: string;
  /** Wait in the key's line up to this long (0: answer at once). */
  readonly waitMs: number;
  readonly signal?: AbortSignal;
  /** Where progress lines go while waiting (stderr). */
  readonly progress: (line: string) => void;
}

/** Slack on top of a wait for the answer to travel back. */
const ANSWER_SLACK_MS = 60_000;

/**
 * POST /api/v1/locks, waiting in line when asked: the server holds the request until the lock is
 * granted or the wait runs out, and this prints who holds the key and our place in line meanwhile.
 * Aborting the request (Ctrl-C) closes the connection, which takes us out of the line at once.
 */
export async function acquireLock(client: ApiClient, o: AcquireOptions): Promise<Grant> {
  if (o.waitMs === 0) return acquireOnce(client, o);
  // A server that shuts down lets its waiters go (a retryable 503), and one restarting cannot be
  // reached for a moment: either way, join the line again while the wait lasts.
  const deadline = performance.now() + o.waitMs;
  let pause = 1_000;
  for (;;) {
    try {
      return await acquireOnce(client, { ...o, waitMs: Math.max(1, Math.round(deadline - performance.now())) });
    } catch (error) {
      const left = deadline - performance.now() - pause;
      // Only what is worth asking again: a server telling waiters to retry, or no answer at all
      // (restarting); a server that fails the same way each time is reported at once.
      const retryable = error instanceof CliError && (error.context?.retryable === true || error.context?.transport === true);
      if (!retryable || o.signal?.aborted || left < 1_000) throw error;
      const why = error.context?.retryable ? 'the server is shutting down and let everyone in line go' : (error as Error).message;
      o.progress(`${why}; joining the line again in ${formatDuration(pause)} (${formatDuration(Math.round(left / 1000) * 1000)} of the wait left)`);
      await sleep(pause, o.signal);
      pause = Math.min(pause * 2, 5_000);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

async function acquireOnce(client: ApiClient, o: AcquireOptions): Promise<Grant> {
  const body = { key: o.key, ttlMs: o.ttlMs, message: o.message, holderId: o.holderId, ...(o.waitMs > 0 ? { waitMs: o.waitMs } : {}) };
  const sentAt = performance.now();
  const granted = (r: { status: number; data: GrantView }): Grant => ({ ...r, validUntil: leaseValidUntil(sentAt, r.data, o.ttlMs) });
  if (o.waitMs === 0) return granted(await client.request<GrantView>('POST', '/api/v1/locks', body, o.signal ? { signal: o.signal } : {}));
  const stop = watchWait(client, o.key, o.holderId, o.progress);
  try {
    return granted(
      await client.request<GrantView>('POST', '/api/v1/locks', body, {
        answerWithinMs: o.waitMs + ANSWER_SLACK_MS,
        ...(o.signal ? { signal: o.signal } : {}),
      }),
    );
  } finally {
    stop();
  }
}

/** A grant as POST /api/v1/locks answers it: the lock and where its lease stood then. */
export type GrantView = LockView & { heldMs?: number; leaseRemainingMs?: number };

export interface Grant {
  readonly status: number;
  readonly data: GrantView;
  /** performance.now() until which the lease certainly runs. */
  readonly validUntil: number;
}

/**
 * Where the lease ends on this process's monotonic clock. The server says how long it held the
 * request and what was left of the lease then (on its clock): the request left here at `sentAt`,
 * so that moment came no earlier than sentAt + heldMs here. Counting from the grant, not from the
 * request, is what keeps a lease alive after a wait longer than its TTL; and no clock is compared
 * with another, so skew does not matter. A server that does not say: the TTL from sending.
 */
export function leaseValidUntil(sentAt: number, data: GrantView, ttlMs: number): number {
  if (typeof data.heldMs !== 'number' || typeof data.leaseRemainingMs !== 'number') return sentAt + ttlMs;
  return sentAt + data.heldMs + data.leaseRemainingMs;
}

import type { LockView } from '../core/lock-view.js';
import type { ApiClient } from './client.js';
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
export async function acquireLock(client: ApiClient, o: AcquireOptions): Promise<{ status: number; data: LockView }> {
  const body = { key: o.key, ttlMs: o.ttlMs, message: o.message, holderId: o.holderId, ...(o.waitMs > 0 ? { waitMs: o.waitMs } : {}) };
  if (o.waitMs === 0) return client.request<LockView>('POST', '/api/v1/locks', body, o.signal ? { signal: o.signal } : {});
  const stop = watchWait(client, o.key, o.holderId, o.progress);
  try {
    return await client.request<LockView>('POST', '/api/v1/locks', body, {
      answerWithinMs: o.waitMs + ANSWER_SLACK_MS,
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } finally {
    stop();
  }
}

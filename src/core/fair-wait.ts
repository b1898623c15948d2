import { EventEmitter, setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { LockChange, AcquireInput, AcquireResult, DecidedAcquire } from './ports/locks.js';
import type { Store } from './ports/store.js';
import { DomainError } from './errors.js';

export interface FairWaitOptions {
  /** How long a waiter counts without a refresh; refreshed every third of it while its request is open. */
  readonly waiterLeaseMs: number;
  /** The safety net: a waiter tries again this often even when no change woke it. */
  readonly recheckMs: number;
}

export type WaitOutcome =
  | { readonly outcome: 'granted' | 'renewed'; readonly result: DecidedAcquire }
  /** The wait ran out: the last refusal, and where the caller stood in line. */
  | { readonly outcome: 'timed_out'; readonly last: AcquireResult; readonly waitedMs: number };

/**
 * Waiting for a lock, first come, first served. The caller joins the key's line in the database
 * (LeaseStore.enqueue), then tries to acquire as that waiter whenever something may have freed the
 * key: the store's change feed (release, force release, expiry, on any replica), another waiter of
 * this process leaving, or every `recheckMs` at the latest. Who gets the key is decided by the
 * acquire statement alone (only the head of the line may take it), never by this loop, so the
 * order holds across replicas. The waiter's lease is refreshed while it waits; it leaves the line
 * when it gets the lock (in the granting transaction), gives up, or its client disconnects.
 *
 * The wait budget is request time, measured on this process's monotonic clock; lock expiry stays
 * the store's business.
 */
export class FairWait {
  /** Wakes this process's other waiters on a key when one of them leaves its line. */
  private readonly left = new EventEmitter();
  /** Aborted when the server shuts down: every wait ends with a retryable Unavailable. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly store: Store,
    private readonly options: FairWaitOptions,
  ) {
    this.left.setMaxListeners(0);
    // Every wait listens to it: any number of waiters is expected, not a leak.
    setMaxListeners(0, this.stopping.signal);
  }

  /** Ends every wait, now and to come, with a retryable Unavailable (the server is shutting down). */
  stop(): void {
    this.stopping.abort();
  }

  async wait(input: AcquireInput, waitMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    if (this.stopping.signal.aborted) throw shuttingDown();
    const started = performance.now();
    const deadline = started + waitMs;
    const topic = `${input.workspaceId}\u0000${input.key}`;
    const { leases } = this.store;
    const join = () =>
      leases.enqueue({ workspaceId: input.workspaceId, key: input.key, holder: input.holder, message: input.message, leaseMs: this.options.waiterLeaseMs });

    let woken = false;
    let wake: (() => void) | null = null;
    const onWake = () => {
      woken = true;
      wake?.();
    };
    const onChange = (c: LockChange) => {
      if (c.workspaceId === input.workspaceId && c.key === input.key && c.kind !== 'granted' && c.kind !== 'renewed') onWake();
    };
    const unsubscribe = this.store.onChange(onChange);
    this.left.on(topic, onWake);
    signal?.addEventListener('abort', onWake);
    this.stopping.signal.addEventListener('abort', onWake);

    let waiter = await join().catch((error: unknown) => {
      unsubscribe();
      this.left.off(topic, onWake);
      signal?.removeEventListener('abort', onWake);
      this.stopping.signal.removeEventListener('abort', onWake);
      throw error;
    });
    let granted = false;
    const refresher = setInterval(() => {
      leases.refresh(waiter.id, this.options.waiterLeaseMs).then(
        (alive) => alive || onWake(),
        () => undefined, // the next refresh or the attempt reports a lasting outage
      );
    }, Math.max(100, Math.floor(this.options.waiterLeaseMs / 3)));
    refresher.unref();

    try {
      for (;;) {
        if (signal?.aborted) throw disconnected();
        if (this.stopping.signal.aborted) throw shuttingDown();
        woken = false;
        const result = await this.store.acquire({ ...input, waiterId: waiter.id, recordDenial: false });
        if (result.outcome === 'granted' || result.outcome === 'renewed') {
          granted = true;
          // Let a close that already arrived be read before answering (one turn of the event loop).
          if (signal && !signal.aborted) await new Promise((resolve) => setImmediate(resolve));
          if (signal?.aborted && result.outcome === 'granted') {
            // The client left while its grant was being committed: nobody will use it, so free it
            // at once rather than blocking the key until its TTL runs out.
            await this.store.release({ workspaceId: input.workspaceId, key: input.key, caller: input.holder, force: false, mayForce: false });
            throw disconnected();
          }
          return { outcome: result.outcome, result };
        }
        if (result.outcome === 'not_in_line') {
          // Its lease lapsed (this process stalled longer than a lease): it lost its place.
          waiter = await join();
          continue;
        }
        const remaining = deadline - performance.now();
        if (remaining <= 0) return { outcome: 'timed_out', last: result, waitedMs: Math.round(performance.now() - started) };
        if (!woken) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.min(this.options.recheckMs, remaining));
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = null;
        }
      }
    } finally {
      clearInterval(refresher);
      unsubscribe();
      this.left.off(topic, onWake);
      signal?.removeEventListener('abort', onWake);
      this.stopping.signal.removeEventListener('abort', onWake);
      if (!granted) {
        await leases.leave(waiter.id).catch(() => undefined); // else its lease lapses on its own
        this.left.emit(topic);
      }
    }
  }
}

/** Retryable: the client may come back to another replica, or to this one once it is up again. */
export const SHUTTING_DOWN_MESSAGE = 'the stacklock server is shutting down, so it let everyone waiting in line go: try again in a few seconds (your place in line is not kept)';

function shuttingDown(): DomainError {
  return new DomainError('Unavailable', SHUTTING_DOWN_MESSAGE, { retryable: true, reason: 'shutting_down' });
}

function disconnected(): DomainError {
  return new DomainError('Conflict', 'the client disconnected while waiting; it left the line');
}

import type { Store } from './ports/store.js';

export interface ReaperOptions {
  readonly intervalMs: number;
  readonly lockDelayMs: number;
  /**
   * Rows per transaction (default 200); a full batch runs the next one at once. Smaller batches
   * hold the SQLite thread for less time each, so other requests wait less while many expire.
   */
  readonly batchSize?: number;
  readonly onError?: (error: unknown) => void;
}

/**
 * Frees expired locks: every `intervalMs` it asks the store for locks past their expiry plus the
 * lock-delay (an index range scan, O(expired)), which records `lock.expired` and tells listeners,
 * so waiters and queued dispatches wake within about `intervalMs` of the moment the key becomes
 * available again. With a lock-delay, that moment (and so the lock.expired event) is the end of the
 * delay: until then the expired lock still blocks its key and is shown as in its lock-delay.
 * It also deletes waiters whose lease lapsed (their server died); they stopped counting already.
 */
export class Reaper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;

  constructor(
    private readonly store: Store,
    private readonly options: ReaperOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass until no expired lock is left; returns how many were freed. */
  async reapNow(): Promise<number> {
    const batch = this.options.batchSize ?? 200;
    let total = 0;
    for (;;) {
      const freed = await this.store.reapExpired(batch, this.options.lockDelayMs);
      total += freed.length;
      if (freed.length < batch) break;
    }
    while ((await this.store.leases.purgeLapsed(batch)) === batch);
    return total;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.reapNow()
        .then(() => undefined)
        .catch((error) => this.options.onError?.(error))
        .finally(() => {
          this.running = null;
          this.schedule(this.options.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }
}

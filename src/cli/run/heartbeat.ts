import { performance } from 'node:perf_hooks';
import type { ApiClient } from '../client.js';
import { CliError } from '../errors.js';

/**
 * Keeps a lease alive: renews every third of the TTL (POST /api/v1/locks/renew with the fencing
 * token). The lease is lost when the server says so (LockLost), or when no renewal succeeded
 * before the lease would have run out (the server is unreachable: it may already have handed the
 * key on). Time here is this process's monotonic clock: a renewal's lease counts from when its
 * request was sent, the grant's from the grant (see leaseValidUntil), so it runs out no later
 * than the server's.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  private deadline: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly client: ApiClient,
    private readonly key: string,
    private readonly token: number,
    private readonly ttlMs: number,
    private readonly onLost: (why: string) => void,
  ) {}

  /** `validUntil`: performance.now() until which the grant's lease certainly runs. */
  start(validUntil: number): void {
    this.validUntil(validUntil);
    // The first renewal when a third of what is left has passed (a third of the TTL for a fresh grant).
    this.schedule(Math.max(0, Math.min(this.ttlMs, validUntil - performance.now()) / 3));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.deadline) clearTimeout(this.deadline);
  }

  private validUntil(at: number): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = setTimeout(() => this.lost('no renewal succeeded before the lease ran out'), Math.max(0, at - performance.now()));
  }

  private schedule(inMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.beat(), inMs);
  }

  private async beat(): Promise<void> {
    const sentAt = performance.now();
    const every = this.ttlMs / 3;
    try {
      await this.client.request('POST', '/api/v1/locks/renew', { key: this.key, token: this.token, ttlMs: this.ttlMs }, {
        signal: AbortSignal.timeout(Math.max(1_000, every)),
      });
      if (this.stopped) return;
      this.validUntil(sentAt + this.ttlMs);
      this.schedule(every);
    } catch (error) {
      if (this.stopped) return;
      if (error instanceof CliError && error.tag === 'LockLost') return this.lost(error.message);
      // Unreachable, failing, or timed out: try again soon; the deadline decides when it is lost.
      process.stderr.write(`stacklock: renewing the lease on '${this.key}' failed (${(error as Error).message}); retrying\n`);
      this.schedule(Math.min(every, Math.max(500, this.ttlMs / 12)));
    }
  }

  private lost(why: string): void {
    if (this.stopped) return;
    this.stop();
    this.onLost(why);
  }
}

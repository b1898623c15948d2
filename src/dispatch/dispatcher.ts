import type { Dispatch } from '../core/dispatch.js';
import type { Claim, DispatchStore, EnqueueResult, NewDispatch, SendOutcome } from '../core/ports/dispatches.js';
import type { LockChange, LockStore } from '../core/ports/locks.js';
import type { CommitStatuses } from './commit-statuses.js';
import type { GitHubApi } from './github-client.js';
import { classifyGitHubError } from './github-errors.js';

export interface DispatcherOptions {
  readonly claim: Claim;
  readonly sweepIntervalMs: number;
  readonly maxAttempts: number;
  /**
   * Single-process backends: every row left `dispatching` at start belongs to a dead process.
   * Shared backends wait for the row's lease to run out instead.
   */
  readonly recoverAllAtStart: boolean;
  /** Backoff after the n-th failed attempt when GitHub did not say how long to wait. */
  readonly backoffMs?: (attempts: number) => number;
  readonly log: DispatcherLog;
}

export interface DispatcherLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const BATCH = 500;
const STOP_GRACE_MS = 5000;
const WAKING: ReadonlySet<LockChange['kind']> = new Set(['released', 'force_released', 'expired', 'granted']);

const defaultBackoff = (attempts: number) => Math.min(15_000 * 2 ** Math.max(0, attempts - 1), 10 * 60_000);

/**
 * Sends queued dispatches. The store decides what may be sent (one conditional claim per key
 * queue head); this class only decides *when to ask*: at once after an enqueue, on every lock
 * change of a key that has waiting dispatches (releases, force releases and expiries on this
 * replica, and on others where the backend can hear them), and on a periodic sweep that catches
 * anything those missed, due retries, timeouts and abandoned claims.
 * A key's queue is drained by one loop at a time on this replica; the claim makes that true
 * across replicas.
 */
export class Dispatcher {
  private readonly draining = new Set<string>();
  private readonly again = new Set<string>();
  private readonly claimed = new Map<string, Dispatch[]>();
  private readonly running = new Set<Promise<void>>();
  private readonly inFlight = new Set<string>();
  private unsubscribe: (() => void) | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private stopped = true;

  constructor(
    private readonly locks: LockStore,
    private readonly store: DispatchStore,
    private readonly github: GitHubApi,
    private readonly statuses: CommitStatuses,
    private readonly options: DispatcherOptions,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    if (this.options.recoverAllAtStart) {
      while ((await this.recovered(await this.store.recoverAbandoned({ all: true, limit: BATCH }))) === BATCH);
    }
    this.unsubscribe = this.locks.onChange((c) => {
      if (!WAKING.has(c.kind) || c.activeDispatches === false) return;
      // Known to have queued dispatches: drain at once; not known (SQLite, a sweep): ask first.
      if (c.activeDispatches) this.drain(c.workspaceId, c.key);
      else this.track(this.wakeIfWaiting(c.workspaceId, c.key));
    });
    const leaseMs = this.options.claim.leaseMs;
    this.heartbeat = setInterval(() => {
      if (this.inFlight.size > 0) this.track(this.store.renewLeases(this.options.claim, [...this.inFlight]));
    }, Math.max(50, Math.floor(leaseMs / 3)));
    this.heartbeat.unref();
    this.scheduleSweep(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    // In-flight sends get a moment to record their answer; one that does not is recovered at the next start.
    const grace = new Promise((res) => setTimeout(res, STOP_GRACE_MS).unref());
    await Promise.race([Promise.allSettled([...this.running]), grace]);
  }

  /** Queues a dispatch; one that can go at once is claimed in the same transaction and sent now. */
  async enqueue(input: NewDispatch): Promise<EnqueueResult> {
    const result = await this.store.enqueue(input, this.options.claim);
    this.accepted(result);
    return result;
  }

  /** After an enqueue: send what it claimed and post the new dispatch's pending status. */
  private accepted(result: EnqueueResult): void {
    const d = result.dispatch;
    for (const s of result.superseded) if (s.headSha !== d.headSha) this.statuses.sync(s);
    if (d.state === 'waiting_for_lock') this.statuses.sync(d);
    if (result.claimed) this.drain(result.claimed.workspaceId, result.claimed.key, result.claimed);
  }

  /** Someone changed this key's queue (a cancel): the next in line may now go. */
  wake(workspaceId: string, key: string): void {
    this.drain(workspaceId, key);
  }

  /** One sweep: timeouts, abandoned claims, then every key whose head is due and free. */
  async sweepNow(): Promise<void> {
    const expired = await this.store.expireWaits(BATCH);
    for (const d of expired) {
      this.statuses.sync(d);
      this.drain(d.workspaceId, d.key);
    }
    await this.recovered(await this.store.recoverAbandoned({ all: false, limit: BATCH }));
    for (const k of await this.store.readyKeys(BATCH, this.options.claim.lockDelayMs)) this.drain(k.workspaceId, k.key);
  }

  /** Resolves when nothing is being drained or posted (tests). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    await this.statuses.idle();
  }

  private async recovered(rows: Dispatch[]): Promise<number> {
    for (const d of rows) {
      this.options.log.warn({ dispatchId: d.id, key: d.key, claimedBy: d.claimedBy }, `dispatch ${d.id} was being sent by a server that stopped: marked failed, not resent`);
      this.statuses.sync(d);
      this.drain(d.workspaceId, d.key);
    }
    return rows.length;
  }

  private async wakeIfWaiting(workspaceId: string, key: string): Promise<void> {
    if (await this.store.hasWaiting(workspaceId, key)) this.drain(workspaceId, key);
  }

  /**
   * Drains a key's queue: sends `claimed` (rows already claimed for this replica), then claims
   * and sends the next head until the store says the key is blocked or empty.
   */
  private drain(workspaceId: string, key: string, claimed: Dispatch | null = null): void {
    if (this.stopped) {
      // Claimed by an enqueue while stopping: hand it back rather than leave it to crash recovery.
      if (claimed) this.track(this.store.finish(claimed.id, this.options.claim, { state: 'retry', reason: 'the server was stopping', retryInMs: 0 }));
      return;
    }
    const k = `${workspaceId}\u0000${key}`;
    if (claimed) this.claimed.set(k, [...(this.claimed.get(k) ?? []), claimed]);
    if (this.draining.has(k)) {
      this.again.add(k);
      return;
    }
    this.draining.add(k);
    this.track(
      (async () => {
        try {
          do {
            this.again.delete(k);
            for (;;) {
              const mine = this.claimed.get(k);
              this.claimed.delete(k);
              for (const d of mine ?? []) await this.send(d);
              if (this.stopped) return;
              const r = await this.store.claimNext(workspaceId, key, this.options.claim);
              if (!r.claimed) {
                for (const d of r.reblocked) this.statuses.sync(d);
                break;
              }
              await this.send(r.claimed);
            }
          } while (this.again.has(k) && !this.stopped);
        } finally {
          this.draining.delete(k);
        }
      })(),
    );
  }

  private async send(d: Dispatch): Promise<void> {
    this.inFlight.add(d.id);
    let outcome: SendOutcome;
    try {
      await this.github.dispatchWorkflow(d);
      outcome = { state: 'dispatched' };
    } catch (error) {
      const f = classifyGitHubError(error, Date.now());
      if (f.kind === 'retryable' && d.attempts < this.options.maxAttempts) {
        const backoff = (this.options.backoffMs ?? defaultBackoff)(d.attempts);
        const waitMs = f.retryAt ? Math.max(0, f.retryAt.getTime() - Date.now()) : backoff;
        outcome = { state: 'retry', reason: f.message, retryInMs: waitMs };
      } else {
        outcome = { state: 'failed', reason: f.message };
      }
    } finally {
      this.inFlight.delete(d.id);
    }
    const done = await this.store.finish(d.id, this.options.claim, outcome);
    const ctx = { dispatchId: d.id, key: d.key, repository: d.repository, workflow: d.workflow, attempts: d.attempts };
    if (!done) {
      this.options.log.warn(ctx, `dispatch ${d.id}: lost its claim before recording the outcome (${outcome.state})`);
      return;
    }
    if (outcome.state === 'dispatched') this.options.log.info(ctx, `dispatched ${d.workflow} to ${d.repository} for '${d.key}'`);
    else this.options.log.warn({ ...ctx, reason: outcome.reason }, `dispatch ${d.id} ${outcome.state === 'retry' ? 'will be retried' : 'failed'}: ${outcome.reason}`);
    this.statuses.sync(done);
  }

  private scheduleSweep(delayMs: number): void {
    if (this.stopped) return;
    this.sweepTimer = setTimeout(() => {
      const p = this.sweepNow()
        .catch((error) => this.options.log.error({ err: error }, 'dispatch sweep failed'))
        .finally(() => this.scheduleSweep(this.options.sweepIntervalMs));
      this.track(p);
    }, delayMs);
    this.sweepTimer.unref();
  }

  private track(p: Promise<unknown>): void {
    const q = p.then(
      () => undefined,
      (error) => this.options.log.error({ err: error }, 'dispatch work failed'),
    );
    this.running.add(q);
    void q.finally(() => this.running.delete(q));
  }
}

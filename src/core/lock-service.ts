import { performance } from 'node:perf_hooks';
import type { Waiter } from './ports/leases.js';
import type { AcquireInput, AcquireResult } from './ports/locks.js';
import type { Store } from './ports/store.js';
import { DomainError } from './errors.js';
import { FairWait, type FairWaitOptions } from './fair-wait.js';
import { formatDuration } from './duration.js';
import {
  availableAt,
  lockHeldMessage,
  lockLostMessage,
  normalizeHolderId,
  ordinal,
  validateKey,
  validateMessage,
  validateTtl,
  validateProperties,
  validateWait,
  describeHolder,
  waitersAheadMessage,
} from './lock-rules.js';
import { lockView, waiterView } from './lock-view.js';
import { hasScope, type JsonObject, type Lock, type Principal, type Scope } from './types.js';

export interface LockServiceOptions extends FairWaitOptions {
  readonly maxTtlMs: number;
  readonly lockDelayMs: number;
}

export interface AcquireRequest {
  readonly key: unknown;
  readonly ttlMs: unknown;
  readonly message?: unknown;
  readonly holderId?: unknown;
  readonly properties?: JsonObject | null;
  /** Wait up to this many milliseconds in the key's line (0: answer at once). */
  readonly waitMs?: unknown;
}

/**
 * A grant and where its lease stands: `remainingMs` was left of it after the server had held the
 * request `heldMs`. A client that sent the request at T knows the lease runs at least until
 * T + heldMs + remainingMs on its own clock, however long the wait and whatever the clocks' skew.
 */
export interface AcquireOutcome {
  readonly outcome: 'granted' | 'renewed';
  readonly lock: Lock;
  readonly lease: { readonly heldMs: number; readonly remainingMs: number };
}

export interface RenewRequest {
  readonly key: unknown;
  readonly token: unknown;
  /** Default: the length of the grant's last grant or renewal. */
  readonly ttlMs?: unknown;
}

/** What blocks a key and who waits for it. */
export interface KeyStatus {
  /** Held, or expired and still in its lock-delay; null when available. */
  readonly lock: Lock | null;
  readonly state: 'held' | 'lock_delay' | 'free';
  /** When the key becomes available if nobody renews or releases. */
  readonly availableAt: Date | null;
  readonly queue: Waiter[];
}

export interface ReleaseRequest {
  readonly key: unknown;
  /**
   * `true`: release it whoever holds it (needs locks:force). `'if-permitted'`: force exactly when
   * the caller has that right, the unlock of atmos, which names no holder and has no --force.
   */
  readonly force?: boolean | 'if-permitted';
  readonly holderId?: unknown;
  readonly reason?: string | null;
  /** With `force: 'if-permitted'`: the reason recorded when it does force and none was given. */
  readonly reasonIfForced?: string;
}

/**
 * The lock rules applied to a caller: validation, permissions, and turning the store's
 * outcomes into results or DomainErrors. The decision itself is the store's (one statement).
 */
export class LockService {
  private readonly waiting: FairWait;

  constructor(
    private readonly store: Store,
    private readonly options: LockServiceOptions,
  ) {
    this.waiting = new FairWait(store, options);
  }

  /**
   * Grants, renews, or refuses with LockHeld. With `waitMs`, a refused caller waits in the key's
   * line (first come, first served) until granted or the wait runs out; `signal` says its client
   * disconnected, which takes it out of the line at once. A caller that does not wait never jumps
   * the line: an available key with live waiters is refused to it.
   */
  async acquire(caller: Principal, req: AcquireRequest, signal?: AbortSignal): Promise<AcquireOutcome> {
    const received = performance.now();
    requireScope(caller, 'locks:write');
    const key = this.permittedKey(caller, req.key);
    const input: AcquireInput = {
      workspaceId: caller.workspaceId,
      key,
      ttlMs: validateTtl(req.ttlMs, this.options.maxTtlMs),
      message: validateMessage(req.message),
      holder: { principal: caller.name, holderId: normalizeHolderId(req.holderId) },
      properties: validateProperties(req.properties),
      details: caller.details,
      lockDelayMs: this.options.lockDelayMs,
    };
    const waitMs = validateWait(req.waitMs, this.options.maxTtlMs);
    const first = await this.store.acquire({ ...input, recordDenial: waitMs === 0 });
    if (first.outcome === 'granted' || first.outcome === 'renewed') {
      // Granted by our own write: the lease starts no earlier than the request arrived.
      const lock = first.lock;
      return { outcome: first.outcome, lock, lease: { heldMs: 0, remainingMs: lock.expiresAt.getTime() - lock.updatedAt.getTime() } };
    }
    if (waitMs === 0) throw await this.refusal(input, first, null);
    const waited = await this.waiting.wait(input, waitMs, signal);
    if (waited.outcome !== 'timed_out') {
      // Granted after a wait, possibly by a releaser handing the key on: what is left of the lease
      // is measured now, on the store's clock, and `heldMs` (this process's monotonic clock, from
      // arrival to just before that measurement) lets the client place it on its own clock.
      const lock = waited.result.lock;
      const heldMs = Math.floor(performance.now() - received);
      const now = await this.store.now();
      return { outcome: waited.outcome, lock, lease: { heldMs, remainingMs: Math.max(0, lock.expiresAt.getTime() - now.getTime()) } };
    }
    const error = await this.refusal(input, waited.last, waited.waitedMs);
    await this.store.appendEvent({ workspaceId: input.workspaceId, action: 'lock.denied', actor: input.holder.principal, key: input.key,
      token: waited.last.lock?.token ?? null, details: { holderId: input.holder.holderId, waitedMs: waited.waitedMs } });
    throw error;
  }

  /** Lets every waiter go with a retryable Unavailable: the server is shutting down. */
  stopWaiting(): void {
    this.waiting.stop();
  }

  /** Heartbeat: extends the caller's live grant with this fencing token; LockLost when it is gone. */
  async renew(caller: Principal, req: RenewRequest): Promise<Lock> {
    requireScope(caller, 'locks:write');
    const key = this.permittedKey(caller, req.key);
    if (typeof req.token !== 'number' || !Number.isSafeInteger(req.token) || req.token < 1) {
      throw new DomainError('ValidationError', 'token must be the fencing token of your grant: a positive whole number');
    }
    const ttlMs = req.ttlMs === undefined || req.ttlMs === null ? undefined : validateTtl(req.ttlMs, this.options.maxTtlMs);
    const result = await this.store.leases.renew({
      workspaceId: caller.workspaceId,
      key,
      token: req.token,
      principal: caller.name,
      ...(ttlMs !== undefined ? { ttlMs } : {}),
    });
    if (result.outcome === 'renewed') return result.lock;
    throw new DomainError('LockLost', lockLostMessage(key, req.token, result.current), {
      key,
      token: req.token,
      lock: result.current ? lockView(result.current) : null,
    });
  }

  /** A valid key the caller may lock (a repository's session may be limited to some keys). */
  private permittedKey(caller: Principal, rawKey: unknown): string {
    const key = validateKey(rawKey);
    if (!mayTouchKey(caller, key)) {
      throw new DomainError('Forbidden', `${caller.name} may lock only keys matching ${caller.keys?.toString()}; '${key}' does not match`, {
        key,
        allowedKeys: caller.keys?.globs ?? [],
      });
    }
    return key;
  }

  /** What blocks a key (a held lock, or one in its lock-delay) and its line of waiters. */
  async status(caller: Principal, rawKey: unknown): Promise<KeyStatus> {
    const key = validateKey(rawKey);
    const delay = this.options.lockDelayMs;
    const [lock, queue, now] = await Promise.all([
      this.store.leases.blockingLock(caller.workspaceId, key, delay),
      this.store.leases.queue(caller.workspaceId, key),
      this.store.now(),
    ]);
    if (!lock) return { lock: null, state: 'free', availableAt: null, queue };
    const state = lock.expiresAt.getTime() > now.getTime() ? 'held' : 'lock_delay';
    return { lock, state, availableAt: availableAt(lock, delay), queue };
  }

  /** LockHeld naming what blocks the caller: a lock (who, why, until when) or the waiters ahead of it. */
  private async refusal(input: AcquireInput, result: AcquireResult, waitedMs: number | null): Promise<DomainError> {
    const queue = await this.store.leases.queue(input.workspaceId, input.key);
    let message: string;
    if (result.lock) {
      const now = (result.outcome === 'held' ? result.at : undefined) ?? (await this.store.now());
      message = lockHeldMessage(result.lock, now, this.options.lockDelayMs);
    } else {
      const ahead = result.outcome === 'queued' ? result.ahead : queue.length;
      message = waitersAheadMessage(input.key, ahead, queue[0] ?? null);
    }
    if (waitedMs !== null) {
      const place = queue.length > 0 ? `; ${ordinal(queue.length + 1)} in line when it gave up` : '';
      message += ` (gave up after waiting ${formatDuration(waitedMs)}${place})`;
    } else if (result.lock && queue.length > 0) {
      message += `; ${queue.length} waiting in line`;
    }
    return new DomainError('LockHeld', message, {
      lock: result.lock ? lockView(result.lock) : null,
      queue: queue.map((w, i) => waiterView(w, i + 1)),
      ...(waitedMs !== null ? { waitedMs } : {}),
    });
  }

  /** `at`: when the store released it, on its clock. */
  async release(caller: Principal, req: ReleaseRequest): Promise<{ outcome: 'released' | 'force_released'; lock: Lock; at: Date }> {
    requireScope(caller, 'locks:write');
    const key = validateKey(req.key);
    // Forcing needs locks:force and, for a principal limited to some keys, a key among them.
    const mayForce = hasScope(caller, 'locks:force') && mayTouchKey(caller, key);
    const force = req.force === true || (req.force === 'if-permitted' && mayForce);
    const result = await this.store.release({
      workspaceId: caller.workspaceId,
      key,
      caller: { principal: caller.name, holderId: normalizeHolderId(req.holderId) },
      force,
      mayForce,
      recordAsForce: req.force === true && mayForce,
      reason: req.reason ?? (req.force === 'if-permitted' && force ? (req.reasonIfForced ?? null) : null),
    });
    switch (result.outcome) {
      case 'not_found':
        throw new DomainError('LockNotFound', `'${key}' is not locked`, { key });
      case 'not_holder': {
        const held = `'${key}' is locked by ${describeHolder(result.lock.holder)}${result.lock.message ? `: "${result.lock.message}"` : ''}`;
        const hint = !force
          ? 'only its holder can release it; someone with the locks:force permission can force it'
          : hasScope(caller, 'locks:force')
            ? `${caller.name} may force only keys matching ${caller.keys?.toString()}`
            : `${caller.name} lacks the locks:force permission needed to force it`;
        throw new DomainError('NotLockHolder', `${held}; ${hint}`, { lock: lockView(result.lock) });
      }
      default:
        return { ...result, at: result.at ?? (await this.store.now()) };
    }
  }

  async get(caller: Principal, rawKey: unknown): Promise<Lock> {
    const key = validateKey(rawKey);
    const lock = await this.store.getLock(caller.workspaceId, key);
    if (!lock) throw new DomainError('LockNotFound', `'${key}' is not locked`, { key });
    return lock;
  }
}

/** A principal limited to some keys (a repository) may lock or force only those. */
export function mayTouchKey(caller: Principal, key: string): boolean {
  return !caller.keys || caller.keys.matches(key);
}

export function requireScope(caller: Principal, scope: Scope): void {
  if (!hasScope(caller, scope)) {
    throw new DomainError('Forbidden', `${caller.name} lacks the ${scope} permission`, { required: scope });
  }
}

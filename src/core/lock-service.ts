import type { LockStore } from '../store/lock-store.js';
import { DomainError } from './errors.js';
import {
  lockHeldMessage,
  normalizeHolderId,
  validateKey,
  validateMessage,
  validateTtl,
  validateProperties,
  describeHolder,
} from './lock-rules.js';
import { lockView } from './lock-view.js';
import { hasScope, type JsonObject, type Lock, type Principal, type Scope } from './types.js';

export interface LockServiceOptions {
  readonly maxTtlMs: number;
  readonly lockDelayMs: number;
}

export interface AcquireRequest {
  readonly key: unknown;
  readonly ttlMs: unknown;
  readonly message?: unknown;
  readonly holderId?: unknown;
  readonly properties?: JsonObject | null;
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
}

/**
 * The lock rules applied to a caller: validation, permissions, and turning the store's
 * outcomes into results or DomainErrors. The decision itself is the store's (one statement).
 */
export class LockService {
  constructor(
    private readonly store: LockStore,
    private readonly options: LockServiceOptions,
  ) {}

  async acquire(caller: Principal, req: AcquireRequest): Promise<{ outcome: 'granted' | 'renewed'; lock: Lock }> {
    requireScope(caller, 'locks:write');
    const key = validateKey(req.key);
    if (!mayTouchKey(caller, key)) {
      throw new DomainError('Forbidden', `${caller.name} may lock only keys matching ${caller.keys?.toString()}; '${key}' does not match`, {
        key,
        allowedKeys: caller.keys?.globs ?? [],
      });
    }
    const ttlMs = validateTtl(req.ttlMs, this.options.maxTtlMs);
    const message = validateMessage(req.message);
    const holderId = normalizeHolderId(req.holderId);
    const result = await this.store.acquire({
      workspaceId: caller.workspaceId,
      key,
      ttlMs,
      message,
      holder: { principal: caller.name, holderId },
      properties: validateProperties(req.properties),
      details: caller.details,
      lockDelayMs: this.options.lockDelayMs,
    });
    if (result.outcome === 'held') {
      throw new DomainError('LockHeld', lockHeldMessage(result.lock, result.at ?? (await this.store.now())), {
        lock: lockView(result.lock),
      });
    }
    return { outcome: result.outcome, lock: result.lock };
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
      reason: req.reason ?? null,
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

import { DomainError } from '../core/errors.js';
import type { JsonObject } from '../core/types.js';

/**
 * What the atmos CLI sends that stacklock's own API spells differently (ATMOS-WIRE.md):
 * `ttl` in seconds instead of `ttlMs`, `lockMessage` instead of `message`, and `properties`
 * as an object (the atmos CLI) or as Atmos Pro's documented list of `{key, value}` pairs.
 */
export interface AtmosLockFields {
  ttlMs?: number;
  ttl?: number;
  message?: string;
  lockMessage?: string;
  properties?: JsonObject | Array<{ key: string; value?: unknown }>;
}

export const atmosPropertiesSchema = {
  type: ['object', 'array'],
  description: 'stored with the lock: an object, or a list of {key, value} pairs',
  additionalProperties: true,
  items: { type: 'object', required: ['key'], properties: { key: { type: 'string' } }, additionalProperties: true },
} as const;

/** Recorded with a release that only happened because the caller may force (atmos has no --force). */
export const UNLOCK_BY_KEY_REASON = 'unlock by key without "force" (atmos pro unlock) by a caller with locks:force';

export interface NormalizedLockFields {
  readonly ttlMs: number;
  readonly message: string | undefined;
  readonly properties: JsonObject | null;
  /** The request spoke atmos (a TTL in seconds and no ttlMs): answer as Atmos Pro does. */
  readonly atmosForm: boolean;
}

/** `ttlMs` wins over `ttl`, `message` over `lockMessage`. */
export function fromAtmosLockFields(b: AtmosLockFields): NormalizedLockFields {
  const atmosForm = b.ttlMs === undefined && b.ttl !== undefined;
  const ttlMs = b.ttlMs ?? (b.ttl === undefined ? undefined : b.ttl * 1000);
  if (ttlMs === undefined) {
    throw new DomainError('ValidationError', 'ttl must be a whole number: send ttlMs (milliseconds) or ttl (seconds, the atmos form)');
  }
  return { ttlMs, message: b.message ?? b.lockMessage, properties: toPropertiesObject(b.properties), atmosForm };
}

function toPropertiesObject(p: AtmosLockFields['properties']): JsonObject | null {
  if (p === undefined || p === null) return null;
  if (!Array.isArray(p)) return p;
  const out: JsonObject = {};
  for (const { key, value } of p) {
    // A property named __proto__ would otherwise change the object's prototype.
    Object.defineProperty(out, key, { value: value ?? null, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

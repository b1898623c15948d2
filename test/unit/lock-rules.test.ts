import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/core/duration.js';
import { DomainError } from '../../src/core/errors.js';
import {
  decideAcquire,
  lockHeldMessage,
  mayRelease,
  validateKey,
  validateMessage,
  validateTtl,
} from '../../src/core/lock-rules.js';
import type { Lock } from '../../src/core/types.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000);

function lock(over: Partial<Lock> = {}): Lock {
  return {
    workspaceId: 'w',
    key: 'acme/infra/prod/vpc',
    id: 'id',
    holder: { principal: 'token:ci', holderId: 'run-1' },
    message: 'deploying',
    token: 7,
    acquiredAt: at(0),
    updatedAt: at(0),
    expiresAt: at(60),
    properties: null,
    details: null,
    ...over,
  };
}

describe('durations', () => {
  it('reads a bare number as milliseconds, as the seed says', () => {
    expect(parseDuration('30000')).toBe(30_000);
  });
  it('reads units and combinations', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1.5s')).toBe(1500);
  });
  it('refuses anything else with a message that shows the forms', () => {
    for (const bad of ['', 'abc', '-5', '10 minutes', '5x', '1e3', 's', '9'.repeat(30)]) {
      expect(() => parseDuration(bad, 'TTL'), bad).toThrow(DomainError);
    }
    expect(() => parseDuration('abc', 'TTL')).toThrow(/90s, 15m, 2h/);
  });
  it('formats for people', () => {
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(86_400_000 + 1000)).toBe('1d1s');
  });
});

describe('validation', () => {
  it('accepts keys of 1–512 characters with slashes, spaces and non-ASCII', () => {
    expect(validateKey('a')).toBe('a');
    expect(validateKey('acme/infra/plat-ue1-prod/eks/cluster/blue')).toBeTruthy();
    expect(validateKey('ключ / ✓')).toBeTruthy();
    expect(validateKey('x'.repeat(512))).toBeTruthy();
    expect(validateKey('😀'.repeat(512))).toBeTruthy();
  });
  it('refuses empty, oversized, control characters, lone surrogates and non-strings', () => {
    for (const bad of ['', 'x'.repeat(513), 'a\nb', 'a\u0000', 'tab\there', '\u007f', '\u0085', 'a\uD800b', '\u{10FFFF}', 5, null, undefined, {}]) {
      expect(() => validateKey(bad), JSON.stringify(bad)).toThrow(DomainError);
    }
  });
  it('bounds TTLs to [1s, max]', () => {
    expect(validateTtl(1000, 5000)).toBe(1000);
    expect(validateTtl(5000, 5000)).toBe(5000);
    for (const bad of [0, -1, 999, 5001, 1.5, Number.NaN, Infinity, '1000', null, undefined]) {
      expect(() => validateTtl(bad, 5000), String(bad)).toThrow(DomainError);
    }
    expect(() => validateTtl(5001, 5000)).toThrow(/above the maximum of 5s/);
  });
  it('limits messages to 1,024 characters', () => {
    expect(validateMessage(undefined)).toBe('');
    expect(validateMessage('m'.repeat(1024))).toHaveLength(1024);
    expect(() => validateMessage('m'.repeat(1025))).toThrow(/at most 1024/);
    expect(() => validateMessage(42)).toThrow(DomainError);
  });
});

describe('the acquire rule (SPEC 1) as a pure function', () => {
  const holder = { principal: 'token:ci', holderId: 'run-1' };
  it('grants a free key', () => {
    expect(decideAcquire(null, holder, at(0))).toBe('grant');
  });
  it('renews for the same principal and the same non-empty holderId', () => {
    expect(decideAcquire(lock(), holder, at(30))).toBe('renew');
  });
  it('refuses another holderId, another principal, and any holderId-less caller', () => {
    expect(decideAcquire(lock(), { principal: 'token:ci', holderId: 'run-2' }, at(30))).toBe('refuse');
    expect(decideAcquire(lock(), { principal: 'token:other', holderId: 'run-1' }, at(30))).toBe('refuse');
    const anon = lock({ holder: { principal: 'token:ci', holderId: null } });
    expect(decideAcquire(anon, { principal: 'token:ci', holderId: null }, at(30))).toBe('refuse');
  });
  it('grants anyone once the lock has expired, after the lock-delay', () => {
    expect(decideAcquire(lock(), { principal: 'token:x', holderId: null }, at(60))).toBe('grant');
    expect(decideAcquire(lock(), { principal: 'token:x', holderId: null }, at(61), 5000)).toBe('refuse');
    expect(decideAcquire(lock(), { principal: 'token:x', holderId: null }, at(65), 5000)).toBe('grant');
  });
  it('lets the principal release without a holderId, or with the matching one', () => {
    expect(mayRelease(holder, { principal: 'token:ci', holderId: null })).toBe(true);
    expect(mayRelease(holder, { principal: 'token:ci', holderId: 'run-1' })).toBe(true);
    expect(mayRelease(holder, { principal: 'token:ci', holderId: 'run-2' })).toBe(false);
    expect(mayRelease(holder, { principal: 'token:other', holderId: null })).toBe(false);
  });
  it('tells a blocked person who holds the key, why, and until when', () => {
    const m = lockHeldMessage(lock(), at(0));
    expect(m).toContain('token:ci (run-1)');
    expect(m).toContain('"deploying"');
    expect(m).toContain(at(60).toISOString());
    expect(m).toContain('in 1m');
  });
});

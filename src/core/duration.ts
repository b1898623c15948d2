import { DomainError } from './errors.js';

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Parses a duration for humans. A bare number is milliseconds, as the seed's CLI says;
 * `90s`, `15m`, `2h`, `7d`, `500ms` and combinations such as `1h30m` also work.
 */
export function parseDuration(input: string, what = 'duration'): number {
  const s = input.trim();
  if (/^\d+$/.test(s)) {
    return checkSafe(Number(s), input, what);
  }
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * (UNITS[m[2] as string] as number);
    matched = re.lastIndex;
  }
  if (s.length === 0 || matched !== s.length) {
    throw new DomainError(
      'ValidationError',
      `invalid ${what} '${input}': use milliseconds (e.g. 30000) or a number with a unit: 500ms, 90s, 15m, 2h, 7d`,
    );
  }
  return checkSafe(Math.round(total), input, what);
}

function checkSafe(n: number, input: string, what: string): number {
  if (!Number.isSafeInteger(n)) {
    throw new DomainError('ValidationError', `invalid ${what} '${input}': too large`);
  }
  return n;
}

/** `90000` → `1m30s`, for messages. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}

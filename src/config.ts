import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDuration } from './core/duration.js';
import { DomainError } from './core/errors.js';
import { DEFAULT_MAX_TTL_MS, MIN_TTL_MS } from './core/lock-rules.js';

/** Everything the server needs, built once: flag, then environment, then default. */
export interface Config {
  readonly dataDir: string;
  readonly databaseUrl: string | null;
  readonly port: number;
  readonly host: string;
  readonly maxTtlMs: number;
  readonly lockDelayMs: number;
  /** How often the reaper looks for expired locks. */
  readonly reapIntervalMs: number;
  /** A waiter counts this long without a refresh: the waiters of a crashed server stop counting after it. */
  readonly waiterLeaseMs: number;
  /** A waiter tries again at least this often, even when no change on its key woke it. */
  readonly waitRecheckMs: number;
  readonly logLevel: string;
  readonly bodyLimitBytes: number;
  /** `atmos describe affected --upload` sends every affected stack with its settings: a larger limit there. */
  readonly uploadBodyLimitBytes: number;
  readonly oidc: OidcConfig;
}

/** GitHub Actions OIDC login (`POST /api/v1/auth/github-oidc`). */
export interface OidcConfig {
  /** The `iss` a token must carry. */
  readonly issuer: string;
  /** Where the issuer's signing keys are published. */
  readonly jwksUrl: string;
  /** The `aud` a token must carry: atmos asks GitHub for `atmos-pro.com`. */
  readonly audience: string;
  /** How long the session token an exchange returns lives. */
  readonly sessionTtlMs: number;
}

export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

export interface ServerFlags {
  dataDir?: string | undefined;
  databaseUrl?: string | undefined;
  port?: string | number | undefined;
  host?: string | undefined;
  maxTtl?: string | undefined;
  lockDelay?: string | undefined;
  logLevel?: string | undefined;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Reads `NAME`, or the file named by `NAME_FILE` (for secrets mounted as files). */
export function secretFromEnv(env: Env, name: string): string | undefined {
  const direct = env[name];
  if (direct !== undefined && direct !== '') return direct;
  const file = env[`${name}_FILE`];
  if (file) return readFileSync(file, 'utf8').trim();
  return undefined;
}

function pick(flag: string | number | undefined, envValue: string | undefined, fallback: string): string {
  if (flag !== undefined && flag !== '') return String(flag);
  if (envValue !== undefined && envValue !== '') return envValue;
  return fallback;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new DomainError('ValidationError', `invalid port '${value}': a whole number from 0 to 65535`);
  }
  return n;
}

export function buildConfig(flags: ServerFlags = {}, env: Env = process.env): Config {
  const maxTtlMs = parseDuration(pick(flags.maxTtl, env.STACKLOCK_MAX_TTL, '7d'), 'max TTL');
  if (maxTtlMs < MIN_TTL_MS) {
    throw new DomainError('ValidationError', 'the maximum TTL must be at least 1s');
  }
  const databaseUrl = pick(flags.databaseUrl, secretFromEnv(env, 'DATABASE_URL'), '');
  return {
    dataDir: resolve(pick(flags.dataDir, env.STACKLOCK_DATA_DIR, './data')),
    databaseUrl: databaseUrl === '' ? null : databaseUrl,
    port: port(pick(flags.port, env.PORT, '8080')),
    host: pick(flags.host, env.HOST, '127.0.0.1'),
    maxTtlMs: maxTtlMs ?? DEFAULT_MAX_TTL_MS,
    lockDelayMs: parseDuration(pick(flags.lockDelay, env.STACKLOCK_LOCK_DELAY, '0'), 'lock delay'),
    reapIntervalMs: 250,
    waiterLeaseMs: 15_000,
    waitRecheckMs: 1_000,
    logLevel: pick(flags.logLevel, env.STACKLOCK_LOG_LEVEL, 'info'),
    bodyLimitBytes: 1024 * 1024,
    uploadBodyLimitBytes: 32 * 1024 * 1024,
    oidc: oidcConfig(env),
  };
}

function oidcConfig(env: Env): OidcConfig {
  const issuer = pick(undefined, env.STACKLOCK_OIDC_ISSUER, GITHUB_ACTIONS_ISSUER).replace(/\/+$/, '');
  const jwksUrl = pick(undefined, env.STACKLOCK_OIDC_JWKS_URL, `${issuer}/.well-known/jwks`);
  for (const [name, value] of [['STACKLOCK_OIDC_ISSUER', issuer], ['STACKLOCK_OIDC_JWKS_URL', jwksUrl]] as const) {
    if (!/^https?:\/\/[^/]/.test(value)) {
      throw new DomainError('ValidationError', `${name} must be an http(s) URL, got '${value}'`);
    }
  }
  const sessionTtlMs = parseDuration(pick(undefined, env.STACKLOCK_OIDC_SESSION_TTL, '1h'), 'OIDC session TTL');
  if (sessionTtlMs < 60_000 || sessionTtlMs > 86_400_000) {
    throw new DomainError('ValidationError', 'STACKLOCK_OIDC_SESSION_TTL must be between 1m and 24h');
  }
  return { issuer, jwksUrl, audience: pick(undefined, env.STACKLOCK_OIDC_AUDIENCE, 'atmos-pro.com'), sessionTtlMs };
}

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
  readonly github: GitHubConfig;
  readonly dispatch: DispatchConfig;
}

/** How stacklock reaches GitHub (dispatches, commit statuses) and checks its webhooks. */
export interface GitHubConfig {
  /** GitHub's REST API, GitHub Enterprise's (`https://ghe.example.com/api/v3`), or a local fake in tests. */
  readonly apiUrl: string;
  readonly token: string | null;
  /** A GitHub App instead of a token: both or neither. */
  readonly appId: string | null;
  readonly privateKey: string | null;
  readonly webhookSecret: string | null;
  /** Least time between two writes: GitHub asks for one second to stay clear of its secondary rate limits. */
  readonly writeIntervalMs: number;
  /** Base of the quadratic backoff between retries of a 5xx (1, 4, 9 × base). */
  readonly retryBaseMs: number;
  /** One HTTP attempt gives up after this long. */
  readonly requestTimeoutMs: number;
}

export interface DispatchConfig {
  /** A dispatch still waiting for its lock after this long is `timed_out`. */
  readonly maxWaitMs: number;
  /** How often the safety-net sweep runs (wake-ups on lock changes do the usual work). */
  readonly sweepIntervalMs: number;
  /** How long a replica's claim on a dispatch it is sending holds without a heartbeat. */
  readonly leaseMs: number;
  /** Send attempts (each with Octokit's own retries) before a retryable error becomes `failed`. */
  readonly maxAttempts: number;
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
  dispatchMaxWait?: string | undefined;
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
    github: githubConfig(env),
    dispatch: {
      maxWaitMs: parseDuration(pick(flags.dispatchMaxWait, env.STACKLOCK_DISPATCH_MAX_WAIT, '24h'), 'dispatch max wait'),
      sweepIntervalMs: 1000,
      leaseMs: 120_000,
      maxAttempts: 6,
    },
  };
}

function githubConfig(env: Env): GitHubConfig {
  const apiUrl = pick(undefined, env.STACKLOCK_GITHUB_API_URL, 'https://api.github.com').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(apiUrl) || !URL.canParse(apiUrl)) {
    throw new DomainError('ValidationError', `STACKLOCK_GITHUB_API_URL must be an http(s) URL (got '${apiUrl}')`);
  }
  const appId = pick(undefined, env.STACKLOCK_GITHUB_APP_ID, '');
  // Keys pasted into one-line variables often carry literal "\n": turn them back into newlines.
  const privateKey = (secretFromEnv(env, 'STACKLOCK_GITHUB_PRIVATE_KEY') ?? '').replace(/\\n/g, '\n');
  if ((appId === '') !== (privateKey === '')) {
    throw new DomainError('ValidationError', 'a GitHub App needs both STACKLOCK_GITHUB_APP_ID and STACKLOCK_GITHUB_PRIVATE_KEY (or _FILE)');
  }
  const token = secretFromEnv(env, 'STACKLOCK_GITHUB_TOKEN') ?? '';
  if (token !== '' && appId !== '') {
    throw new DomainError('ValidationError', 'set either STACKLOCK_GITHUB_TOKEN or a GitHub App (STACKLOCK_GITHUB_APP_ID + _PRIVATE_KEY), not both');
  }
  return {
    apiUrl,
    token: token === '' ? null : token,
    appId: appId === '' ? null : appId,
    privateKey: privateKey === '' ? null : privateKey,
    webhookSecret: secretFromEnv(env, 'STACKLOCK_GITHUB_WEBHOOK_SECRET') ?? null,
    writeIntervalMs: parseDuration(pick(undefined, env.STACKLOCK_GITHUB_WRITE_INTERVAL, '1s'), 'GitHub write interval'),
    retryBaseMs: parseDuration(pick(undefined, env.STACKLOCK_GITHUB_RETRY_BASE, '1s'), 'GitHub retry base'),
    requestTimeoutMs: 30_000,
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

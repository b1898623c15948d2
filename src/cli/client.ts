import { readFileSync } from 'node:fs';
import { Agent, fetch, type Response } from 'undici';
import { adminTokenPath } from '../auth/bootstrap.js';
import { CliError, EXIT, fromEnvelope } from './errors.js';
import { githubOidcLogin, type OidcLoginOptions } from './github-oidc-login.js';
import { readUserConfig } from './user-config.js';

export interface ClientOptions {
  readonly url: string;
  readonly token: string | null;
  /**
   * Logs in for a token when there is none, and again when the server answers 401 (a session
   * that expired during a long run): the GitHub Actions OIDC exchange.
   */
  readonly login?: () => Promise<string>;
}

export interface GlobalFlags {
  url?: string;
  token?: string;
  dataDir?: string;
  githubOidc?: boolean;
  oidcWorkspace?: string;
  oidcAudience?: string;
}

export interface RequestOptions {
  readonly signal?: AbortSignal;
  /** How long the server may take to answer (a wait in line): longer than the default 5 minutes. */
  readonly answerWithinMs?: number;
}

const TRUE = new Set(['1', 'true', 'yes']);

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** The server: `--url`, `STACKLOCK_URL`, the one `stacklock login` saved, or the local default. */
export function resolveServerUrl(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): string {
  const url = (flags.url || env.STACKLOCK_URL || readUserConfig(env).url || 'http://127.0.0.1:8080').replace(/\/+$/, '');
  try {
    new URL(url);
  } catch {
    throw new CliError(`invalid server URL '${url}'`, EXIT.usage);
  }
  return url;
}

/**
 * Where the CLI talks and as whom, first found first: `--token`/`STACKLOCK_TOKEN`; the GitHub
 * Actions OIDC login when asked; the admin token in the data dir `--data-dir` names; the token
 * `stacklock login` saved for the URL; and, for a server on this machine (a loopback URL) only,
 * the admin token in `STACKLOCK_DATA_DIR` or ./data. An admin token found in a data dir by
 * default never goes to a server elsewhere: STACKLOCK_DATA_DIR is often set on a server's host.
 */
export function resolveClientOptions(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): ClientOptions {
  const url = resolveServerUrl(flags, env);
  const explicit = flags.token || env.STACKLOCK_TOKEN;
  if (explicit) return { url, token: explicit.trim() };
  if (flags.githubOidc || TRUE.has((env.STACKLOCK_GITHUB_OIDC ?? '').toLowerCase())) {
    const login: OidcLoginOptions = {
      url,
      workspace: flags.oidcWorkspace ?? env.STACKLOCK_WORKSPACE ?? 'default',
      audience: flags.oidcAudience ?? env.STACKLOCK_OIDC_AUDIENCE ?? 'atmos-pro.com',
    };
    return { url, token: null, login: () => githubOidcLogin(login, env) };
  }
  const fromDataDir = (dir: string) => {
    try {
      return readFileSync(adminTokenPath(dir), 'utf8').trim() || null;
    } catch {
      return null;
    }
  };
  if (flags.dataDir) {
    const token = fromDataDir(flags.dataDir);
    if (token) return { url, token };
  }
  const saved = readUserConfig(env).tokens?.[url];
  if (saved) return { url, token: saved };
  if (!flags.dataDir && LOOPBACK.has(new URL(url).hostname)) {
    const token = fromDataDir(env.STACKLOCK_DATA_DIR || './data');
    if (token) return { url, token };
  }
  // No token: the server's 401 is explained with every way to give one.
  return { url, token: null };
}

/** What to do when the CLI had no token to send. */
export function noTokenMessage(url: string): string {
  return (
    `no API token for ${url}. Give one in any of these ways: --token <token> or STACKLOCK_TOKEN=<token>; ` +
    `\`stacklock login --url ${url} --token <token>\` once (saved in your config directory); ` +
    `--data-dir <dir> or STACKLOCK_DATA_DIR=<dir> naming the data dir of a server on this machine, whose admin-token the CLI reads ` +
    `(./data by default, so from the server's own directory nothing is needed); or, in GitHub Actions, --github-oidc`
  );
}

export interface ApiResult<T> {
  readonly status: number;
  readonly data: T;
}

export class ApiClient {
  private token: string | null;

  constructor(private readonly options: ClientOptions) {
    this.token = options.token;
  }

  async request<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<ApiResult<T>> {
    if (this.token === null && this.options.login) this.token = await this.options.login();
    try {
      return await this.once<T>(method, path, body, options);
    } catch (error) {
      if (!(error instanceof CliError && error.tag === 'Unauthorized' && this.options.login)) throw error;
      this.token = await this.options.login();
      return this.once<T>(method, path, body, options);
    }
  }

  private async once<T>(method: string, path: string, body: unknown, options: RequestOptions): Promise<ApiResult<T>> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'stacklock-cli' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    // Node's fetch gives up on an answer after 5 minutes; a wait in line may be far longer.
    const dispatcher =
      options.answerWithinMs !== undefined
        ? new Agent({ headersTimeout: options.answerWithinMs, bodyTimeout: options.answerWithinMs })
        : undefined;
    let response: Response;
    try {
      response = await fetch(this.options.url + path, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(dispatcher ? { dispatcher } : {}),
      });
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        `cannot reach stacklock at ${this.options.url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
        EXIT.unavailable,
        null,
        { transport: true },
      );
    }
    let text: string;
    try {
      text = await response.text();
    } finally {
      void dispatcher?.close();
    }
    let envelope: { success?: unknown; data?: unknown; errorTag?: unknown; errorMessage?: unknown; context?: unknown };
    try {
      envelope = JSON.parse(text);
    } catch {
      throw new CliError(`${this.options.url} answered HTTP ${response.status} with something that is not stacklock's JSON`, EXIT.unavailable);
    }
    if (envelope.success !== true) {
      if (response.status === 401 && !this.token) throw new CliError(noTokenMessage(this.options.url), EXIT.forbidden, 'Unauthorized');
      throw fromEnvelope(envelope, response.status);
    }
    return { status: response.status, data: envelope.data as T };
  }
}

export function encodeKey(key: string): string {
  return encodeURIComponent(key);
}

/** `?a=1&b=2` from the parameters that are set, or '' when none is. */
export function queryString(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

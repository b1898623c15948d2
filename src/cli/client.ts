import { readFileSync } from 'node:fs';
import { adminTokenPath } from '../auth/bootstrap.js';
import { CliError, EXIT, fromEnvelope } from './errors.js';

export interface ClientOptions {
  readonly url: string;
  readonly token: string | null;
}

export interface GlobalFlags {
  url?: string;
  token?: string;
  dataDir?: string;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * Where the CLI talks and as whom: `--url`/`STACKLOCK_URL`, `--token`/`STACKLOCK_TOKEN`, or,
 * for a server on this machine, the admin token its first start wrote to the data dir.
 */
export function resolveClientOptions(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): ClientOptions {
  const url = (flags.url ?? env.STACKLOCK_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`invalid server URL '${url}'`, EXIT.usage);
  }
  const explicit = flags.token ?? env.STACKLOCK_TOKEN;
  if (explicit) return { url, token: explicit.trim() };
  if (LOOPBACK.has(parsed.hostname)) {
    const path = adminTokenPath(flags.dataDir ?? env.STACKLOCK_DATA_DIR ?? './data');
    try {
      return { url, token: readFileSync(path, 'utf8').trim() };
    } catch {
      // No local token: the server will say 401 with a hint.
    }
  }
  return { url, token: null };
}

export interface ApiResult<T> {
  readonly status: number;
  readonly data: T;
}

export class ApiClient {
  constructor(private readonly options: ClientOptions) {}

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<ApiResult<T>> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'stacklock-cli' };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(this.options.url + path, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        `cannot reach stacklock at ${this.options.url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
        EXIT.unavailable,
      );
    }
    const text = await response.text();
    let envelope: { success?: unknown; data?: unknown; errorTag?: unknown; errorMessage?: unknown; context?: unknown };
    try {
      envelope = JSON.parse(text);
    } catch {
      throw new CliError(`${this.options.url} answered HTTP ${response.status} with something that is not stacklock's JSON`, EXIT.unavailable);
    }
    if (envelope.success !== true) throw fromEnvelope(envelope, response.status);
    return { status: response.status, data: envelope.data as T };
  }
}

export function encodeKey(key: string): string {
  return encodeURIComponent(key);
}

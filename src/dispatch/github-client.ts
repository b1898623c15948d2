import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/core';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import Bottleneck from 'bottleneck';
import type { GitHubConfig } from '../config.js';
import type { CommitStatus } from '../core/dispatch-rules.js';
import type { DispatchInputs } from '../core/dispatch.js';
import { classifyGitHubError } from './github-errors.js';

const GitHubOctokit = Octokit.plugin(retry, throttling);
type Client = InstanceType<typeof GitHubOctokit>;

/** Rate limits shorter than this are waited out inside one attempt; longer ones go back in the queue. */
const INLINE_RATE_LIMIT_WAIT_S = 60;
const INSTALLATION_CACHE_MS = 10 * 60_000;

export interface WorkflowDispatchRequest {
  readonly repository: string;
  readonly workflow: string;
  readonly ref: string;
  readonly inputs: DispatchInputs;
}

/** What the dispatcher needs from GitHub. Errors are GitHubFailure (see github-errors.ts). */
export interface GitHubApi {
  /** Whether credentials are configured at all. */
  readonly configured: boolean;
  dispatchWorkflow(request: WorkflowDispatchRequest): Promise<void>;
  createCommitStatus(repository: string, sha: string, status: CommitStatus): Promise<void>;
}

export interface GitHubLog {
  debug(msg: string): void;
  warn(msg: string): void;
}

/**
 * GitHub through Octokit, as a GitHub App installation (app id + private key; the installation
 * of each repository is looked up and its token cached by @octokit/auth-app) or with a token.
 * plugin-retry retries 5xx and network errors with backoff; plugin-throttling waits out rate
 * limits (`retry-after`, `x-ratelimit-reset`) up to a minute and spaces writes as GitHub asks.
 */
export class OctokitGitHub implements GitHubApi {
  readonly configured: boolean;
  private readonly tokenClient: Client | null = null;
  private readonly appClient: Client | null = null;
  private readonly installations = new Map<string, { id: number; until: number }>();
  private readonly installationClients = new Map<number, Client>();
  private readonly writes: Bottleneck.Group;

  constructor(
    private readonly config: GitHubConfig,
    private readonly log: GitHubLog,
  ) {
    this.writes = new Bottleneck.Group({ maxConcurrent: 1, minTime: config.writeIntervalMs });
    this.configured = config.token !== null || config.appId !== null;
    if (config.token) this.tokenClient = this.client({ auth: config.token });
    else if (config.appId && config.privateKey) {
      this.appClient = this.client({ authStrategy: createAppAuth, auth: { appId: config.appId, privateKey: config.privateKey } });
    }
  }

  async dispatchWorkflow(r: WorkflowDispatchRequest): Promise<void> {
    const [owner, repo] = split(r.repository);
    const client = await this.clientFor(r.repository);
    await call(() =>
      client.request('POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches', {
        owner,
        repo,
        workflow_id: r.workflow,
        ref: r.ref,
        inputs: r.inputs,
      }),
    );
  }

  async createCommitStatus(repository: string, sha: string, status: CommitStatus): Promise<void> {
    const [owner, repo] = split(repository);
    const client = await this.clientFor(repository);
    await call(() =>
      client.request('POST /repos/{owner}/{repo}/statuses/{sha}', {
        owner,
        repo,
        sha,
        state: status.state,
        context: status.context,
        description: status.description,
      }),
    );
  }

  private async clientFor(repository: string): Promise<Client> {
    if (this.tokenClient) return this.tokenClient;
    if (!this.appClient || !this.config.appId || !this.config.privateKey) {
      throw new Error('GitHub is not configured: set STACKLOCK_GITHUB_TOKEN, or STACKLOCK_GITHUB_APP_ID and STACKLOCK_GITHUB_PRIVATE_KEY');
    }
    const id = await this.installationOf(repository);
    let client = this.installationClients.get(id);
    if (!client) {
      client = this.client({
        authStrategy: createAppAuth,
        auth: { appId: this.config.appId, privateKey: this.config.privateKey, installationId: id },
      });
      this.installationClients.set(id, client);
    }
    return client;
  }

  private async installationOf(repository: string): Promise<number> {
    const cached = this.installations.get(repository);
    if (cached && cached.until > Date.now()) return cached.id;
    const [owner, repo] = split(repository);
    const app = this.appClient as Client;
    const { data } = await call(() => app.request('GET /repos/{owner}/{repo}/installation', { owner, repo }));
    this.installations.set(repository, { id: data.id, until: Date.now() + INSTALLATION_CACHE_MS });
    return data.id;
  }

  private client(auth: Record<string, unknown>): Client {
    const timeoutMs = this.config.requestTimeoutMs;
    const onLimit = (kind: string) => (retryAfter: number, options: { method: string; url: string }, _o: unknown, retryCount: number) => {
      const again = retryAfter <= INLINE_RATE_LIMIT_WAIT_S && retryCount < 2;
      this.log.warn(`GitHub ${kind} rate limit on ${options.method} ${options.url}: ${again ? `retrying in ${retryAfter}s` : 'giving up for now'}`);
      return again;
    };
    return new GitHubOctokit({
      ...auth,
      baseUrl: this.config.apiUrl,
      userAgent: 'stacklock',
      log: { debug: (m: string) => this.log.debug(m), info: (m: string) => this.log.debug(m), warn: (m: string) => this.log.warn(m), error: (m: string) => this.log.warn(m) },
      request: {
        // Each attempt gets its own deadline, so one hung connection cannot stall a key's queue.
        fetch: (url: string, init: RequestInit = {}) =>
          fetch(url, { ...init, signal: init.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs) }),
      },
      // 429 is the throttling plugin's to handle (with GitHub's own wait), not a blind retry.
      retry: { retries: 3, retryAfterBaseValue: this.config.retryBaseMs, doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451] },
      throttle: { onRateLimit: onLimit('primary'), onSecondaryRateLimit: onLimit('secondary'), write: this.writes },
    });
  }
}

function split(repository: string): [string, string] {
  const i = repository.indexOf('/');
  return [repository.slice(0, i), repository.slice(i + 1)];
}

/** Runs one Octokit call, turning whatever it throws into a GitHubFailure. */
async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw classifyGitHubError(error, Date.now());
  }
}

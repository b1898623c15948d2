import {
  validateInputs,
  validatePullRequest,
  validateRef,
  validateRepository,
  validateSha,
  validateWorkflow,
} from '../core/dispatch-rules.js';
import type { Dispatch, DispatchSource, DispatchState } from '../core/dispatch.js';
import { DomainError } from '../core/errors.js';
import { requireScope } from '../core/lock-service.js';
import { validateKey } from '../core/lock-rules.js';
import type { Principal } from '../core/types.js';
import type { AccessStore } from '../core/ports/access.js';
import type { DispatchStore, EnqueueResult, NewDispatch } from '../core/ports/dispatches.js';
import type { CommitStatuses } from './commit-statuses.js';
import type { Dispatcher } from './dispatcher.js';
import type { GitHubApi } from './github-client.js';

export interface CreateDispatchRequest {
  readonly key: unknown;
  readonly repository: unknown;
  readonly workflow: unknown;
  readonly ref: unknown;
  readonly inputs?: unknown;
  readonly pullRequest?: unknown;
  readonly headSha?: unknown;
}

export interface ListDispatchesRequest {
  readonly key?: string;
  readonly state?: DispatchState;
  readonly beforeSeq?: number;
  readonly limit: number;
}

/** The dispatch API applied to a caller: validation, permissions, and store outcomes as results or DomainErrors. */
export class DispatchService {
  constructor(
    private readonly store: DispatchStore,
    private readonly access: AccessStore,
    private readonly dispatcher: Dispatcher,
    private readonly statuses: CommitStatuses,
    private readonly github: GitHubApi,
    private readonly options: { readonly maxWaitMs: number },
  ) {}

  /**
   * Only into a repository allowed in the caller's workspace: GitHub credentials are the
   * server's, and one workspace must not be able to run another's workflows.
   */
  async create(caller: Principal, req: CreateDispatchRequest): Promise<EnqueueResult> {
    requireScope(caller, 'dispatches:write');
    this.requireGitHub();
    const repository = validateRepository(req.repository);
    if (!(await this.access.getRepository(caller.workspaceId, repository))) {
      throw new DomainError('Forbidden', `repository '${repository}' is not allowed in this workspace (an admin can run: stacklock repo allow ${repository})`, {
        repository,
      });
    }
    return this.enqueue(caller.workspaceId, caller.name, req, { kind: 'api' });
  }

  /** Queues a dispatch for a workspace; the Atmos flow calls this after verifying its webhook. */
  async enqueue(
    workspaceId: string,
    createdBy: string,
    req: CreateDispatchRequest,
    source: DispatchSource,
    run: Pick<NewDispatch, 'runId' | 'dedupeKey' | 'heldFor' | 'reason'> = {},
  ): Promise<EnqueueResult> {
    const input = {
      workspaceId,
      key: validateKey(req.key),
      repository: validateRepository(req.repository),
      workflow: validateWorkflow(req.workflow),
      ref: validateRef(req.ref),
      inputs: validateInputs(req.inputs),
      pullRequest: validatePullRequest(req.pullRequest),
      headSha: validateSha(req.headSha),
      source,
      createdBy,
      maxWaitMs: this.options.maxWaitMs,
      ...run,
    };
    this.requireGitHub();
    return this.dispatcher.enqueue(input);
  }

  private requireGitHub(): void {
    if (!this.github.configured) {
      throw new DomainError(
        'Unavailable',
        'dispatching is not configured on this server: set STACKLOCK_GITHUB_TOKEN, or STACKLOCK_GITHUB_APP_ID and STACKLOCK_GITHUB_PRIVATE_KEY',
      );
    }
  }

  async list(caller: Principal, q: ListDispatchesRequest): Promise<Dispatch[]> {
    return this.store.list({
      workspaceId: caller.workspaceId,
      limit: q.limit,
      ...(q.key !== undefined ? { key: validateKey(q.key) } : {}),
      ...(q.state !== undefined ? { state: q.state } : {}),
      ...(q.beforeSeq !== undefined ? { beforeSeq: q.beforeSeq } : {}),
    });
  }

  async get(caller: Principal, id: string): Promise<Dispatch> {
    const d = await this.store.get(caller.workspaceId, id);
    if (!d) throw new DomainError('NotFound', `no dispatch '${id}' in this workspace`, { id });
    return d;
  }

  async cancel(caller: Principal, id: string, reason: string | null): Promise<Dispatch> {
    requireScope(caller, 'dispatches:write');
    const r = await this.store.cancel(caller.workspaceId, id, caller.name, reason ? `cancelled by ${caller.name}: ${reason}` : null);
    switch (r.outcome) {
      case 'not_found':
        throw new DomainError('NotFound', `no dispatch '${id}' in this workspace`, { id });
      case 'not_waiting':
        throw new DomainError('Conflict', `dispatch '${id}' is ${r.dispatch.state.replace(/_/g, ' ')}: only a waiting dispatch can be cancelled`, {
          state: r.dispatch.state,
        });
      case 'cancelled':
        this.statuses.sync(r.dispatch);
        this.dispatcher.wake(r.dispatch.workspaceId, r.dispatch.key);
        return r.dispatch;
    }
  }
}

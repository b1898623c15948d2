import { randomUUID } from 'node:crypto';
import { DomainError } from '../core/errors.js';
import { containsNul } from '../core/lock-rules.js';
import { requireScope } from '../core/lock-service.js';
import type { JsonObject, Principal } from '../core/types.js';
import { validateRepository } from '../auth/workspace-admin.js';
import type { AtmosUploadStore, InstanceStatus, UploadProgress } from '../core/ports/atmos-uploads.js';

/** `atmos describe affected --upload` (ATMOS-WIRE.md), after the route's schema checked its types. */
export interface AffectedStacksBody {
  head_sha: string;
  base_sha?: string;
  repo_url?: string;
  repo_name: string;
  repo_owner: string;
  repo_host?: string;
  stacks: JsonObject[];
  batch_id?: string;
  batch_index?: number;
  batch_total?: number;
}

/** `atmos … --upload-status`: at least command and exit_code; newer atmos sends more (run id, git sha…). */
export interface InstanceStatusBody extends JsonObject {
  command: string;
  exit_code: number;
}

/**
 * Accepts what atmos uploads for the dispatch flow and stores it behind its own port. A
 * repository's session (OIDC) may upload only for its own repository: an upload names the
 * workflows to dispatch, so one repository must not speak for another.
 */
export class AtmosUploads {
  constructor(private readonly store: AtmosUploadStore) {}

  async uploadAffectedStacks(caller: Principal, body: AffectedStacksBody): Promise<UploadProgress> {
    requireScope(caller, 'locks:write');
    const repository = validateRepository(`${body.repo_owner}/${body.repo_name}`);
    requireOwnRepository(caller, repository);
    const batched = [body.batch_id, body.batch_index, body.batch_total].filter((v) => v !== undefined).length;
    if (batched !== 0 && batched !== 3) {
      throw new DomainError('ValidationError', 'batch_id, batch_index and batch_total come together (or not at all)');
    }
    const total = body.batch_total ?? 1;
    const index = body.batch_index ?? 0;
    if (index >= total) throw new DomainError('ValidationError', `batch_index ${index} is not below batch_total ${total}`);
    refuseNul(body, 'the upload');
    return this.store.putAffectedStacksBatch({
      workspaceId: caller.workspaceId,
      repository,
      headSha: body.head_sha,
      baseSha: body.base_sha ?? '',
      repoUrl: body.repo_url ?? '',
      repoHost: body.repo_host ?? '',
      // An upload in one piece gets an id of its own: sent again, it is another (identical) upload.
      uploadId: body.batch_id ?? `single-${randomUUID()}`,
      batchIndex: index,
      batchTotal: total,
      stacks: body.stacks,
      uploadedBy: caller.name,
    });
  }

  async reportInstanceStatus(caller: Principal, owner: string, repo: string, stack: string, component: string, body: InstanceStatusBody): Promise<InstanceStatus> {
    requireScope(caller, 'locks:write');
    const repository = validateRepository(`${owner}/${repo}`);
    requireOwnRepository(caller, repository);
    refuseNul({ stack, component, body }, 'the status');
    if (body.last_run !== undefined && (typeof body.last_run !== 'string' || Number.isNaN(Date.parse(body.last_run)))) {
      throw new DomainError('ValidationError', 'last_run must be an RFC 3339 time such as 2026-06-09T10:00:00Z');
    }
    return this.store.putInstanceStatus({
      workspaceId: caller.workspaceId,
      repository,
      stack,
      component,
      command: body.command,
      exitCode: body.exit_code,
      report: body,
      reportedBy: caller.name,
    });
  }
}

/** PostgreSQL cannot store U+0000; refused on every backend alike, as a 400 rather than a 500. */
function refuseNul(value: unknown, what: string): void {
  if (containsNul(value)) throw new DomainError('ValidationError', `${what} must not contain NUL characters`);
}

function requireOwnRepository(caller: Principal, repository: string): void {
  const own = caller.kind === 'oidc' ? caller.name.slice('repo:'.length) : null;
  if (own !== null && own.toLowerCase() !== repository.toLowerCase()) {
    throw new DomainError('Forbidden', `${caller.name} may upload only for its own repository, not ${repository}`);
  }
}

/** What atmos's exit codes mean (ATMOS-WIRE.md): plan 0 in sync, 2 drifted; otherwise success or error. */
export function instanceOutcome(command: string, exitCode: number): 'in_sync' | 'drifted' | 'succeeded' | 'failed' {
  if (command === 'plan') return exitCode === 0 ? 'in_sync' : exitCode === 2 ? 'drifted' : 'failed';
  return exitCode === 0 ? 'succeeded' : 'failed';
}

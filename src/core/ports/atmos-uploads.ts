import type { JsonObject } from '../types.js';

/**
 * The storage port for what atmos uploads for the dispatch flow: the affected stacks of a
 * commit (`atmos describe affected --upload`, possibly in batches) and the status of a
 * component in a stack (`--upload-status`). Dispatch gating (issue 6) reads a complete upload
 * by (workspace, repository, head SHA) with `getAffectedStacks`, and instance statuses with
 * `getInstanceStatus`. Implemented by every backend.
 */
export interface AtmosUploadStore {
  /**
   * Stores one batch of an upload. Batches may come in any order; a batch sent again with the
   * same stacks changes nothing (atmos retries on 5xx), with other stacks it is a Conflict, as
   * is a batch whose head SHA, repository or total differs from its upload's first batch.
   */
  putAffectedStacksBatch(batch: AffectedStacksBatch): Promise<UploadProgress>;
  /**
   * The most recently completed upload for this commit, its stacks concatenated in batch order;
   * null until every batch of some upload has arrived. The repository matches case-insensitively.
   */
  getAffectedStacks(workspaceId: string, repository: string, headSha: string): Promise<AffectedStacksUpload | null>;

  /** Keeps the latest report per (workspace, repository, stack, component). */
  putInstanceStatus(report: InstanceStatusReport): Promise<InstanceStatus>;
  getInstanceStatus(workspaceId: string, repository: string, stack: string, component: string): Promise<InstanceStatus | null>;
}

export interface AffectedStacksBatch {
  readonly workspaceId: string;
  /** `owner/repo` from the upload's repo_owner and repo_name. */
  readonly repository: string;
  readonly headSha: string;
  readonly baseSha: string;
  readonly repoUrl: string;
  readonly repoHost: string;
  /** atmos's batch_id, or an id of its own for an upload sent in one piece. */
  readonly uploadId: string;
  /** 0-based. */
  readonly batchIndex: number;
  readonly batchTotal: number;
  /** The batch's stacks as atmos sent them (component, stack, settings.pro, dependents, …). */
  readonly stacks: readonly JsonObject[];
  readonly uploadedBy: string;
}

export interface UploadProgress {
  readonly uploadId: string;
  readonly received: number;
  readonly total: number;
  readonly complete: boolean;
}

export interface AffectedStacksUpload {
  readonly workspaceId: string;
  readonly uploadId: string;
  readonly repository: string;
  readonly headSha: string;
  readonly baseSha: string;
  readonly repoUrl: string;
  readonly repoHost: string;
  readonly stacks: JsonObject[];
  readonly uploadedBy: string;
  readonly completedAt: Date;
}

export interface InstanceStatusReport {
  readonly workspaceId: string;
  readonly repository: string;
  readonly stack: string;
  readonly component: string;
  /** `plan`, `apply`, … as atmos sends it. */
  readonly command: string;
  readonly exitCode: number;
  /** The whole body atmos sent (atmos_pro_run_id, git_sha, last_run… when present). */
  readonly report: JsonObject;
  readonly reportedBy: string;
}

export interface InstanceStatus extends InstanceStatusReport {
  readonly reportedAt: Date;
}

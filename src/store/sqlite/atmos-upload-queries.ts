import type { JsonObject } from '../../core/types.js';
import { checkBatchFits, checkSameBatch, stacksDigest } from '../atmos-upload-checks.js';
import type { AffectedStacksBatch, AffectedStacksUpload, AtmosUploadStore, InstanceStatus, InstanceStatusReport, UploadProgress } from '../../core/ports/atmos-uploads.js';
import type { SqliteContext } from './access-queries.js';

interface UploadRow {
  workspace_id: string;
  upload_id: string;
  repository_key: string;
  repository: string;
  head_sha: string;
  base_sha: string;
  repo_url: string;
  repo_host: string;
  batch_total: number;
  received: number;
  uploaded_by: string;
  created_at: number;
  completed_at: number | null;
}

interface InstanceRow {
  workspace_id: string;
  repository: string;
  stack: string;
  component: string;
  command: string;
  exit_code: number;
  report: string;
  reported_by: string;
  reported_at: number;
}

export class SqliteAtmosUploadStore implements AtmosUploadStore {
  private readonly stmt;

  constructor(private readonly c: SqliteContext) {
    const db = c.db;
    this.stmt = {
      insertUpload: db.prepare<Record<string, unknown>>(`
        INSERT INTO affected_stacks_uploads (workspace_id, upload_id, repository_key, repository, head_sha, base_sha, repo_url, repo_host,
                                             batch_total, uploaded_by, created_at)
        VALUES (@ws, @id, @rkey, @repository, @head, @base, @url, @host, @total, @by, @now)
        ON CONFLICT (workspace_id, upload_id) DO NOTHING`),
      getUpload: db.prepare<[string, string], UploadRow>('SELECT * FROM affected_stacks_uploads WHERE workspace_id = ? AND upload_id = ?'),
      insertBatch: db.prepare<Record<string, unknown>>(`
        INSERT INTO affected_stacks_batches (workspace_id, upload_id, batch_index, stacks, digest, received_at)
        VALUES (@ws, @id, @index, @stacks, @digest, @now) ON CONFLICT DO NOTHING`),
      batchDigest: db.prepare<[string, string, number], { digest: string }>(
        'SELECT digest FROM affected_stacks_batches WHERE workspace_id = ? AND upload_id = ? AND batch_index = ?',
      ),
      countReceived: db.prepare<[number, string, string]>(`
        UPDATE affected_stacks_uploads SET received = received + 1,
          completed_at = CASE WHEN received + 1 = batch_total THEN ? ELSE NULL END
        WHERE workspace_id = ? AND upload_id = ?`),
      latestComplete: db.prepare<[string, string, string], UploadRow>(`
        SELECT * FROM affected_stacks_uploads
        WHERE workspace_id = ? AND repository_key = ? AND head_sha = ? AND completed_at IS NOT NULL
        ORDER BY completed_at DESC, created_at DESC LIMIT 1`),
      batches: db.prepare<[string, string], { stacks: string }>(
        'SELECT stacks FROM affected_stacks_batches WHERE workspace_id = ? AND upload_id = ? ORDER BY batch_index',
      ),
      upsertInstance: db.prepare<Record<string, unknown>>(`
        INSERT INTO instance_statuses (workspace_id, repository_key, repository, stack, component, command, exit_code, report, reported_by, reported_at)
        VALUES (@ws, @rkey, @repository, @stack, @component, @command, @exitCode, @report, @by, @now)
        ON CONFLICT (workspace_id, repository_key, stack, component) DO UPDATE SET
          repository = excluded.repository, command = excluded.command, exit_code = excluded.exit_code,
          report = excluded.report, reported_by = excluded.reported_by, reported_at = excluded.reported_at`),
      getInstance: db.prepare<[string, string, string, string], InstanceRow>(
        'SELECT * FROM instance_statuses WHERE workspace_id = ? AND repository_key = ? AND stack = ? AND component = ?',
      ),
    };
  }

  putAffectedStacksBatch(b: AffectedStacksBatch): Promise<UploadProgress> {
    return this.c.writes.run(() => {
      const now = this.c.clock.now().getTime();
      this.stmt.insertUpload.run({
        ws: b.workspaceId, id: b.uploadId, rkey: b.repository.toLowerCase(), repository: b.repository, head: b.headSha, base: b.baseSha,
        url: b.repoUrl, host: b.repoHost, total: b.batchTotal, by: b.uploadedBy, now,
      });
      const first = this.stmt.getUpload.get(b.workspaceId, b.uploadId) as UploadRow;
      checkBatchFits({ headSha: first.head_sha, repositoryKey: first.repository_key, batchTotal: first.batch_total }, b);
      const digest = stacksDigest(b.stacks);
      const added = this.stmt.insertBatch.run({ ws: b.workspaceId, id: b.uploadId, index: b.batchIndex, stacks: JSON.stringify(b.stacks), digest, now }).changes > 0;
      if (added) this.stmt.countReceived.run(now, b.workspaceId, b.uploadId);
      else checkSameBatch(this.stmt.batchDigest.get(b.workspaceId, b.uploadId, b.batchIndex)?.digest, b);
      const upload = this.stmt.getUpload.get(b.workspaceId, b.uploadId) as UploadRow;
      return { uploadId: b.uploadId, received: upload.received, total: upload.batch_total, complete: upload.completed_at !== null };
    });
  }

  async getAffectedStacks(workspaceId: string, repository: string, headSha: string): Promise<AffectedStacksUpload | null> {
    const u = this.stmt.latestComplete.get(workspaceId, repository.toLowerCase(), headSha);
    if (!u) return null;
    const stacks = this.stmt.batches.all(workspaceId, u.upload_id).flatMap((r) => JSON.parse(r.stacks) as JsonObject[]);
    return {
      workspaceId,
      uploadId: u.upload_id,
      repository: u.repository,
      headSha: u.head_sha,
      baseSha: u.base_sha,
      repoUrl: u.repo_url,
      repoHost: u.repo_host,
      stacks,
      uploadedBy: u.uploaded_by,
      completedAt: new Date(u.completed_at as number),
    };
  }

  putInstanceStatus(r: InstanceStatusReport): Promise<InstanceStatus> {
    return this.c.writes.run(() => {
      const now = this.c.clock.now().getTime();
      this.stmt.upsertInstance.run({
        ws: r.workspaceId, rkey: r.repository.toLowerCase(), repository: r.repository, stack: r.stack, component: r.component,
        command: r.command, exitCode: r.exitCode, report: JSON.stringify(r.report), by: r.reportedBy, now,
      });
      return { ...r, reportedAt: new Date(now) };
    });
  }

  async getInstanceStatus(workspaceId: string, repository: string, stack: string, component: string): Promise<InstanceStatus | null> {
    const row = this.stmt.getInstance.get(workspaceId, repository.toLowerCase(), stack, component);
    if (!row) return null;
    return {
      workspaceId: row.workspace_id,
      repository: row.repository,
      stack: row.stack,
      component: row.component,
      command: row.command,
      exitCode: row.exit_code,
      report: JSON.parse(row.report),
      reportedBy: row.reported_by,
      reportedAt: new Date(row.reported_at),
    };
  }
}

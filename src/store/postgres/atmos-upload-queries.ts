import type pg from 'pg';
import type { JsonObject } from '../../core/types.js';
import { checkBatchFits, checkSameBatch, stacksDigest } from '../atmos-upload-checks.js';
import type { AffectedStacksBatch, AffectedStacksUpload, AtmosUploadStore, InstanceStatus, InstanceStatusReport, UploadProgress } from '../../core/ports/atmos-uploads.js';
import { NOW } from './lock-queries.js';
import { guarded, inTransaction } from './pool.js';

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
  completed_at: Date | null;
}

interface InstanceRow {
  workspace_id: string;
  repository: string;
  stack: string;
  component: string;
  command: string;
  exit_code: number;
  report: JsonObject;
  reported_by: string;
  reported_at: Date;
}

/** The upload port on PostgreSQL; a batch is one transaction that locks its upload's row. */
export class PostgresAtmosUploadStore implements AtmosUploadStore {
  constructor(private readonly pool: pg.Pool) {}

  putAffectedStacksBatch(b: AffectedStacksBatch): Promise<UploadProgress> {
    return this.transaction(async (c) => {
      await c.query(
        `INSERT INTO affected_stacks_uploads (workspace_id, upload_id, repository_key, repository, head_sha, base_sha, repo_url, repo_host,
                                              batch_total, uploaded_by, created_at)
         VALUES ($1, $2, lower($3), $3, $4, $5, $6, $7, $8, $9, ${NOW}) ON CONFLICT (workspace_id, upload_id) DO NOTHING`,
        [b.workspaceId, b.uploadId, b.repository, b.headSha, b.baseSha, b.repoUrl, b.repoHost, b.batchTotal, b.uploadedBy],
      );
      // Batches of one upload take turns here, so `received` counts each batch exactly once.
      const first = (await c.query<UploadRow>('SELECT * FROM affected_stacks_uploads WHERE workspace_id = $1 AND upload_id = $2 FOR UPDATE', [b.workspaceId, b.uploadId])).rows[0] as UploadRow;
      checkBatchFits({ headSha: first.head_sha, repositoryKey: first.repository_key, batchTotal: first.batch_total }, b);
      const digest = stacksDigest(b.stacks);
      const added = await c.query(
        `INSERT INTO affected_stacks_batches (workspace_id, upload_id, batch_index, stacks, digest, received_at)
         VALUES ($1, $2, $3, $4::jsonb, $5, ${NOW}) ON CONFLICT DO NOTHING`,
        [b.workspaceId, b.uploadId, b.batchIndex, JSON.stringify(b.stacks), digest],
      );
      if (added.rowCount === 0) {
        const stored = await c.query<{ digest: string }>(
          'SELECT digest FROM affected_stacks_batches WHERE workspace_id = $1 AND upload_id = $2 AND batch_index = $3',
          [b.workspaceId, b.uploadId, b.batchIndex],
        );
        checkSameBatch(stored.rows[0]?.digest, b);
        return progress(first);
      }
      const updated = await c.query<UploadRow>(
        `UPDATE affected_stacks_uploads SET received = received + 1,
           completed_at = CASE WHEN received + 1 = batch_total THEN ${NOW} ELSE NULL END
         WHERE workspace_id = $1 AND upload_id = $2 RETURNING *`,
        [b.workspaceId, b.uploadId],
      );
      return progress(updated.rows[0] as UploadRow);
    });
  }

  async getAffectedStacks(workspaceId: string, repository: string, headSha: string): Promise<AffectedStacksUpload | null> {
    const rows = await this.all<UploadRow & { stacks: JsonObject[] }>(
      `SELECT u.*, (SELECT coalesce(jsonb_agg(s.elem ORDER BY b.batch_index, s.ord), '[]'::jsonb)
                    FROM affected_stacks_batches b, jsonb_array_elements(b.stacks) WITH ORDINALITY AS s(elem, ord)
                    WHERE b.workspace_id = u.workspace_id AND b.upload_id = u.upload_id) AS stacks
       FROM affected_stacks_uploads u
       WHERE u.workspace_id = $1 AND u.repository_key = lower($2) AND u.head_sha = $3 AND u.completed_at IS NOT NULL
       ORDER BY u.completed_at DESC, u.created_at DESC LIMIT 1`,
      [workspaceId, repository, headSha],
    );
    const u = rows[0];
    if (!u) return null;
    return {
      workspaceId,
      uploadId: u.upload_id,
      repository: u.repository,
      headSha: u.head_sha,
      baseSha: u.base_sha,
      repoUrl: u.repo_url,
      repoHost: u.repo_host,
      stacks: u.stacks,
      uploadedBy: u.uploaded_by,
      completedAt: u.completed_at as Date,
    };
  }

  async putInstanceStatus(r: InstanceStatusReport): Promise<InstanceStatus> {
    const rows = await this.all<{ reported_at: Date }>(
      `INSERT INTO instance_statuses (workspace_id, repository_key, repository, stack, component, command, exit_code, report, reported_by, reported_at)
       VALUES ($1, lower($2), $2, $3, $4, $5, $6, $7::jsonb, $8, ${NOW})
       ON CONFLICT (workspace_id, repository_key, stack, component) DO UPDATE SET
         repository = excluded.repository, command = excluded.command, exit_code = excluded.exit_code,
         report = excluded.report, reported_by = excluded.reported_by, reported_at = excluded.reported_at
       RETURNING reported_at`,
      [r.workspaceId, r.repository, r.stack, r.component, r.command, r.exitCode, JSON.stringify(r.report), r.reportedBy],
    );
    return { ...r, reportedAt: (rows[0] as { reported_at: Date }).reported_at };
  }

  async getInstanceStatus(workspaceId: string, repository: string, stack: string, component: string): Promise<InstanceStatus | null> {
    const rows = await this.all<InstanceRow>(
      'SELECT * FROM instance_statuses WHERE workspace_id = $1 AND repository_key = lower($2) AND stack = $3 AND component = $4',
      [workspaceId, repository, stack, component],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      workspaceId: row.workspace_id,
      repository: row.repository,
      stack: row.stack,
      component: row.component,
      command: row.command,
      exitCode: row.exit_code,
      report: row.report,
      reportedBy: row.reported_by,
      reportedAt: row.reported_at,
    };
  }

  private all<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<R[]> {
    return guarded(async () => (await this.pool.query<R>(sql, params)).rows);
  }

  private transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work);
  }
}

function progress(u: UploadRow): UploadProgress {
  return { uploadId: u.upload_id, received: u.received, total: u.batch_total, complete: u.completed_at !== null };
}

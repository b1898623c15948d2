import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { DomainError } from '../../core/errors.js';
import type { JsonObject } from '../../core/types.js';
import type { AccessStore, AllowRepositoryInput, NewOidcSession, OidcSession, RepositoryPermission } from '../../core/ports/access.js';
import type { Workspace } from '../../core/ports/locks.js';
import { NOW } from './lock-queries.js';
import { guarded } from './pool.js';
import { type WorkspaceRow, toWorkspace } from './rows.js';

interface RepositoryRow {
  workspace_id: string;
  repository: string;
  key_globs: string[];
  may_force: boolean;
  allowed_by: string;
  created_at: Date;
  updated_at: Date;
}

interface SessionRow {
  workspace_id: string;
  repository: string;
  details: JsonObject;
  created_at: Date;
  expires_at: Date;
}

const SESSION_PURGE_BATCH = 100;

/**
 * The access port on PostgreSQL. Each change and its audit event are one statement (data-
 * modifying CTEs), so they commit together; expiry is decided by the database's clock.
 */
export class PostgresAccessStore implements AccessStore {
  constructor(private readonly pool: pg.Pool) {}

  async createWorkspace(name: string, createdBy: string): Promise<Workspace> {
    const row = await this.one<WorkspaceRow>(
      `WITH w AS (
         INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, ${NOW}) ON CONFLICT (name) DO NOTHING RETURNING *
       ), ev AS (
         INSERT INTO events (workspace_id, at, action, actor, details)
         SELECT w.id, w.created_at, 'workspace.created', $3, jsonb_build_object('name', w.name) FROM w
       )
       SELECT * FROM w`,
      [randomUUID(), name, createdBy],
    );
    if (!row) throw new DomainError('Conflict', `a workspace named '${name}' already exists`);
    return toWorkspace(row);
  }

  async listWorkspaces(): Promise<Workspace[]> {
    return (await this.all<WorkspaceRow>('SELECT * FROM workspaces ORDER BY created_at, name', [])).map(toWorkspace);
  }

  async allowRepository(input: AllowRepositoryInput): Promise<RepositoryPermission> {
    const row = await this.one<RepositoryRow>(
      `WITH r AS (
         INSERT INTO repositories (workspace_id, repository_key, repository, key_globs, may_force, allowed_by, created_at, updated_at)
         VALUES ($1, lower($2), $2, $3::jsonb, $4, $5, ${NOW}, ${NOW})
         ON CONFLICT (workspace_id, repository_key) DO UPDATE SET
           repository = excluded.repository, key_globs = excluded.key_globs, may_force = excluded.may_force,
           allowed_by = excluded.allowed_by, updated_at = excluded.updated_at
         RETURNING *
       ), ev AS (
         INSERT INTO events (workspace_id, at, action, actor, details)
         SELECT r.workspace_id, r.updated_at, 'repository.allowed', $5,
                jsonb_build_object('repository', r.repository, 'keys', r.key_globs, 'force', r.may_force) FROM r
       )
       SELECT * FROM r`,
      [input.workspaceId, input.repository, JSON.stringify(input.keyGlobs), input.mayForce, input.allowedBy],
    );
    return toPermission(row as RepositoryRow);
  }

  async revokeRepository(workspaceId: string, repository: string, revokedBy: string): Promise<boolean> {
    const row = await this.one(
      `WITH r AS (
         DELETE FROM repositories WHERE workspace_id = $1 AND repository_key = lower($2) RETURNING *
       ), ev AS (
         INSERT INTO events (workspace_id, at, action, actor, details)
         SELECT r.workspace_id, ${NOW}, 'repository.revoked', $3, jsonb_build_object('repository', $2::text) FROM r
       )
       SELECT 1 AS gone FROM r`,
      [workspaceId, repository, revokedBy],
    );
    return row !== null;
  }

  async getRepository(workspaceId: string, repository: string): Promise<RepositoryPermission | null> {
    const row = await this.one<RepositoryRow>('SELECT * FROM repositories WHERE workspace_id = $1 AND repository_key = lower($2)', [workspaceId, repository]);
    return row ? toPermission(row) : null;
  }

  async listRepositories(workspaceId: string): Promise<RepositoryPermission[]> {
    return (await this.all<RepositoryRow>('SELECT * FROM repositories WHERE workspace_id = $1 ORDER BY repository_key', [workspaceId])).map(toPermission);
  }

  async createSession(input: NewOidcSession): Promise<OidcSession> {
    // Purge a few expired sessions first (by the index on expires_at), then store this one with its event.
    await this.all(
      `DELETE FROM oidc_sessions WHERE token_hash IN (
         SELECT token_hash FROM oidc_sessions WHERE expires_at <= ${NOW} ORDER BY expires_at LIMIT $1)`,
      [SESSION_PURGE_BATCH],
    );
    const row = await this.one<SessionRow>(
      `WITH s AS (
         INSERT INTO oidc_sessions (token_hash, workspace_id, repository_key, repository, details, created_at, expires_at)
         VALUES ($1, $2, lower($3), $3, $4::jsonb, ${NOW}, ${NOW} + ($5::bigint * interval '1 millisecond'))
         RETURNING *
       ), ev AS (
         INSERT INTO events (workspace_id, at, action, actor, details)
         SELECT s.workspace_id, s.created_at, 'auth.oidc_token_exchange_success', 'repo:' || s.repository,
                s.details || jsonb_build_object('sessionExpiresAt', to_char(s.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
         FROM s
       )
       SELECT * FROM s`,
      [input.tokenHash, input.workspaceId, input.repository, JSON.stringify(input.details), input.ttlMs],
    );
    return toSession(row as SessionRow);
  }

  async findSession(tokenHash: string): Promise<{ session: OidcSession; permission: RepositoryPermission } | null> {
    const row = await this.one<SessionRow & { permission: RepositoryRow & { created_at: string; updated_at: string } }>(
      `SELECT s.*, to_jsonb(r) AS permission
       FROM oidc_sessions s
       JOIN repositories r ON r.workspace_id = s.workspace_id AND r.repository_key = s.repository_key
       WHERE s.token_hash = $1 AND s.expires_at > ${NOW}`,
      [tokenHash],
    );
    if (!row) return null;
    const p = row.permission;
    return { session: toSession(row), permission: toPermission({ ...p, created_at: new Date(p.created_at), updated_at: new Date(p.updated_at) }) };
  }

  private all<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[]): Promise<R[]> {
    return guarded(async () => (await this.pool.query<R>(sql, params)).rows);
  }

  private async one<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[]): Promise<R | null> {
    return (await this.all<R>(sql, params))[0] ?? null;
  }
}

function toPermission(r: RepositoryRow): RepositoryPermission {
  return {
    workspaceId: r.workspace_id,
    repository: r.repository,
    keyGlobs: r.key_globs,
    mayForce: r.may_force,
    allowedBy: r.allowed_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toSession(r: SessionRow): OidcSession {
  return { workspaceId: r.workspace_id, repository: r.repository, details: r.details, createdAt: r.created_at, expiresAt: r.expires_at };
}

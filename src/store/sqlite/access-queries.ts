import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { NewAuditEvent } from '../../core/audit.js';
import type { Clock } from '../../core/clock.js';
import { DomainError } from '../../core/errors.js';
import type { AccessStore, AllowRepositoryInput, NewOidcSession, OidcSession, RepositoryPermission } from '../../core/ports/access.js';
import type { Workspace } from '../../core/ports/locks.js';
import type { GroupCommitter } from './group-commit.js';
import { type WorkspaceRow, toWorkspace } from './rows.js';

/** What the SQLite ports share: one connection, one group committer, one clock, one audit writer. */
export interface SqliteContext {
  readonly db: Database;
  readonly writes: GroupCommitter;
  readonly clock: Clock;
  /** Appends an audit event inside the caller's transaction. */
  readonly event: (now: number, e: NewAuditEvent) => void;
}

interface RepositoryRow {
  workspace_id: string;
  repository_key: string;
  repository: string;
  key_globs: string;
  may_force: number;
  allowed_by: string;
  created_at: number;
  updated_at: number;
}

interface SessionRow {
  token_hash: string;
  workspace_id: string;
  repository_key: string;
  repository: string;
  details: string;
  created_at: number;
  expires_at: number;
}

const SESSION_PURGE_BATCH = 100;

export class SqliteAccessStore implements AccessStore {
  private readonly stmt;

  constructor(private readonly c: SqliteContext) {
    const db = c.db;
    this.stmt = {
      workspaceByName: db.prepare<[string], WorkspaceRow>('SELECT * FROM workspaces WHERE name = ?'),
      insertWorkspace: db.prepare<[string, string, number]>('INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)'),
      listWorkspaces: db.prepare<[], WorkspaceRow>('SELECT * FROM workspaces ORDER BY created_at, name'),
      upsertRepository: db.prepare<Record<string, unknown>>(`
        INSERT INTO repositories (workspace_id, repository_key, repository, key_globs, may_force, allowed_by, created_at, updated_at)
        VALUES (@ws, @rkey, @repository, @globs, @force, @by, @now, @now)
        ON CONFLICT (workspace_id, repository_key) DO UPDATE SET
          repository = excluded.repository, key_globs = excluded.key_globs, may_force = excluded.may_force,
          allowed_by = excluded.allowed_by, updated_at = excluded.updated_at`),
      getRepository: db.prepare<[string, string], RepositoryRow>('SELECT * FROM repositories WHERE workspace_id = ? AND repository_key = ?'),
      deleteRepository: db.prepare<[string, string]>('DELETE FROM repositories WHERE workspace_id = ? AND repository_key = ?'),
      listRepositories: db.prepare<[string], RepositoryRow>('SELECT * FROM repositories WHERE workspace_id = ? ORDER BY repository_key'),
      insertSession: db.prepare<Record<string, unknown>>(`
        INSERT INTO oidc_sessions (token_hash, workspace_id, repository_key, repository, details, created_at, expires_at)
        VALUES (@hash, @ws, @rkey, @repository, @details, @now, @expiresAt)`),
      purgeSessions: db.prepare<[number, number]>(
        'DELETE FROM oidc_sessions WHERE token_hash IN (SELECT token_hash FROM oidc_sessions WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)',
      ),
      findSession: db.prepare<[string, number], SessionRow & { r_repository: string; r_key_globs: string; r_may_force: number; r_allowed_by: string; r_created_at: number; r_updated_at: number }>(`
        SELECT s.*, r.repository AS r_repository, r.key_globs AS r_key_globs, r.may_force AS r_may_force,
               r.allowed_by AS r_allowed_by, r.created_at AS r_created_at, r.updated_at AS r_updated_at
        FROM oidc_sessions s
        JOIN repositories r ON r.workspace_id = s.workspace_id AND r.repository_key = s.repository_key
        WHERE s.token_hash = ? AND s.expires_at > ?`),
    };
  }

  createWorkspace(name: string, createdBy: string): Promise<Workspace> {
    return this.c.writes.run(() => {
      if (this.stmt.workspaceByName.get(name)) throw new DomainError('Conflict', `a workspace named '${name}' already exists`);
      const now = this.c.clock.now().getTime();
      const id = randomUUID();
      this.stmt.insertWorkspace.run(id, name, now);
      this.c.event(now, { workspaceId: id, action: 'workspace.created', actor: createdBy, details: { name } });
      return toWorkspace(this.stmt.workspaceByName.get(name) as WorkspaceRow);
    });
  }

  async listWorkspaces(): Promise<Workspace[]> {
    return this.stmt.listWorkspaces.all().map(toWorkspace);
  }

  allowRepository(input: AllowRepositoryInput): Promise<RepositoryPermission> {
    return this.c.writes.run(() => {
      const now = this.c.clock.now().getTime();
      const rkey = input.repository.toLowerCase();
      this.stmt.upsertRepository.run({
        ws: input.workspaceId,
        rkey,
        repository: input.repository,
        globs: JSON.stringify(input.keyGlobs),
        force: input.mayForce ? 1 : 0,
        by: input.allowedBy,
        now,
      });
      this.c.event(now, { workspaceId: input.workspaceId, action: 'repository.allowed', actor: input.allowedBy,
        details: { repository: input.repository, keys: input.keyGlobs, force: input.mayForce } });
      return toPermission(this.stmt.getRepository.get(input.workspaceId, rkey) as RepositoryRow);
    });
  }

  revokeRepository(workspaceId: string, repository: string, revokedBy: string): Promise<boolean> {
    return this.c.writes.run(() => {
      const gone = this.stmt.deleteRepository.run(workspaceId, repository.toLowerCase()).changes > 0;
      if (gone) {
        this.c.event(this.c.clock.now().getTime(), { workspaceId, action: 'repository.revoked', actor: revokedBy, details: { repository } });
      }
      return gone;
    });
  }

  async getRepository(workspaceId: string, repository: string): Promise<RepositoryPermission | null> {
    const row = this.stmt.getRepository.get(workspaceId, repository.toLowerCase());
    return row ? toPermission(row) : null;
  }

  async listRepositories(workspaceId: string): Promise<RepositoryPermission[]> {
    return this.stmt.listRepositories.all(workspaceId).map(toPermission);
  }

  createSession(input: NewOidcSession): Promise<OidcSession> {
    return this.c.writes.run(() => {
      const now = this.c.clock.now().getTime();
      this.stmt.purgeSessions.run(now, SESSION_PURGE_BATCH);
      const expiresAt = now + input.ttlMs;
      this.stmt.insertSession.run({
        hash: input.tokenHash,
        ws: input.workspaceId,
        rkey: input.repository.toLowerCase(),
        repository: input.repository,
        details: JSON.stringify(input.details),
        now,
        expiresAt,
      });
      this.c.event(now, { workspaceId: input.workspaceId, action: 'auth.oidc_token_exchange_success', actor: `repo:${input.repository}`,
        details: { ...input.details, sessionExpiresAt: new Date(expiresAt).toISOString() } });
      return { workspaceId: input.workspaceId, repository: input.repository, details: input.details, createdAt: new Date(now), expiresAt: new Date(expiresAt) };
    });
  }

  async findSession(tokenHash: string): Promise<{ session: OidcSession; permission: RepositoryPermission } | null> {
    const row = this.stmt.findSession.get(tokenHash, this.c.clock.now().getTime());
    if (!row) return null;
    return {
      session: {
        workspaceId: row.workspace_id,
        repository: row.repository,
        details: JSON.parse(row.details),
        createdAt: new Date(row.created_at),
        expiresAt: new Date(row.expires_at),
      },
      permission: toPermission({
        workspace_id: row.workspace_id,
        repository_key: row.repository_key,
        repository: row.r_repository,
        key_globs: row.r_key_globs,
        may_force: row.r_may_force,
        allowed_by: row.r_allowed_by,
        created_at: row.r_created_at,
        updated_at: row.r_updated_at,
      }),
    };
  }
}

function toPermission(r: RepositoryRow): RepositoryPermission {
  return {
    workspaceId: r.workspace_id,
    repository: r.repository,
    keyGlobs: JSON.parse(r.key_globs) as string[],
    mayForce: r.may_force === 1,
    allowedBy: r.allowed_by,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

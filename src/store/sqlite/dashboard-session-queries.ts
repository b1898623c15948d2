import type Database from 'better-sqlite3';
import type { Clock } from '../../core/clock.js';
import type { ApiTokenRecord } from '../../core/ports/locks.js';
import type { NewDashboardSession, DashboardSessionRecord, DashboardSessionStore } from '../../core/ports/dashboard-sessions.js';
import type { GroupCommitter } from './group-commit.js';
import { type TokenRow, toToken } from './rows.js';

interface SessionRow {
  id_hash: string;
  workspace_id: string;
  token_id: string;
  created_at: number;
  expires_at: number;
}

type JoinedRow = TokenRow & { s_id_hash: string; s_workspace_id: string; s_created_at: number; s_expires_at: number };

/** Dashboard sessions on SQLite; writes go through the store's group committer like every other write. */
export class SqliteDashboardSessions implements DashboardSessionStore {
  private readonly stmt;

  constructor(
    db: Database.Database,
    private readonly clock: Clock,
    private readonly writes: GroupCommitter,
  ) {
    this.stmt = {
      insert: db.prepare<SessionRow>(
        'INSERT INTO dashboard_sessions (id_hash, workspace_id, token_id, created_at, expires_at) VALUES (@id_hash, @workspace_id, @token_id, @created_at, @expires_at)',
      ),
      prune: db.prepare<[number]>('DELETE FROM dashboard_sessions WHERE expires_at <= ?'),
      // The session and the token behind it in one read: a revoked token is checked by the caller.
      find: db.prepare<[string, number], JoinedRow>(`
        SELECT t.*, s.id_hash AS s_id_hash, s.workspace_id AS s_workspace_id,
               s.created_at AS s_created_at, s.expires_at AS s_expires_at
        FROM dashboard_sessions s JOIN api_tokens t ON t.id = s.token_id
        WHERE s.id_hash = ? AND s.expires_at > ?`),
      delete: db.prepare<[string]>('DELETE FROM dashboard_sessions WHERE id_hash = ?'),
    };
  }

  createSession(input: NewDashboardSession): Promise<DashboardSessionRecord> {
    return this.writes.run(() => {
      const now = this.clock.now().getTime();
      this.stmt.prune.run(now);
      const row: SessionRow = {
        id_hash: input.idHash,
        workspace_id: input.workspaceId,
        token_id: input.tokenId,
        created_at: now,
        expires_at: now + input.ttlMs,
      };
      this.stmt.insert.run(row);
      return toSession(row);
    });
  }

  async findSession(idHash: string): Promise<{ session: DashboardSessionRecord; token: ApiTokenRecord } | null> {
    const row = this.stmt.find.get(idHash, this.clock.now().getTime());
    if (!row) return null;
    return {
      session: toSession({ id_hash: row.s_id_hash, workspace_id: row.s_workspace_id, token_id: row.id,
        created_at: row.s_created_at, expires_at: row.s_expires_at }),
      token: toToken(row),
    };
  }

  deleteSession(idHash: string): Promise<boolean> {
    return this.writes.run(() => this.stmt.delete.run(idHash).changes > 0);
  }
}

function toSession(r: SessionRow): DashboardSessionRecord {
  return {
    idHash: r.id_hash,
    workspaceId: r.workspace_id,
    tokenId: r.token_id,
    createdAt: new Date(r.created_at),
    expiresAt: new Date(r.expires_at),
  };
}

import type pg from 'pg';
import type { ApiTokenRecord } from '../../core/ports/locks.js';
import type { NewDashboardSession, DashboardSessionRecord, DashboardSessionStore } from '../../core/ports/dashboard-sessions.js';
import { NOW } from './lock-queries.js';
import { guarded } from './pool.js';
import { type TokenRow, toToken } from './rows.js';

interface SessionRow {
  id_hash: string;
  workspace_id: string;
  token_id: string;
  created_at: Date;
  expires_at: Date;
}

type JoinedRow = TokenRow & { s_id_hash: string; s_workspace_id: string; s_created_at: Date; s_expires_at: Date };

/** Dashboard sessions on PostgreSQL; expiry on the database's clock, so every replica agrees. */
export class PostgresDashboardSessions implements DashboardSessionStore {
  constructor(private readonly pool: pg.Pool) {}

  async createSession(input: NewDashboardSession): Promise<DashboardSessionRecord> {
    const rows = await this.query<SessionRow>(
      `WITH pruned AS (DELETE FROM dashboard_sessions WHERE expires_at <= ${NOW})
       INSERT INTO dashboard_sessions (id_hash, workspace_id, token_id, created_at, expires_at)
       VALUES ($1, $2, $3, ${NOW}, ${NOW} + ($4::bigint * interval '1 millisecond'))
       RETURNING *`,
      [input.idHash, input.workspaceId, input.tokenId, input.ttlMs],
    );
    return toSession(rows[0] as SessionRow);
  }

  async findSession(idHash: string): Promise<{ session: DashboardSessionRecord; token: ApiTokenRecord } | null> {
    const [row] = await this.query<JoinedRow>(
      `SELECT t.*, s.id_hash AS s_id_hash, s.workspace_id AS s_workspace_id,
              s.created_at AS s_created_at, s.expires_at AS s_expires_at
       FROM dashboard_sessions s JOIN api_tokens t ON t.id = s.token_id
       WHERE s.id_hash = $1 AND s.expires_at > ${NOW}`,
      [idHash],
    );
    if (!row) return null;
    return {
      session: toSession({ id_hash: row.s_id_hash, workspace_id: row.s_workspace_id, token_id: row.id,
        created_at: row.s_created_at, expires_at: row.s_expires_at }),
      token: toToken(row),
    };
  }

  async deleteSession(idHash: string): Promise<boolean> {
    return (await this.query('DELETE FROM dashboard_sessions WHERE id_hash = $1 RETURNING id_hash', [idHash])).length > 0;
  }

  private query<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<R[]> {
    return guarded(async () => (await this.pool.query<R>(sql, params)).rows);
  }
}

function toSession(r: SessionRow): DashboardSessionRecord {
  return { idHash: r.id_hash, workspaceId: r.workspace_id, tokenId: r.token_id, createdAt: r.created_at, expiresAt: r.expires_at };
}

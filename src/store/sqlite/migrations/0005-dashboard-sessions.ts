/**
 * Dashboard sign-in sessions (issue 7). Only the SHA-256 of the session secret is stored;
 * a session dies with its API token (ON DELETE CASCADE) and at expires_at (epoch ms).
 */
export const sql = `
CREATE TABLE dashboard_sessions (
  id_hash       TEXT PRIMARY KEY,
  workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
  token_id      TEXT NOT NULL REFERENCES api_tokens(id) ON DELETE CASCADE,
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX dashboard_sessions_expires_at ON dashboard_sessions (expires_at);
`;

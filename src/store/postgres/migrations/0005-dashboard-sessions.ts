/**
 * PostgreSQL mirror of SQLite's 0005: dashboard sign-in sessions (issue 7). Only the SHA-256 of
 * the session secret is stored; a session dies with its API token and at expires_at.
 */
export const sql = `
CREATE TABLE dashboard_sessions (
  id_hash       text PRIMARY KEY,
  workspace_id  text NOT NULL REFERENCES workspaces(id),
  token_id      text NOT NULL REFERENCES api_tokens(id) ON DELETE CASCADE,
  created_at    timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL
);
CREATE INDEX dashboard_sessions_expires_at ON dashboard_sessions (expires_at);
`;

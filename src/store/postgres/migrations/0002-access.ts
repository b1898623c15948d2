/** PostgreSQL mirror of SQLite's 0002-access: repositories allowed per workspace, OIDC sessions (hashed). */
export const sql = `
CREATE TABLE repositories (
  workspace_id    text NOT NULL REFERENCES workspaces(id),
  -- lower(owner/repo): GitHub names are case-insensitive
  repository_key  text NOT NULL,
  repository      text NOT NULL,
  key_globs       jsonb NOT NULL,
  may_force       boolean NOT NULL,
  allowed_by      text NOT NULL,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, repository_key)
);

-- Only the SHA-256 of a session token is stored.
CREATE TABLE oidc_sessions (
  token_hash      text PRIMARY KEY,
  workspace_id    text NOT NULL REFERENCES workspaces(id),
  repository_key  text NOT NULL,
  repository      text NOT NULL,
  details         jsonb NOT NULL,
  created_at      timestamptz NOT NULL,
  expires_at      timestamptz NOT NULL
);
CREATE INDEX oidc_sessions_expires_at ON oidc_sessions (expires_at);
`;

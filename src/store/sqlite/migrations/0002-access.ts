/** Repositories allowed per workspace and the OIDC sessions exchanged for them (issue 3). Times are epoch ms. */
export const sql = `
CREATE TABLE repositories (
  workspace_id    TEXT NOT NULL REFERENCES workspaces(id),
  -- lower(owner/repo): GitHub names are case-insensitive
  repository_key  TEXT NOT NULL,
  repository      TEXT NOT NULL,
  key_globs       TEXT NOT NULL,
  may_force       INTEGER NOT NULL,
  allowed_by      TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, repository_key)
) WITHOUT ROWID;

-- Only the SHA-256 of a session token is stored.
CREATE TABLE oidc_sessions (
  token_hash      TEXT PRIMARY KEY,
  workspace_id    TEXT NOT NULL REFERENCES workspaces(id),
  repository_key  TEXT NOT NULL,
  repository      TEXT NOT NULL,
  details         TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX oidc_sessions_expires_at ON oidc_sessions (expires_at);
`;

/** Workspaces, hashed API tokens, live locks, the append-only audit log. Times are epoch ms. */
export const sql = `
CREATE TABLE workspaces (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  -- the last fencing token handed out in this workspace; only ever increases
  fence       INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL
);

CREATE TABLE api_tokens (
  id            TEXT PRIMARY KEY,
  workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
  name          TEXT NOT NULL,
  token_hash    TEXT NOT NULL UNIQUE,
  scopes        TEXT NOT NULL,
  created_by    TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  revoked_at    INTEGER,
  UNIQUE (workspace_id, name)
);

-- One row per key that is held, or expired and not yet reaped.
CREATE TABLE locks (
  workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
  key           TEXT NOT NULL,
  id            TEXT NOT NULL,
  principal     TEXT NOT NULL,
  holder_id     TEXT,
  message       TEXT NOT NULL,
  token         INTEGER NOT NULL,
  acquired_at   INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  properties    TEXT,
  details       TEXT,
  PRIMARY KEY (workspace_id, key)
) WITHOUT ROWID;
CREATE INDEX locks_expires_at ON locks (expires_at);

CREATE TABLE events (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id  TEXT NOT NULL,
  at            INTEGER NOT NULL,
  action        TEXT NOT NULL,
  actor         TEXT NOT NULL,
  key           TEXT,
  token         INTEGER,
  details       TEXT
);
CREATE INDEX events_ws ON events (workspace_id, id);
CREATE INDEX events_ws_key ON events (workspace_id, key, id);
CREATE INDEX events_ws_action ON events (workspace_id, action, id);
CREATE INDEX events_ws_actor ON events (workspace_id, actor, id);
`;

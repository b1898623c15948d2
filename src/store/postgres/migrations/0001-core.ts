/**
 * PostgreSQL mirror of SQLite's 0001-core: workspaces, hashed API tokens, live locks, the
 * append-only audit log. Times are timestamptz truncated to milliseconds (the precision the
 * API shows), so a time read back compares equal to the one stored.
 */
export const sql = `
CREATE TABLE workspaces (
  id          text PRIMARY KEY,
  name        text NOT NULL UNIQUE,
  -- the last fencing token handed out in this workspace; only ever increases. Every acquire
  -- locks this row first (FOR NO KEY UPDATE), so grants in a workspace take tokens in commit order.
  fence       bigint NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL
);

CREATE TABLE api_tokens (
  id            text PRIMARY KEY,
  workspace_id  text NOT NULL REFERENCES workspaces(id),
  name          text NOT NULL,
  token_hash    text NOT NULL UNIQUE,
  scopes        jsonb NOT NULL,
  created_by    text NOT NULL,
  created_at    timestamptz NOT NULL,
  revoked_at    timestamptz,
  UNIQUE (workspace_id, name)
);

-- One row per key that is held, or expired and not yet reaped. COLLATE "C": keys compare
-- bytewise (as in SQLite), so a prefix scan key >= p AND key < p || U+10FFFF is exact and indexed.
CREATE TABLE locks (
  workspace_id  text NOT NULL REFERENCES workspaces(id),
  key           text COLLATE "C" NOT NULL,
  id            text NOT NULL,
  principal     text NOT NULL,
  holder_id     text,
  message       text NOT NULL,
  token         bigint NOT NULL,
  acquired_at   timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL,
  properties    jsonb,
  details       jsonb,
  -- The expired grant that the current grant replaced (a whole row as JSON), set by the acquire
  -- statement that overwrote it so that statement can record its lock.expired event from
  -- RETURNING; ON CONFLICT DO UPDATE cannot return the old row otherwise (before PostgreSQL 18).
  replaced      jsonb,
  PRIMARY KEY (workspace_id, key)
);
CREATE INDEX locks_expires_at ON locks (expires_at);

CREATE TABLE events (
  id            bigserial PRIMARY KEY,
  workspace_id  text NOT NULL,
  at            timestamptz NOT NULL,
  action        text NOT NULL,
  actor         text NOT NULL,
  key           text COLLATE "C",
  token         bigint,
  details       jsonb
);
CREATE INDEX events_ws ON events (workspace_id, id);
CREATE INDEX events_ws_key ON events (workspace_id, key, id);
CREATE INDEX events_ws_action ON events (workspace_id, action, id);
CREATE INDEX events_ws_actor ON events (workspace_id, actor, id);
-- The change feed's sweep reads recent events by time.
CREATE INDEX events_at ON events (at);
`;

/**
 * PostgreSQL mirror of SQLite's 0003-lease: the line of waiters per key. `seq` is the arrival
 * order: enqueue takes it while holding the workspace row (as acquire does), so seq order is commit
 * order within a workspace. A waiter counts only while `lease_expires_at` is in the future: its
 * server refreshes it while the waiting request is open, so a dead replica's waiters stop counting.
 */
export const sql = `
CREATE TABLE lock_waiters (
  seq               bigserial PRIMARY KEY,
  id                text NOT NULL UNIQUE,
  workspace_id      text NOT NULL REFERENCES workspaces(id),
  key               text COLLATE "C" NOT NULL,
  principal         text NOT NULL,
  holder_id         text,
  message           text NOT NULL,
  since             timestamptz NOT NULL,
  lease_expires_at  timestamptz NOT NULL
);
CREATE INDEX lock_waiters_key ON lock_waiters (workspace_id, key, seq);
CREATE INDEX lock_waiters_lease ON lock_waiters (lease_expires_at);
`;

/**
 * The line of waiters per key (issue 5). `seq` is the arrival order (AUTOINCREMENT: never reused,
 * so a later arrival always has a larger seq). A waiter counts only while `lease_expires_at` is in
 * the future: the server refreshes it while the waiting request is open.
 */
export const sql = `
CREATE TABLE lock_waiters (
  seq               INTEGER PRIMARY KEY AUTOINCREMENT,
  id                TEXT NOT NULL UNIQUE,
  workspace_id      TEXT NOT NULL REFERENCES workspaces(id),
  key               TEXT NOT NULL,
  principal         TEXT NOT NULL,
  holder_id         TEXT,
  message           TEXT NOT NULL,
  since             INTEGER NOT NULL,
  lease_expires_at  INTEGER NOT NULL
);
CREATE INDEX lock_waiters_key ON lock_waiters (workspace_id, key, seq);
CREATE INDEX lock_waiters_lease ON lock_waiters (lease_expires_at);
`;

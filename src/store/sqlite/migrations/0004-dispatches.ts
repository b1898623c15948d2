/**
 * The dispatch queue (issue 6). A key's queue is its active rows (waiting or dispatching) in
 * `seq` order; times are epoch ms on the server's clock, like the locks table.
 */
export const sql = `
CREATE TABLE dispatches (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  id             TEXT NOT NULL UNIQUE,
  workspace_id   TEXT NOT NULL REFERENCES workspaces(id),
  key            TEXT NOT NULL,
  repository     TEXT NOT NULL,
  workflow       TEXT NOT NULL,
  ref            TEXT NOT NULL,
  inputs         TEXT NOT NULL,
  source         TEXT NOT NULL,
  pull_request   INTEGER,
  head_sha       TEXT,
  state          TEXT NOT NULL CHECK (state IN
                   ('waiting_for_lock', 'dispatching', 'dispatched', 'failed', 'cancelled', 'superseded', 'timed_out')),
  reason         TEXT,
  created_by     TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  wait_deadline  INTEGER NOT NULL,
  not_before     INTEGER NOT NULL,
  attempts       INTEGER NOT NULL DEFAULT 0,
  claimed_by     TEXT,
  lease_until    INTEGER,
  dispatched_at  INTEGER,
  blocked_by     TEXT,
  superseded_by  TEXT
);
CREATE INDEX dispatches_queue ON dispatches (workspace_id, key, seq) WHERE state IN ('waiting_for_lock', 'dispatching');
CREATE INDEX dispatches_deadline ON dispatches (wait_deadline) WHERE state = 'waiting_for_lock';
CREATE INDEX dispatches_lease ON dispatches (lease_until) WHERE state = 'dispatching';
CREATE INDEX dispatches_ws ON dispatches (workspace_id, seq);
CREATE INDEX dispatches_ws_key ON dispatches (workspace_id, key, seq);
`;

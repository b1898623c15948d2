/** PostgreSQL mirror of SQLite's 0004-dispatches: the dispatch queue. */
export const sql = `
CREATE TABLE dispatches (
  seq            bigserial PRIMARY KEY,
  id             text NOT NULL UNIQUE,
  workspace_id   text NOT NULL REFERENCES workspaces(id),
  key            text COLLATE "C" NOT NULL,
  repository     text NOT NULL,
  workflow       text NOT NULL,
  ref            text NOT NULL,
  inputs         jsonb NOT NULL,
  source         jsonb NOT NULL,
  pull_request   integer,
  head_sha       text,
  state          text NOT NULL CHECK (state IN
                   ('waiting_for_lock', 'dispatching', 'dispatched', 'failed', 'cancelled', 'superseded', 'timed_out')),
  reason         text,
  created_by     text NOT NULL,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  wait_deadline  timestamptz NOT NULL,
  not_before     timestamptz NOT NULL,
  attempts       integer NOT NULL DEFAULT 0,
  claimed_by     text,
  lease_until    timestamptz,
  dispatched_at  timestamptz,
  blocked_by     jsonb,
  superseded_by  text
);
CREATE INDEX dispatches_queue ON dispatches (workspace_id, key, seq) WHERE state IN ('waiting_for_lock', 'dispatching');
CREATE INDEX dispatches_deadline ON dispatches (wait_deadline) WHERE state = 'waiting_for_lock';
CREATE INDEX dispatches_lease ON dispatches (lease_until) WHERE state = 'dispatching';
CREATE INDEX dispatches_ws ON dispatches (workspace_id, seq);
CREATE INDEX dispatches_ws_key ON dispatches (workspace_id, key, seq);
`;

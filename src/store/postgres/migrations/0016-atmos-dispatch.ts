/** PostgreSQL mirror of SQLite's 0016-atmos-dispatch. */
export const sql = `
CREATE TABLE github_pr_events (
  delivery_id     text PRIMARY KEY,
  repository_key  text NOT NULL,
  head_sha        text NOT NULL,
  facts           jsonb NOT NULL,
  received_at     timestamptz NOT NULL
);
CREATE INDEX github_pr_events_commit ON github_pr_events (repository_key, head_sha);
CREATE INDEX github_pr_events_received ON github_pr_events (received_at);

ALTER TABLE dispatches ADD COLUMN run_id text;
ALTER TABLE dispatches ADD COLUMN dedupe_key text;
ALTER TABLE dispatches ADD COLUMN held_for jsonb;
CREATE UNIQUE INDEX dispatches_dedupe ON dispatches (workspace_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX dispatches_run ON dispatches (workspace_id, run_id) WHERE run_id IS NOT NULL;
CREATE INDEX dispatches_held ON dispatches (seq) WHERE held_for IS NOT NULL AND state = 'waiting_for_lock';
`;

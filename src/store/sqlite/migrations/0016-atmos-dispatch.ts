/**
 * The Atmos flow of dispatch gating (issue 6, its second migration): pull_request webhooks kept
 * until their affected-stacks upload arrives, and on dispatches the run they belong to, a key
 * that makes planning a run twice harmless, and the stacks a dependent waits for.
 */
export const sql = `
CREATE TABLE github_pr_events (
  delivery_id     TEXT PRIMARY KEY,
  -- lower(owner/repo): GitHub names are case-insensitive
  repository_key  TEXT NOT NULL,
  head_sha        TEXT NOT NULL,
  facts           TEXT NOT NULL,
  received_at     INTEGER NOT NULL
);
CREATE INDEX github_pr_events_commit ON github_pr_events (repository_key, head_sha);
CREATE INDEX github_pr_events_received ON github_pr_events (received_at);

ALTER TABLE dispatches ADD COLUMN run_id TEXT;
ALTER TABLE dispatches ADD COLUMN dedupe_key TEXT;
-- JSON array of {stack, component} this dispatch waits to see finish; NULL when it waits for none.
ALTER TABLE dispatches ADD COLUMN held_for TEXT;
CREATE UNIQUE INDEX dispatches_dedupe ON dispatches (workspace_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX dispatches_run ON dispatches (workspace_id, run_id) WHERE run_id IS NOT NULL;
CREATE INDEX dispatches_held ON dispatches (seq) WHERE held_for IS NOT NULL AND state = 'waiting_for_lock';
`;

/** What atmos uploads for the dispatch flow: affected stacks (in batches) and instance statuses (issue 3). Times are epoch ms. */
export const sql = `
CREATE TABLE affected_stacks_uploads (
  workspace_id    TEXT NOT NULL REFERENCES workspaces(id),
  upload_id       TEXT NOT NULL,
  -- lower(owner/repo): GitHub names are case-insensitive
  repository_key  TEXT NOT NULL,
  repository      TEXT NOT NULL,
  head_sha        TEXT NOT NULL,
  base_sha        TEXT NOT NULL,
  repo_url        TEXT NOT NULL,
  repo_host       TEXT NOT NULL,
  batch_total     INTEGER NOT NULL,
  received        INTEGER NOT NULL DEFAULT 0,
  uploaded_by     TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  -- set when the last missing batch arrives
  completed_at    INTEGER,
  PRIMARY KEY (workspace_id, upload_id)
);
CREATE INDEX affected_stacks_by_commit ON affected_stacks_uploads (workspace_id, repository_key, head_sha, completed_at);

CREATE TABLE affected_stacks_batches (
  workspace_id  TEXT NOT NULL,
  upload_id     TEXT NOT NULL,
  batch_index   INTEGER NOT NULL,
  stacks        TEXT NOT NULL,
  -- SHA-256 of stacks: a batch sent again must carry the same stacks
  digest        TEXT NOT NULL,
  received_at   INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, upload_id, batch_index),
  FOREIGN KEY (workspace_id, upload_id) REFERENCES affected_stacks_uploads (workspace_id, upload_id)
) WITHOUT ROWID;

CREATE TABLE instance_statuses (
  workspace_id    TEXT NOT NULL REFERENCES workspaces(id),
  repository_key  TEXT NOT NULL,
  repository      TEXT NOT NULL,
  stack           TEXT NOT NULL,
  component       TEXT NOT NULL,
  command         TEXT NOT NULL,
  exit_code       INTEGER NOT NULL,
  report          TEXT NOT NULL,
  reported_by     TEXT NOT NULL,
  reported_at     INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, repository_key, stack, component)
) WITHOUT ROWID;
`;

/** PostgreSQL mirror of SQLite's 0012-atmos-uploads: affected stacks (in batches) and instance statuses. */
export const sql = `
CREATE TABLE affected_stacks_uploads (
  workspace_id    text NOT NULL REFERENCES workspaces(id),
  upload_id       text NOT NULL,
  -- lower(owner/repo): GitHub names are case-insensitive
  repository_key  text NOT NULL,
  repository      text NOT NULL,
  head_sha        text NOT NULL,
  base_sha        text NOT NULL,
  repo_url        text NOT NULL,
  repo_host       text NOT NULL,
  batch_total     integer NOT NULL,
  received        integer NOT NULL DEFAULT 0,
  uploaded_by     text NOT NULL,
  created_at      timestamptz NOT NULL,
  -- set when the last missing batch arrives
  completed_at    timestamptz,
  PRIMARY KEY (workspace_id, upload_id)
);
CREATE INDEX affected_stacks_by_commit ON affected_stacks_uploads (workspace_id, repository_key, head_sha, completed_at);

CREATE TABLE affected_stacks_batches (
  workspace_id  text NOT NULL,
  upload_id     text NOT NULL,
  batch_index   integer NOT NULL,
  stacks        jsonb NOT NULL,
  -- SHA-256 of the stacks as sent: a batch sent again must carry the same stacks
  digest        text NOT NULL,
  received_at   timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, upload_id, batch_index),
  FOREIGN KEY (workspace_id, upload_id) REFERENCES affected_stacks_uploads (workspace_id, upload_id)
);

CREATE TABLE instance_statuses (
  workspace_id    text NOT NULL REFERENCES workspaces(id),
  repository_key  text NOT NULL,
  repository      text NOT NULL,
  stack           text NOT NULL,
  component       text NOT NULL,
  command         text NOT NULL,
  exit_code       integer NOT NULL,
  report          jsonb NOT NULL,
  reported_by     text NOT NULL,
  reported_at     timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, repository_key, stack, component)
);
`;

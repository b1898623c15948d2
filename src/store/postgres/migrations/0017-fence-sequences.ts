/**
 * PostgreSQL only (SQLite keeps its counter row: it has one writer). Fencing tokens come from one
 * sequence per workspace instead of the workspaces.fence row, which every grant had to lock until
 * its commit: grants of different keys no longer wait for each other's WAL flush. A key's tokens
 * still strictly increase (stacklock_acquire, migration 0018). Each sequence starts after the workspace's
 * last token; a trigger gives every new workspace its own, in the inserting transaction.
 * The sequence's name is derived from the workspace id: stacklock_fence_<md5(id)>.
 *
 * The old counter column is renamed, not kept: a replica of an earlier version still running
 * during an upgrade then fails its grants (its statements name `fence`) instead of handing out
 * tokens from the old counter beside the new sequences. Stop the old replicas to finish upgrading.
 */
export const sql = `
DO $do$
DECLARE w record;
BEGIN
  FOR w IN SELECT id, fence FROM workspaces LOOP
    EXECUTE format('CREATE SEQUENCE %I AS bigint START WITH %s MINVALUE 1 NO CYCLE',
                   'stacklock_fence_' || md5(w.id), w.fence + 1);
  END LOOP;
END
$do$;

ALTER TABLE workspaces RENAME COLUMN fence TO fence_before_0017;
ALTER TABLE workspaces ALTER COLUMN fence_before_0017 DROP NOT NULL;
COMMENT ON COLUMN workspaces.fence_before_0017 IS 'the last token drawn from the counter row before migration 0017; tokens now come from the sequence stacklock_fence_<md5(id)>';

CREATE FUNCTION stacklock_create_fence() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE format('CREATE SEQUENCE %I AS bigint START WITH 1 MINVALUE 1 NO CYCLE', 'stacklock_fence_' || md5(NEW.id));
  RETURN NEW;
END
$fn$;
CREATE TRIGGER workspaces_fence AFTER INSERT ON workspaces FOR EACH ROW EXECUTE FUNCTION stacklock_create_fence();
`;

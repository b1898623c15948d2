/**
 * PostgreSQL only (SQLite keeps its counter row: it has one writer). Fencing tokens come from one
 * sequence per workspace instead of the workspaces.fence row, which every grant had to lock until
 * its commit: grants of different keys no longer wait for each other's WAL flush. A key's tokens
 * still strictly increase (lock-queries.ts, acquireSql). Each sequence starts after the workspace's
 * last token; a trigger gives every new workspace its own, in the inserting transaction.
 * The sequence's name is derived from the workspace id: stacklock_fence_<md5(id)>.
 */
export const sql = `
CREATE FUNCTION stacklock_create_fence() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE format('CREATE SEQUENCE %I AS bigint START WITH %s MINVALUE 1 NO CYCLE',
                 'stacklock_fence_' || md5(NEW.id), NEW.fence + 1);
  RETURN NEW;
END
$fn$;
CREATE TRIGGER workspaces_fence AFTER INSERT ON workspaces FOR EACH ROW EXECUTE FUNCTION stacklock_create_fence();

DO $do$
DECLARE w record;
BEGIN
  FOR w IN SELECT id, fence FROM workspaces LOOP
    EXECUTE format('CREATE SEQUENCE %I AS bigint START WITH %s MINVALUE 1 NO CYCLE',
                   'stacklock_fence_' || md5(w.id), w.fence + 1);
  END LOOP;
END
$do$;

COMMENT ON COLUMN workspaces.fence IS 'unused since migration 0017: tokens come from the sequence stacklock_fence_<md5(id)>';
`;

/**
 * PostgreSQL only. stacklock_apply (migration 0018) ran every operation of a batch through
 * stacklock_acquire or stacklock_release: six to eight statements each, most of their cost the
 * executor's set-up per statement. It now settles the two common cases for the whole batch in one
 * statement, and passes every other operation to migration 0018's apply, kept unchanged under the
name stacklock_apply_each (issue 8):
 *
 * - an acquire of a key that has no row and no live waiter, by a caller not in the line: a new
 *   grant (SPEC rule 1 with nothing to decide), its lock.created event written beside it;
 * - a release that deletes a live lock (the caller's own, or anyone's with a permitted force),
 *   its lock.deleted or lock.force_deleted event written beside it (SPEC rule 2, the same WHERE).
 *
 * Only for keys that occur once in the batch; an operation the statement leaves alone (the key has
 * a row, or someone waits for it, or the release found nothing to delete) changed nothing and runs
 * through stacklock_apply_each afterwards, one by one in key order. Each operation's answer has the
 * shape and values stacklock_apply_each gives it.
 *
 * First of all the batch takes the advisory lock of every key it names, ordered by the lock's
 * number, held until its commit. Grants still draw their tokens while holding their key's lock
 * (a key's tokens strictly increase, migration 0017), and two batches never wait for each other in
 * a cycle: a batch touches only rows of keys whose lock it holds, and takes those locks in one order.
 *
 * Replicas still running 0018 call stacklock_apply by name with the same result columns: renaming
 * the function they had prepared invalidates their plans, and they get this one from their next
 * call on.
 */
export const sql = `
-- A row of stacklock_apply: the columns of migration 0018's, now stacklock_apply_each's.
CREATE TYPE stacklock_applied AS (
  i integer, held boolean, own boolean, workspace_id text, key text, id text, principal text, holder_id text,
  message text, token bigint, acquired_at timestamptz, updated_at timestamptz, expires_at timestamptz,
  properties jsonb, details jsonb, replaced jsonb, event_ids bigint[], now timestamptz, active_dispatches boolean);

ALTER FUNCTION stacklock_apply(jsonb) RENAME TO stacklock_apply_each;

CREATE FUNCTION stacklock_apply(ops jsonb)
RETURNS SETOF stacklock_applied
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
  t_now timestamptz := date_trunc('milliseconds', statement_timestamp());
  fast  stacklock_applied[];
  rest  jsonb;
  rest_n integer[];
BEGIN
  PERFORM pg_advisory_xact_lock(k.lock)
  FROM (SELECT DISTINCT hashtextextended((e->>'workspaceId') || E'\\n' || (e->>'key'), 0) AS lock
        FROM jsonb_array_elements(ops) AS e ORDER BY 1) AS k;

  WITH o AS (
    SELECT e.ordinality::integer AS n, e.value->>'op' AS op, e.value->>'workspaceId' AS ws, e.value->>'key' AS key, e.value AS v,
           count(*) OVER (PARTITION BY e.value->>'workspaceId', e.value->>'key') AS times
    FROM jsonb_array_elements(ops) WITH ORDINALITY AS e
  ), granted AS (
    INSERT INTO locks AS l (workspace_id, key, id, principal, holder_id, message, token,
                            acquired_at, updated_at, expires_at, properties, details, replaced)
    SELECT o.ws, o.key, o.v->>'id', o.v->>'principal', o.v->>'holderId', o.v->>'message',
           nextval(('stacklock_fence_' || md5(o.ws))::regclass), t_now, t_now,
           t_now + (o.v->>'ttlMs')::bigint * interval '1 millisecond',
           nullif(o.v->'properties', 'null'::jsonb), nullif(o.v->'details', 'null'::jsonb), NULL
    FROM o
    WHERE o.op = 'acquire' AND o.times = 1 AND o.v->>'waiterId' IS NULL
      AND NOT EXISTS (SELECT 1 FROM locks x WHERE x.workspace_id = o.ws AND x.key = o.key)
      AND NOT EXISTS (SELECT 1 FROM lock_waiters q WHERE q.workspace_id = o.ws AND q.key = o.key AND q.lease_expires_at > t_now)
    ORDER BY o.ws, o.key
    ON CONFLICT (workspace_id, key) DO NOTHING
    RETURNING l.*
  ), released AS (
    DELETE FROM locks AS l USING o
    WHERE o.op = 'release' AND o.times = 1 AND l.workspace_id = o.ws AND l.key = o.key AND l.expires_at > t_now
      AND ((l.principal = o.v->>'principal' AND (o.v->>'holderId' IS NULL OR l.holder_id = o.v->>'holderId'))
           OR (o.v->>'force')::boolean)
    RETURNING l.*, l.principal = o.v->>'principal' AND (o.v->>'holderId' IS NULL OR l.holder_id = o.v->>'holderId') AS own,
              o.v->>'principal' AS caller, o.v->>'reason' AS reason
  ), recorded AS (
    INSERT INTO events (workspace_id, at, action, actor, key, token, details)
    SELECT g.workspace_id, t_now, 'lock.created', g.principal, g.key, g.token,
           jsonb_build_object('holderId', g.holder_id, 'message', g.message,
                              'expiresAt', to_char(g.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
             || coalesce(g.details, '{}'::jsonb)
    FROM granted g
    UNION ALL
    SELECT r.workspace_id, t_now, CASE WHEN r.own THEN 'lock.deleted' ELSE 'lock.force_deleted' END, r.caller, r.key, r.token,
           jsonb_build_object('holder', r.principal, 'holderId', r.holder_id, 'message', r.message)
             || CASE WHEN r.own THEN '{}'::jsonb ELSE jsonb_build_object('reason', r.reason) END
    FROM released r
    RETURNING id, workspace_id, key
  ), done AS (
    SELECT o.n, false AS held, NULL::boolean AS own, g.workspace_id, g.key, g.id, g.principal, g.holder_id, g.message, g.token,
           g.acquired_at, g.updated_at, g.expires_at, g.properties, g.details, g.replaced
    FROM granted g JOIN o ON o.ws = g.workspace_id AND o.key = g.key
    UNION ALL
    SELECT o.n, NULL, r.own, r.workspace_id, r.key, r.id, r.principal, r.holder_id, r.message, r.token,
           r.acquired_at, r.updated_at, r.expires_at, r.properties, r.details, r.replaced
    FROM released r JOIN o ON o.ws = r.workspace_id AND o.key = r.key
  )
  SELECT array_agg(ROW(d.n, d.held, d.own, d.workspace_id, d.key, d.id, d.principal, d.holder_id, d.message, d.token,
                       d.acquired_at, d.updated_at, d.expires_at, d.properties, d.details, d.replaced, ARRAY[ev.id], t_now,
                       EXISTS (SELECT 1 FROM dispatches q WHERE q.workspace_id = d.workspace_id AND q.key = d.key
                                 AND q.state IN ('waiting_for_lock', 'dispatching')))::stacklock_applied)
  INTO fast
  FROM done d JOIN recorded ev ON ev.workspace_id = d.workspace_id AND ev.key = d.key;

  RETURN QUERY SELECT * FROM unnest(fast);

  -- The rest through migration 0018's apply, numbered again as in the whole batch.
  SELECT jsonb_agg(e.value ORDER BY e.ordinality), array_agg(e.ordinality::integer ORDER BY e.ordinality)
  INTO rest, rest_n
  FROM jsonb_array_elements(ops) WITH ORDINALITY AS e
  WHERE e.ordinality::integer <> ALL (SELECT f.i FROM unnest(fast) AS f);
  IF rest IS NOT NULL THEN
    RETURN QUERY SELECT rest_n[r.i], r.held, r.own, r.workspace_id, r.key, r.id, r.principal, r.holder_id, r.message,
        r.token, r.acquired_at, r.updated_at, r.expires_at, r.properties, r.details, r.replaced, r.event_ids, r.now,
        r.active_dispatches
      FROM stacklock_apply_each(rest) AS r;
  END IF;
END
$fn$;
`;

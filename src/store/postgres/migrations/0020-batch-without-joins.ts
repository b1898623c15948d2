/**
 * PostgreSQL only. Migration 0019's batch statement joined the rows it had inserted and deleted
 * back to the batch's operations, and to their audit events, by (workspace, key). The planner
 * cannot know how many rows a data-modifying CTE returns and takes one, so it chose nested loops
 * and merge joins on the workspace alone: every operation of a batch compared with every other,
 * a batch's cost growing with its square (issue 8; EXPLAIN ANALYZE of a 30-operation batch showed
 * 870 rows removed by a join filter, three times). Same answers, same changes; now:
 *
 * - a release's DELETE returns its operation's number (DELETE ... USING may return the joined row);
 * - a grant finds its operation's number in one object built from the batch (jsonb lookup by
 *   workspace and key, which occur once among the operations the statement settles);
 * - each audit event's id is drawn beside its row (nextval of the column's own sequence) and
 *   inserted with it, so the answer needs no join with the inserted events;
 * - the batch's keys compare in the C collation of the key columns, and whether a key has a row
 *   or a live waiter is one index probe per operation whatever the planner estimates;
 * - a batch the statement settled whole returns without looking for the rest;
 * - new grants draw their tokens in the batch's order, no longer sorted by key first (a sort the
 *   planner could not avoid): each key's advisory lock, taken before, is what orders its tokens.
 *
 * The function keeps its name, arguments and result type: replicas that prepared a call to it get
 * this body at their next call.
 */
export const sql = `
CREATE OR REPLACE FUNCTION stacklock_apply(ops jsonb)
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
    SELECT e.ordinality::integer AS n, e.value->>'op' AS op, e.value->>'workspaceId' AS ws, (e.value->>'key') COLLATE "C" AS key, e.value AS v,
           count(*) OVER (PARTITION BY e.value->>'workspaceId', e.value->>'key') AS times
    FROM jsonb_array_elements(ops) WITH ORDINALITY AS e
  ), numbered AS (
    SELECT jsonb_object_agg(o.ws || E'\\n' || o.key, o.n) AS m FROM o WHERE o.op = 'acquire' AND o.times = 1
  ), granted AS (
    INSERT INTO locks AS l (workspace_id, key, id, principal, holder_id, message, token,
                            acquired_at, updated_at, expires_at, properties, details, replaced)
    SELECT o.ws, o.key, o.v->>'id', o.v->>'principal', o.v->>'holderId', o.v->>'message',
           nextval(('stacklock_fence_' || md5(o.ws))::regclass), t_now, t_now,
           t_now + (o.v->>'ttlMs')::bigint * interval '1 millisecond',
           nullif(o.v->'properties', 'null'::jsonb), nullif(o.v->'details', 'null'::jsonb), NULL
    FROM o
    WHERE o.op = 'acquire' AND o.times = 1 AND o.v->>'waiterId' IS NULL
      -- Scalar subqueries, not NOT EXISTS: an index probe per operation, never a scan of the table.
      AND (SELECT true FROM locks x WHERE x.workspace_id = o.ws AND x.key = o.key LIMIT 1) IS NULL
      AND (SELECT true FROM lock_waiters q WHERE q.workspace_id = o.ws AND q.key = o.key AND q.lease_expires_at > t_now LIMIT 1) IS NULL
    ON CONFLICT (workspace_id, key) DO NOTHING
    RETURNING l.*
  ), released AS (
    DELETE FROM locks AS l USING o
    WHERE o.op = 'release' AND o.times = 1 AND l.workspace_id = o.ws AND l.key = o.key AND l.expires_at > t_now
      AND ((l.principal = o.v->>'principal' AND (o.v->>'holderId' IS NULL OR l.holder_id = o.v->>'holderId'))
           OR (o.v->>'force')::boolean)
    RETURNING o.n, l.*, l.principal = o.v->>'principal' AND (o.v->>'holderId' IS NULL OR l.holder_id = o.v->>'holderId') AS own,
              o.v->>'principal' AS caller, o.v->>'reason' AS reason
  ), done AS (
    SELECT (numbered.m->>(g.workspace_id || E'\\n' || g.key))::integer AS n, false AS held, NULL::boolean AS own,
           g.workspace_id, g.key, g.id, g.principal, g.holder_id, g.message, g.token,
           g.acquired_at, g.updated_at, g.expires_at, g.properties, g.details, g.replaced,
           nextval('events_id_seq'::regclass) AS event_id, 'lock.created' AS action, g.principal AS actor,
           jsonb_build_object('holderId', g.holder_id, 'message', g.message,
                              'expiresAt', to_char(g.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
             || coalesce(g.details, '{}'::jsonb) AS event_details
    FROM granted g, numbered
    UNION ALL
    SELECT r.n, NULL, r.own, r.workspace_id, r.key, r.id, r.principal, r.holder_id, r.message, r.token,
           r.acquired_at, r.updated_at, r.expires_at, r.properties, r.details, r.replaced,
           nextval('events_id_seq'::regclass), CASE WHEN r.own THEN 'lock.deleted' ELSE 'lock.force_deleted' END, r.caller,
           jsonb_build_object('holder', r.principal, 'holderId', r.holder_id, 'message', r.message)
             || CASE WHEN r.own THEN '{}'::jsonb ELSE jsonb_build_object('reason', r.reason) END
    FROM released r
  ), recorded AS (
    -- Runs to completion though nothing reads it (a data-modifying WITH always does).
    INSERT INTO events (id, workspace_id, at, action, actor, key, token, details)
    SELECT d.event_id, d.workspace_id, t_now, d.action, d.actor, d.key, d.token, d.event_details FROM done d
  )
  SELECT array_agg(ROW(d.n, d.held, d.own, d.workspace_id, d.key, d.id, d.principal, d.holder_id, d.message, d.token,
                       d.acquired_at, d.updated_at, d.expires_at, d.properties, d.details, d.replaced, ARRAY[d.event_id], t_now,
                       EXISTS (SELECT 1 FROM dispatches q WHERE q.workspace_id = d.workspace_id AND q.key = d.key
                                 AND q.state IN ('waiting_for_lock', 'dispatching')))::stacklock_applied)
  INTO fast
  FROM done d;

  RETURN QUERY SELECT * FROM unnest(fast);

  IF coalesce(cardinality(fast), 0) = jsonb_array_length(ops) THEN
    RETURN;
  END IF;
  -- The rest through migration 0018's apply, numbered again as in the whole batch.
  SELECT jsonb_agg(e.value ORDER BY e.ordinality), array_agg(e.ordinality::integer ORDER BY e.ordinality)
  INTO rest, rest_n
  FROM jsonb_array_elements(ops) WITH ORDINALITY AS e
  WHERE NOT EXISTS (SELECT 1 FROM unnest(fast) AS f WHERE f.i = e.ordinality::integer);
  RETURN QUERY SELECT rest_n[r.i], r.held, r.own, r.workspace_id, r.key, r.id, r.principal, r.holder_id, r.message,
      r.token, r.acquired_at, r.updated_at, r.expires_at, r.properties, r.details, r.replaced, r.event_ids, r.now,
      r.active_dispatches
    FROM stacklock_apply_each(rest) AS r;
END
$fn$;
`;

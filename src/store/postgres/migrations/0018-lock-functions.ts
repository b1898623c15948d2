/**
 * PostgreSQL only. The acquire and release decisions move from large statements (CTEs whose every
 * branch PostgreSQL planned and set up for each call, most of them not taken) into PL/pgSQL
 * functions that run only the statements of the branch taken, with plans kept for the session.
 * Still one statement for the caller and one transaction with its audit events, and the same rule,
 * order and fencing as the statements they replace (issue 8: less database CPU per operation).
 * Replicas of the previous version may run beside these during an upgrade: both take the same
 * advisory lock before drawing from the same sequence.
 *
 * stacklock_grantable is SPEC rule 1 for an existing row at time `at`: grantable when expired past
 * its lock-delay and the line of waiters lets the caller through, renewable when live and held by
 * the same principal with the same non-empty holder id (a renewal ignores the line). It is a SQL
 * function PostgreSQL inlines; the acquire function names it unqualified, so the history checker's
 * fault injection (tests only) can put one that always holds ahead of it on the search path.
 *
 * stacklock_acquire($1 workspace, $2 key, $3 new grant id, $4 principal, $5 holder id, $6 message,
 * $7 ttl ms, $8 properties, $9 details, $10 lock-delay ms, $11 waiter id, $12 whether a refusal
 * writes lock.denied) returns one row: `held` false with the granted or renewed lock, its event
 * ids and whether the key has queued dispatches; or `held` true with the lock that blocks the key;
 * or no row when the line of waiters held the caller back or the key changed hands meanwhile.
 *
 * stacklock_release($1 workspace, $2 key, $3 principal, $4 holder id, $5 force allowed, $6 reason)
 * deletes the caller's own live lock, or anyone's with a permitted force, and writes lock.deleted or
 * lock.force_deleted; it returns the deleted row, whether it was the caller's own, its event id and
 * whether the key has queued dispatches; no row when nothing was released.
 *
 * stacklock_apply(ops) runs several of them, given as a JSON array of objects with `op`
 * ('acquire' or 'release') and their parameters by name, in one transaction: one commit for all.
 * It returns their rows (both shapes in one: `held` for an acquire, `own` for a release, `now` the
 * statement's time), each numbered `i` by its op's place in the array (from 1).
 *
 * Time is the calling statement's start, truncated to milliseconds (lock-queries.ts, NOW). The
 * statements inside a function keep their plans for the session, so neither is planned per call.
 */
export const sql = `
CREATE FUNCTION stacklock_grantable(expires_at timestamptz, principal text, holder_id text, at timestamptz,
                                    caller text, caller_holder_id text, lock_delay_ms bigint, line boolean)
RETURNS boolean LANGUAGE sql STABLE AS $rule$
  SELECT (expires_at + lock_delay_ms * interval '1 millisecond' <= at AND line)
      OR (expires_at > at AND principal = caller AND holder_id IS NOT NULL AND holder_id = caller_holder_id)
$rule$;

CREATE FUNCTION stacklock_acquire(
  p_ws text, p_key text, p_id text, p_principal text, p_holder text, p_message text, p_ttl_ms bigint,
  p_properties jsonb, p_details jsonb, p_delay_ms bigint, p_waiter text, p_record_denial boolean)
RETURNS TABLE (held boolean, workspace_id text, key text, id text, principal text, holder_id text, message text,
               token bigint, acquired_at timestamptz, updated_at timestamptz, expires_at timestamptz,
               properties jsonb, details jsonb, replaced jsonb, event_ids bigint[], now timestamptz,
               active_dispatches boolean)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  t_now  timestamptz := date_trunc('milliseconds', statement_timestamp());
  cur    locks;
  up     locks;
  line   boolean;
  ids    bigint[] := '{}';
  ev_id  bigint;
BEGIN
  SELECT * INTO cur FROM locks l WHERE l.workspace_id = p_ws AND l.key = p_key;
  -- Blocked in this snapshot (live and someone else's, or in its lock-delay): refused from it,
  -- no row lock, no wait.
  IF FOUND AND NOT stacklock_grantable(cur.expires_at, cur.principal, cur.holder_id, t_now, p_principal, p_holder, p_delay_ms, true) THEN
    IF p_record_denial THEN
      INSERT INTO events (workspace_id, at, action, actor, key, token, details)
      VALUES (cur.workspace_id, t_now, 'lock.denied', p_principal, cur.key, cur.token,
              jsonb_build_object('holderId', p_holder, 'heldBy', cur.principal, 'heldByHolderId', cur.holder_id));
    END IF;
    RETURN QUERY SELECT true, cur.workspace_id, cur.key, cur.id, cur.principal, cur.holder_id, cur.message, cur.token,
      cur.acquired_at, cur.updated_at, cur.expires_at, cur.properties, cur.details, cur.replaced,
      NULL::bigint[], t_now, NULL::boolean;
    RETURN;
  END IF;
  -- The line of waiters: without a waiter id the key is available only when no live waiter
  -- exists; with one, only when that waiter is live and no live waiter is ahead of it.
  line := CASE WHEN p_waiter IS NULL
    THEN NOT EXISTS (SELECT 1 FROM lock_waiters q WHERE q.workspace_id = p_ws AND q.key = p_key AND q.lease_expires_at > t_now)
    ELSE EXISTS (SELECT 1 FROM lock_waiters me
                 WHERE me.id = p_waiter AND me.workspace_id = p_ws AND me.key = p_key AND me.lease_expires_at > t_now
                   AND NOT EXISTS (SELECT 1 FROM lock_waiters q WHERE q.workspace_id = p_ws AND q.key = p_key
                                     AND q.lease_expires_at > t_now AND q.seq < me.seq))
  END;
  -- A caller the line holds back (and that is not renewing its own live lock, as read above) gets
  -- no row and takes no lock: the caller reads why (DENIED_SQL).
  IF NOT line AND NOT coalesce(cur.expires_at > t_now AND cur.principal = p_principal
                               AND cur.holder_id IS NOT NULL AND cur.holder_id = p_holder, false) THEN
    RETURN;
  END IF;
  -- Every grant of a key draws its token while holding this lock, kept until its commit: a key's
  -- grants draw in the order they commit, so its tokens strictly increase across replicas.
  PERFORM pg_advisory_xact_lock(hashtextextended(p_ws || E'\\n' || p_key, 0));
  IF cur.key IS NULL THEN
    -- No row in the snapshot: insert. A concurrent first grant of the key makes this a conflict
    -- (after waiting for it to commit): then its row is there for the update below.
    INSERT INTO locks AS l (workspace_id, key, id, principal, holder_id, message, token,
                            acquired_at, updated_at, expires_at, properties, details, replaced)
    VALUES (p_ws, p_key, p_id, p_principal, p_holder, p_message, nextval(('stacklock_fence_' || md5(p_ws))::regclass),
            t_now, t_now, t_now + p_ttl_ms * interval '1 millisecond', p_properties, p_details, NULL)
    ON CONFLICT (workspace_id, key) DO NOTHING
    RETURNING l.* INTO up;
  END IF;
  IF up.key IS NULL THEN
    -- A row: update it, so that a renewal or refusal draws no token. The rule decides on the
    -- latest committed version of the row (a new snapshot; a row lock). If it is gone by now
    -- (released meanwhile), nothing is updated and the caller decides again. In SET, l is the old
    -- row: l.expires_at > t_now means a renewal, which keeps the grant's id, token, acquiredAt
    -- (and properties unless given).
    UPDATE locks AS l SET
      id          = CASE WHEN l.expires_at > t_now THEN l.id ELSE p_id END,
      token       = CASE WHEN l.expires_at > t_now THEN l.token ELSE nextval(('stacklock_fence_' || md5(p_ws))::regclass) END,
      acquired_at = CASE WHEN l.expires_at > t_now THEN l.acquired_at ELSE t_now END,
      properties  = CASE WHEN l.expires_at > t_now THEN coalesce(p_properties, l.properties) ELSE p_properties END,
      replaced    = CASE WHEN l.expires_at > t_now THEN NULL ELSE to_jsonb(l) - 'replaced' END,
      principal = p_principal, holder_id = p_holder, message = p_message, updated_at = t_now,
      expires_at = t_now + p_ttl_ms * interval '1 millisecond', details = p_details
    WHERE l.workspace_id = p_ws AND l.key = p_key
      AND stacklock_grantable(l.expires_at, l.principal, l.holder_id, t_now, p_principal, p_holder, p_delay_ms, line)
    RETURNING l.* INTO up;
  END IF;
  IF up.key IS NULL THEN
    RETURN;
  END IF;
  -- A grant to a waiter takes it out of the line.
  IF p_waiter IS NOT NULL THEN
    DELETE FROM lock_waiters WHERE id = p_waiter;
  END IF;
  IF up.id = p_id AND up.replaced IS NOT NULL THEN
    INSERT INTO events (workspace_id, at, action, actor, key, token, details)
    VALUES (up.workspace_id, up.updated_at, 'lock.expired', 'system', up.key, (up.replaced->>'token')::bigint,
            jsonb_build_object('holder', up.replaced->>'principal', 'holderId', up.replaced->>'holder_id',
                               'expiresAt', to_char((up.replaced->>'expires_at')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
    RETURNING id INTO ev_id;
    ids := ids || ev_id;
  END IF;
  IF up.id = p_id THEN
    INSERT INTO events (workspace_id, at, action, actor, key, token, details)
    VALUES (up.workspace_id, up.updated_at, 'lock.created', p_principal, up.key, up.token,
            jsonb_build_object('holderId', up.holder_id, 'message', up.message,
                               'expiresAt', to_char(up.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
              || coalesce(up.details, '{}'::jsonb))
    RETURNING id INTO ev_id;
  ELSE
    INSERT INTO events (workspace_id, at, action, actor, key, token, details)
    VALUES (up.workspace_id, up.updated_at, 'lock.renewed', p_principal, up.key, up.token,
            jsonb_build_object('holderId', up.holder_id,
                               'expiresAt', to_char(up.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
    RETURNING id INTO ev_id;
  END IF;
  ids := ids || ev_id;
  RETURN QUERY SELECT false, up.workspace_id, up.key, up.id, up.principal, up.holder_id, up.message, up.token,
    up.acquired_at, up.updated_at, up.expires_at, up.properties, up.details, up.replaced, ids, t_now,
    EXISTS (SELECT 1 FROM dispatches q WHERE q.workspace_id = p_ws AND q.key = p_key
              AND q.state IN ('waiting_for_lock', 'dispatching'));
END
$fn$;

CREATE FUNCTION stacklock_release(p_ws text, p_key text, p_principal text, p_holder text, p_force boolean, p_reason text)
RETURNS TABLE (workspace_id text, key text, id text, principal text, holder_id text, message text,
               token bigint, acquired_at timestamptz, updated_at timestamptz, expires_at timestamptz,
               properties jsonb, details jsonb, replaced jsonb, own boolean, event_ids bigint[], released_at timestamptz,
               active_dispatches boolean)
LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  t_now  timestamptz := date_trunc('milliseconds', statement_timestamp());
  d      locks;
  is_own boolean;
  ev_id  bigint;
BEGIN
  -- SPEC rule 2: the holder's own live lock, or anyone's with a permitted force.
  DELETE FROM locks l
  WHERE l.workspace_id = p_ws AND l.key = p_key AND l.expires_at > t_now
    AND ((l.principal = p_principal AND (p_holder IS NULL OR l.holder_id = p_holder)) OR p_force)
  RETURNING l.* INTO d;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  is_own := d.principal = p_principal AND (p_holder IS NULL OR d.holder_id = p_holder);
  INSERT INTO events (workspace_id, at, action, actor, key, token, details)
  VALUES (d.workspace_id, t_now, CASE WHEN is_own THEN 'lock.deleted' ELSE 'lock.force_deleted' END, p_principal, d.key, d.token,
          jsonb_build_object('holder', d.principal, 'holderId', d.holder_id, 'message', d.message)
            || CASE WHEN is_own THEN '{}'::jsonb ELSE jsonb_build_object('reason', p_reason) END)
  RETURNING id INTO ev_id;
  RETURN QUERY SELECT d.workspace_id, d.key, d.id, d.principal, d.holder_id, d.message, d.token, d.acquired_at,
    d.updated_at, d.expires_at, d.properties, d.details, d.replaced, is_own, ARRAY[ev_id], t_now,
    EXISTS (SELECT 1 FROM dispatches q WHERE q.workspace_id = p_ws AND q.key = p_key
              AND q.state IN ('waiting_for_lock', 'dispatching'));
END
$fn$;

CREATE FUNCTION stacklock_apply(ops jsonb)
RETURNS TABLE (i integer, held boolean, own boolean, workspace_id text, key text, id text, principal text, holder_id text,
               message text, token bigint, acquired_at timestamptz, updated_at timestamptz, expires_at timestamptz,
               properties jsonb, details jsonb, replaced jsonb, event_ids bigint[], now timestamptz,
               active_dispatches boolean)
LANGUAGE plpgsql
-- The statements inside (here and in the functions it calls) are lookups by key: planned once for
-- the session, not again at every call, as PostgreSQL would for their parameters otherwise.
SET plan_cache_mode = force_generic_plan
AS $fn$
#variable_conflict use_column
DECLARE
  op jsonb;
  n  integer;
BEGIN
  -- In key order, so that batches running at once take their keys' locks in one order.
  FOR op, n IN SELECT e.value, e.ordinality::integer FROM jsonb_array_elements(ops) WITH ORDINALITY AS e
               ORDER BY e.value->>'workspaceId', e.value->>'key', e.ordinality LOOP
    IF op->>'op' = 'acquire' THEN
      RETURN QUERY SELECT n, a.held, NULL::boolean, a.workspace_id, a.key, a.id, a.principal, a.holder_id, a.message,
          a.token, a.acquired_at, a.updated_at, a.expires_at, a.properties, a.details, a.replaced, a.event_ids, a.now,
          a.active_dispatches
        FROM stacklock_acquire(op->>'workspaceId', op->>'key', op->>'id', op->>'principal', op->>'holderId',
                               op->>'message', (op->>'ttlMs')::bigint, nullif(op->'properties', 'null'::jsonb),
                               nullif(op->'details', 'null'::jsonb), (op->>'lockDelayMs')::bigint, op->>'waiterId',
                               (op->>'recordDenial')::boolean) a;
    ELSIF op->>'op' = 'release' THEN
      RETURN QUERY SELECT n, NULL::boolean, r.own, r.workspace_id, r.key, r.id, r.principal, r.holder_id, r.message,
          r.token, r.acquired_at, r.updated_at, r.expires_at, r.properties, r.details, r.replaced, r.event_ids,
          r.released_at, r.active_dispatches
        FROM stacklock_release(op->>'workspaceId', op->>'key', op->>'principal', op->>'holderId',
                               (op->>'force')::boolean, op->>'reason') r;
    ELSE
      RAISE EXCEPTION 'stacklock_apply: unknown op %', op->>'op';
    END IF;
  END LOOP;
END
$fn$;
`;

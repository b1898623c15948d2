import type { NewAuditEvent } from '../../core/audit.js';

/**
 * The lock statements. Each decision is one statement that also writes its audit events, so the
 * change and its record commit together. They send no NOTIFY: a transaction that notifies holds
 * PostgreSQL's global notify lock through its commit, WAL flush included, so every change would
 * commit one at a time. The change feed announces committed changes instead (change-feed.ts).
 *
 * Time is the database's: NOW is the statement's start time truncated to milliseconds. It can
 * only lag the real time of the decision (a statement may wait for a row lock), which makes a
 * live lock look live a little longer, never a live lock look expired.
 */
export const NOW = `date_trunc('milliseconds', statement_timestamp())`;
export const CHANNEL = 'stacklock_changes';

/** One audit event written on its own (not inside a lock statement); its values: eventParams. */
export const INSERT_EVENT_SQL = `INSERT INTO events (workspace_id, at, action, actor, key, token, details) VALUES ($1, ${NOW}, $2, $3, $4, $5, $6::jsonb)`;
export const eventParams = (e: NewAuditEvent): unknown[] => [
  e.workspaceId, e.action, e.actor, e.key ?? null, e.token ?? null, e.details ? JSON.stringify(e.details) : null,
];

/**
 * The WHERE of a filtered listing: the conditions whose value is defined, joined by AND, each `?`
 * numbered as a parameter; the next parameter's number is params.length + 1.
 */
export function whereDefined(conditions: ReadonlyArray<readonly [string, unknown]>): { where: string; params: unknown[] } {
  const params: unknown[] = [];
  const parts: string[] = [];
  for (const [sql, value] of conditions) {
    if (value === undefined) continue;
    params.push(value);
    parts.push(sql.replace('?', `$${params.length}`));
  }
  return { where: parts.join(' AND '), params };
}

export const iso = (ts: string) => `to_char(${ts} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
export const ms = (param: string) => `(${param}::bigint * interval '1 millisecond')`;

/**
 * Fencing tokens on PostgreSQL: one sequence per workspace (created with the workspace, migration
 * 0017), drawn only while the drawing statement holds a transaction-scoped advisory lock on the
 * key ($1 workspace, $2 key), so a key's grants draw in their commit order (acquireSql).
 */
export const FENCE_KEY_LOCK = `pg_advisory_xact_lock(hashtextextended($1 || E'\\n' || $2, 0))`;
export const FENCE_NEXT = `nextval(('stacklock_fence_' || md5($1))::regclass)`;

/**
 * Whether the line of waiters lets this acquire ($1 workspace, $2 key, $11 waiter id) take an
 * available key: without a waiter id only when no live waiter exists; with one only when that waiter
 * is live and no live waiter is ahead of it (lease-store.ts).
 */
export const QUEUE_ALLOWS = `(CASE WHEN $11::text IS NULL
    THEN NOT EXISTS (SELECT 1 FROM lock_waiters q WHERE q.workspace_id = $1 AND q.key = $2 AND q.lease_expires_at > ${NOW})
    ELSE EXISTS (SELECT 1 FROM lock_waiters me
                 WHERE me.id = $11 AND me.workspace_id = $1 AND me.key = $2 AND me.lease_expires_at > ${NOW}
                   AND NOT EXISTS (SELECT 1 FROM lock_waiters q WHERE q.workspace_id = $1 AND q.key = $2
                                     AND q.lease_expires_at > ${NOW} AND q.seq < me.seq))
  END)`;

/**
 * SPEC rule 1 for an existing row `l` at time `now`: grantable when expired past its lock-delay
 * ($10 ms) and `line` allows it (the line of waiters: QUEUE_ALLOWS), renewable when live and held
 * by the same principal with the same non-empty holderId (a renewal ignores the line).
 */
export function grantable(l: string, now: string, principal: string, holderId: string, line = 'true'): string {
  return `((${l}.expires_at + ${ms('$10')} <= ${now} AND ${line})
     OR (${l}.expires_at > ${now} AND ${l}.principal = ${principal}
         AND ${l}.holder_id IS NOT NULL AND ${l}.holder_id = ${holderId}))`;
}

/**
 * Whether the line lets this acquire through to the insert at all: the line allows it, or it
 * renews the caller's own live lock. A caller the line holds back never reaches the insert, so a
 * key whose lock was released after the statement's snapshot cannot go to one not at the head.
 */
const ENTRY = `(${QUEUE_ALLOWS}
     OR EXISTS (SELECT 1 FROM locks x WHERE x.workspace_id = $1 AND x.key = $2 AND x.expires_at > ${NOW}
                AND x.principal = $4 AND x.holder_id IS NOT NULL AND x.holder_id = $5))`;

/**
 * $1 workspace, $2 key, $3 new grant id, $4 principal, $5 holderId, $6 message, $7 ttl ms,
 * $8 properties, $9 details, $10 lock-delay ms, $11 waiter id (a grant to it removes it from the
 * line), $12 whether a refusal writes lock.denied. Returns one row: `held` false with the granted or
 * renewed lock, or `held` true with the lock that blocks the key; or no row when the line of
 * waiters held the caller back or the key changed hands during the statement (the caller reads why
 * then: DENIED_SQL).
 *
 * - A key the statement's snapshot shows blocked (live and someone else's, or in its lock-delay)
 *   is refused from that snapshot, which the statement's time NOW falls in: no row lock, no wait.
 * - Otherwise the statement takes a transaction-scoped advisory lock on the key (FENCE_KEY_LOCK)
 *   before it draws a fencing token from the workspace's sequence (FENCE_NEXT). Every grant of a
 *   key draws its token while holding that lock, which it keeps until its commit, so the grants
 *   of one key draw in the order they commit: a key's tokens strictly increase across replicas,
 *   whatever happens to its row in between (a grant and release of the key can no longer slip
 *   between another grant's draw and its insert). Grants of different keys do not wait for one
 *   another, so they share WAL flushes. Tokens are unique in the workspace and may skip numbers
 *   (a draw for an insert that then meets the existing row, or a statement that fails).
 * - ON CONFLICT DO UPDATE then decides on the latest committed version of the key's row, whatever
 *   the snapshot saw. In SET, `l.*` is the old row and `excluded.updated_at` is NOW, so
 *   `l.expires_at > excluded.updated_at` there means "this is a renewal".
 *
 * - A caller the line of waiters holds back (ENTRY) takes no row lock either, and gets no row.
 *
 * `condition(row, now, principal, holderId, line)` is the rule; only the history checker's teeth
 * test passes another (one that always holds).
 */
export function acquireSql(condition: typeof grantable = grantable): string {
  return `
WITH t AS (
  SELECT ${NOW} AS now
), cur AS (
  SELECT * FROM locks WHERE workspace_id = $1 AND key = $2
), blocked AS (
  SELECT cur.* FROM cur, t WHERE NOT ${condition('cur', 't.now', '$4::text', '$5::text')}
), keylock AS (
  SELECT ${FENCE_KEY_LOCK} AS locked WHERE NOT EXISTS (SELECT 1 FROM blocked) AND ${ENTRY}
), inserted AS (
  -- A key without a row: insert (a concurrent first grant of the key makes this a conflict).
  INSERT INTO locks AS l (workspace_id, key, id, principal, holder_id, message, token,
                          acquired_at, updated_at, expires_at, properties, details, replaced)
  SELECT $1, $2, $3, $4, $5, $6, ${FENCE_NEXT}, t.now, t.now, t.now + ${ms('$7')}, $8::jsonb, $9::jsonb, NULL
  FROM keylock, t WHERE NOT EXISTS (SELECT 1 FROM cur)
  ON CONFLICT (workspace_id, key) DO UPDATE SET ${grantOver({
    now: 'excluded.updated_at', id: 'excluded.id', principal: 'excluded.principal', holderId: 'excluded.holder_id',
    message: 'excluded.message', expiresAt: 'excluded.expires_at', properties: 'excluded.properties', details: 'excluded.details',
  })}
  WHERE ${condition('l', 'excluded.updated_at', 'excluded.principal', 'excluded.holder_id', QUEUE_ALLOWS)}
  RETURNING l.*
), updated AS (
  -- A key with a row: update it, so that a renewal or refusal draws no token. If the row is gone
  -- by now (released meanwhile), nothing is updated and the caller decides again.
  UPDATE locks AS l SET ${grantOver({
    now: 't.now', id: '$3', principal: '$4', holderId: '$5', message: '$6', expiresAt: `t.now + ${ms('$7')}`,
    properties: '$8::jsonb', details: '$9::jsonb',
  })}
  FROM keylock, t
  WHERE l.workspace_id = $1 AND l.key = $2 AND EXISTS (SELECT 1 FROM cur)
    AND ${condition('l', 't.now', '$4::text', '$5::text', QUEUE_ALLOWS)}
  RETURNING l.*
), up AS (
  SELECT * FROM inserted UNION ALL SELECT * FROM updated
), dequeue AS (
  DELETE FROM lock_waiters WHERE $11::text IS NOT NULL AND id = $11 AND EXISTS (SELECT 1 FROM up)
), ev AS (
  INSERT INTO events (workspace_id, at, action, actor, key, token, details)
  SELECT up.workspace_id, up.updated_at, e.action, e.actor, up.key, e.token, e.details
  FROM up CROSS JOIN LATERAL (VALUES
    (1, 'lock.expired', 'system', (up.replaced->>'token')::bigint,
        jsonb_build_object('holder', up.replaced->>'principal', 'holderId', up.replaced->>'holder_id',
                           'expiresAt', ${iso(`(up.replaced->>'expires_at')::timestamptz`)}),
        up.id = $3 AND up.replaced IS NOT NULL),
    (2, 'lock.created', $4, up.token,
        jsonb_build_object('holderId', up.holder_id, 'message', up.message, 'expiresAt', ${iso('up.expires_at')})
          || coalesce(up.details, '{}'::jsonb),
        up.id = $3),
    (3, 'lock.renewed', $4, up.token,
        jsonb_build_object('holderId', up.holder_id, 'expiresAt', ${iso('up.expires_at')}),
        up.id <> $3)
  ) AS e(ord, action, actor, token, details, include)
  WHERE e.include
  ORDER BY e.ord
  RETURNING id
), denied AS (
  ${deniedEvent('blocked', '$4', '$5')} WHERE $12::boolean
)
SELECT false AS held, up.*, ids.ids AS event_ids, t.now AS now, ${activeDispatches('$1', '$2')} AS active_dispatches
FROM up, t, (SELECT array_agg(id ORDER BY id) AS ids FROM ev) ids
UNION ALL
SELECT true AS held, blocked.*, NULL::bigint[] AS event_ids, t.now AS now, NULL::boolean AS active_dispatches FROM blocked, t`;
}

/**
 * The SET list of a grant or renewal over the existing row `l`, given the new values: a renewal
 * (l still live at `now`: the condition let it through only for its own holder) keeps the grant's
 * id, token, acquiredAt and properties unless new ones are given; a new grant draws a token
 * (FENCE_NEXT, evaluated only for a row the condition let through) and keeps the grant it
 * replaced in `replaced` for its lock.expired event.
 */
function grantOver(v: {
  now: string; id: string; principal: string; holderId: string; message: string; expiresAt: string; properties: string; details: string;
}): string {
  const renewal = `l.expires_at > ${v.now}`;
  return `
    id          = CASE WHEN ${renewal} THEN l.id ELSE ${v.id} END,
    token       = CASE WHEN ${renewal} THEN l.token ELSE ${FENCE_NEXT} END,
    acquired_at = CASE WHEN ${renewal} THEN l.acquired_at ELSE ${v.now} END,
    properties  = CASE WHEN ${renewal} THEN coalesce(${v.properties}, l.properties) ELSE ${v.properties} END,
    replaced    = CASE WHEN ${renewal} THEN NULL ELSE to_jsonb(l) - 'replaced' END,
    principal   = ${v.principal},
    holder_id   = ${v.holderId},
    message     = ${v.message},
    updated_at  = ${v.now},
    expires_at  = ${v.expiresAt},
    details     = ${v.details}`;
}

/**
 * Whether the key has queued dispatches (LockChange.activeDispatches), an index probe of
 * dispatches_queue, so the dispatcher is not asked to look after every lock change.
 */
function activeDispatches(workspace: string, key: string): string {
  return `EXISTS (SELECT 1 FROM dispatches q WHERE q.workspace_id = ${workspace} AND q.key = ${key}
                 AND q.state IN ('waiting_for_lock', 'dispatching'))`;
}

/** The lock.denied event of a refusal of `principal`/`holderId` (parameters), for the blocking row of CTE `row`. */
function deniedEvent(row: string, principal: string, holderId: string): string {
  return `INSERT INTO events (workspace_id, at, action, actor, key, token, details)
  SELECT ${row}.workspace_id, ${NOW}, 'lock.denied', ${principal}::text, ${row}.key, ${row}.token,
         jsonb_build_object('holderId', ${holderId}::text, 'heldBy', ${row}.principal, 'heldByHolderId', ${row}.holder_id)
  FROM ${row}`;
}

/**
 * After a refusal the acquire statement did not explain (the line held the caller back, or the key
 * changed hands during it): the lock that blocks the key (held, or in its lock-delay), else the
 * waiters ahead of the caller and whether the caller's waiter ($6) is still in line; and the
 * lock.denied event when $7 asks for it and something does block.
 * $3 principal, $4 holderId, $5 lock-delay ms.
 */
export const DENIED_SQL = `
WITH cur AS (
  SELECT * FROM locks WHERE workspace_id = $1 AND key = $2 AND expires_at + ${ms('$5')} > ${NOW}
), line AS (
  SELECT (SELECT seq FROM lock_waiters WHERE id = $6::text AND lease_expires_at > ${NOW}) AS me,
         (SELECT count(*)::int FROM lock_waiters q WHERE q.workspace_id = $1 AND q.key = $2 AND q.lease_expires_at > ${NOW}
            AND q.seq < coalesce((SELECT seq FROM lock_waiters WHERE id = $6::text), 9223372036854775807)) AS ahead
), ev AS (
  INSERT INTO events (workspace_id, at, action, actor, key, token, details)
  SELECT $1, ${NOW}, 'lock.denied', $3, $2, cur.token,
         CASE WHEN cur.key IS NOT NULL
              THEN jsonb_build_object('holderId', $4::text, 'heldBy', cur.principal, 'heldByHolderId', cur.holder_id)
              ELSE jsonb_build_object('holderId', $4::text, 'waitersAhead', line.ahead) END
  FROM line LEFT JOIN cur ON true
  WHERE $7::boolean AND (cur.key IS NOT NULL OR line.ahead > 0)
)
SELECT (SELECT to_jsonb(cur) FROM cur) AS lock, line.me, line.ahead, ${NOW} AS now FROM line`;

const OWN = `(d.principal = $3 AND ($4::text IS NULL OR d.holder_id = $4::text))`;

/**
 * SPEC rule 2 in one statement: the holder's own live lock, or anyone's with a permitted force.
 * $1 workspace, $2 key, $3 principal, $4 holderId, $5 force allowed, $6 reason.
 */
export const RELEASE_SQL = `
WITH d AS (
  DELETE FROM locks d
  WHERE workspace_id = $1 AND key = $2 AND expires_at > ${NOW} AND (${OWN} OR $5::boolean)
  RETURNING d.*, ${OWN} AS own
), ev AS (
  INSERT INTO events (workspace_id, at, action, actor, key, token, details)
  SELECT d.workspace_id, ${NOW}, CASE WHEN d.own THEN 'lock.deleted' ELSE 'lock.force_deleted' END, $3, d.key, d.token,
         jsonb_build_object('holder', d.principal, 'holderId', d.holder_id, 'message', d.message)
           || CASE WHEN d.own THEN '{}'::jsonb ELSE jsonb_build_object('reason', $6::text) END
  FROM d
  RETURNING id
)
SELECT d.*, ARRAY(SELECT id FROM ev) AS event_ids, ${NOW} AS released_at, ${activeDispatches('$1', '$2')} AS active_dispatches
FROM d`;

export const LIVE_LOCK_SQL = `SELECT * FROM locks WHERE workspace_id = $1 AND key = $2 AND expires_at > ${NOW}`;

/**
 * Frees up to $2 locks expired more than $1 ms ago (the lock-delay), oldest first, through the
 * expires_at index. SKIP LOCKED: replicas reaping at once take disjoint rows, and a row being
 * renewed is left alone; the outer condition re-checks the row's latest version.
 */
export const REAP_SQL = `
WITH d AS (
  DELETE FROM locks
  WHERE (workspace_id, key) IN (
    SELECT workspace_id, key FROM locks WHERE expires_at <= ${NOW} - ${ms('$1')}
    ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
    AND expires_at <= ${NOW} - ${ms('$1')}
  RETURNING *
), ev AS (
  INSERT INTO events (workspace_id, at, action, actor, key, token, details)
  SELECT d.workspace_id, ${NOW}, 'lock.expired', 'system', d.key, d.token,
         jsonb_build_object('holder', d.principal, 'holderId', d.holder_id, 'message', d.message,
                            'expiresAt', ${iso('d.expires_at')})
  FROM d ORDER BY d.expires_at
  RETURNING id, workspace_id, key
)
SELECT d.*, ARRAY[ev.id] AS event_ids, ${activeDispatches('d.workspace_id', 'd.key')} AS active_dispatches
FROM d JOIN ev ON ev.workspace_id = d.workspace_id AND ev.key = d.key
ORDER BY d.expires_at`;

export const LIST_SQL = `
SELECT * FROM locks
WHERE workspace_id = $1 AND key >= $2 AND key < $3 AND key > $4 AND expires_at + ${ms('$6')} > ${NOW}
ORDER BY key LIMIT $5`;
